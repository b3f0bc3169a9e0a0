/*
 * The receiver's waker slot: one word holding NULL, a pointer to the registered lc_waker, or
 * WAKING while a sender is calling the waker it took.
 *
 *  | transition            | by                          | how                                  |
 *  |-----------------------|-----------------------------|--------------------------------------|
 *  | NULL/waker -> waker'  | the receiver (register)     | CAS; waits while WAKING              |
 *  | waker -> NULL         | the receiver (clear)        | CAS; waits while WAKING              |
 *  | waker -> WAKING       | one sender (wake)           | CAS; a sender that loses skips       |
 *  | WAKING -> NULL        | that sender, after the call | CAS (a read-modify-write, see below) |
 *
 * So a waker is called at most once per registration, and once the receiver's register or
 * clear returns, no sender is inside the call of the waker it replaced: the receiver may free
 * it (or the stack records its ctx points to). The price is that the receiver waits for a wake
 * call that is running; wake functions are short.
 *
 * No lost wake-up: the receiver registers (full barrier) and then re-checks for messages; a
 * sender links its message and then loads the slot with a full barrier. One of the two sees
 * the other's store.
 */
#ifndef LC_SRC_WAKER_H
#define LC_SRC_WAKER_H

#include "atomic.h"
#include "lazychan.h"
#include "lock.h"

#define LC__WAKING ((lc__word)1)

/* Receiver: makes w the registered waker. */
static inline void lc__waker_register(volatile lc__word *slot, const lc_waker *w)
{
    unsigned round = 0;
    for (;;) {
        lc__word cur = lc__load_relaxed(slot);
        if (cur == (lc__word)w)
            return;
        /* full: publishes *w to the sender that takes it (release half), and orders this store
         * before the receiver's re-check of the queue, against the sender's full load. */
        if (cur != LC__WAKING && lc__cas_full(slot, cur, (lc__word)w))
            return;
        lc__backoff(&round);
    }
}

/* Receiver: removes whatever waker is registered; returns once no sender is calling it. */
static inline void lc__waker_clear(volatile lc__word *slot)
{
    unsigned round = 0;
    for (;;) {
        /* acquire: if a sender just finished a call (WAKING -> NULL), its accesses to the
         * waker's records happen before the receiver reuses or frees them. */
        lc__word cur = lc__load_acquire(slot);
        if (cur == 0)
            return;
        if (cur != LC__WAKING && lc__cas_acquire(slot, cur, 0))
            return;
        lc__backoff(&round);
    }
}

/* Sender, after the change the receiver waits for (a linked message, the last sender gone):
 * calls the registered waker, if any, and clears the slot. */
static inline void lc__waker_wake(volatile lc__word *slot)
{
    /* full: orders the sender's change before this load, against the receiver's full CAS of
     * lc__waker_register before its re-check: one of the two sees the other's store. */
    lc__word cur = lc__load_full(slot);
    if (cur == 0 || cur == LC__WAKING)
        return; /* nobody waits, or another sender is waking the receiver already */
    /* acquire: the lc_waker's fields, written before its registration, are read after. */
    if (!lc__cas_acquire(slot, cur, LC__WAKING))
        return; /* another sender took it, or the receiver replaced it (and will re-check) */
    const lc_waker *w = (const lc_waker *)cur;
    w->wake(w->ctx);
    /* release, and a read-modify-write rather than a store: the call's accesses happen before
     * the receiver sees the slot free again, and so do the links of senders whose full load
     * saw WAKING and skipped the wake (a store would end the release sequence of their
     * read-modify-writes; this CAS continues it). It cannot fail: only we leave WAKING. */
    lc__cas_release(slot, LC__WAKING, 0);
}

#endif /* LC_SRC_WAKER_H */
