/*
 * epoll: one thread's epoll loop waits on an lc_mux's descriptor beside a periodic timerfd,
 * receiving what producer threads send into a few hundred channels and printing a status line
 * on every tick. Linux only.
 *
 * Usage: epoll [channels (300)] [seconds (2)]
 *
 * The contract of lc_mux_fd: when the descriptor is readable, call lc_mux_wait with timeout 0
 * until it returns LC_TIMEDOUT, then wait on the descriptor again. The producers send for the
 * given time and then drop their senders; each channel then reports LC_CLOSED once, and the
 * loop ends when every channel has. It checks that every message sent was received, in order.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lazychan.h"

#define N_PRODUCERS 3
#define CAPACITY 8
#define RATE 10000           /* messages per second, per producer */
#define TICK_NS 250000000    /* the timerfd's period: 250 ms */
#define STUCK_AFTER_S 10     /* seconds past the end before the loop is declared stuck */
#define MAX_EVENTS 64        /* receivers per lc_mux_wait */
#define NS_PER_S 1000000000ull

enum { TAG_MUX, TAG_TIMER }; /* epoll_event.data.u32 */

struct message {
    uint32_t channel;
    uint32_t producer;
    uint64_t seq; /* per producer: grows with every message it sends */
};

struct producer {
    pthread_t thread;
    uint32_t id;
    size_t n_channels;
    lc_tx **tx; /* one reference per channel, dropped by this producer when it is done */
    double seconds;
    uint64_t seed;
    uint64_t sent; /* read by main after the join */
    int rc;        /* LC_OK, or the code of the send that failed */
};

/* main's record of one channel: the user_data of its receiver. */
struct channel {
    uint32_t id;
    lc_rx *rx; /* NULL once it reported LC_CLOSED and was dropped */
    uint64_t received;
    uint64_t last_seq[N_PRODUCERS];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t next_random(uint64_t *state) /* xorshift64 */
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Sends RATE messages per second to random channels for p->seconds, then drops its senders. */
static void *produce(void *arg)
{
    struct producer *p = arg;
    uint64_t start = now_ns(), end = start + (uint64_t)(p->seconds * 1e9);
    p->rc = LC_OK;
    for (uint64_t now = start; now < end && p->rc == LC_OK; now = now_ns()) {
        uint64_t due = (now - start) * RATE / NS_PER_S;
        while (p->sent < due && p->rc == LC_OK) {
            uint32_t c = (uint32_t)(next_random(&p->seed) % p->n_channels);
            struct message m = {.channel = c, .producer = p->id, .seq = p->sent + 1};
            p->rc = lc_send(p->tx[c], &m); /* waits while the channel holds CAPACITY messages */
            if (p->rc == LC_OK)
                p->sent++;
        }
        struct timespec nap = {.tv_nsec = 1000000}; /* 1 ms */
        nanosleep(&nap, NULL);
    }
    for (size_t c = 0; c < p->n_channels; c++)
        lc_tx_drop(p->tx[c]); /* the last producer's drop ends the channel's stream */
    return NULL;
}

struct loop {
    lc_mux *mux;
    size_t open;                          /* channels that have not reported LC_CLOSED */
    uint64_t received, out_of_order, bad; /* messages */
    uint64_t fd_wakeups, wait_calls, reports;
};

/* Receives everything rx holds; drops rx at the end of its stream. */
static bool drain(struct loop *l, struct channel *ch, lc_rx *rx)
{
    struct message batch[CAPACITY];
    int n;
    while ((n = lc_try_recv_many(rx, batch, CAPACITY)) > 0) {
        for (int i = 0; i < n; i++) {
            const struct message *m = &batch[i];
            if (m->channel != ch->id || m->producer >= N_PRODUCERS) {
                l->bad++;
                continue;
            }
            if (m->seq <= ch->last_seq[m->producer])
                l->out_of_order++;
            ch->last_seq[m->producer] = m->seq;
        }
        ch->received += (uint64_t)n;
        l->received += (uint64_t)n;
    }
    if (n == LC_CLOSED) { /* every producer is done with it, and it is drained */
        lc_rx_drop(rx);   /* also removes it from the mux */
        ch->rx = NULL;
        l->open--;
        return true;
    }
    if (n != LC_EMPTY) {
        fprintf(stderr, "epoll: lc_try_recv_many: %s\n", lc_strerror(n));
        return false;
    }
    return true;
}

/* The mux descriptor is readable: lc_mux_wait(mux, 0) until LC_TIMEDOUT, as documented. */
static bool on_mux_readable(struct loop *l)
{
    lc_mux_event ev[MAX_EVENTS];
    int n;
    l->fd_wakeups++;
    while ((n = lc_mux_wait(l->mux, 0, ev, MAX_EVENTS)) > 0) {
        l->wait_calls++;
        l->reports += (uint64_t)n;
        for (int i = 0; i < n; i++)
            if (!drain(l, ev[i].user_data, ev[i].rx))
                return false;
    }
    l->wait_calls++;
    if (n != LC_TIMEDOUT) {
        fprintf(stderr, "epoll: lc_mux_wait: %s\n", lc_strerror(n));
        return false;
    }
    return true;
}

static bool parse(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
        return false;
    *out = v;
    return true;
}

static bool add_fd(int epfd, int fd, uint32_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
        return true;
    perror("epoll: epoll_ctl");
    return false;
}

/* Creates the channels, registers them and gives each producer a reference to each. */
static bool setup(struct loop *l, struct channel *channels, size_t n, struct producer *prod)
{
    int rc = lc_mux_new(NULL, &l->mux);
    if (rc != LC_OK) {
        fprintf(stderr, "epoll: lc_mux_new: %s\n", lc_strerror(rc));
        return false;
    }
    lc_config cfg = {.capacity = CAPACITY};
    for (size_t c = 0; c < n; c++) {
        lc_tx *tx;
        channels[c].id = (uint32_t)c;
        rc = lc_channel(sizeof(struct message), &cfg, &tx, &channels[c].rx);
        if (rc == LC_OK) {
            rc = lc_mux_add(l->mux, channels[c].rx, &channels[c]);
            for (int k = 0; k < N_PRODUCERS; k++)
                prod[k].tx[c] = k == 0 ? tx : lc_tx_clone(tx); /* no failure: 3 references */
        }
        if (rc != LC_OK) {
            fprintf(stderr, "epoll: channel %zu: %s\n", c, lc_strerror(rc));
            return false;
        }
        l->open++;
    }
    return true;
}

int main(int argc, char **argv)
{
    double channels = 300, seconds = 2;
    if (argc > 3 || (argc > 1 && !parse(argv[1], 1, 1e6, &channels)) ||
        (argc > 2 && !parse(argv[2], 0.1, 3600, &seconds))) {
        fprintf(stderr, "usage: %s [channels (300)] [seconds (2)]\n", argv[0]);
        return 2;
    }
    size_t n = (size_t)channels;
    struct loop l = {0};
    struct producer prod[N_PRODUCERS] = {{0}};
    struct channel *chans = calloc(n, sizeof *chans);
    bool ok = chans != NULL;
    for (int k = 0; k < N_PRODUCERS; k++) {
        prod[k] = (struct producer){.id = (uint32_t)k, .n_channels = n, .seconds = seconds,
                                    .seed = (now_ns() | 1) * (2 * (uint64_t)k + 3)};
        prod[k].tx = calloc(n, sizeof *prod[k].tx);
        ok = ok && prod[k].tx != NULL;
    }
    if (!ok) {
        fprintf(stderr, "epoll: out of memory\n");
        return 1;
    }

    int status = 0, started = 0, epfd = -1, tfd = -1;
    ok = setup(&l, chans, n, prod);
    int mfd = ok ? lc_mux_fd(l.mux) : -1;
    if (ok && mfd < 0) {
        fprintf(stderr, "epoll: lc_mux_fd: %s\n", lc_strerror(mfd));
        ok = false;
    }
    struct itimerspec tick = {.it_interval.tv_nsec = TICK_NS, .it_value.tv_nsec = TICK_NS};
    if (ok && ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
               (tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
               timerfd_settime(tfd, 0, &tick, NULL) != 0)) {
        perror("epoll: epoll_create1, timerfd_create or timerfd_settime");
        ok = false;
    }
    ok = ok && add_fd(epfd, mfd, TAG_MUX) && add_fd(epfd, tfd, TAG_TIMER);
    if (ok)
        printf("epoll: %d producers send %d messages/s each into %zu channels for %.1f s; one "
               "epoll set holds\nthe lc_mux descriptor and a %d ms timerfd.\n", N_PRODUCERS, RATE,
               n, seconds, TICK_NS / 1000000);

    for (; ok && started < N_PRODUCERS; started++) {
        int err = pthread_create(&prod[started].thread, NULL, produce, &prod[started]);
        if (err != 0) {
            fprintf(stderr, "epoll: pthread_create: %s\n", strerror(err));
            ok = false;
            break;
        }
    }
    if (!ok) { /* the producers started have all their senders: give the others back */
        for (int k = started; k < N_PRODUCERS; k++)
            for (size_t c = 0; c < n; c++)
                lc_tx_drop(prod[k].tx[c]);
    }

    uint64_t start = now_ns(), last_t = start, last_received = 0;
    while (ok && l.open > 0) {
        struct epoll_event ev[2];
        int k = epoll_wait(epfd, ev, 2, -1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            perror("epoll: epoll_wait");
            ok = false;
        }
        for (int i = 0; ok && i < k; i++) {
            if (ev[i].data.u32 == TAG_MUX) {
                ok = on_mux_readable(&l);
                continue;
            }
            uint64_t ticks;
            if (read(tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN) {
                perror("epoll: read timerfd");
                ok = false;
            }
            uint64_t now = now_ns();
            double t = (double)(now - start) / 1e9;
            printf("[%5.2f s] received %7" PRIu64 " (%6.0f/s), %zu channels open, %" PRIu64
                   " fd wake-ups, %" PRIu64 " lc_mux_wait calls\n", t, l.received,
                   (double)(l.received - last_received) * 1e9 / (double)(now - last_t), l.open,
                   l.fd_wakeups, l.wait_calls);
            fflush(stdout);
            last_t = now, last_received = l.received;
            if (t > seconds + STUCK_AFTER_S) {
                fprintf(stderr, "epoll: stuck: %zu channels still open %d s after the end\n",
                        l.open, STUCK_AFTER_S);
                ok = false;
            }
        }
    }

    /* On failure, dropping the receivers makes blocked producers' sends fail: they finish. */
    for (size_t c = 0; c < n; c++)
        lc_rx_drop(chans[c].rx);
    uint64_t sent = 0;
    for (int k = 0; k < started; k++) {
        pthread_join(prod[k].thread, NULL);
        sent += prod[k].sent;
        if (ok && prod[k].rc != LC_OK) {
            fprintf(stderr, "epoll: producer %d: lc_send: %s\n", k, lc_strerror(prod[k].rc));
            ok = false;
        }
    }
    size_t still_registered = lc_mux_count(l.mux);
    lc_mux_free(l.mux); /* closes mfd */
    if (tfd >= 0)
        close(tfd);
    if (epfd >= 0)
        close(epfd);
    for (int k = 0; k < N_PRODUCERS; k++)
        free(prod[k].tx);
    free(chans);
    if (!ok)
        return 1;

    printf("sent %" PRIu64 ", received %" PRIu64 "; %" PRIu64 " reports in %" PRIu64
           " lc_mux_wait calls after %" PRIu64 " descriptor wake-ups\n", sent, l.received,
           l.reports, l.wait_calls, l.fd_wakeups);
    if (sent != l.received || l.out_of_order != 0 || l.bad != 0 || still_registered != 0) {
        fprintf(stderr, "epoll: FAILED: %" PRIu64 " sent, %" PRIu64 " received, %" PRIu64
                " out of order, %" PRIu64 " for the wrong channel, %zu still registered\n",
                sent, l.received, l.out_of_order, l.bad, still_registered);
        status = 1;
    } else {
        printf("Every message sent was received, in order; every channel reported LC_CLOSED "
               "once.\n");
    }
    return status;
}
