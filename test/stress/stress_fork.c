/*
 * stress_fork: fork() from a process whose channels are busy. The header's rule: a child uses
 * only the channels and muxes it makes itself. Each round the parent forks while its own
 * producer threads send into channels that a consumer thread receives through a mux on its
 * descriptor (lc_mux_fd) and a blocked lc_recv; the child (its only thread is the one that
 * forked) makes a channel and a mux of its own, starts a producer thread, receives every message
 * through its mux's descriptor with poll(), in order, and exits 0. The parent's traffic goes on
 * meanwhile and is checked at the end: every message received once, in order per channel.
 *
 * Skipped (exit 77) under ThreadSanitizer, which does not support threads started in the child
 * of a multi-threaded process, and under AddressSanitizer, whose allocator may be locked by a
 * parent thread at the fork (a child's allocation then waits forever; glibc's malloc resets its
 * locks in the child).
 */
#include "stress.h"

#include <poll.h>
#include <sys/wait.h>

#define PARENT_CHANNELS 8

static uint64_t rounds = 20;
static uint64_t child_messages = 5000;

/* ---- the parent's traffic: one producer per channel, one consumer ---- */

struct parent_channel {
    lc_tx *tx;
    lc_rx *rx;
    uint64_t sent;     /* written by its producer, read after its join */
    uint64_t received; /* written by the consumer, read after its join */
};

static struct parent_channel chans[PARENT_CHANNELS];
static _Atomic bool stop_producers;

static void *parent_producer(void *arg)
{
    struct parent_channel *c = arg;
    uint64_t seq = 0;
    while (!atomic_load(&stop_producers)) {
        CHECK_RC(lc_send(c->tx, &seq), LC_OK);
        seq++;
    }
    c->sent = seq;
    lc_tx_drop(c->tx);
    return NULL;
}

/* Channel 0 is received with a blocking lc_recv, the others through a mux on its descriptor. */
static void *parent_consumer(void *arg)
{
    (void)arg;
    uint64_t next[PARENT_CHANNELS] = {0}, v;
    lc_mux *mux;
    CHECK_RC(lc_mux_new(NULL, &mux), LC_OK);
    for (size_t i = 1; i < PARENT_CHANNELS; i++)
        CHECK_RC(lc_mux_add(mux, chans[i].rx, &chans[i]), LC_OK);
    int fd = lc_mux_fd(mux);
    CHECK(fd >= 0, "lc_mux_fd: %s", lc_strerror(fd));
    size_t open = PARENT_CHANNELS - 1;
    bool recv_open = true;
    while (open > 0 || recv_open) {
        if (recv_open) { /* a blocking receive, then the mux without waiting */
            int rc = lc_recv_timeout(chans[0].rx, &v, 1000000);
            if (rc == LC_OK) {
                CHECK_EQ(v, next[0]);
                next[0]++;
            } else if (rc == LC_CLOSED) {
                recv_open = false;
            } else {
                CHECK_RC(rc, LC_TIMEDOUT);
            }
        } else {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            CHECK(poll(&p, 1, 100) >= 0, "poll: %s", strerror(errno));
        }
        lc_mux_event ev[PARENT_CHANNELS];
        int n;
        while ((n = lc_mux_wait(mux, 0, ev, PARENT_CHANNELS)) > 0) {
            for (int k = 0; k < n; k++) {
                struct parent_channel *c = ev[k].user_data;
                size_t i = (size_t)(c - chans);
                int rc;
                while ((rc = lc_try_recv(c->rx, &v)) == LC_OK) {
                    CHECK_EQ(v, next[i]);
                    next[i]++;
                }
                if (rc == LC_CLOSED) {
                    CHECK_RC(lc_mux_remove(mux, c->rx), LC_OK);
                    open--;
                } else {
                    CHECK_RC(rc, LC_EMPTY);
                }
            }
        }
        CHECK_RC(n, LC_TIMEDOUT);
    }
    lc_mux_free(mux);
    for (size_t i = 0; i < PARENT_CHANNELS; i++)
        chans[i].received = next[i];
    return NULL;
}

/* ---- the child: its own channel, mux and thread ---- */

static void *child_producer(void *arg)
{
    lc_tx *tx = arg;
    for (uint64_t i = 0; i < child_messages; i++)
        if (lc_send(tx, &i) != LC_OK)
            _exit(10);
    lc_tx_drop(tx);
    return NULL;
}

/* Runs in the child; returns its exit status (0: every message, in order, then LC_CLOSED). */
static int child_main(void)
{
    lc_config cfg = {.capacity = 4};
    lc_tx *tx;
    lc_rx *rx;
    lc_mux *mux;
    if (lc_channel(sizeof(uint64_t), &cfg, &tx, &rx) != LC_OK || lc_mux_new(NULL, &mux) != LC_OK ||
        lc_mux_add(mux, rx, NULL) != LC_OK)
        return 11;
    int fd = lc_mux_fd(mux);
    if (fd < 0)
        return 12;
    pthread_t t;
    if (pthread_create(&t, NULL, child_producer, tx) != 0)
        return 13;
    uint64_t next = 0, v;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0)
            return 14; /* ten seconds without a wake-up: the descriptor is not the child's */
        lc_mux_event ev[1];
        int n, rc = LC_EMPTY;
        while ((n = lc_mux_wait(mux, 0, ev, 1)) > 0) {
            while ((rc = lc_try_recv(rx, &v)) == LC_OK) {
                if (v != next)
                    return 15;
                next++;
            }
            if (rc == LC_CLOSED)
                break;
        }
        if (rc == LC_CLOSED)
            break;
    }
    pthread_join(t, NULL);
    lc_rx_drop(rx);
    lc_mux_free(mux);
    return next == child_messages ? 0 : 16;
}

int main(int argc, char **argv)
{
    stress_opt opts[] = {
        {.name = "iterations", .help = "forks (scaled)", .num = &rounds, .scaled_min = 2},
        {.name = "messages", .help = "messages the child sends (scaled)", .num = &child_messages,
         .scaled_min = 100},
    };
    stress_init(argc, argv, "stress_fork", "fork() beside busy channels: the child's own work.",
                opts, sizeof opts / sizeof opts[0]);
#if defined(STRESS_TSAN) || defined(STRESS_ASAN)
    printf("skipped: the %s sanitizer's runtime is not usable in the child of a multi-threaded "
           "fork\n", STRESS_SANITIZER);
    return 77;
#endif
    lc_config cfg = {.capacity = 16};
    pthread_t producers[PARENT_CHANNELS], consumer;
    for (size_t i = 0; i < PARENT_CHANNELS; i++)
        CHECK_RC(lc_channel(sizeof(uint64_t), &cfg, &chans[i].tx, &chans[i].rx), LC_OK);
    consumer = stress_spawn(parent_consumer, NULL);
    for (size_t i = 0; i < PARENT_CHANNELS; i++)
        producers[i] = stress_spawn(parent_producer, &chans[i]);

    for (uint64_t r = 0; r < rounds; r++) {
        stress_progress(r);
        fflush(stdout);
        pid_t pid = fork();
        CHECK(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0)
            _exit(child_main());
        int status;
        CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "round %" PRIu64 ": the child ended with %s %d (see child_main)", r,
              WIFEXITED(status) ? "status" : "signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }

    atomic_store(&stop_producers, true);
    for (size_t i = 0; i < PARENT_CHANNELS; i++)
        stress_join(producers[i]);
    stress_join(consumer);
    uint64_t total = 0;
    for (size_t i = 0; i < PARENT_CHANNELS; i++) {
        CHECK_EQ(chans[i].received, chans[i].sent);
        total += chans[i].sent;
        lc_rx_drop(chans[i].rx);
    }
    printf("%" PRIu64 " forks, each child's %" PRIu64 " messages received in its own mux; "
           "the parent's %" PRIu64 " messages all received\n", rounds, child_messages, total);
    return 0;
}
