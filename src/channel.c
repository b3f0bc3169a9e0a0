/*
 * The public API: channel lifetime, handles, send and receive in both modes.
 *
 * A send takes a slot of the count (room.c), makes or takes a node, links it into the queue
 * (queue.h) and wakes the receiver's registered waker (waker.h). A receive pops a node, copies
 * it out and frees it, and gives the slot back. Blocking receives park on the waker slot.
 */
#include <limits.h>
#include <string.h>

#include "chan.h"
#include "lock.h"
#include "parker.h"
#include "waker.h"

/* lc_rx_drop's wait for a push in flight, in lc__backoff rounds: its spins, then yields. */
#define DROP_WAIT_ROUNDS (LC__SPINS_BEFORE_YIELD + 32u)

/* Copy-mode node: the link, then msg_size payload bytes. */
#define NODE_HEADER sizeof(lc_node)

static struct lc_chan_drop *with_drop(struct lc_chan *c) { return (struct lc_chan_drop *)c; }

static bool is_intrusive(const struct lc_chan *c) { return c->msg_size == LC__MSG_INTRUSIVE; }

static size_t chan_size(bool has_drop)
{
    return has_drop ? sizeof(struct lc_chan_drop) : sizeof(struct lc_chan);
}

static unsigned char *payload(lc_node *n) { return (unsigned char *)n + NODE_HEADER; }

/* A message that will never be received: to cfg->drop, and its node freed (copy mode). */
static void drop_message(struct lc_chan *c, lc_node *n)
{
    bool intrusive = is_intrusive(c);
    if (lc__fixed(c, LC__S_DROP))
        with_drop(c)->drop(with_drop(c)->drop_ctx, intrusive ? (void *)n : (void *)payload(n));
    if (!intrusive)
        lc__mem_free(c->allocator, n, NODE_HEADER + c->msg_size);
}

/* Called once, by whichever handle goes last: no push is in flight any more. */
static void destroy(struct lc_chan *c)
{
    lc_node *n;
    lc__queue_close(&c->q);
    while ((n = lc__queue_pop_closed(&c->q)) != NULL)
        drop_message(c, n);
    lc__mem_free(c->allocator, c, chan_size(lc__fixed(c, LC__S_DROP)));
}

/* ---- creation ---- */

static int create(size_t msg_size, bool intrusive, const lc_config *cfg, lc_tx **tx, lc_rx **rx)
{
    if (tx == NULL || rx == NULL || msg_size > LC_MSG_SIZE_MAX)
        return LC_INVALID;
    size_t capacity = cfg ? cfg->capacity : 0;
    const lc_allocator *a = cfg ? cfg->allocator : NULL;
    bool has_drop = cfg && cfg->drop;
    if (capacity > LC_CAPACITY_MAX || !lc__allocator_ok(a))
        return LC_INVALID;

    struct lc_chan *c = lc__mem_alloc(a, chan_size(has_drop));
    if (c == NULL)
        return LC_NOMEM;
    lc__queue_init(&c->q);
    c->state = LC__S_SENDER_ONE | (has_drop ? LC__S_DROP : 0);
    c->waker = 0;
    c->waiters = 0;
    c->msg_size = intrusive ? LC__MSG_INTRUSIVE : (uint32_t)msg_size;
    c->capacity = capacity ? (uint32_t)capacity : (uint32_t)LC_CAPACITY_MAX;
    c->allocator = a;
    if (has_drop) {
        with_drop(c)->drop = cfg->drop;
        with_drop(c)->drop_ctx = cfg->drop_ctx;
    }
    *tx = (lc_tx *)(void *)c;
    *rx = (lc_rx *)(void *)c;
    return LC_OK;
}

int lc_channel(size_t msg_size, const lc_config *cfg, lc_tx **tx, lc_rx **rx)
{
    return create(msg_size, false, cfg, tx, rx);
}

int lc_channel_intrusive(const lc_config *cfg, lc_tx **tx, lc_rx **rx)
{
    return create(0, true, cfg, tx, rx);
}

/* ---- handles ---- */

lc_tx *lc_tx_clone(lc_tx *tx)
{
    if (tx == NULL)
        return NULL;
    struct lc_chan *c = lc__chan_tx(tx);
    for (;;) {
        lc__word s = lc__load_relaxed(&c->state);
        if (lc__senders(s) >= LC__S_SENDER_MAX)
            return NULL;
        /* full: like every state change (see room.c). */
        if (lc__cas_full(&c->state, s, s + LC__S_SENDER_ONE))
            return tx;
    }
}

void lc_tx_drop(lc_tx *tx)
{
    if (tx == NULL)
        return;
    struct lc_chan *c = lc__chan_tx(tx);
    lc__word s, next;
    do {
        s = lc__load_relaxed(&c->state);
        next = s - LC__S_SENDER_ONE;
        /* The last sender keeps the channel alive (EOS_WAKE) until it has woken the receiver,
         * if the receiver ever registered a waker (lc__rx_note_waker). */
        if (lc__senders(next) == 0 && (s & LC__S_RX_WAKER) && !(s & LC__S_RX_GONE))
            next |= LC__S_EOS_WAKE;
        /* full: everything this sender did happens before the thread that frees the channel
         * sees the count drop; and the store is ordered before the load of the waker slot. */
    } while (!lc__cas_full(&c->state, s, next));

    if (lc__senders(next) != 0)
        return;
    if (next & LC__S_RX_GONE) {
        destroy(c);
        return;
    }
    if (!(next & LC__S_EOS_WAKE))
        return; /* no waker to call: the receiver sees the end when it next looks */
    lc__waker_wake(&c->waker);
    s = lc__load_relaxed(&c->state);
    while (!lc__cas_full(&c->state, s, s & ~LC__S_EOS_WAKE))
        s = lc__load_relaxed(&c->state);
    if (s & LC__S_RX_GONE)
        destroy(c); /* the receiver went while we were waking it */
}

static void set_closed(struct lc_chan *c)
{
    lc__word s = lc__load_relaxed(&c->state);
    if (s & LC__S_CLOSED)
        return;
    /* full: a send whose reservation comes after this sees CLOSED and fails. */
    while (!lc__cas_full(&c->state, s, s | LC__S_CLOSED))
        s = lc__load_relaxed(&c->state);
    /* A sender joins the wait list only with a CAS that sets LC__S_WAITERS on a state without
     * LC__S_CLOSED, and the flag stays set while the list is not empty: if it was clear just
     * before the close, there is no waiter now and none can come. */
    if (s & LC__S_WAITERS)
        lc__room_close_waiters(c);
}

void lc_rx_close(lc_rx *rx)
{
    if (rx == NULL)
        return;
    struct lc_chan *c = lc__chan_rx(rx);
    set_closed(c);
    lc__mux_recheck_rx(c); /* the end of stream may be here: a mux reports it */
}

void lc_rx_drop(lc_rx *rx)
{
    if (rx == NULL)
        return;
    struct lc_chan *c = lc__chan_rx(rx);
    lc__mux_detach_rx(c);
    /* acquire: pairs with the full CAS of the last lc_tx_drop. With no sender left and none
     * still waking us, no other thread can reach the channel: free it without a CAS. */
    lc__word s = lc__load_acquire(&c->state);
    if (lc__senders(s) == 0 && !(s & LC__S_EOS_WAKE)) {
        destroy(c);
        return;
    }
    set_closed(c);
    /* From here every send that has not begun its push fails with LC_CLOSED and keeps its
     * message, even one that took its slot before (a grant, a slow allocator). */
    lc__queue_close(&c->q);
    lc__waker_clear(&c->waker);
    /* Drop what is linked now. A push that swapped before the close links its node within
     * instructions unless its thread was paused there: wait a moment for it (spinning, then
     * yielding, DROP_WAIT_ROUNDS at most), then leave what is still in flight to the last
     * sender (destroy). */
    lc_node *n;
    unsigned round = 0, waited = 0;
    for (;;) {
        if ((n = lc__queue_pop_closed(&c->q)) != NULL) {
            drop_message(c, n);
            lc__room_release(c);
        } else if (!lc__queue_closed_pending(&c->q)) {
            break;
        } else if (waited++ < DROP_WAIT_ROUNDS) {
            lc__backoff(&round);
        } else {
#ifdef LC_TEST_HOOKS
            if (lc__test_drop_left_in_flight)
                lc__test_drop_left_in_flight();
#endif
            break;
        }
    }
    s = lc__load_relaxed(&c->state);
    /* full: our pops happen before the thread that frees the channel sees RX_GONE. */
    while (!lc__cas_full(&c->state, s, s | LC__S_RX_GONE))
        s = lc__load_relaxed(&c->state);
    if (lc__senders(s) == 0 && !(s & LC__S_EOS_WAKE))
        destroy(c);
}

/* ---- sending ---- */

/* Queues n with its slot taken: LC_OK, or LC_CLOSED (the receiver was dropped before the push:
 * the slot is given back and n is still the caller's). */
static int enqueue(struct lc_chan *c, lc_node *n)
{
    int pushed = lc__queue_push(&c->q, n);
    if (pushed == LC__PUSH_CLOSED) {
        lc__room_give_back(c);
        return LC_CLOSED;
    }
    /* Only a receiver that waits has marked the queue (take_or_mark): wake it. The link CAS
     * that saw the mark read it with acquire, so the waker registered before the mark is
     * seen; one registered after it, by the slot's read-modify-writes (lc__queue_mark). */
    if (pushed == LC__PUSHED_WAKE)
        lc__waker_wake(&c->waker);
    return LC_OK;
}

static int take_slot(struct lc_chan *c, uint64_t timeout_ns, bool blocking)
{
    if (!blocking)
        return lc__room_reserve(c);
    if (timeout_ns == 0) {
        int rc = lc__room_reserve(c);
        return rc == LC_FULL ? LC_TIMEDOUT : rc;
    }
    return lc__room_wait(c, timeout_ns);
}

/* Copy mode, with a slot taken: makes the node and queues it. */
static int fill_slot(struct lc_chan *c, const void *msg)
{
    lc_node *n = lc__mem_alloc(c->allocator, NODE_HEADER + c->msg_size);
    if (n == NULL) {
        lc__room_give_back(c);
        return LC_NOMEM;
    }
    if (c->msg_size)
        memcpy(payload(n), msg, c->msg_size);
    int rc = enqueue(c, n);
    if (rc != LC_OK)
        lc__mem_free(c->allocator, n, NODE_HEADER + c->msg_size);
    return rc;
}

static int send_copy(lc_tx *tx, const void *msg, uint64_t timeout_ns, bool blocking)
{
    if (tx == NULL)
        return LC_INVALID;
    struct lc_chan *c = lc__chan_tx(tx);
    if (is_intrusive(c) || (msg == NULL && c->msg_size != 0))
        return LC_INVALID;
    int rc = take_slot(c, timeout_ns, blocking);
    return rc == LC_OK ? fill_slot(c, msg) : rc;
}

static int send_node(lc_tx *tx, lc_node *node, bool blocking)
{
    if (tx == NULL || node == NULL)
        return LC_INVALID;
    struct lc_chan *c = lc__chan_tx(tx);
    if (!is_intrusive(c))
        return LC_INVALID;
    int rc = take_slot(c, LC_FOREVER, blocking);
    return rc == LC_OK ? enqueue(c, node) : rc;
}

int lc_try_send(lc_tx *tx, const void *msg) { return send_copy(tx, msg, 0, false); }
int lc_send(lc_tx *tx, const void *msg) { return send_copy(tx, msg, LC_FOREVER, true); }
int lc_send_timeout(lc_tx *tx, const void *msg, uint64_t timeout_ns)
{
    return send_copy(tx, msg, timeout_ns, true);
}
int lc_poll_send(lc_tx *tx, const void *msg, lc_send_wait *wait, const lc_waker *waker)
{
    if (tx == NULL || wait == NULL || waker == NULL || waker->wake == NULL)
        return LC_INVALID;
    struct lc_chan *c = lc__chan_tx(tx);
    if (is_intrusive(c) || (msg == NULL && c->msg_size != 0))
        return LC_INVALID;
    int rc = lc__room_poll(c, wait, waker);
    return rc == LC_OK ? fill_slot(c, msg) : rc;
}

int lc_send_cancel(lc_tx *tx, lc_send_wait *wait)
{
    if (tx == NULL || wait == NULL)
        return LC_INVALID;
    lc__room_cancel(lc__chan_tx(tx), wait);
    return LC_OK;
}

int lc_try_send_node(lc_tx *tx, lc_node *node) { return send_node(tx, node, false); }
int lc_send_node(lc_tx *tx, lc_node *node) { return send_node(tx, node, true); }

/* ---- receiving ---- */

/* Pops one node and gives its slot back: LC_OK, LC_EMPTY or LC_CLOSED. */
static int pop(struct lc_chan *c, lc_node **out)
{
    lc_node *n = lc__queue_pop(&c->q);
    if (n != NULL) {
        *out = n;
        return LC_OK;
    }
    /* acquire: pairs with the full CAS of the last lc_tx_drop, so end of stream is seen only
     * with every message that sender linked before. */
    lc__word s = lc__load_acquire(&c->state);
    if (lc__count(s) == 0 && (lc__senders(s) == 0 || (s & LC__S_CLOSED)))
        return LC_CLOSED;
    return LC_EMPTY; /* empty, or a message is in flight */
}

/* Copy mode: copies node n's payload to out and frees the node. */
static void copy_out(struct lc_chan *c, lc_node *n, void *out)
{
    if (out) /* NULL only when msg_size is 0 (checked by the callers) */
        memcpy(out, payload(n), c->msg_size);
    lc__mem_free(c->allocator, n, NODE_HEADER + c->msg_size);
}

/* Completes a receive of node n: copies it out (copy mode) and frees the slot. */
static void take(struct lc_chan *c, lc_node *n, void *out, lc_node **node_out)
{
    if (node_out)
        *node_out = n;
    else
        copy_out(c, n, out);
    lc__room_release(c);
}

static int try_take(struct lc_chan *c, void *out, lc_node **node_out)
{
    lc_node *n;
    int rc = pop(c, &n);
    if (rc == LC_OK)
        take(c, n, out, node_out);
    return rc;
}

/* A receive with its waker registered: as try_take, but when it finds nothing it marks the
 * queue, so that the next message's sender wakes the waker (LC_EMPTY). */
static int take_or_mark(struct lc_chan *c, void *out, lc_node **node_out)
{
    int rc;
    /* A failed mark means a node was linked meanwhile: the next take gets it. */
    while ((rc = try_take(c, out, node_out)) == LC_EMPTY && !lc__queue_mark(&c->q))
        ;
    return rc;
}

/* A blocking receive's first phase: LC_EMPTY if it should park, else its result. */
static int recv_spin(struct lc_chan *c, void *out, lc_node **node_out, uint64_t timeout_ns)
{
    int rc = try_take(c, out, node_out);
    if (rc != LC_EMPTY)
        return rc;
    if (timeout_ns == 0)
        return LC_TIMEDOUT;
    for (int i = 0; i < LC__SPINS_BEFORE_PARK && rc == LC_EMPTY; i++) {
        lc__cpu_relax();
        rc = try_take(c, out, node_out);
    }
    return rc;
}

/* Parks on the waker slot until a message, end of stream or the deadline. Leaves the slot
 * empty: it returns once no sender is calling its waker, whose parker is on this stack. */
static int recv_park(struct lc_chan *c, void *out, lc_node **node_out, uint64_t timeout_ns)
{
    uint64_t deadline = lc__deadline_after(timeout_ns);
    lc__parker parker;
    lc__parker_init(&parker);
    const lc_waker waker = {lc__parker_wake_fn, &parker};
    int rc;
    lc__rx_note_waker(c);
    for (;;) {
        unsigned seen = lc__parker_seq(&parker);
        lc__waker_register(&c->waker, &waker);
        rc = take_or_mark(c, out, node_out);
        if (rc != LC_EMPTY)
            break;
        if (!lc__parker_wait(&parker, seen, deadline)) {
            rc = try_take(c, out, node_out);
            if (rc == LC_EMPTY)
                rc = LC_TIMEDOUT;
            break;
        }
    }
    lc__waker_clear(&c->waker);
    lc__parker_destroy(&parker);
    return rc;
}

/* Spin, then park. Either way it leaves no waker registered, so a waker of an earlier
 * lc_poll_recv is released (one load when the slot is already empty). */
static int recv_wait(struct lc_chan *c, void *out, lc_node **node_out, uint64_t timeout_ns)
{
    int rc = recv_spin(c, out, node_out, timeout_ns);
    if (rc == LC_EMPTY)
        return recv_park(c, out, node_out, timeout_ns);
    lc__waker_clear(&c->waker);
    return rc;
}

static bool copy_args_ok(lc_rx *rx, const void *out)
{
    if (rx == NULL)
        return false;
    struct lc_chan *c = lc__chan_rx(rx);
    return !is_intrusive(c) && (out != NULL || c->msg_size == 0);
}

static bool node_args_ok(lc_rx *rx, lc_node **node)
{
    return rx != NULL && node != NULL && is_intrusive(lc__chan_rx(rx));
}

/* A receiver registered with a mux lends its waker slot to it: no blocking or poll receive. */
static bool slot_free(lc_rx *rx)
{
    return !lc__slot_is_mux(lc__waker_settled(&lc__chan_rx(rx)->waker));
}

int lc_try_recv(lc_rx *rx, void *out)
{
    if (!copy_args_ok(rx, out))
        return LC_INVALID;
    return try_take(lc__chan_rx(rx), out, NULL);
}

int lc_try_recv_many(lc_rx *rx, void *out, size_t max)
{
    if (!copy_args_ok(rx, out) || max == 0)
        return LC_INVALID;
    struct lc_chan *c = lc__chan_rx(rx);
    if (max > INT_MAX)
        max = INT_MAX;
    unsigned char *dst = out;
    size_t got = 0;
    lc_node *n;
    int rc = LC_OK;
    while (got < max && (rc = pop(c, &n)) == LC_OK) {
        copy_out(c, n, dst);
        if (dst)
            dst += c->msg_size;
        got++;
    }
    if (got == 0)
        return rc;
    lc__room_release_many(c, got);
    return (int)got;
}

int lc_recv(lc_rx *rx, void *out) { return lc_recv_timeout(rx, out, LC_FOREVER); }

int lc_recv_timeout(lc_rx *rx, void *out, uint64_t timeout_ns)
{
    if (!copy_args_ok(rx, out) || !slot_free(rx))
        return LC_INVALID;
    return recv_wait(lc__chan_rx(rx), out, NULL, timeout_ns);
}

int lc_try_recv_node(lc_rx *rx, lc_node **node)
{
    if (!node_args_ok(rx, node))
        return LC_INVALID;
    return try_take(lc__chan_rx(rx), NULL, node);
}

int lc_recv_node(lc_rx *rx, lc_node **node)
{
    if (!node_args_ok(rx, node) || !slot_free(rx))
        return LC_INVALID;
    return recv_wait(lc__chan_rx(rx), NULL, node, LC_FOREVER);
}

int lc_poll_recv(lc_rx *rx, void *out, const lc_waker *waker)
{
    if (!copy_args_ok(rx, out) || waker == NULL || waker->wake == NULL || !slot_free(rx))
        return LC_INVALID;
    struct lc_chan *c = lc__chan_rx(rx);
    int rc = try_take(c, out, NULL);
    if (rc == LC_EMPTY) {
        lc__rx_note_waker(c);
        lc__waker_register(&c->waker, waker);
        rc = take_or_mark(c, out, NULL);
        if (rc == LC_EMPTY)
            return LC_PENDING;
    }
    /* Not pending: forget this waker, or one an earlier poll left registered. */
    lc__waker_clear(&c->waker);
    return rc;
}

/* ---- inspection ---- */

size_t lc_rx_len(const lc_rx *rx)
{
    if (rx == NULL)
        return 0;
    const struct lc_chan *c = (const struct lc_chan *)(const void *)rx;
    return (size_t)lc__count(lc__load_relaxed(&c->state));
}

bool lc_tx_is_closed(const lc_tx *tx)
{
    if (tx == NULL)
        return true;
    const struct lc_chan *c = (const struct lc_chan *)(const void *)tx;
    return (lc__load_relaxed(&c->state) & LC__S_CLOSED) != 0;
}

size_t lc_sender_count(const lc_rx *rx)
{
    if (rx == NULL)
        return 0;
    const struct lc_chan *c = (const struct lc_chan *)(const void *)rx;
    return (size_t)lc__senders(lc__load_relaxed(&c->state));
}

/* ---- misc ---- */

const char *lc_strerror(int code)
{
    switch (code) {
    case LC_OK: return "success";
    case LC_EMPTY: return "channel is empty";
    case LC_FULL: return "channel is full";
    case LC_CLOSED: return "channel is closed";
    case LC_TIMEDOUT: return "timed out";
    case LC_NOMEM: return "out of memory";
    case LC_INVALID: return "invalid argument";
    case LC_PENDING: return "pending: waker registered";
    default: return "unknown error";
    }
}

unsigned lc_version(void) { return LC_VERSION; }
