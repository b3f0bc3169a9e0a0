#include "parker.h"

#include <errno.h>
#include <time.h>

#ifndef LC_PARKER_PORTABLE
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define NS_PER_S 1000000000ull

uint64_t lc__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t lc__deadline_after(uint64_t timeout_ns)
{
    uint64_t now = lc__now_ns();
    if (timeout_ns >= LC__NO_DEADLINE - now)
        return LC__NO_DEADLINE;
    return now + timeout_ns;
}

#ifndef LC_PARKER_PORTABLE

static struct timespec to_timespec(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S)};
    return ts;
}

void lc__parker_init(lc__parker *p) { p->seq = 0; }

void lc__parker_destroy(lc__parker *p) { (void)p; }

bool lc__parker_wait(lc__parker *p, unsigned seen, uint64_t deadline_ns)
{
    struct timespec abs, *tsp = NULL;
    if (deadline_ns != LC__NO_DEADLINE) {
        if (lc__now_ns() >= deadline_ns)
            return false;
        abs = to_timespec(deadline_ns);
        tsp = &abs;
    }
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. The kernel compares the
     * word with seen atomically with going to sleep, so a wake counted before is not missed. */
    long rc = syscall(SYS_futex, &p->seq, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, seen, tsp, NULL,
                      FUTEX_BITSET_MATCH_ANY);
    return !(rc == -1 && errno == ETIMEDOUT);
}

void lc__parker_wake(lc__parker *p)
{
    lc__inc_u32_release(&p->seq);
    syscall(SYS_futex, &p->seq, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
}

#else /* LC_PARKER_PORTABLE */

/* Deadlines are on the monotonic clock. Where pthread_condattr_setclock exists the condition
 * variable waits on that clock too, so a step of the wall clock changes nothing. Elsewhere it
 * keeps CLOCK_REALTIME: each wait converts the time left into a realtime deadline and the loop
 * re-checks the monotonic one, so a step of the wall clock can still stretch one wait (a step
 * back) or end it early (a step forward). */
void lc__parker_init(lc__parker *p)
{
    p->seq = 0;
    pthread_mutex_init(&p->mutex, NULL);
#ifdef LC_HAVE_CONDATTR_SETCLOCK
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    p->monotonic = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0;
    pthread_cond_init(&p->cond, &attr);
    pthread_condattr_destroy(&attr);
#else
    p->monotonic = false;
    pthread_cond_init(&p->cond, NULL);
#endif
}

void lc__parker_destroy(lc__parker *p)
{
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mutex);
}

/* ns after the epoch of a clock whose time is (sec, nsec) now, as a timespec for
 * pthread_cond_timedwait (saturated where time_t is 32 bits: the wait then ends early, in 2038,
 * and is made again). */
static struct timespec timespec_after(uint64_t sec, uint64_t nsec, uint64_t ns)
{
    nsec += ns % NS_PER_S;
    sec += ns / NS_PER_S + nsec / NS_PER_S;
    if (sizeof(time_t) < sizeof(uint64_t) && sec > INT32_MAX)
        sec = INT32_MAX;
    struct timespec ts = {.tv_sec = (time_t)sec, .tv_nsec = (long)(nsec % NS_PER_S)};
    return ts;
}

/* The deadline for pthread_cond_timedwait, on the condition variable's clock. */
static struct timespec cond_deadline(const lc__parker *p, uint64_t deadline_ns, uint64_t now_ns)
{
    if (p->monotonic) /* deadline_ns is on that clock already */
        return timespec_after(0, 0, deadline_ns);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return timespec_after((uint64_t)now.tv_sec, (uint64_t)now.tv_nsec, deadline_ns - now_ns);
}

bool lc__parker_wait(lc__parker *p, unsigned seen, uint64_t deadline_ns)
{
    bool woken = true;
    int cancel = lc__cancel_off(); /* pthread_cond_wait is a cancellation point */
    pthread_mutex_lock(&p->mutex);
    while (lc__load_u32_acquire(&p->seq) == seen) {
        if (deadline_ns == LC__NO_DEADLINE) {
            pthread_cond_wait(&p->cond, &p->mutex);
            continue;
        }
        uint64_t now = lc__now_ns();
        if (now >= deadline_ns) {
            woken = false;
            break;
        }
        struct timespec abs = cond_deadline(p, deadline_ns, now);
        pthread_cond_timedwait(&p->cond, &p->mutex, &abs);
    }
    pthread_mutex_unlock(&p->mutex);
    lc__cancel_restore(cancel);
    return woken;
}

void lc__parker_wake(lc__parker *p)
{
    /* The count changes under the mutex, so a waiter between its check and its sleep cannot
     * miss the signal. */
    pthread_mutex_lock(&p->mutex);
    lc__inc_u32_release(&p->seq);
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mutex);
}

#endif

void lc__parker_wake_fn(void *parker) { lc__parker_wake(parker); }
