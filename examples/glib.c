/*
 * glib: a GLib main loop receives, through one lc_mux, what producer threads send into a thousand
 * channels, and checks that every message arrives exactly once and in order. Linux only.
 *
 * Usage: glib [channels (1000): 1 to 1000000] [seconds (2): 0.1 to 3600]
 *
 * The loop has two sources: g_unix_fd_add on lc_mux_fd(mux), and a g_timeout source that prints
 * a status line and gives up if nothing moves for 10 s once the producers are done. The contract
 * of lc_mux_fd: when the descriptor is readable, call lc_mux_wait with timeout 0 until it returns
 * LC_TIMEDOUT; only that call arms the descriptor again. The producers send for the given time
 * and then drop their senders; each channel then reports LC_CLOSED once, and the last one quits
 * the loop. The mux owns the descriptor: its source is removed before lc_mux_free closes it.
 *
 * Build: cc -std=c11 glib.c $(pkg-config --cflags --libs lazychan glib-2.0)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib-unix.h>
#include <glib.h>

#include "lazychan.h"

#define N_PRODUCERS 3
#define CAPACITY 8              /* messages per channel */
#define RATE 10000              /* messages per second, per producer */
#define TICK_MS 500             /* the status line's period */
#define NS_PER_S 1000000000ull
#define STUCK_AFTER_S 10        /* seconds without progress, past the end, before giving up */
#define MAX_EVENTS 64           /* receivers per lc_mux_wait */
#define MAX_CHANNELS 1000000

struct message {
    uint32_t channel;
    uint32_t producer;
    uint64_t seq; /* per producer and channel: 1, 2, 3... */
};

struct producer {
    GThread *thread;
    uint32_t id;
    size_t n_channels;
    lc_tx **tx;      /* one reference per channel, dropped by this producer when it is done */
    uint64_t *seq;   /* per channel: the seq of the last message sent there */
    uint64_t end_ns; /* now_ns() at which to stop sending */
    uint64_t seed;
    uint64_t sent;   /* sent, seq and rc are read by main after the join */
    int rc;          /* LC_OK, or the code of the send that failed */
};

/* The loop's record of one channel: the user_data of its receiver. */
struct channel {
    uint32_t id;
    lc_rx *rx; /* NULL once it reported LC_CLOSED and was dropped */
    uint64_t last_seq[N_PRODUCERS];
};

struct app {
    GMainLoop *loop;
    guint fd_source;    /* g_unix_fd_add on lc_mux_fd(mux); 0 if none */
    guint timer_source; /* status and stuck detection; 0 if none */
    bool failed;
    lc_mux *mux;
    size_t open; /* channels that have not reported LC_CLOSED */
    uint64_t received, out_of_sequence, bad;
    uint64_t wakeups, wait_calls, reports;
    uint64_t start_ns, end_ns;       /* the producers' time */
    uint64_t tick_ns, tick_received; /* at the last status line */
    uint64_t progress_ns;            /* when received or open last changed, seen by the timer */
    uint64_t seen_received;
    size_t seen_open;
};

static uint64_t now_ns(void)
{
    return (uint64_t)g_get_monotonic_time() * 1000u; /* microseconds, monotonic */
}

static uint64_t next_random(uint64_t *state) /* xorshift64 */
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Sends RATE messages per second to random channels until p->end_ns, then drops its senders. */
static gpointer produce(gpointer arg)
{
    struct producer *p = arg;
    uint64_t start = now_ns();
    p->rc = LC_OK;
    for (uint64_t now = start; now < p->end_ns && p->rc == LC_OK; now = now_ns()) {
        uint64_t due = (now - start) * RATE / NS_PER_S;
        while (p->sent < due && p->rc == LC_OK) {
            uint32_t c = (uint32_t)(next_random(&p->seed) % p->n_channels);
            struct message m = {.channel = c, .producer = p->id, .seq = p->seq[c] + 1};
            p->rc = lc_send(p->tx[c], &m); /* waits while the channel holds CAPACITY messages */
            if (p->rc == LC_OK) {
                p->seq[c]++;
                p->sent++;
            }
        }
        g_usleep(1000);
    }
    for (size_t c = 0; c < p->n_channels; c++)
        lc_tx_drop(p->tx[c]); /* the last producer's drop ends the channel's stream */
    return NULL;
}

/* Ends g_main_loop_run; main removes the sources afterwards. */
static void finish(struct app *a, bool ok)
{
    if (!ok)
        a->failed = true;
    g_main_loop_quit(a->loop);
}

/* Receives everything rx holds, checking each message; drops rx at the end of its stream. */
static bool drain(struct app *a, struct channel *ch, lc_rx *rx)
{
    struct message batch[CAPACITY];
    int n;
    while ((n = lc_try_recv_many(rx, batch, CAPACITY)) > 0) {
        for (int i = 0; i < n; i++) {
            const struct message *m = &batch[i];
            if (m->channel != ch->id || m->producer >= N_PRODUCERS) {
                a->bad++;
                continue;
            }
            if (m->seq != ch->last_seq[m->producer] + 1) /* a duplicate, a gap or a swap */
                a->out_of_sequence++;
            ch->last_seq[m->producer] = m->seq;
        }
        a->received += (uint64_t)n;
    }
    if (n == LC_CLOSED) { /* every producer is done with it, and it is drained */
        lc_rx_drop(rx);   /* also removes it from the mux */
        ch->rx = NULL;
        a->open--;
        return true;
    }
    if (n != LC_EMPTY) {
        fprintf(stderr, "glib: channel %" PRIu32 ": lc_try_recv_many: %s\n", ch->id,
                lc_strerror(n));
        return false;
    }
    return true;
}

/* The mux descriptor is readable: lc_mux_wait(mux, 0) until LC_TIMEDOUT, as documented. The
 * source stays attached whatever happens: main removes it. */
static gboolean on_mux_readable(gint fd, GIOCondition condition, gpointer data)
{
    struct app *a = data;
    (void)fd;
    if (condition & (G_IO_ERR | G_IO_HUP | G_IO_NVAL)) {
        fprintf(stderr, "glib: the mux descriptor reports condition 0x%x\n", (unsigned)condition);
        finish(a, false);
        return G_SOURCE_CONTINUE;
    }
    a->wakeups++;
    lc_mux_event ev[MAX_EVENTS];
    int n;
    while ((n = lc_mux_wait(a->mux, 0, ev, MAX_EVENTS)) > 0) {
        a->wait_calls++;
        a->reports += (uint64_t)n;
        for (int i = 0; i < n; i++) {
            if (!drain(a, ev[i].user_data, ev[i].rx)) {
                finish(a, false);
                return G_SOURCE_CONTINUE;
            }
        }
    }
    a->wait_calls++;
    if (n != LC_TIMEDOUT) {
        fprintf(stderr, "glib: lc_mux_wait: %s\n", lc_strerror(n));
        finish(a, false);
    } else if (a->open == 0) {
        finish(a, true); /* every channel reported the end of its stream */
    }
    return G_SOURCE_CONTINUE;
}

/* Prints a status line; gives up if nothing moved for STUCK_AFTER_S past the producers' end. */
static gboolean on_tick(gpointer data)
{
    struct app *a = data;
    uint64_t now = now_ns();
    printf("[%5.2f s] received %8" PRIu64 " (%6.0f/s), %7zu channels open, %" PRIu64
           " wake-ups\n", (double)(now - a->start_ns) / 1e9, a->received,
           (double)(a->received - a->tick_received) * 1e9 / (double)(now - a->tick_ns),
           a->open, a->wakeups);
    fflush(stdout);
    a->tick_ns = now;
    a->tick_received = a->received;
    if (a->received != a->seen_received || a->open != a->seen_open) {
        a->seen_received = a->received;
        a->seen_open = a->open;
        a->progress_ns = now;
    }
    uint64_t since = a->progress_ns > a->end_ns ? a->progress_ns : a->end_ns;
    if (now > since && now - since >= STUCK_AFTER_S * NS_PER_S) {
        fprintf(stderr, "glib: stuck: %zu channels still open, and no message or end of stream "
                "for %d s after the producers' end\n", a->open, STUCK_AFTER_S);
        finish(a, false);
    }
    return G_SOURCE_CONTINUE;
}

/* Creates the channels, registers them and gives each producer a reference to each. Whatever
 * it made is in channels[].rx and prod[].tx[] (NULL otherwise), to be dropped on failure. */
static bool setup(struct app *a, struct channel *channels, size_t n, struct producer *prod)
{
    int rc = lc_mux_new(NULL, &a->mux);
    if (rc != LC_OK) {
        fprintf(stderr, "glib: lc_mux_new: %s\n", lc_strerror(rc));
        return false;
    }
    lc_config cfg = {.capacity = CAPACITY};
    for (size_t c = 0; c < n; c++) {
        channels[c].id = (uint32_t)c;
        rc = lc_channel(sizeof(struct message), &cfg, &prod[0].tx[c], &channels[c].rx);
        if (rc == LC_OK)
            rc = lc_mux_add(a->mux, channels[c].rx, &channels[c]);
        for (int k = 1; rc == LC_OK && k < N_PRODUCERS; k++) {
            prod[k].tx[c] = lc_tx_clone(prod[0].tx[c]);
            if (prod[k].tx[c] == NULL)
                rc = LC_INVALID; /* too many references: not with N_PRODUCERS of them */
        }
        if (rc != LC_OK) {
            fprintf(stderr, "glib: channel %zu: %s\n", c, lc_strerror(rc));
            return false;
        }
        a->open++;
    }
    return true;
}

/* Attaches the mux descriptor's source and the status timer to the default main context. */
static bool start_sources(struct app *a)
{
    int fd = lc_mux_fd(a->mux);
    if (fd < 0) {
        fprintf(stderr, "glib: lc_mux_fd: %s\n", lc_strerror(fd));
        return false;
    }
    a->fd_source = g_unix_fd_add(fd, G_IO_IN, on_mux_readable, a); /* > 0: it cannot fail */
    a->timer_source = g_timeout_add(TICK_MS, on_tick, a);
    return true;
}

/* Detaches and frees a source that is still attached. */
static bool remove_source(guint *id, const char *what)
{
    if (*id == 0)
        return true;
    gboolean found = g_source_remove(*id);
    *id = 0;
    if (!found)
        fprintf(stderr, "glib: g_source_remove: the %s source was gone already\n", what);
    return found;
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

/* Checks what the loop saw against what the producers sent; prints the result. */
static bool verify(const struct app *a, const struct channel *chans, size_t n,
                   const struct producer *prod, size_t still_registered)
{
    uint64_t sent = 0, unfinished = 0;
    for (int k = 0; k < N_PRODUCERS; k++) {
        sent += prod[k].sent;
        for (size_t c = 0; c < n; c++)
            unfinished += chans[c].last_seq[k] != prod[k].seq[c];
    }
    printf("sent %" PRIu64 ", received %" PRIu64 " in %zu channels; %" PRIu64 " loop wake-ups, "
           "%.1f messages per wake-up; %" PRIu64 " lc_mux_wait calls, %" PRIu64 " reports\n",
           sent, a->received, n, a->wakeups,
           a->wakeups ? (double)a->received / (double)a->wakeups : 0.0, a->wait_calls,
           a->reports);
    if (sent != a->received || a->out_of_sequence != 0 || a->bad != 0 || unfinished != 0 ||
        still_registered != 0) {
        fprintf(stderr, "glib: FAILED: %" PRIu64 " sent, %" PRIu64 " received, %" PRIu64
                " out of sequence, %" PRIu64 " for the wrong channel, %" PRIu64 " streams (of a "
                "producer, to a channel) not ending with the producer's last message, %zu "
                "receivers still registered\n", sent, a->received, a->out_of_sequence, a->bad,
                unfinished, still_registered);
        return false;
    }
    printf("Every message arrived exactly once, in order per producer and channel; every "
           "channel reported LC_CLOSED once.\n");
    return true;
}

int main(int argc, char **argv)
{
    size_t n = 1000;
    double seconds = 2;
    static const char *const problem[] = {
        NULL, "channels must be an integer from 1 to 1000000",
        "seconds must be a number from 0.1 to 3600", "too many arguments"};
    int bad = 0; /* the index of the bad argument in argv, and of its problem */
    if (argc > 3)
        bad = 3;
    else if (argc > 1 && !parse_count(argv[1], MAX_CHANNELS, &n))
        bad = 1;
    else if (argc > 2 && !parse_seconds(argv[2], 0.1, 3600, &seconds))
        bad = 2;
    if (bad != 0) {
        fprintf(stderr, "glib: %s: \"%s\"\nusage: %s [channels (1000)] [seconds (2)]\n",
                problem[bad], argv[bad], argv[0]);
        return 2;
    }

    struct app a = {0};
    struct producer prod[N_PRODUCERS] = {{0}};
    struct channel *chans = calloc(n, sizeof *chans);
    bool ok = chans != NULL;
    for (int k = 0; k < N_PRODUCERS; k++) {
        prod[k].tx = calloc(n, sizeof *prod[k].tx);
        prod[k].seq = calloc(n, sizeof *prod[k].seq);
        ok = ok && prod[k].tx != NULL && prod[k].seq != NULL;
    }
    if (!ok)
        fprintf(stderr, "glib: out of memory\n");

    a.loop = g_main_loop_new(NULL, FALSE); /* the default context; aborts if out of memory */
    ok = ok && setup(&a, chans, n, prod) && start_sources(&a);
    if (ok)
        printf("glib: %d producers send %d messages/s each into %zu channels for %.1f s; a GLib "
               "main loop\nwatches the lc_mux descriptor and prints a status line every %d ms.\n",
               N_PRODUCERS, RATE, n, seconds, TICK_MS);

    a.start_ns = a.tick_ns = a.progress_ns = now_ns();
    a.end_ns = a.start_ns + (uint64_t)(seconds * 1e9);
    a.seen_open = a.open;
    int started = 0;
    for (; ok && started < N_PRODUCERS; started++) {
        struct producer *p = &prod[started];
        p->id = (uint32_t)started;
        p->n_channels = n;
        p->end_ns = a.end_ns;
        p->seed = (a.start_ns | 1) * (2 * (uint64_t)started + 3);
        GError *err = NULL;
        p->thread = g_thread_try_new("producer", produce, p, &err);
        if (p->thread == NULL) {
            fprintf(stderr, "glib: g_thread_try_new: %s\n", err->message);
            g_error_free(err);
            ok = false;
            break;
        }
    }
    /* The producers started own their senders; give back those of the others. */
    for (int k = started; k < N_PRODUCERS; k++)
        for (size_t c = 0; c < n && prod[k].tx != NULL; c++)
            lc_tx_drop(prod[k].tx[c]);

    if (ok) {
        g_main_loop_run(a.loop); /* until finish() */
        ok = !a.failed;
    }
    /* Both before lc_mux_free closes the descriptor: the source must not poll a closed one. */
    ok = remove_source(&a.fd_source, "mux descriptor") && ok;
    ok = remove_source(&a.timer_source, "timer") && ok;
    g_main_loop_unref(a.loop);

    /* On failure, dropping the receivers makes blocked producers' sends fail: they finish. */
    for (size_t c = 0; chans != NULL && c < n; c++)
        lc_rx_drop(chans[c].rx);
    for (int k = 0; k < started; k++) {
        g_thread_join(prod[k].thread); /* also frees the GThread */
        if (ok && prod[k].rc != LC_OK) {
            fprintf(stderr, "glib: producer %d: lc_send: %s\n", k, lc_strerror(prod[k].rc));
            ok = false;
        }
    }
    size_t still_registered = lc_mux_count(a.mux);
    lc_mux_free(a.mux); /* closes the descriptor, which no source watches any more */
    ok = ok && verify(&a, chans, n, prod, still_registered);
    for (int k = 0; k < N_PRODUCERS; k++) {
        free(prod[k].tx);
        free(prod[k].seq);
    }
    free(chans);
    return ok ? 0 : 1;
}
