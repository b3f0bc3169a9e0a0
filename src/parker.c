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

/* The condition variable keeps its default clock (CLOCK_REALTIME): not every system has
 * pthread_condattr_setclock. Each wait converts the time left on the monotonic clock into a
 * realtime deadline, and the loop re-checks the monotonic deadline, so a jump of the realtime
 * clock only makes one wait end early or late, never the whole wait. */
void lc__parker_init(lc__parker *p)
{
    p->seq = 0;
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->cond, NULL);
}

void lc__parker_destroy(lc__parker *p)
{
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mutex);
}

/* The realtime deadline that is timeout_ns from now. */
static struct timespec realtime_after(uint64_t timeout_ns)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t ns = (uint64_t)now.tv_nsec + timeout_ns % NS_PER_S;
    uint64_t s = (uint64_t)now.tv_sec + timeout_ns / NS_PER_S + ns / NS_PER_S;
    if (sizeof(time_t) < sizeof(uint64_t) && s > INT32_MAX)
        s = INT32_MAX; /* a 32-bit time_t: wait until 2038, then wait again */
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)(ns % NS_PER_S)};
    return ts;
}

bool lc__parker_wait(lc__parker *p, unsigned seen, uint64_t deadline_ns)
{
    bool woken = true;
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
        struct timespec abs = realtime_after(deadline_ns - now);
        pthread_cond_timedwait(&p->cond, &p->mutex, &abs);
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

void lc__parker_wake_fn(void *parker) { lc__parker_wake(parker); }
