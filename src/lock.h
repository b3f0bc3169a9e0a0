/*
 * A lock kept in bit 0 of a word whose other bits hold a pointer (to something aligned to at
 * least 2 bytes): the channel's list of waiting senders costs one word, lock included. It is for
 * short critical sections only: holders never wait for another thread, never call user code and
 * make no system call (wakers are called after the lock is released). And the back-off
 * used by every short wait: it spins a little, then yields the processor, so that a thread
 * preempted inside such a section gets to run.
 */
#ifndef LC_SRC_LOCK_H
#define LC_SRC_LOCK_H

#include <sched.h>

#include "atomic.h"

#define LC__SPINS_BEFORE_YIELD 64u
#define LC__LOCK_BIT ((lc__word)1)

/* One step of a wait for another thread's short critical section. *round starts at 0. */
static inline void lc__backoff(unsigned *round)
{
    if (*round < LC__SPINS_BEFORE_YIELD) {
        ++*round;
        lc__cpu_relax();
    } else {
        sched_yield();
    }
}

/* Takes the lock in bit 0 of *word; returns the pointer bits, which the holder owns. */
static inline void *lc__ptrlock_acquire(volatile lc__word *word)
{
    unsigned round = 0;
    for (;;) {
        lc__word w = lc__load_relaxed(word);
        /* acquire: the critical section's accesses stay after taking the lock. */
        if (!(w & LC__LOCK_BIT) && lc__cas_acquire(word, w, w | LC__LOCK_BIT))
            return (void *)w;
        lc__backoff(&round);
    }
}

/* Stores the (possibly changed) pointer bits and releases the lock. */
static inline void lc__ptrlock_release(volatile lc__word *word, void *ptr)
{
    /* release: the critical section's accesses happen before the next holder's. */
    lc__store_release(word, (lc__word)ptr);
}

#endif /* LC_SRC_LOCK_H */
