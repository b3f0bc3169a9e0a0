/*
 * The channel struct, shared by the modules that implement the public API. One allocation per
 * channel: lc_tx and lc_rx handles are both views of this struct.
 *
 * Layout: 64 bytes, with or without an allocator; 80 with a drop callback. Per message,
 * producers touch tail and state (and the stub's link when the queue is empty); the waker only
 * when the receiver has marked the queue (queue.h), at the end of the stream, or when giving a
 * slot back on a closed channel; waiters when the channel is full. The consumer touches head,
 * state and the waker, and the stub's link and tail when the queue drains. Keeping the two
 * sides on separate cache lines would double the idle size (bench/lineprobe.c measures what
 * that would buy), so they share one line on purpose.
 */
#ifndef LC_SRC_CHAN_H
#define LC_SRC_CHAN_H

#include <stdint.h>
#include <stdlib.h>

#include "atomic.h"
#include "lazychan.h"
#include "queue.h"

struct lc_chan {
    lc__queue q;                   /* tail, head, stub */
    volatile lc__word state;       /* queued count, sender count, flags: see LC__S_* */
    volatile lc__word waker;       /* the waker slot (waker.h) */
    volatile lc__word waiters;     /* senders waiting for room, and the lock bit (room.c) */
    uint32_t msg_size;             /* payload bytes; LC__MSG_INTRUSIVE: intrusive mode */
    uint32_t capacity;             /* LC_CAPACITY_MAX when unbounded */
    const lc_allocator *allocator; /* NULL: malloc/free */
};

/* msg_size of a channel made by lc_channel_intrusive (above LC_MSG_SIZE_MAX). */
#define LC__MSG_INTRUSIVE UINT32_MAX

/* A channel made with a drop callback carries it behind the base struct (LC__S_DROP). */
struct lc_chan_drop {
    struct lc_chan base;
    void (*drop)(void *ctx, void *msg);
    void *drop_ctx;
};

_Static_assert(sizeof(struct lc_chan) == 64, "an idle channel is 64 bytes");
_Static_assert(sizeof(struct lc_chan_drop) <= 96, "with a drop callback, at most 96 bytes");

/*
 * The state word. count is the number of accepted messages not yet received (including those
 * in flight, and slots granted to a waiting sender that has not linked its node yet). All
 * fields change by CAS on the whole word, so a send's capacity check, the close flag and the
 * sender count are seen together. LC__S_DROP is fixed at creation; LC__S_RX_WAKER, once set,
 * stays set.
 */
#define LC__S_COUNT_MASK ((lc__word)0xffffffffu)
#define LC__S_SENDER_SHIFT 32
#define LC__S_SENDER_ONE ((lc__word)1 << LC__S_SENDER_SHIFT)
#define LC__S_SENDER_MAX (((lc__word)1 << 26) - 1)
#define LC__S_SENDER_MASK (LC__S_SENDER_MAX << LC__S_SENDER_SHIFT)
#define LC__S_RX_WAKER ((lc__word)1 << 58)  /* the receiver has used its waker slot */
#define LC__S_DROP ((lc__word)1 << 59)      /* the struct is a struct lc_chan_drop */
#define LC__S_WAITERS ((lc__word)1 << 60)   /* senders wait for room; set only when full */
#define LC__S_CLOSED ((lc__word)1 << 61)    /* the receiver closed or dropped the channel */
#define LC__S_RX_GONE ((lc__word)1 << 62)   /* the receiver handle was dropped */
#define LC__S_EOS_WAKE ((lc__word)1 << 63)  /* the last sender is still waking the receiver */

static inline lc__word lc__count(lc__word s) { return s & LC__S_COUNT_MASK; }
static inline lc__word lc__senders(lc__word s)
{
    return (s & LC__S_SENDER_MASK) >> LC__S_SENDER_SHIFT;
}

static inline struct lc_chan *lc__chan_tx(lc_tx *tx) { return (struct lc_chan *)(void *)tx; }
static inline struct lc_chan *lc__chan_rx(lc_rx *rx) { return (struct lc_chan *)(void *)rx; }

/* A bit of the state word that never changes after creation. */
static inline bool lc__fixed(const struct lc_chan *c, lc__word bit)
{
    return (lc__load_relaxed(&c->state) & bit) != 0;
}

/*
 * Receiver, before it first puts a waker or a mux registration in its waker slot: sets
 * LC__S_RX_WAKER, so that the last lc_tx_drop knows there may be a waker to call. A channel
 * whose receiver never waited (it only polls with lc_try_recv, or finds a message at once)
 * ends its stream with the last sender's one CAS.
 */
static inline void lc__rx_note_waker(struct lc_chan *c)
{
    lc__word s = lc__load_relaxed(&c->state);
    /* full: ordered with the last sender's CAS on the same word. If that CAS comes after this
     * one it sees the flag and calls the waker; if before, the receiver's re-check after it
     * registers (an acquire load of this word) sees no sender left. */
    while (!(s & LC__S_RX_WAKER) && !lc__cas_full(&c->state, s, s | LC__S_RX_WAKER))
        s = lc__load_relaxed(&c->state);
}

/* Memory from the caller's allocator, or malloc/free when a is NULL. */
static inline void *lc__mem_alloc(const lc_allocator *a, size_t size)
{
    return a ? a->alloc(a->ctx, size) : malloc(size);
}

static inline void lc__mem_free(const lc_allocator *a, void *ptr, size_t size)
{
    if (a)
        a->free(a->ctx, ptr, size);
    else
        free(ptr);
}

/* An allocator the caller may pass: NULL, or one with both functions. */
static inline bool lc__allocator_ok(const lc_allocator *a)
{
    return a == NULL || (a->alloc != NULL && a->free != NULL);
}

/* A test build learns when lc_rx_drop leaves a message in flight to the last sender (the
 * hook is defined in test/stress/push_window_hook.c, for stress_late_send). */
#ifdef LC_TEST_HOOKS
extern void (*volatile lc__test_drop_left_in_flight)(void);
#endif

/* room.c: slots of the count, and the senders that wait for one. */

/* Takes a slot: LC_OK, LC_FULL or LC_CLOSED. Never blocks. */
int lc__room_reserve(struct lc_chan *c);
/* Takes a slot, waiting up to timeout_ns (LC_FOREVER: no limit) in FIFO order with the other
 * waiting senders: LC_OK, LC_CLOSED or LC_TIMEDOUT. */
int lc__room_wait(struct lc_chan *c, uint64_t timeout_ns);
/* lc_poll_send's part: LC_OK (a slot is the caller's), LC_PENDING (w waits in the list with
 * waker) or LC_CLOSED; w is idle again on any return but LC_PENDING. */
int lc__room_poll(struct lc_chan *c, lc_send_wait *w, const lc_waker *waker);
/* Takes w out of the list; a slot granted to it already is passed on. w is idle after. */
void lc__room_cancel(struct lc_chan *c, lc_send_wait *w);
/* Gives back a slot: to the oldest waiting sender if there is one, else to the count. */
void lc__room_release(struct lc_chan *c);
/* A sender gives back a slot it took and cannot use (no memory, a cancelled wait): as
 * lc__room_release, and wakes the receiver if that ended a closed channel's stream. */
void lc__room_give_back(struct lc_chan *c);
/* Gives back n slots, with one update of the count when no sender waits. */
void lc__room_release_many(struct lc_chan *c, lc__word n);
/* After LC__S_CLOSED is set: wakes every waiting sender with LC_CLOSED. */
void lc__room_close_waiters(struct lc_chan *c);

/* mux.c: if the receiver is registered with a mux, unregisters it. Receiving thread. */
void lc__mux_detach_rx(struct lc_chan *c);
/* mux.c: if the receiver is registered and armed, reports it should it be ready. Receiving
 * thread. */
void lc__mux_recheck_rx(struct lc_chan *c);

#endif /* LC_SRC_CHAN_H */
