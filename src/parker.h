/*
 * Parking a thread until another thread wakes it, with an optional deadline. A parker belongs to
 * one waiting thread and lives on its stack; any thread may wake it. Wakes are counted, not
 * stored as a flag, so a wake that lands between lc__parker_seq and lc__parker_wait is not lost:
 *
 *     unsigned seen = lc__parker_seq(&p);
 *     publish &p (register a waker, join a wait list), then re-check the condition;
 *     if not met: lc__parker_wait(&p, seen, deadline);   // returns at once if woken since
 *
 * Linux uses a futex on the counter; elsewhere (or with -Dparker=portable) a mutex and a
 * condition variable. lc__parker_wait may return early (spuriously): callers re-check.
 */
#ifndef LC_SRC_PARKER_H
#define LC_SRC_PARKER_H

#include <stdbool.h>
#include <stdint.h>

#include "atomic.h"

#if !defined(LC_PARKER_PORTABLE) && !defined(__linux__)
#define LC_PARKER_PORTABLE 1
#endif

#include <pthread.h>

typedef struct lc__parker {
    volatile unsigned seq; /* wakes so far; the futex word */
#ifdef LC_PARKER_PORTABLE
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool monotonic; /* cond waits on CLOCK_MONOTONIC (else CLOCK_REALTIME) */
#endif
} lc__parker;

#define LC__NO_DEADLINE UINT64_MAX

/* Monotonic clock, nanoseconds. */
uint64_t lc__now_ns(void);
/* The absolute deadline timeout_ns from now; LC__NO_DEADLINE for LC_FOREVER or on overflow. */
uint64_t lc__deadline_after(uint64_t timeout_ns);

void lc__parker_init(lc__parker *p);
void lc__parker_destroy(lc__parker *p);

static inline unsigned lc__parker_seq(lc__parker *p)
{
    /* acquire: what the waking thread wrote before lc__parker_wake is visible after this. */
    return lc__load_u32_acquire(&p->seq);
}

/* Waits until p's count differs from seen or the deadline passes. Returns false only when the
 * deadline passed; true when woken (or spuriously). Called by p's owner only. */
bool lc__parker_wait(lc__parker *p, unsigned seen, uint64_t deadline_ns);

/* Counts one wake and wakes p's owner. Any thread; the caller must be the only thread waking p
 * at this moment (the waker slot's WAKING state or the channel lock makes sure of it). */
void lc__parker_wake(lc__parker *p);

/* lc__parker_wake as a wake function, for an lc_waker whose ctx is a parker. */
void lc__parker_wake_fn(void *parker);

/* No call of the library is a cancellation point (lazychan.h): the waits and system calls inside
 * one that are (pthread_cond_wait, read, write, close) run between these two, which turn
 * deferred cancellation off and back to what it was. */
static inline int lc__cancel_off(void)
{
    int old;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    return old;
}

static inline void lc__cancel_restore(int old)
{
    int ignored;
    pthread_setcancelstate(old, &ignored);
}

/* Rounds of a wait's first phase, which polls before it parks: a futex wake costs tens of
 * microseconds here, so a brief spin catches a wake-up that is about to come far more cheaply. */
#define LC__SPINS_BEFORE_PARK 256

#endif /* LC_SRC_PARKER_H */
