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

static struct timespec to_timespec(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S)};
    return ts;
}

#ifndef LC_PARKER_PORTABLE

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

void lc__parker_init(lc__parker *p)
{
    pthread_condattr_t attr;
    p->seq = 0;
    pthread_mutex_init(&p->mutex, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &attr);
    pthread_condattr_destroy(&attr);
}

void lc__parker_destroy(lc__parker *p)
{
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mutex);
}

bool lc__parker_wait(lc__parker *p, unsigned seen, uint64_t deadline_ns)
{
    bool woken = true;
    struct timespec abs = to_timespec(deadline_ns);
    pthread_mutex_lock(&p->mutex);
    while (lc__load_u32_acquire(&p->seq) == seen) {
        if (deadline_ns == LC__NO_DEADLINE) {
            pthread_cond_wait(&p->cond, &p->mutex);
        } else if (pthread_cond_timedwait(&p->cond, &p->mutex, &abs) == ETIMEDOUT) {
            woken = lc__load_u32_acquire(&p->seq) != seen;
            break;
        }
    }
    pthread_mutex_unlock(&p->mutex);
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
