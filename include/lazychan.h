/*
 * lazychan: a multi-producer, single-consumer channel that allocates memory only when a message
 * is sent and gives it back when the message is received.
 *
 * An idle channel is one small allocation (64 bytes, 80 with a drop callback),
 * whatever the message size and capacity. Each queued message is one node (a link word plus the
 * payload), allocated by the send and freed by the receive. In intrusive mode the caller embeds
 * an lc_node in its own struct and the channel allocates nothing per message.
 *
 * Concurrency
 * -----------
 * A channel has any number of sender handles (lc_tx) and one receiver (lc_rx).
 *
 *  | call                                  | caller                   | progress              |
 *  |---------------------------------------|--------------------------|-----------------------|
 *  | lc_try_send, lc_try_send_node         | any thread with a lc_tx  | lock-free (1)         |
 *  | lc_send, lc_send_node, lc_send_timeout| any thread with a lc_tx  | blocks while full     |
 *  | lc_tx_clone, lc_tx_drop               | any thread with a lc_tx  | lock-free (5)         |
 *  | lc_tx_is_closed                       | any thread with a lc_tx  | wait-free             |
 *  | lc_try_recv, lc_try_recv_node         | the receiving thread (2) | lock-free (3)         |
 *  | lc_recv, lc_recv_node, lc_recv_timeout| the receiving thread (2) | blocks while empty    |
 *  | lc_poll_recv                          | the receiving thread (2) | lock-free (3)         |
 *  | lc_rx_close, lc_rx_drop               | the receiving thread (2) | lock-free (3) (4)     |
 *  | lc_rx_len, lc_sender_count            | any thread with the lc_rx| wait-free             |
 *  | lc_try_recv_many                      | the receiving thread (2) | lock-free (3)         |
 *  | lc_poll_send, lc_send_cancel          | any thread with a lc_tx  | lock-free (1) (6)     |
 *  | lc_mux_*                              | the mux's owning thread  | see lc_mux            |
 *
 * Every call in the table may run at the same time as any other, from any number of threads,
 * except that receiving-thread calls on one lc_rx must not overlap each other.
 *
 *  (1) Producers link a node with one compare-and-swap loop on the queue's producer end
 *      (libatomic_ops has no atomic exchange), then one compare-and-swap of the previous
 *      node's link; a sender can retry only because another sender's operation succeeded
 *      (or the receiver's drop closed the queue: the send then fails with LC_CLOSED).
 *      Unlinking a waiting sender takes a short internal lock.
 *  (2) One thread at a time: receive calls on one lc_rx must not overlap. They may move from
 *      thread to thread if the caller orders the hand-over (a mutex, a thread join).
 *  (3) Except that handing a freed slot to a sender waiting for room (bounded channels) takes a
 *      short internal lock, and that replacing or removing a registered waker waits for a wake
 *      call that is running at that moment to return.
 *  (4) Plus the calls of cfg->drop for the messages still queued; lc_rx_drop also waits a
 *      bounded moment (spins, then a few yields) for a push that is in flight (lc_rx_drop).
 *  (5) The last lc_tx_drop calls the registered waker, and frees the channel (calling
 *      cfg->drop and the allocator) if the receiver is gone. Sends call the allocator and the
 *      registered waker too: progress is that of your allocator and wake function.
 *  (6) Joining or leaving the list of senders waiting for room takes the short internal lock;
 *      lc_send_cancel also waits for a wake call of its own wait that is running.
 *
 * Messages: every message a send accepted (LC_OK) is received exactly once, or passed to
 * cfg->drop exactly once. A send that fails took nothing: the message, or the node, is still the
 * caller's. Messages of one sender arrive in the order it sent them; messages of different
 * senders interleave in the order they were linked into the queue.
 *
 * A sender interrupted between the two steps of linking a node leaves its message "in flight":
 * it counts in lc_rx_len but cannot be received until the sender resumes, and neither can the
 * message queued just before it (possibly another sender's, already accepted) nor any later
 * one. lc_try_recv returns LC_EMPTY meanwhile; lc_recv parks until the sender's wake-up. No
 * call spins on it.
 *
 * A send holds its slot from the moment it is accepted for room, before its node exists: while
 * it allocates, lc_rx_len counts it and another sender may see LC_FULL; if the allocation then
 * fails, the slot is given back (to a waiting sender first).
 *
 * Timeouts (lc_send_timeout, lc_recv_timeout, lc_mux_wait) are measured on CLOCK_MONOTONIC: a
 * step of the wall clock neither stretches nor shortens them. (With -Dparker=portable on a
 * system without pthread_condattr_setclock, a step back can still stretch one wait by the step.)
 *
 * Cancellation: no call of the library is a cancellation point. A thread cancelled with
 * pthread_cancel (deferred, the default) while it is blocked in a call stays in it until the call
 * returns as it would have (woken by a message, room, a close, its timeout), and the cancel then
 * acts at the thread's next cancellation point; so cancel a blocked thread and then wake it, for
 * example by closing the channel. Callbacks you give the library run inside its calls: if one is
 * a cancellation point, the call that runs it is one too. Asynchronous cancellation
 * (PTHREAD_CANCEL_ASYNCHRONOUS) must not interrupt a call.
 *
 * fork(): a child process may use only the channels and muxes it creates itself. Those it
 * inherited are copies whose other ends live in the parent (the threads that send or wait, their
 * wait records on their stacks) and whose mux descriptor the parent shares: the child must make
 * no call on them, not even lc_tx_drop, lc_rx_drop or lc_mux_free (their memory is freed with the
 * child's address space). The library keeps no global state, so the child's own channels and
 * muxes work as in any process, as far as their allocator does: a child of a multi-threaded
 * process may allocate only if the allocator is usable after fork (glibc's malloc is).
 * (POSIX itself promises only async-signal-safe functions there, until exec.)
 *
 * A receive loop:
 * @code
 *     struct event ev;
 *     int rc;
 *     while ((rc = lc_recv(rx, &ev)) == LC_OK)
 *         handle(&ev);
 *     if (rc != LC_CLOSED)   // LC_CLOSED: every sender is gone and the queue is drained
 *         fprintf(stderr, "recv: %s\n", lc_strerror(rc));
 *     lc_rx_drop(rx);
 * @endcode
 */
#ifndef LAZYCHAN_H
#define LAZYCHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LC_VERSION_MAJOR 0
#define LC_VERSION_MINOR 1
#define LC_VERSION_PATCH 0
/* One number that grows with every release: major * 10000 + minor * 100 + patch. */
#define LC_VERSION (LC_VERSION_MAJOR * 10000 + LC_VERSION_MINOR * 100 + LC_VERSION_PATCH)

#if defined(LC_BUILDING_LIBRARY) && defined(__GNUC__)
#define LC_API __attribute__((visibility("default")))
#else
#define LC_API
#endif

#if defined(__GNUC__)
#define LC_NODISCARD __attribute__((warn_unused_result))
#else
#define LC_NODISCARD
#endif

/* The largest capacity, and the most messages an unbounded channel queues at once. */
#define LC_CAPACITY_MAX ((size_t)UINT32_MAX)
/* The largest msg_size of a copy-mode channel. */
#define LC_MSG_SIZE_MAX ((size_t)UINT32_MAX - 16u)
/* A timeout that never expires. */
#define LC_FOREVER UINT64_MAX

typedef struct lc_tx lc_tx; /* a sender handle: any thread */
typedef struct lc_rx lc_rx; /* the receiver: one thread at a time */

/* Embed one in your own struct for intrusive mode. While the channel owns the node (from a
 * successful send until the node is received or dropped) lc_private is the channel's link word;
 * the library declares it as an integer so that it can be accessed atomically. */
typedef struct lc_node {
    uintptr_t lc_private;
} lc_node;

/* A wake-up the receiver registers with lc_poll_recv. wake(ctx) is called at most once per
 * registration, from the thread of a send (or of the last lc_tx_drop) that finds it registered
 * after making the channel ready; it may be called spuriously. It must be short, must not block
 * and must not call receive functions of this channel: the receiver waits for a wake call that
 * is running before it replaces or forgets the waker. */
typedef struct lc_waker {
    void (*wake)(void *ctx);
    void *ctx;
} lc_waker;

/* Memory for the channel and its nodes. alloc returns memory aligned for any type, or NULL;
 * free gets back the size that was asked for. Both may be called from any thread that sends,
 * receives or drops a handle, concurrently. */
typedef struct lc_allocator {
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr, size_t size);
    void *ctx;
} lc_allocator;

/* Read at creation and not kept; the allocator it points to must outlive the channel. */
typedef struct lc_config {
    size_t capacity;                    /* 0: unbounded; n: at most n messages queued, exactly */
    const lc_allocator *allocator;      /* NULL: malloc/free; used for the channel and every node */
    void (*drop)(void *ctx, void *msg); /* optional: called once for each message never received
                                           (copy mode: the payload, aligned to 8 bytes only;
                                           intrusive: the lc_node *) */
    void *drop_ctx;
} lc_config;

enum { /* every call returns LC_OK (0) or one of these negative codes */
    LC_OK = 0,
    LC_EMPTY = -1,    /* nothing to receive now */
    LC_FULL = -2,     /* capacity messages are queued or being sent */
    LC_CLOSED = -3,   /* send: receiver closed or dropped; receive: drained, no sender left */
    LC_TIMEDOUT = -4, /* the timeout expired first */
    LC_NOMEM = -5,    /* the allocator returned NULL; nothing changed */
    LC_INVALID = -6,  /* a NULL or out-of-range argument, or a call for the other mode */
    LC_PENDING = -7,  /* lc_poll_recv: nothing ready, the waker is registered */
};

/* A static, human-readable description of an LC_ code ("unknown error" for anything else). */
LC_API const char *lc_strerror(int code);

/* LC_VERSION of the library that is linked, which may differ from the header compiled against. */
LC_API unsigned lc_version(void);

/*
 * Creates a copy-mode channel for messages of msg_size bytes (0 to LC_MSG_SIZE_MAX).
 * cfg may be NULL (unbounded, malloc/free, no drop callback); it is read now and not kept.
 * On LC_OK, *tx is the first sender handle and *rx the receiver; the caller owns both and gives
 * each back with lc_tx_drop and lc_rx_drop. On error *tx and *rx are untouched.
 * Returns LC_OK, LC_INVALID (NULL tx or rx, msg_size or capacity too large, an allocator whose
 * alloc or free is NULL), LC_NOMEM.
 * Makes exactly one allocation. Any thread; does not block.
 */
LC_API LC_NODISCARD int lc_channel(size_t msg_size, const lc_config *cfg, lc_tx **tx, lc_rx **rx);

/*
 * Creates an intrusive channel: messages are lc_node pointers that the caller embeds in its own
 * structs, and the channel allocates nothing per message. Otherwise as lc_channel.
 */
LC_API LC_NODISCARD int lc_channel_intrusive(const lc_config *cfg, lc_tx **tx, lc_rx **rx);

/*
 * Adds one sender reference and returns the handle for it (the same pointer as tx). Give each
 * reference back with lc_tx_drop. Returns NULL if tx is NULL or the channel already has
 * 2^26 - 1 (67,108,863) sender references. Allocates nothing. Any thread holding tx.
 */
LC_API LC_NODISCARD lc_tx *lc_tx_clone(lc_tx *tx);

/*
 * Gives back one sender reference; tx must not be used through it again, and no call through
 * the same reference may be running. When the last reference goes, the receiver gets the queued
 * messages and then LC_CLOSED; its registered waker is called. If the receiver is already gone,
 * the last drop frees the channel (passing unreceived messages to cfg->drop). NULL: no effect.
 */
LC_API void lc_tx_drop(lc_tx *tx);

/*
 * Closes the channel from the receiving side: every later send fails with LC_CLOSED and senders
 * waiting for room wake with LC_CLOSED (except one that a freed slot was being handed to as
 * the close came: its send returns LC_OK, and its message is queued and received as usual).
 * Messages already accepted stay receivable; once they are drained, receives return LC_CLOSED.
 * A receiver registered with a mux is reported if that leaves it at end of stream. Idempotent.
 * NULL: no effect. Receiving thread only.
 */
LC_API void lc_rx_close(lc_rx *rx);

/*
 * Closes the channel, passes every queued message to cfg->drop (copy mode: frees its node) and
 * gives back the receiver; rx must not be used again. The channel is freed now if no sender
 * reference is left, otherwise by the last lc_tx_drop.
 * Nothing outlives the receiver: once this has returned, every send fails with LC_CLOSED and
 * keeps its message (or node), also one that took its slot before (a slot granted to an
 * lc_poll_send wait, or a send still in its allocator); the slot goes back. The one exception is
 * a send that had begun linking its node (the first step of the two, see "in flight" above)
 * and was interrupted before the second: lc_rx_drop waits for such a push a bounded moment
 * (64 spins, then 32 yields of the CPU); if it is still in flight then, the send returns LC_OK
 * when it resumes, and its message, with those queued before it, reaches cfg->drop from the
 * thread of the last lc_tx_drop. Each message
 * reaches cfg->drop exactly once. Any waker registered by lc_poll_recv is forgotten and will
 * not be called after this returns. NULL: no effect. Receiving thread only.
 */
LC_API void lc_rx_drop(lc_rx *rx);

/*
 * Copies msg_size bytes from msg into a new node and queues it. msg may be NULL only when
 * msg_size is 0. Returns LC_OK, LC_FULL (capacity messages queued), LC_CLOSED (receiver closed
 * or dropped), LC_NOMEM, LC_INVALID (NULL tx or msg, or an intrusive channel).
 * On success the bytes are the channel's; msg itself stays the caller's. Any thread; never blocks.
 */
LC_API LC_NODISCARD int lc_try_send(lc_tx *tx, const void *msg);

/* As lc_try_send, but waits while the channel is full: senders waiting for room are served in
 * FIFO order. Never returns LC_FULL. */
LC_API LC_NODISCARD int lc_send(lc_tx *tx, const void *msg);

/* As lc_send, giving up after timeout_ns nanoseconds with LC_TIMEDOUT (LC_FOREVER: never;
 * 0: as lc_try_send, but LC_TIMEDOUT in place of LC_FULL). Giving up takes the channel's short
 * internal lock, so it can return later than the timeout by as long as a holder of that lock
 * is descheduled. A slot granted just as it gives up is used: the send then returns LC_OK. */
LC_API LC_NODISCARD int lc_send_timeout(lc_tx *tx, const void *msg, uint64_t timeout_ns);

/*
 * Takes the oldest ready message: copies its msg_size bytes to out and frees its node.
 * out may be NULL only when msg_size is 0. Returns LC_OK, LC_EMPTY (nothing ready now, a sender
 * is still there), LC_CLOSED (drained, and every sender is gone or the receiver closed),
 * LC_INVALID (NULL rx or out, or an intrusive channel). Receiving thread; never blocks.
 */
LC_API LC_NODISCARD int lc_try_recv(lc_rx *rx, void *out);

/* As lc_try_recv, but waits while the channel is empty: spins briefly, then parks the thread
 * on the channel's waker slot. A waker that lc_poll_recv registered is forgotten, whatever this
 * returns. Never returns LC_EMPTY. */
LC_API LC_NODISCARD int lc_recv(lc_rx *rx, void *out);

/* As lc_recv, giving up after timeout_ns nanoseconds with LC_TIMEDOUT (LC_FOREVER: never;
 * 0: as lc_try_recv, but LC_TIMEDOUT in place of LC_EMPTY). Before it returns it waits for a
 * sender that is calling its wake-up at that moment, so it can return later than the timeout
 * by as long as that sender is descheduled. */
LC_API LC_NODISCARD int lc_recv_timeout(lc_rx *rx, void *out, uint64_t timeout_ns);

/*
 * As lc_try_recv, for receivers driven by an event loop. If nothing is ready, registers waker
 * and returns LC_PENDING: waker->wake(waker->ctx) will be called once when a message arrives or
 * the last sender goes. Only one waker is held: a later lc_poll_recv replaces it, and a waker
 * that was replaced, called, or forgotten by lc_rx_drop is no longer referenced. The lc_waker
 * struct must stay valid and unchanged while registered. On any return other than LC_PENDING
 * the waker is not kept (it may have been called once spuriously). Returns LC_OK, LC_PENDING,
 * LC_CLOSED, LC_INVALID (NULL rx, out, waker or waker->wake, or an intrusive channel).
 * Receiving thread.
 */
LC_API LC_NODISCARD int lc_poll_recv(lc_rx *rx, void *out, const lc_waker *waker);

/*
 * Intrusive twins of the calls above, for channels made by lc_channel_intrusive.
 * Send: on LC_OK the node is the channel's until it is received (or passed to cfg->drop); on
 * error it stays the caller's. The node must not be queued in any channel already.
 * Receive: on LC_OK *node is the oldest message, and the caller owns it again.
 * Same codes as the copy-mode calls; LC_INVALID also for a NULL node and for a copy channel.
 */
LC_API LC_NODISCARD int lc_try_send_node(lc_tx *tx, lc_node *node);
LC_API LC_NODISCARD int lc_send_node(lc_tx *tx, lc_node *node);
LC_API LC_NODISCARD int lc_try_recv_node(lc_rx *rx, lc_node **node);
LC_API LC_NODISCARD int lc_recv_node(lc_rx *rx, lc_node **node);

/* Messages queued now, including any in flight; exact when no send or receive is running.
 * 0 for NULL. Any thread holding rx. */
LC_API size_t lc_rx_len(const lc_rx *rx);

/* true once the receiver closed or dropped the channel (sends then fail with LC_CLOSED), and
 * for NULL. Any thread holding tx. */
LC_API bool lc_tx_is_closed(const lc_tx *tx);

/* Sender references alive now (0 for NULL). Any thread holding rx. */
LC_API size_t lc_sender_count(const lc_rx *rx);

/*
 * Takes up to max ready messages at once, oldest first, and copies them to out, an array of max
 * elements of msg_size bytes: a consumer woken once drains a burst in one call. Returns how many
 * it copied (1 to max, and at most INT_MAX), or, when it copied none: LC_EMPTY, LC_CLOSED (as
 * lc_try_recv), LC_INVALID (NULL rx, NULL out with msg_size > 0, max 0, an intrusive channel).
 * The slots are given back with one update when no sender waits for room. Receiving thread;
 * never blocks.
 */
LC_API LC_NODISCARD int lc_try_recv_many(lc_rx *rx, void *out, size_t max);

/* ---- Async send ---- */

/*
 * The record of one sender waiting for room without blocking (lc_poll_send). The caller owns it
 * (on its stack, or inside its own per-request struct): the channel allocates nothing for it.
 * Zero-initialise it before first use (lc_send_wait w = {0}); its contents are the library's.
 * After any lc_poll_send return other than LC_PENDING, and after lc_send_cancel, it is idle
 * again and may be reused, for any channel, or freed.
 */
typedef struct lc_send_wait {
    uintptr_t lc_private[4];
} lc_send_wait;

/*
 * Sends msg like lc_try_send, but when the channel is full, joins the senders waiting for room
 * (first in, first out, with the blocking senders) instead of failing, and returns LC_PENDING:
 * waker->wake(waker->ctx) is then called once, from another thread, when a slot is granted to
 * this wait or the receiver closes the channel. Call lc_poll_send again with the same wait (and
 * the message, which is copied only then) to send with the granted slot, or lc_send_cancel to
 * give up. Calling it again before the wake is allowed: it returns LC_PENDING and replaces the
 * waker.
 * While the wait is pending, it and the lc_waker must stay valid and unchanged, and only one
 * thread at a time may call lc_poll_send or lc_send_cancel with it; the waker must be short and
 * must not call lc_poll_send or lc_send_cancel itself.
 * Returns LC_OK (sent), LC_PENDING, LC_CLOSED, LC_NOMEM (the granted slot is passed on),
 * LC_INVALID (NULL tx, wait, waker or waker->wake, NULL msg with msg_size > 0, an intrusive
 * channel). Any thread with a lc_tx; never blocks, except to wait for a wake call of this wait
 * that is running.
 */
LC_API LC_NODISCARD int lc_poll_send(lc_tx *tx, const void *msg, lc_send_wait *wait,
                                     const lc_waker *waker);

/*
 * Withdraws a wait that lc_poll_send left pending; nothing is sent. If a slot was granted to it
 * already (its waker called, or about to be), the slot goes to the next waiting sender, or back
 * to the channel: a cancelled wait never swallows a wake-up another sender needed. Returns once
 * no other thread uses wait or its waker: LC_OK (also for an idle wait), LC_INVALID (NULL tx or
 * wait). Same threads as lc_poll_send.
 */
LC_API int lc_send_cancel(lc_tx *tx, lc_send_wait *wait);

/* ---- One thread waiting on many receivers: lc_mux ---- */

/*
 * A mux lets one thread wait on thousands of receivers at once, each registered with a user_data
 * pointer. It uses each receiver's waker slot: a send that makes a registered receiver ready puts
 * it on the mux's ready list (O(1), no scan of the registered receivers) and wakes the thread in
 * lc_mux_wait. Readiness is one-shot and coalesced: once reported, a receiver is not reported
 * again (however many messages arrive) until the next lc_mux_wait re-arms it, and if it still
 * has messages then, it is reported again at once. A receiver at end of stream (drained, and
 * every sender gone or the channel closed) is reported once more so the consumer sees
 * LC_CLOSED, and then not again.
 *
 * Memory: lc_mux_new makes one allocation; lc_mux_add makes one of 48 bytes, freed by
 * lc_mux_remove or lc_mux_free (by the next lc_mux_wait instead, if the receiver had been made
 * ready and not re-armed since). Nothing is allocated per message or per wake.
 *
 * Threads: the mux has one owning thread, which makes every lc_mux_* call and is the receiving
 * thread of every registered receiver. While registered, a receiver's waker slot belongs to the
 * mux: receive with lc_try_recv, lc_try_recv_many or lc_try_recv_node; lc_recv, lc_recv_node,
 * lc_recv_timeout and lc_poll_recv return LC_INVALID. lc_rx_drop of a registered receiver
 * removes it first. Senders need not know that a mux exists.
 *
 * A loop:
 * @code
 *     lc_mux_event ev[64];
 *     for (;;) {
 *         int n = lc_mux_wait(mux, LC_FOREVER, ev, 64);
 *         for (int i = 0; i < n; i++) {
 *             struct object *obj = ev[i].user_data;
 *             int rc;
 *             while ((rc = lc_try_recv(ev[i].rx, &msg)) == LC_OK)
 *                 handle(obj, &msg);
 *             if (rc == LC_CLOSED)
 *                 forget(obj);       // lc_rx_drop(ev[i].rx) removes it from the mux
 *         }
 *     }
 * @endcode
 */
typedef struct lc_mux lc_mux;

/* One ready receiver, as lc_mux_wait reports it. */
typedef struct lc_mux_event {
    lc_rx *rx;
    void *user_data; /* as given to lc_mux_add */
} lc_mux_event;

/*
 * Creates a mux in *mux. allocator (NULL: malloc/free) is used for the mux and for every
 * registration, and must outlive the mux. Returns LC_OK, LC_INVALID (NULL mux, an allocator
 * whose alloc or free is NULL), LC_NOMEM. Any thread; the caller becomes the owning thread.
 */
LC_API LC_NODISCARD int lc_mux_new(const lc_allocator *allocator, lc_mux **mux);

/*
 * Registers rx with user_data. If rx is ready already, the next lc_mux_wait reports it. A waker
 * that lc_poll_recv left registered on rx is forgotten. Returns LC_OK, LC_INVALID (NULL mux or
 * rx, rx registered with a mux already), LC_NOMEM. Owning thread; allocates 48 bytes.
 */
LC_API LC_NODISCARD int lc_mux_add(lc_mux *mux, lc_rx *rx, void *user_data);

/*
 * Unregisters rx. Once it returns, the mux no longer reports rx, even for a send that ran at the
 * same time, and no sender touches the mux through rx; whatever rx holds stays queued in it, to
 * be received directly or reported after a new lc_mux_add. A send that raced with the removal was
 * either reported by an earlier lc_mux_wait or stays queued. Returns LC_OK, LC_INVALID (NULL
 * arguments, rx not registered with this mux). Owning thread.
 */
LC_API int lc_mux_remove(lc_mux *mux, lc_rx *rx);

/*
 * Re-arms the receivers the previous call reported, then waits until at least one registered
 * receiver is ready or timeout_ns nanoseconds pass (LC_FOREVER: no limit; 0: do not wait), and
 * stores up to max ready receivers in events. Spins briefly before it parks. Returns how many it
 * stored (1 to max, at most INT_MAX), LC_TIMEDOUT, or LC_INVALID (NULL mux or events, max 0).
 * A receiver is ready once the sender that made it so has finished reporting it: a report still
 * on its way (its sender interrupted) is not seen yet, even if the message can be received
 * already, and that sender wakes the mux when it resumes. Owning thread.
 */
LC_API LC_NODISCARD int lc_mux_wait(lc_mux *mux, uint64_t timeout_ns, lc_mux_event *events,
                                    size_t max);

/*
 * Linux: a file descriptor (an eventfd, made at the first call and owned by the mux) for an
 * epoll, poll, libuv or GLib loop (examples/epoll.c, uv.c, glib.c). It becomes readable when a registered receiver becomes ready after
 * an lc_mux_wait that returned LC_TIMEDOUT: so when it is readable, call lc_mux_wait with
 * timeout 0 until it returns LC_TIMEDOUT, handling what it reports, and only then wait on the
 * descriptor again. lc_mux_wait clears it. Returns the descriptor, LC_NOMEM (the system is out
 * of descriptors or memory), LC_INVALID (NULL mux, or not Linux). Owning thread.
 */
LC_API LC_NODISCARD int lc_mux_fd(lc_mux *mux);

/* Receivers registered now (0 for NULL). Owning thread. */
LC_API size_t lc_mux_count(const lc_mux *mux);

/*
 * Unregisters every receiver (they stay usable, with their messages), closes the descriptor of
 * lc_mux_fd and frees the mux. Take the descriptor out of any event loop that watches it first
 * (epoll_ctl EPOLL_CTL_DEL, uv_close of the uv_poll_t, g_source_destroy): once closed, its
 * number may be reused by the next descriptor the process opens. NULL: no effect. Owning thread.
 */
LC_API void lc_mux_free(lc_mux *mux);

#ifdef __cplusplus
}
#endif

#endif /* LAZYCHAN_H */
