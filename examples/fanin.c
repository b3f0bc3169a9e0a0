/* fanin: the producers, the checks and the summary of the event-loop examples; see fanin.h. */
#define _POSIX_C_SOURCE 200809L

#include "fanin.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAPACITY 8          /* messages per channel */
#define STUCK_AFTER_S 10    /* seconds without progress, past the end, before giving up */
#define MAX_EVENTS 64       /* receivers per lc_mux_wait */
#define MAX_CHANNELS 1000000
#define NS_PER_S 1000000000ull

struct message {
    uint32_t channel;
    uint32_t producer;
    uint64_t seq; /* per producer and channel: 1, 2, 3... */
};

struct producer {
    pthread_t thread;
    uint32_t id;
    size_t n_channels;
    lc_tx **tx;      /* one reference per channel, dropped by this producer when it is done */
    uint64_t *seq;   /* per channel: the seq of the last message sent there */
    uint64_t end_ns; /* now_ns() at which to stop sending */
    uint64_t seed;
    uint64_t sent;   /* sent, seq and rc are read by fanin_end after the join */
    int rc;          /* LC_OK, or the code of the send that failed */
};

/* The loop's record of one channel: the user_data of its receiver. */
struct channel {
    uint32_t id;
    lc_rx *rx; /* NULL once it reported LC_CLOSED and was dropped */
    uint64_t last_seq[FANIN_PRODUCERS];
};

struct fanin {
    const char *name;
    lc_mux *mux;
    size_t n;
    double seconds; /* the producers' time */
    struct channel *chans;
    struct producer prod[FANIN_PRODUCERS];
    int started; /* producers running: prod[0] to prod[started - 1] */
    size_t open; /* channels that have not reported LC_CLOSED */
    uint64_t received, out_of_sequence, bad;
    uint64_t wakeups, wait_calls, reports;
    uint64_t start_ns, end_ns;       /* set by fanin_start */
    uint64_t tick_ns, tick_received; /* at the last status line */
    uint64_t progress_ns;            /* when received or open last changed, seen by a tick */
    uint64_t seen_received;
    size_t seen_open;
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

/* Sends FANIN_RATE messages per second to random channels until p->end_ns, then drops its
 * senders. */
static void *produce(void *arg)
{
    struct producer *p = arg;
    uint64_t start = now_ns();
    p->rc = LC_OK;
    for (uint64_t now = start; now < p->end_ns && p->rc == LC_OK; now = now_ns()) {
        uint64_t due = (now - start) * FANIN_RATE / NS_PER_S;
        while (p->sent < due && p->rc == LC_OK) {
            uint32_t c = (uint32_t)(next_random(&p->seed) % p->n_channels);
            struct message m = {.channel = c, .producer = p->id, .seq = p->seq[c] + 1};
            p->rc = lc_send(p->tx[c], &m); /* waits while the channel holds CAPACITY messages */
            if (p->rc == LC_OK) {
                p->seq[c]++;
                p->sent++;
            }
        }
        struct timespec nap = {.tv_nsec = 1000000}; /* 1 ms */
        nanosleep(&nap, NULL);
    }
    for (size_t c = 0; c < p->n_channels; c++)
        lc_tx_drop(p->tx[c]); /* the last producer's drop ends the channel's stream */
    return NULL;
}

static bool parse_count(const char *s, unsigned long max, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || *s == '-' || v < 1 || v > max)
        return false;
    *out = (size_t)v;
    return true;
}

static bool parse_seconds(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
        return false;
    *out = v;
    return true;
}

bool fanin_args(int argc, char **argv, const char *name, size_t *channels, double *seconds)
{
    static const char *const problem[] = {
        NULL, "channels must be an integer from 1 to 1000000",
        "seconds must be a number from 0.1 to 3600", "too many arguments"};
    size_t default_channels = *channels;
    double default_seconds = *seconds;
    int bad = 0; /* the index of the bad argument in argv, and of its problem */
    if (argc > 3)
        bad = 3;
    else if (argc > 1 && !parse_count(argv[1], MAX_CHANNELS, channels))
        bad = 1;
    else if (argc > 2 && !parse_seconds(argv[2], 0.1, 3600, seconds))
        bad = 2;
    if (bad != 0)
        fprintf(stderr, "%s: %s: \"%s\"\nusage: %s [channels (%zu)] [seconds (%g)]\n", name,
                problem[bad], argv[bad], argv[0], default_channels, default_seconds);
    return bad == 0;
}

/* Creates the channels, registers them and gives each producer a reference to each. Whatever
 * it made is in chans[].rx and prod[].tx[] (NULL otherwise), for fanin_end to drop. */
static bool setup(struct fanin *f)
{
    int rc = lc_mux_new(NULL, &f->mux);
    if (rc != LC_OK) {
        fprintf(stderr, "%s: lc_mux_new: %s\n", f->name, lc_strerror(rc));
        return false;
    }
    lc_config cfg = {.capacity = CAPACITY};
    for (size_t c = 0; c < f->n; c++) {
        struct channel *ch = &f->chans[c];
        lc_tx **tx = f->prod[0].tx;
        ch->id = (uint32_t)c;
        rc = lc_channel(sizeof(struct message), &cfg, &tx[c], &ch->rx);
        if (rc == LC_OK)
            rc = lc_mux_add(f->mux, ch->rx, ch);
        for (int k = 1; rc == LC_OK && k < FANIN_PRODUCERS; k++) {
            f->prod[k].tx[c] = lc_tx_clone(tx[c]);
            if (f->prod[k].tx[c] == NULL)
                rc = LC_INVALID; /* too many references: not with FANIN_PRODUCERS of them */
        }
        if (rc != LC_OK) {
            fprintf(stderr, "%s: channel %zu: %s\n", f->name, c, lc_strerror(rc));
            return false;
        }
        f->open++;
    }
    return true;
}

struct fanin *fanin_new(const char *name, size_t channels, double seconds)
{
    struct fanin *f = calloc(1, sizeof *f);
    bool ok = f != NULL;
    if (ok) {
        f->name = name;
        f->n = channels;
        f->seconds = seconds;
        f->chans = calloc(channels, sizeof *f->chans);
        ok = f->chans != NULL;
        for (int k = 0; k < FANIN_PRODUCERS; k++) {
            f->prod[k].tx = calloc(channels, sizeof *f->prod[k].tx);
            f->prod[k].seq = calloc(channels, sizeof *f->prod[k].seq);
            ok = ok && f->prod[k].tx != NULL && f->prod[k].seq != NULL;
        }
    }
    if (!ok)
        fprintf(stderr, "%s: out of memory\n", name);
    if (ok && setup(f))
        return f;
    if (f != NULL)
        fanin_end(f, false);
    return NULL;
}

lc_mux *fanin_mux(struct fanin *f)
{
    return f->mux;
}

bool fanin_start(struct fanin *f)
{
    f->start_ns = f->tick_ns = f->progress_ns = now_ns();
    f->end_ns = f->start_ns + (uint64_t)(f->seconds * 1e9);
    f->seen_open = f->open;
    for (; f->started < FANIN_PRODUCERS; f->started++) {
        struct producer *p = &f->prod[f->started];
        p->id = (uint32_t)f->started;
        p->n_channels = f->n;
        p->end_ns = f->end_ns;
        p->seed = (f->start_ns | 1) * (2 * (uint64_t)f->started + 3);
        int err = pthread_create(&p->thread, NULL, produce, p);
        if (err != 0) {
            fprintf(stderr, "%s: pthread_create: %s\n", f->name, strerror(err));
            return false;
        }
    }
    return true;
}

/* Receives everything rx holds, checking each message; drops rx at the end of its stream. */
static bool drain(struct fanin *f, struct channel *ch, lc_rx *rx)
{
    struct message batch[CAPACITY];
    int n;
    while ((n = lc_try_recv_many(rx, batch, CAPACITY)) > 0) {
        for (int i = 0; i < n; i++) {
            const struct message *m = &batch[i];
            if (m->channel != ch->id || m->producer >= FANIN_PRODUCERS) {
                f->bad++;
                continue;
            }
            if (m->seq != ch->last_seq[m->producer] + 1) /* a duplicate, a gap or a swap */
                f->out_of_sequence++;
            ch->last_seq[m->producer] = m->seq;
        }
        f->received += (uint64_t)n;
    }
    if (n == LC_CLOSED) { /* every producer is done with it, and it is drained */
        lc_rx_drop(rx);   /* also removes it from the mux */
        ch->rx = NULL;
        f->open--;
        return true;
    }
    if (n != LC_EMPTY) {
        fprintf(stderr, "%s: channel %" PRIu32 ": lc_try_recv_many: %s\n", f->name, ch->id,
                lc_strerror(n));
        return false;
    }
    return true;
}

bool fanin_readable(struct fanin *f)
{
    lc_mux_event ev[MAX_EVENTS];
    int n;
    f->wakeups++;
    while ((n = lc_mux_wait(f->mux, 0, ev, MAX_EVENTS)) > 0) {
        f->wait_calls++;
        f->reports += (uint64_t)n;
        for (int i = 0; i < n; i++)
            if (!drain(f, ev[i].user_data, ev[i].rx))
                return false;
    }
    f->wait_calls++;
    if (n != LC_TIMEDOUT) {
        fprintf(stderr, "%s: lc_mux_wait: %s\n", f->name, lc_strerror(n));
        return false;
    }
    return true;
}

bool fanin_done(const struct fanin *f)
{
    return f->open == 0;
}

bool fanin_tick(struct fanin *f)
{
    uint64_t now = now_ns();
    printf("[%5.2f s] received %8" PRIu64 " (%6.0f/s), %7zu channels open, %" PRIu64
           " wake-ups\n", (double)(now - f->start_ns) / 1e9, f->received,
           (double)(f->received - f->tick_received) * 1e9 / (double)(now - f->tick_ns), f->open,
           f->wakeups);
    fflush(stdout);
    f->tick_ns = now;
    f->tick_received = f->received;
    if (f->received != f->seen_received || f->open != f->seen_open) {
        f->seen_received = f->received;
        f->seen_open = f->open;
        f->progress_ns = now;
    }
    uint64_t since = f->progress_ns > f->end_ns ? f->progress_ns : f->end_ns;
    if (now > since && now - since >= STUCK_AFTER_S * NS_PER_S) {
        fprintf(stderr, "%s: stuck: %zu channels still open, and no message or end of stream "
                "for %d s after the producers' end\n", f->name, f->open, STUCK_AFTER_S);
        return false;
    }
    return true;
}

/* Checks what the loop saw against what the producers sent; prints the result. */
static bool verify(const struct fanin *f, size_t still_registered)
{
    uint64_t sent = 0, unfinished = 0;
    for (int k = 0; k < FANIN_PRODUCERS; k++) {
        sent += f->prod[k].sent;
        for (size_t c = 0; c < f->n; c++)
            unfinished += f->chans[c].last_seq[k] != f->prod[k].seq[c];
    }
    printf("sent %" PRIu64 ", received %" PRIu64 " in %zu channels; %" PRIu64 " loop wake-ups, "
           "%.1f messages per wake-up; %" PRIu64 " lc_mux_wait calls, %" PRIu64 " reports\n",
           sent, f->received, f->n, f->wakeups,
           f->wakeups ? (double)f->received / (double)f->wakeups : 0.0, f->wait_calls,
           f->reports);
    if (sent != f->received || f->out_of_sequence != 0 || f->bad != 0 || unfinished != 0 ||
        still_registered != 0) {
        fprintf(stderr, "%s: FAILED: %" PRIu64 " sent, %" PRIu64 " received, %" PRIu64
                " out of sequence, %" PRIu64 " for the wrong channel, %" PRIu64 " streams (of a "
                "producer, to a channel) not ending with the producer's last message, %zu "
                "receivers still registered\n", f->name, sent, f->received, f->out_of_sequence,
                f->bad, unfinished, still_registered);
        return false;
    }
    printf("Every message arrived exactly once, in order per producer and channel; every "
           "channel reported LC_CLOSED once.\n");
    return true;
}

bool fanin_end(struct fanin *f, bool ok)
{
    /* Every receiver that ended its stream left the mux: none is left on success. */
    size_t still_registered = f->mux != NULL ? lc_mux_count(f->mux) : 0;
    /* On failure, dropping the receivers makes blocked producers' sends fail: they finish. */
    for (size_t c = 0; f->chans != NULL && c < f->n; c++)
        lc_rx_drop(f->chans[c].rx);
    for (int k = 0; k < f->started; k++) {
        int err = pthread_join(f->prod[k].thread, NULL);
        if (err != 0) {
            fprintf(stderr, "%s: pthread_join: %s\n", f->name, strerror(err));
            ok = false;
        } else if (ok && f->prod[k].rc != LC_OK) {
            fprintf(stderr, "%s: producer %d: lc_send: %s\n", f->name, k,
                    lc_strerror(f->prod[k].rc));
            ok = false;
        }
    }
    /* The producers started dropped their senders; give back those of the others. */
    for (int k = f->started; k < FANIN_PRODUCERS; k++)
        for (size_t c = 0; c < f->n && f->prod[k].tx != NULL; c++)
            lc_tx_drop(f->prod[k].tx[c]);
    lc_mux_free(f->mux); /* closes the descriptor, which the loop no longer watches */
    ok = ok && verify(f, still_registered);
    for (int k = 0; k < FANIN_PRODUCERS; k++) {
        free(f->prod[k].tx);
        free(f->prod[k].seq);
    }
    free(f->chans);
    free(f);
    return ok;
}
