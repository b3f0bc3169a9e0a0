/*
 * The intrusive multi-producer, single-consumer node queue (after Dmitry Vyukov's design).
 *
 * The queue is a singly linked list from `head` (consumer end) to `tail` (producer end), always
 * holding at least one node: the embedded `stub`, which carries no payload, stands in whenever
 * the queue would otherwise be empty. Links are lc_node.lc_private words.
 *
 *  | operation       | who                    | concurrent with | progress             |
 *  |-----------------|------------------------|-----------------|----------------------|
 *  | lc__queue_push  | any thread             | push, pop       | lock-free (CAS loop) |
 *  | lc__queue_pop   | one consumer at a time | push            | wait-free (1)        |
 *  | lc__queue_mark  | the consumer           | push            | wait-free (2)        |
 *  | lc__queue_close | the consumer           | push            | lock-free (CAS loop) |
 *  | lc__queue_pop_closed | the consumer, after close | push     | wait-free            |
 *
 *  (1) at most one CAS, to put the stub back in place of the last node. It never waits for a
 *      producer. (2) one CAS.
 *
 * A push is two steps: swap the producer end to the new node, then link the previous node to it
 * (a CAS; when it fails, the link held the consumer's mark, and a store follows). Between the
 * two, the new node (and every node pushed after it) is "in flight": unreachable from head.
 * lc__queue_pop then returns NULL even though the queue is not empty; callers tell this case
 * from emptiness by their own message count.
 *
 * The consumer that is about to wait marks the link that the next push will set
 * (lc__queue_mark); the producer that sets it sees the mark and wakes the consumer. Producers
 * that find no mark need not look at the consumer's waker at all.
 *
 * Closing: the consumer that goes away sets a bit in tail (lc__queue_close). A push whose swap
 * comes later fails and links nothing, so no message can be left behind by a producer that had
 * not begun its push; one that had swapped already links its node as usual.
 *
 * Order: nodes come out in the order of their swaps, so FIFO per producer.
 */
#ifndef LC_SRC_QUEUE_H
#define LC_SRC_QUEUE_H

#include <stddef.h>

#include "atomic.h"
#include "lazychan.h"

typedef struct lc__queue {
    volatile lc__word tail; /* producer end: the node pushed last (lc_node *) */
    lc_node *head;          /* consumer end: the next node to hand out; consumer only */
    lc_node stub;           /* stands in when the queue is empty; never handed out */
} lc__queue;

/* A test build can stretch the window between a push's two steps (the hook is defined in
 * test/stress/push_window_hook.c, for stress_push_window). */
#ifdef LC_TEST_HOOKS
extern void (*volatile lc__test_push_window)(void);
#define LC__PUSH_WINDOW()                                                                          \
    do {                                                                                           \
        if (lc__test_push_window)                                                                  \
            lc__test_push_window();                                                                \
    } while (0)
#else
#define LC__PUSH_WINDOW() ((void)0)
#endif

static inline volatile lc__word *lc__next(lc_node *n) { return &n->lc_private; }

static inline void lc__queue_init(lc__queue *q)
{
    q->stub.lc_private = 0;
    q->head = &q->stub;
    q->tail = (lc__word)&q->stub;
}

/* A link word holding LC__LINK_MARK instead of NULL: the consumer found nothing to pop and waits
 * for the next node linked after this one (lc__queue_mark). Read as NULL by the consumer. */
#define LC__LINK_MARK ((lc__word)1)

/* Consumer: n's successor, or NULL (also for a mark). */
static inline lc_node *lc__link(lc_node *n)
{
    /* acquire: pairs with the link CAS of lc__queue_push, so the node reached, its payload and
     * its own link are seen as the producer wrote them. */
    lc__word v = lc__load_acquire(lc__next(n));
    return v == LC__LINK_MARK ? NULL : (lc_node *)v;
}

/* The low bit of tail: the consumer has closed the queue (lc__queue_close), and no push
 * succeeds from then on. Nodes are at least pointer-aligned, so the bit is free. */
#define LC__TAIL_CLOSED ((lc__word)1)

/* What lc__queue_push did. */
enum {
    LC__PUSHED = 0,      /* n is linked */
    LC__PUSHED_WAKE = 1, /* n is linked, and the consumer had marked the previous node: it waits
                            for n, and the caller must wake it */
    LC__PUSH_CLOSED = 2, /* the queue was closed: n was not linked and is still the caller's */
};

/* Links n at the producer end: LC__PUSHED, LC__PUSHED_WAKE or LC__PUSH_CLOSED. */
static inline int lc__queue_push(lc__queue *q, lc_node *n)
{
    lc__store_relaxed(lc__next(n), 0);
    /* The swap of tail, as a CAS loop that gives up on a closed tail. full: the CAS is the
     * linearization point among producers, and against lc__queue_close: a push whose CAS comes
     * after the close sees the bit and fails. Its release half also orders n's NULL link
     * before n can be reached through tail. */
    lc__word prev_word = lc__load_relaxed(&q->tail), seen;
    for (;;) {
        if (prev_word & LC__TAIL_CLOSED)
            return LC__PUSH_CLOSED;
        seen = lc__fetch_cas_full(&q->tail, prev_word, (lc__word)n);
        if (seen == prev_word)
            break;
        prev_word = seen;
    }
    lc_node *prev = (lc_node *)prev_word;
    LC__PUSH_WINDOW();
    /* full, and a read-modify-write rather than a store: its release half makes the payload
     * and n's NULL link, written before, visible to the consumer that reaches n; and the
     * consumer's mark (a CAS on the same word) is either before it, and seen here (acquire,
     * also on failure), or after it, and fails. prev's link is NULL or the mark: only this
     * producer links prev, and the consumer only turns NULL into the mark. */
    if (lc__fetch_cas_full(lc__next(prev), 0, (lc__word)n) == 0)
        return LC__PUSHED;
    lc__store_release(lc__next(prev), (lc__word)n); /* it held the mark */
    return LC__PUSHED_WAKE;
}

/* Consumer, when it goes for good (lc_rx_drop, or the channel's end): closes the queue, so that
 * every push that has not swapped yet fails with LC__PUSH_CLOSED. Pushes that swapped before
 * still link their nodes: lc__queue_pop_closed hands them out once linked. */
static inline void lc__queue_close(lc__queue *q)
{
    lc__word t = lc__load_relaxed(&q->tail);
    /* full: ordered with every push's CAS of tail (see lc__queue_push). */
    while (!(t & LC__TAIL_CLOSED) && !lc__cas_full(&q->tail, t, t | LC__TAIL_CLOSED))
        t = lc__load_relaxed(&q->tail);
}

/* Consumer, after lc__queue_close, when lc__queue_pop_closed returned NULL: true if a node may
 * still come out, because one has been linked since, or a push that swapped before the close
 * has not linked its node yet. */
static inline bool lc__queue_closed_pending(lc__queue *q)
{
    lc_node *head = q->head;
    if (lc__link(head) != NULL)
        return true;
    /* acquire: as in lc__queue_pop_closed */
    return lc__load_acquire(&q->tail) != ((lc__word)head | LC__TAIL_CLOSED);
}

/* Consumer, after lc__queue_close: the oldest linked node, or NULL when nothing is linked
 * (empty, or a push that swapped before the close is still in flight). No producer can come
 * after the close, so the last node is handed out without putting the stub back. */
static inline lc_node *lc__queue_pop_closed(lc__queue *q)
{
    lc_node *head = q->head;
    lc_node *next = lc__link(head);
    if (head == &q->stub) {
        if (next == NULL)
            return NULL;
        q->head = head = next; /* skip the stub */
        next = lc__link(head);
    }
    if (next != NULL) {
        q->head = next;
        return head;
    }
    /* acquire: a push that swapped after head has linked it, or is in flight. */
    if (lc__load_acquire(&q->tail) != ((lc__word)head | LC__TAIL_CLOSED))
        return NULL; /* in flight */
    /* head was the last node: the stub, which no producer can reach now, stands in for it at
     * both ends (only the consumer writes tail after the close). */
    lc__store_relaxed(lc__next(&q->stub), 0);
    q->head = &q->stub;
    lc__store_relaxed(&q->tail, (lc__word)&q->stub | LC__TAIL_CLOSED);
    return head;
}

/* Returns the oldest linked node, or NULL when nothing is linked (empty, or in flight). */
static inline lc_node *lc__queue_pop(lc__queue *q)
{
    lc_node *head = q->head;
    lc_node *next = lc__link(head);

    if (head == &q->stub) {
        if (next == NULL)
            return NULL;
        q->head = next; /* skip the stub */
        head = next;
        next = lc__link(next);
    }
    if (next != NULL) {
        q->head = next;
        return head;
    }
    /* head is the last linked node. Hand it out only with the stub standing in for it at the
     * producer end, so that the list never becomes empty: one CAS of tail from head to the
     * stub. It fails if a producer has swapped in after head; its link is then in flight,
     * or has just landed. */
    lc__store_relaxed(lc__next(&q->stub), 0);
    /* full: as the swap of lc__queue_push (the stub is pushed like any node); the stub's
     * NULL link is ordered before a producer can reach the stub through tail. */
    if (lc__cas_full(&q->tail, (lc__word)head, (lc__word)&q->stub)) {
        q->head = &q->stub;
        return head;
    }
    next = lc__link(head);
    if (next == NULL)
        return NULL; /* in flight */
    q->head = next;
    return head;
}

/* Consumer: the node whose link the next push sets, when lc__queue_pop would return NULL now;
 * NULL when it would return a node. Changes nothing. */
static inline lc_node *lc__queue_last(lc__queue *q)
{
    lc_node *head = q->head;
    lc_node *next = lc__link(head);
    if (head == &q->stub) {
        if (next == NULL)
            return head; /* empty: the next push links the stub */
        head = next;
        next = lc__link(next);
    }
    if (next != NULL || (lc_node *)lc__load_relaxed(&q->tail) == head)
        return NULL; /* head can be handed out */
    return head; /* a push after head is in flight */
}

/* Consumer: true if lc__queue_pop would return a node now. Changes nothing. */
static inline bool lc__queue_peek(lc__queue *q) { return lc__queue_last(q) == NULL; }

/*
 * Consumer, with its waker in place, when it finds nothing to pop: marks the link that the next
 * push sets, so that the producer of that push learns that the consumer waits (its
 * lc__queue_push returns true). Returns false if there is a node to pop, or seemed to be (a
 * stale read of tail: the next pop then finds nothing, and the caller looks again); then
 * nothing is marked. A mark stays until that link is set: marking again is one load.
 *
 * A mark made while an earlier waker was registered serves a later one too, because the
 * waker's registration (lc__waker_register) and the marked producer's load of the slot
 * (lc__waker_wake: lc__load_full) are both read-modify-writes of the slot. Whichever comes
 * second sees the first: the producer sees the new waker, or the consumer's re-check after
 * registering sees the producer's node. Neither may become a plain load or store.
 *
 * This is how a producer wakes the receiver only when it waits: it does not have to look at
 * the waker slot after every push.
 */
static inline bool lc__queue_mark(lc__queue *q)
{
    lc_node *last = lc__queue_last(q);
    if (last == NULL)
        return false;
    if (lc__load_relaxed(lc__next(last)) == LC__LINK_MARK)
        return true;
    /* full: the waker registered before is visible to the producer whose link CAS reads the
     * mark (release half); this CAS and that one are ordered on the one word, so exactly one
     * of "the producer sees the mark" and "this CAS fails" happens. */
    return lc__cas_full(lc__next(last), 0, LC__LINK_MARK);
}

#endif /* LC_SRC_QUEUE_H */
