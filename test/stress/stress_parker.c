/*
 * stress_parker: how blocking calls behave when the thread or the clock misbehaves, the same with
 * the futex parker and the portable (pthread) one; meson builds it against both.
 *
 *   --case=clock   The wall clock reads 10 s ahead of the time (clock_gettime is wrapped below:
 *                  as if it had been stepped back by 10 s after each read). lc_recv_timeout,
 *                  lc_send_timeout and lc_mux_wait with 50 ms each must still return
 *                  LC_TIMEDOUT within 5 s: deadlines are on the monotonic clock. (A parker
 *                  that waits on a wall-clock deadline takes 10 s, and fails.)
 *   --case=cancel  A thread blocked in lc_recv, lc_send (channel full) and lc_mux_wait is
 *                  cancelled (pthread_cancel, deferred). No library call is a cancellation
 *                  point: the call completes once it is woken, the thread then ends at its next
 *                  cancellation point, and the channel works on (every message sent is received
 *                  once). A call that exits mid-wait leaves its parker registered on a dead stack
 *                  and the next send hangs or crashes; the watchdog reports the hang.
 */
#define _GNU_SOURCE /* syscall */
#include "stress.h"

#include <sys/syscall.h>

#define NS_PER_MS UINT64_C(1000000)
#define TIMEOUT_NS (50 * NS_PER_MS)
#define LIMIT_NS (5000 * NS_PER_MS)  /* what a 50 ms timeout may take here, at the most */
#define WALL_AHEAD_S 10

/* ---- clock: the wall clock reads WALL_AHEAD_S ahead ---- */

/* Replaces the C library's clock_gettime for this program and the library linked into it (a
 * call from inside the C library itself is not replaced). */
int clock_gettime(clockid_t id, struct timespec *ts)
{
    long rc = syscall(SYS_clock_gettime, id, ts);
    if (rc == 0 && id == CLOCK_REALTIME)
        ts->tv_sec += WALL_AHEAD_S;
    return (int)rc;
}

/* Runs one timed call that must time out, and checks it took less than LIMIT_NS. */
#define CHECK_TIMES_OUT(call)                                                                      \
    do {                                                                                           \
        uint64_t t0_ = stress_now_ns();                                                            \
        CHECK_RC(call, LC_TIMEDOUT);                                                               \
        uint64_t took_ = stress_now_ns() - t0_;                                                    \
        CHECK(took_ < LIMIT_NS, "%s: a 50 ms timeout took %" PRIu64 " ms", #call,                  \
              took_ / NS_PER_MS);                                                                  \
        printf("  %-55s LC_TIMEDOUT after %" PRIu64 " ms\n", #call, took_ / NS_PER_MS);         \
        stress_progress(++step);                                                                   \
    } while (0)

static void run_clock(void)
{
    uint64_t step = 0;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    CHECK(wall.tv_sec > time(NULL) + WALL_AHEAD_S / 2, "the clock_gettime wrapper is not used");

    lc_config cfg = {.capacity = 1};
    lc_tx *tx;
    lc_rx *rx;
    CHECK_RC(lc_channel(sizeof(uint64_t), &cfg, &tx, &rx), LC_OK);
    uint64_t v = 1;
    CHECK_TIMES_OUT(lc_recv_timeout(rx, &v, TIMEOUT_NS));
    CHECK_RC(lc_try_send(tx, &v), LC_OK); /* now full */
    CHECK_TIMES_OUT(lc_send_timeout(tx, &v, TIMEOUT_NS));
    CHECK_RC(lc_try_recv(rx, &v), LC_OK);

    lc_mux *mux;
    lc_mux_event ev[1];
    CHECK_RC(lc_mux_new(NULL, &mux), LC_OK);
    CHECK_RC(lc_mux_add(mux, rx, NULL), LC_OK);
    CHECK_TIMES_OUT(lc_mux_wait(mux, TIMEOUT_NS, ev, 1));
    lc_mux_free(mux);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* ---- cancel: a thread cancelled while blocked ---- */

enum { BLOCK_RECV, BLOCK_SEND, BLOCK_MUX };
static const char *const block_names[] = {"lc_recv", "lc_send", "lc_mux_wait", NULL};

struct blocked {
    int what;
    lc_tx *tx;
    lc_rx *rx;
    lc_mux *mux;
    _Atomic int entered;  /* set just before the blocking call */
    _Atomic int returned; /* 1 + the call's result once it returned */
    uint64_t value;       /* lc_recv: what it received */
};

static void *block(void *arg)
{
    struct blocked *b = arg;
    int rc;
    uint64_t v = 7;
    lc_mux_event ev[1];
    atomic_store(&b->entered, 1);
    switch (b->what) {
    case BLOCK_RECV:
        rc = lc_recv(b->rx, &b->value);
        break;
    case BLOCK_SEND:
        rc = lc_send(b->tx, &v);
        break;
    default:
        rc = lc_mux_wait(b->mux, LC_FOREVER, ev, 1);
        break;
    }
    atomic_store(&b->returned, 1 + rc);
    pthread_testcancel(); /* the deferred cancel acts here */
    FAIL("%s: the thread was not cancelled after its call returned", block_names[b->what]);
}

/* Waits until the thread is about to make its call, and a little more so that the cancel most
 * likely lands while it sleeps in it. The checks hold either way: a cancel that comes before the
 * call is acted on at the call's first cancellation point, if it has one. */
static void wait_until_blocked(struct blocked *b)
{
    while (!atomic_load(&b->entered))
        sched_yield();
    stress_sleep_ns(20 * NS_PER_MS);
}

static void run_cancel_one(int what, uint64_t *step)
{
    lc_config cfg = {.capacity = 1};
    lc_tx *tx;
    lc_rx *rx;
    CHECK_RC(lc_channel(sizeof(uint64_t), &cfg, &tx, &rx), LC_OK);
    struct blocked b = {.what = what, .tx = tx, .rx = rx};
    uint64_t v = 42, got;
    if (what == BLOCK_SEND)
        CHECK_RC(lc_try_send(tx, &v), LC_OK); /* full: the thread's lc_send waits for room */
    if (what == BLOCK_MUX) {
        CHECK_RC(lc_mux_new(NULL, &b.mux), LC_OK);
        CHECK_RC(lc_mux_add(b.mux, rx, &b), LC_OK);
    }
    stress_phase(block_names[what]);
    pthread_t t = stress_spawn(block, &b);
    wait_until_blocked(&b);
    CHECK(pthread_cancel(t) == 0, "pthread_cancel failed");
    stress_sleep_ns(20 * NS_PER_MS); /* a call that obeyed the cancel has exited by now */

    /* Wake the call: a message for the receivers, room for the sender. */
    if (what == BLOCK_SEND) {
        CHECK_RC(lc_recv(rx, &got), LC_OK);
        CHECK_EQ(got, 42);
    } else {
        CHECK_RC(lc_send(tx, &v), LC_OK);
    }
    void *result;
    CHECK(pthread_join(t, &result) == 0, "pthread_join failed");
    CHECK(result == PTHREAD_CANCELED, "%s: the thread was not cancelled", block_names[what]);
    CHECK(atomic_load(&b.returned) != 0, "%s: the call never returned: the thread was cancelled "
          "inside it", block_names[what]);
    CHECK_RC(atomic_load(&b.returned) - 1, what == BLOCK_MUX ? 1 : LC_OK);

    /* The channel works on, and holds exactly what it should. */
    switch (what) {
    case BLOCK_RECV:
        CHECK_EQ(b.value, 42);
        break;
    case BLOCK_SEND: /* the cancelled thread's message was accepted */
        CHECK_RC(lc_recv(rx, &got), LC_OK);
        CHECK_EQ(got, 7);
        break;
    default: /* a receiver in a mux takes no blocking receive: unregister it first */
        lc_mux_free(b.mux);
        CHECK_RC(lc_recv(rx, &got), LC_OK);
        CHECK_EQ(got, 42);
        break;
    }
    for (uint64_t i = 0; i < 3; i++) {
        CHECK_RC(lc_send(tx, &i), LC_OK);
        CHECK_RC(lc_recv(rx, &got), LC_OK);
        CHECK_EQ(got, i);
    }
    CHECK_RC(lc_try_recv(rx, &got), LC_EMPTY);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    printf("  %-12s cancelled while blocked: the call completed, then the thread ended\n",
           block_names[what]);
    stress_progress(++*step);
}

static void run_cancel(void)
{
    uint64_t step = 0;
    for (int what = BLOCK_RECV; what <= BLOCK_MUX; what++)
        run_cancel_one(what, &step);
}

int main(int argc, char **argv)
{
    static const char *const cases[] = {"clock", "cancel", NULL};
    uint64_t which = 0;
    stress_opt opts[] = {{.name = "case", .help = "clock or cancel", .num = &which,
                          .names = cases}};
    stress_watchdog_seconds = 20;
    stress_init(argc, argv, "stress_parker", "Blocking calls under a stepped clock or a cancel.",
                opts, 1);
    if (which == 0)
        run_clock();
    else
        run_cancel();
    printf("ok\n");
    return 0;
}
