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
 *
 *  (1) wait-free: at most one CAS, to put the stub back in place of the last node. It never
 *      waits for a producer.
 *
 * A push is two steps: swap the producer end to the new node, then link the previous node to it.
 * Between the two, the new node (and every node pushed after it) is "in flight": unreachable
 * from head. lc__queue_pop then returns NULL even though the queue is not empty; callers tell
 * this case from emptiness by their own message count.
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

static inline void lc__queue_push(lc__queue *q, lc_node *n)
{
    lc__store_relaxed(lc__next(n), 0);
    /* full: the swap is the linearization point among producers; its release half also orders
     * n's NULL link before n can be reached through tail. */
    lc_node *prev = (lc_node *)lc__swap_full(&q->tail, (lc__word)n);
    LC__PUSH_WINDOW();
    /* release: the payload and n's NULL link, written before, are visible to the consumer that
     * loads prev's link with acquire and so reaches n. */
    lc__store_release(lc__next(prev), (lc__word)n);
}

/* Returns the oldest linked node, or NULL when nothing is linked (empty, or in flight). */
static inline lc_node *lc__queue_pop(lc__queue *q)
{
    lc_node *head = q->head;
    /* acquire (every link load below): pairs with the release link store of lc__queue_push, so
     * the node reached, its payload and its own link are seen as the producer wrote them. */
    lc_node *next = (lc_node *)lc__load_acquire(lc__next(head));

    if (head == &q->stub) {
        if (next == NULL)
            return NULL;
        q->head = next; /* skip the stub */
        head = next;
        next = (lc_node *)lc__load_acquire(lc__next(next));
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
    next = (lc_node *)lc__load_acquire(lc__next(head));
    if (next == NULL)
        return NULL; /* in flight */
    q->head = next;
    return head;
}

/* Consumer: true if lc__queue_pop would return a node now. Changes nothing. */
static inline bool lc__queue_peek(lc__queue *q)
{
    lc_node *head = q->head;
    /* acquire: as in lc__queue_pop. */
    lc_node *next = (lc_node *)lc__load_acquire(lc__next(head));
    if (head == &q->stub) {
        if (next == NULL)
            return false;
        head = next;
        next = (lc_node *)lc__load_acquire(lc__next(next));
    }
    return next != NULL || (lc_node *)lc__load_relaxed(&q->tail) == head;
}

#endif /* LC_SRC_QUEUE_H */
