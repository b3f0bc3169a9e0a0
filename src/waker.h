/*
 * The receiver's waker slot: one word holding NULL, a pointer to the registered lc_waker, a
 * mux registration (mux.c), or WAKING while a sender is calling the waker it took.
 *
 *  | transition            | by                          | how                                  |
 *  |-----------------------|-----------------------------|--------------------------------------|
 *  | NULL/waker -> waker'  | the receiver (register)     | CAS; waits while WAKING              |
 *  | waker -> NULL         | the receiver (clear)        | CAS; waits while WAKING              |
 *  | waker -> WAKING       | one sender (wake)           | CAS; a sender that loses skips       |
 *  | WAKING -> NULL        | that sender, after the call | CAS (a read-modify-write, see below) |
 *  | NULL <-> entry|ARMED  | the mux (add, remove)       | CAS; remove waits while WAKING       |
 *  | entry|ARMED -> WAKING | one sender (wake)           | CAS, as for a waker                  |
 *  | WAKING -> entry|FIRED | that sender, after the push | CAS                                  |
 *  | entry|FIRED -> ARMED  | the mux (re-arm)            | CAS; waits while WAKING              |
 *
 * So a waker is called at most once per registration, and once the receiver's register or
 * clear returns, no sender is inside the call of the waker it replaced: the receiver may free
 * it (or the stack records its ctx points to). The price is that the receiver waits for a wake
 * call that is running; wake functions are short.
 *
 * No lost wake-up. For a message: the receiver registers, re-checks the queue and, finding
 * nothing, marks the link the next push sets (lc__queue_mark); the sender whose link CAS finds
 * the mark calls lc__waker_wake. A sender that finds no mark skips the slot: the receiver is
 * not waiting yet (its re-check after registering will find the message), or it waits on a
 * mark at an earlier link, whose sender wakes it. A mark can outlive the waker it was made
 * for; see lc__queue_mark for why the next waker is still called. For other changes (the last
 * sender gone, a slot given back on a closed channel): the receiver registers (full barrier)
 * and then re-checks the state word; the sender changes that word and then loads the slot
 * with a full barrier. One of the two sees the other's store.
 *
 * A mux registration is the address of a struct lc__mux_entry (8-byte aligned) tagged in its
 * low bits: entry | ARMED, or entry | FIRED once a sender has reported it. The wake of an armed
 * registration calls lc__mux_fire and leaves entry | FIRED in the slot instead of NULL, so the
 * mux can find the entry from the receiver; senders skip a FIRED slot like an empty one until
 * the mux re-arms it (mux.c).
 */
#ifndef LC_SRC_WAKER_H
#define LC_SRC_WAKER_H

#include "atomic.h"
#include "lazychan.h"
#include "lock.h"

#define LC__WAKING ((lc__word)1)
#define LC__SLOT_ARMED ((lc__word)2) /* a mux entry, waiting for a message */
#define LC__SLOT_FIRED ((lc__word)3) /* a mux entry, reported and not re-armed yet */
#define LC__SLOT_TAGS ((lc__word)3)

struct lc__mux_entry;
/* mux.c: puts an armed entry on its mux's ready list and wakes the mux's thread. */
void lc__mux_fire(struct lc__mux_entry *e);

static inline bool lc__slot_is_mux(lc__word v) { return (v & LC__SLOT_ARMED) != 0; }
static inline struct lc__mux_entry *lc__slot_entry(lc__word v)
{
    return (struct lc__mux_entry *)(v & ~LC__SLOT_TAGS);
}

/* Receiver: the slot's value once no sender is inside a wake (never WAKING). */
static inline lc__word lc__waker_settled(volatile lc__word *slot)
{
    unsigned round = 0;
    lc__word cur;
    /* acquire: a sender's wake that just ended happens before what the receiver does next. */
    while ((cur = lc__load_acquire(slot)) == LC__WAKING)
        lc__backoff(&round);
    return cur;
}

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

/* Sender, after the change the receiver waits for (a message linked where the receiver had
 * marked the queue, the last sender gone): calls the registered waker, if any, and clears the
 * slot. */
static inline void lc__waker_wake(volatile lc__word *slot)
{
    /* full: orders the sender's change before this load, against the receiver's full CAS of
     * lc__waker_register before its re-check: one of the two sees the other's store. */
    lc__word cur = lc__load_full(slot);
    if (cur == 0 || cur == LC__WAKING || (cur & LC__SLOT_TAGS) == LC__SLOT_FIRED)
        return; /* nobody waits, or another sender is waking the receiver already */
    /* acquire: the lc_waker's fields, written before its registration, are read after. */
    if (!lc__cas_acquire(slot, cur, LC__WAKING))
        return; /* another sender took it, or the receiver replaced it (and will re-check) */
    lc__word after = 0;
    if (lc__slot_is_mux(cur)) {
        lc__mux_fire(lc__slot_entry(cur));
        after = cur | LC__SLOT_FIRED;
    } else {
        const lc_waker *w = (const lc_waker *)cur;
        w->wake(w->ctx);
    }
    /* release, and a read-modify-write rather than a store: the call's accesses happen before
     * the receiver sees the slot free again, and so do the links of senders whose full load
     * saw WAKING and skipped the wake (a store would end the release sequence of their
     * read-modify-writes; this CAS continues it). It cannot fail: only we leave WAKING. */
    lc__cas_release(slot, LC__WAKING, after);
}

#endif /* LC_SRC_WAKER_H */
