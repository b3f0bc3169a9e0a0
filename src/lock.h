/*
 * A one-word lock for short critical sections (the list of senders waiting for room), and the
 * back-off used by every short wait. It spins a little, then yields the processor, so a holder
 * that was preempted gets to run. Holders never block and never call user code.
 */
#ifndef LC_SRC_LOCK_H
#define LC_SRC_LOCK_H

#include <sched.h>

#include "atomic.h"

#define LC__SPINS_BEFORE_YIELD 64u

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

static inline void lc__lock(volatile unsigned *lock)
{
    unsigned round = 0;
    for (;;) {
        /* acquire: the critical section's accesses stay after taking the lock. */
        if (lc__load_u32_acquire(lock) == 0 && lc__fetch_cas_u32_acquire(lock, 0, 1) == 0)
            return;
        lc__backoff(&round);
    }
}

static inline void lc__unlock(volatile unsigned *lock)
{
    /* release: the critical section's accesses happen before the next holder's. */
    lc__store_u32_release(lock, 0);
}

#endif /* LC_SRC_LOCK_H */
