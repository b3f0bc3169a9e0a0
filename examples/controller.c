/*
 * controller: a cluster controller's health pipeline. One bounded channel per watched object,
 * all registered in one lc_mux; two producer threads emit health events at a steady rate while
 * objects are retired and replaced; one consumer drains them. It measures heap, throughput and
 * latency, checks that every event is accounted for, and exits nonzero if a check fails. It
 * also says whether the target rate was reached, and if not why; a missed rate is not a failure.
 *
 * Usage: controller [channels (10000)] [seconds (5)] [events per second (200000)]
 *        channels and events per second are integers (1 to 1e8, 1 to 1e9), seconds 0.1 to 86400
 *
 * Threads and ownership:
 *  - The consumer owns the mux and every object's receiver. It creates the objects and drains
 *    what lc_mux_wait reports. Every RETIRE_EVERY_NS it retires the object of a random report
 *    before draining it (or a random object, if nothing was reported): lc_rx_drop passes the
 *    object's queued events to the drop callback. A new object takes the freed slot.
 *  - Each producer holds its own sender reference for every object (the consumer clones them).
 *    A new object's reference reaches the producer through the producer's handoff channel (a
 *    lazychan channel too), which the producer reads every HANDOFF_EVERY_NS, as from a watch;
 *    it then drops the old reference. Meanwhile a send to the retired object fails with
 *    LC_CLOSED, and the producer drops that reference at once. A reference is only ever dropped
 *    by the producer that holds it, so no handle is used after its drop.
 *  - main starts the threads, prints a progress line every second, stops the producers, joins
 *    them and tells the consumer to finish: install the handoffs left (the producers are gone),
 *    drain, measure, tear down.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lazychan.h"

#define N_PRODUCERS 2
#define CAPACITY 16             /* events queued per object, at most */
#define RETIRE_EVERY_NS 2000000 /* the consumer replaces one object this often: 2 ms */
#define MIN_NAP_NS 50000        /* a producer sleeps at least this long between bursts */
#define HANDOFF_EVERY_NS 1000000 /* a producer looks for new objects this often: 1 ms */
#define MAX_BURST 4096          /* events a producer sends before it looks at its handoffs */
#define MAX_EVENTS 256          /* receivers taken per lc_mux_wait */
#define SEND_TRIES 8            /* objects a producer tries for one event before giving up */
#define NS_PER_S 1000000000ull

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t deadline_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline_ns / NS_PER_S),
                          .tv_nsec = (long)(deadline_ns % NS_PER_S)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        continue;
}

static uint64_t next_random(uint64_t *state) /* xorshift64 */
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* "s" unless n is 1: printf("%" PRIu64 " event%s", n, plural(n)). */
static const char *plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

/* ---- a counting allocator, safe from any thread ---- */

/* Counts the bytes the library asks for (not malloc's own overhead). */
struct heap {
    atomic_size_t live;   /* requested and not yet freed */
    atomic_size_t peak;   /* the most live at once */
    atomic_size_t blocks; /* allocations not yet freed */
};

static void *heap_alloc(void *ctx, size_t size)
{
    struct heap *h = ctx;
    void *p = malloc(size);
    if (p == NULL)
        return NULL;
    size_t live = atomic_fetch_add_explicit(&h->live, size, memory_order_relaxed) + size;
    size_t peak = atomic_load_explicit(&h->peak, memory_order_relaxed);
    while (live > peak && !atomic_compare_exchange_weak_explicit(
                              &h->peak, &peak, live, memory_order_relaxed, memory_order_relaxed))
        continue;
    atomic_fetch_add_explicit(&h->blocks, 1, memory_order_relaxed);
    return p;
}

static void heap_free(void *ctx, void *ptr, size_t size)
{
    struct heap *h = ctx;
    free(ptr);
    atomic_fetch_sub_explicit(&h->live, size, memory_order_relaxed);
    atomic_fetch_sub_explicit(&h->blocks, 1, memory_order_relaxed);
}

static size_t heap_live(struct heap *h)
{
    return atomic_load_explicit(&h->live, memory_order_relaxed);
}

/* ---- latency: a log-linear histogram, 32 buckets per power of two (within 3%) ---- */

#define SUB_BITS 5
#define N_BUCKETS ((64 - SUB_BITS + 1) << SUB_BITS)

struct histogram {
    uint64_t count[N_BUCKETS];
    uint64_t total, max;
};

static unsigned bucket_of(uint64_t v)
{
    unsigned shift = 0;
    while ((v >> shift) >= (2u << SUB_BITS))
        shift++;
    if (v < (1u << SUB_BITS))
        return (unsigned)v;
    return ((shift + 1) << SUB_BITS) + (unsigned)((v >> shift) & ((1u << SUB_BITS) - 1));
}

/* The middle of bucket i's range of values. */
static uint64_t bucket_value(unsigned i)
{
    if (i < (2u << SUB_BITS))
        return i;
    unsigned shift = (i >> SUB_BITS) - 1;
    uint64_t low = (uint64_t)((1u << SUB_BITS) + (i & ((1u << SUB_BITS) - 1))) << shift;
    return low + ((uint64_t)1 << shift) / 2;
}

static void histogram_add(struct histogram *h, uint64_t v)
{
    h->count[bucket_of(v)]++;
    h->total++;
    if (v > h->max)
        h->max = v;
}

/* The value below which a fraction p of the samples lie (0 when there are none). */
static uint64_t histogram_quantile(const struct histogram *h, double p)
{
    uint64_t rank = (uint64_t)(p * (double)h->total + 0.5), seen = 0;
    if (rank == 0)
        rank = 1;
    for (unsigned i = 0; i < N_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= rank) {
            uint64_t v = bucket_value(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

/* ---- the program's state ---- */

struct health_event {
    uint64_t sent_ns;  /* CLOCK_MONOTONIC when the producer sent it */
    uint64_t seq;      /* the producer's sequence number: grows with every event it makes */
    uint32_t object;   /* the object's slot */
    uint16_t producer; /* which producer */
    uint16_t status;   /* the health status reported */
};
_Static_assert(sizeof(struct health_event) == 24, "a health event is 24 bytes");

/* The consumer's record of one watched object: the user_data of its receiver. */
struct object {
    uint32_t slot;
    lc_rx *rx;                      /* NULL only after a failed replacement */
    uint64_t last_seq[N_PRODUCERS]; /* the last sequence number received from each producer */
    uint16_t status;                /* the last status received */
};

/* A new object's sender, from the consumer to one producer. */
struct handoff {
    uint32_t slot;
    lc_tx *tx;
};

struct producer {
    _Alignas(64) struct controller *ctl; /* each producer's fields on their own cache lines */
    uint16_t id;
    lc_tx **tx;      /* per slot: this producer's sender reference, or NULL once closed */
    lc_rx *handoffs; /* new senders from the consumer; received by this producer's thread */
    uint64_t seed, seq;
    uint64_t made;           /* events made: each sent, refused full, or given up */
    uint64_t refused_full;   /* sends that found the object's 16 events queued */
    uint64_t refused_closed; /* sends to a retired object */
    uint64_t no_sender;      /* picks of an object whose new sender had not arrived yet */
    uint64_t gave_up;        /* events not sent: SEND_TRIES picks found no open object */
};

/* What the consumer measured before any traffic. */
struct idle {
    size_t mux, channels, registrations, total;
    size_t plain;   /* one channel like the objects' but without a drop callback, for reference */
    size_t control; /* the handoff channels, counted apart */
};

struct controller {
    size_t n_objects;
    double rate;       /* events per second, all producers together */
    uint64_t start_ns; /* when the producers' schedule begins: set by main before they start */
    struct heap heap;         /* the object channels, their registrations and the mux */
    struct heap control_heap; /* the handoff channels */
    lc_allocator heap_allocator, control_allocator;

    struct object *objects;
    struct producer producers[N_PRODUCERS];
    lc_tx *handoff_tx[N_PRODUCERS]; /* the consumer's senders into the producers' handoffs */
    lc_mux *mux;

    /* Updated by every thread, read by main's progress line. */
    atomic_bool stop;   /* producers: stop sending */
    atomic_bool finish; /* consumer: the producers are joined; drain, measure, tear down */
    atomic_bool failed;
    atomic_uint_fast64_t sent, received, dropped, replaced;

    /* The consumer's, read by main after the join. */
    struct idle idle;
    size_t heap_drained, control_drained; /* live bytes once drained, before teardown */
    struct histogram latency;
    uint64_t rng;
    uint64_t wait_calls, waits_with_events, reports;
    uint64_t wrong_object, out_of_order, unexpected_closed;

    /* The start handshake: main waits for the consumer's set-up. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int setup; /* 0 while running, 1 done, -1 failed */
};

static void fail(struct controller *ctl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\ncontroller: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    atomic_store(&ctl->failed, true);
    atomic_store(&ctl->stop, true);
}

static void count_add(atomic_uint_fast64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static uint64_t count_get(atomic_uint_fast64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

/* The drop callback: an event a retired object never delivered. Runs in lc_rx_drop on the
 * consumer's thread, or in a producer's last lc_tx_drop for an event that was still in flight. */
static void drop_event(void *ctx, void *msg)
{
    (void)msg;
    count_add(&((struct controller *)ctx)->dropped, 1);
}

/* ---- producers ---- */

/* Installs the senders the consumer handed over, dropping the references they replace. */
static void take_handoffs(struct producer *p)
{
    struct handoff h[16];
    int n;
    while ((n = lc_try_recv_many(p->handoffs, h, 16)) > 0) {
        for (int i = 0; i < n; i++) {
            lc_tx_drop(p->tx[h[i].slot]); /* NULL if it was closed and dropped already */
            p->tx[h[i].slot] = h[i].tx;
        }
    }
    if (n != LC_EMPTY)
        fail(p->ctl, "producer %u: handoff receive: %s", (unsigned)p->id, lc_strerror(n));
}

/* Sends one event to a random open object. */
static void send_event(struct producer *p)
{
    struct controller *ctl = p->ctl;
    for (int tries = 0; tries < SEND_TRIES; tries++) {
        uint64_t r = next_random(&p->seed);
        uint32_t slot = (uint32_t)(r % ctl->n_objects);
        lc_tx *tx = p->tx[slot];
        if (tx == NULL) {
            p->no_sender++;
            continue;
        }
        struct health_event ev = {.sent_ns = now_ns(), .seq = ++p->seq, .object = slot,
                                  .producer = p->id, .status = (uint16_t)(r >> 48)};
        int rc = lc_try_send(tx, &ev);
        switch (rc) {
        case LC_OK:
            count_add(&ctl->sent, 1);
            return;
        case LC_FULL: /* the consumer is behind on this object: a newer status will follow */
            p->refused_full++;
            return;
        case LC_CLOSED: /* the object was retired: our reference goes, its replacement comes */
            p->refused_closed++;
            lc_tx_drop(tx);
            p->tx[slot] = NULL;
            continue;
        default:
            fail(ctl, "producer %u: lc_try_send: %s", (unsigned)p->id, lc_strerror(rc));
            return;
        }
    }
    p->gave_up++;
}

/* Sends rate / N_PRODUCERS events per second from ctl->start_ns (so a late start is caught up),
 * in bursts of what is due, until stopped. */
static void *produce(void *arg)
{
    struct producer *p = arg;
    struct controller *ctl = p->ctl;
    double per_ns = ctl->rate / N_PRODUCERS / 1e9;
    uint64_t start = ctl->start_ns, made = 0, next_handoff = start;
    while (!atomic_load(&ctl->stop)) {
        uint64_t now = now_ns();
        if (now >= next_handoff) {
            take_handoffs(p);
            next_handoff = now + HANDOFF_EVERY_NS;
        }
        uint64_t due = (uint64_t)((double)(now - start) * per_ns);
        for (int i = 0; made < due && i < MAX_BURST; i++, made++)
            send_event(p);
        uint64_t next = start + (uint64_t)((double)(made + 1) / per_ns);
        if (next < now + MIN_NAP_NS)
            next = now + MIN_NAP_NS;
        sleep_until(next);
    }
    p->made = made;
    return NULL;
}

/* ---- the consumer ---- */

/* Creates obj's channel, and one sender reference per producer in txs. */
static int new_channel(struct controller *ctl, struct object *obj, lc_tx *txs[N_PRODUCERS])
{
    lc_config cfg = {.capacity = CAPACITY, .allocator = &ctl->heap_allocator,
                     .drop = drop_event, .drop_ctx = ctl};
    lc_tx *tx;
    int rc = lc_channel(sizeof(struct health_event), &cfg, &tx, &obj->rx);
    if (rc != LC_OK)
        return rc;
    txs[0] = tx;
    for (int k = 1; k < N_PRODUCERS; k++)
        txs[k] = lc_tx_clone(tx); /* cannot fail: a handful of references */
    return LC_OK;
}

/* Retires obj and puts a new object in its slot. */
static void replace_object(struct controller *ctl, struct object *obj)
{
    if (obj->rx == NULL)
        return;
    lc_rx_drop(obj->rx); /* leaves the mux; queued events go to the drop callback */
    obj->rx = NULL;
    lc_tx *txs[N_PRODUCERS];
    int rc = new_channel(ctl, obj, txs);
    if (rc == LC_OK && (rc = lc_mux_add(ctl->mux, obj->rx, obj)) != LC_OK) {
        lc_rx_drop(obj->rx);
        obj->rx = NULL;
        for (int k = 0; k < N_PRODUCERS; k++)
            lc_tx_drop(txs[k]);
    }
    if (rc != LC_OK) {
        fail(ctl, "replacing object %" PRIu32 ": %s", obj->slot, lc_strerror(rc));
        return;
    }
    for (int k = 0; k < N_PRODUCERS; k++) {
        struct handoff h = {.slot = obj->slot, .tx = txs[k]};
        rc = lc_try_send(ctl->handoff_tx[k], &h); /* unbounded: only LC_NOMEM can fail it */
        if (rc != LC_OK) {
            lc_tx_drop(txs[k]); /* that producer keeps the old, closed sender */
            fail(ctl, "handoff to producer %d: %s", k, lc_strerror(rc));
        }
    }
    count_add(&ctl->replaced, 1);
}

/* Drains one reported receiver, recording each event's latency. */
static void drain(struct controller *ctl, lc_rx *rx, struct object *obj)
{
    struct health_event batch[CAPACITY];
    int n;
    if (rx != obj->rx) {
        ctl->wrong_object++;
        return;
    }
    while ((n = lc_try_recv_many(rx, batch, CAPACITY)) > 0) {
        uint64_t now = now_ns();
        for (int i = 0; i < n; i++) {
            const struct health_event *ev = &batch[i];
            histogram_add(&ctl->latency, now - ev->sent_ns);
            if (ev->object != obj->slot || ev->producer >= N_PRODUCERS) {
                ctl->wrong_object++;
                continue;
            }
            if (ev->seq <= obj->last_seq[ev->producer])
                ctl->out_of_order++;
            obj->last_seq[ev->producer] = ev->seq;
            obj->status = ev->status;
        }
        count_add(&ctl->received, (uint64_t)n);
    }
    if (n == LC_CLOSED)
        ctl->unexpected_closed++; /* every object keeps its senders until teardown */
    else if (n != LC_EMPTY)
        fail(ctl, "lc_try_recv_many: %s", lc_strerror(n));
}

/* One lc_mux_wait and the draining of what it reports, after retiring one object if asked.
 * Returns what lc_mux_wait returned. */
static int wait_and_drain(struct controller *ctl, uint64_t timeout_ns, bool retire)
{
    lc_mux_event events[MAX_EVENTS];
    int n = lc_mux_wait(ctl->mux, timeout_ns, events, MAX_EVENTS);
    ctl->wait_calls++;
    if (n < 0 && n != LC_TIMEDOUT)
        fail(ctl, "lc_mux_wait: %s", lc_strerror(n));
    int victim = -1;
    if (retire && n > 0) {
        victim = (int)(next_random(&ctl->rng) % (uint64_t)n);
        replace_object(ctl, events[victim].user_data); /* events[victim].rx is gone now */
    } else if (retire) {
        replace_object(ctl, &ctl->objects[next_random(&ctl->rng) % ctl->n_objects]);
    }
    if (n > 0) {
        ctl->waits_with_events++;
        ctl->reports += (uint64_t)n;
        for (int i = 0; i < n; i++)
            if (i != victim)
                drain(ctl, events[i].rx, events[i].user_data);
    }
    return n;
}

/* Creates the mux, the handoff channels and the objects, measuring the heap at each step. */
static bool setup(struct controller *ctl)
{
    int rc = lc_mux_new(&ctl->heap_allocator, &ctl->mux);
    if (rc != LC_OK) {
        fail(ctl, "lc_mux_new: %s", lc_strerror(rc));
        return false;
    }
    ctl->idle.mux = heap_live(&ctl->heap);
    lc_config plain = {.capacity = CAPACITY, .allocator = &ctl->heap_allocator};
    lc_tx *tx;
    lc_rx *rx;
    if ((rc = lc_channel(sizeof(struct health_event), &plain, &tx, &rx)) != LC_OK) {
        fail(ctl, "lc_channel: %s", lc_strerror(rc));
        return false;
    }
    ctl->idle.plain = heap_live(&ctl->heap) - ctl->idle.mux;
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    lc_config control = {.allocator = &ctl->control_allocator};
    for (int k = 0; k < N_PRODUCERS; k++) {
        rc = lc_channel(sizeof(struct handoff), &control, &ctl->handoff_tx[k],
                        &ctl->producers[k].handoffs);
        if (rc != LC_OK) {
            fail(ctl, "handoff channel: %s", lc_strerror(rc));
            return false;
        }
    }
    ctl->idle.control = heap_live(&ctl->control_heap);
    for (size_t i = 0; i < ctl->n_objects; i++) {
        lc_tx *txs[N_PRODUCERS];
        if ((rc = new_channel(ctl, &ctl->objects[i], txs)) != LC_OK) {
            fail(ctl, "creating object %zu: %s", i, lc_strerror(rc));
            return false;
        }
        for (int k = 0; k < N_PRODUCERS; k++)
            ctl->producers[k].tx[i] = txs[k]; /* the producers start after the handshake */
    }
    ctl->idle.channels = heap_live(&ctl->heap) - ctl->idle.mux;
    for (size_t i = 0; i < ctl->n_objects; i++) {
        if ((rc = lc_mux_add(ctl->mux, ctl->objects[i].rx, &ctl->objects[i])) != LC_OK) {
            fail(ctl, "registering object %zu: %s", i, lc_strerror(rc));
            return false;
        }
    }
    ctl->idle.total = heap_live(&ctl->heap);
    ctl->idle.registrations = ctl->idle.total - ctl->idle.mux - ctl->idle.channels;
    return true;
}

/* Gives back everything setup made; any part may be missing after a failure. */
static void teardown(struct controller *ctl)
{
    for (int k = 0; k < N_PRODUCERS; k++)
        if (ctl->producers[k].handoffs != NULL)
            take_handoffs(&ctl->producers[k]); /* their senders must not leak */
    for (size_t i = 0; i < ctl->n_objects; i++)
        lc_rx_drop(ctl->objects[i].rx); /* leaves the mux; freed with the last sender below */
    for (int k = 0; k < N_PRODUCERS; k++) {
        for (size_t i = 0; i < ctl->n_objects; i++)
            lc_tx_drop(ctl->producers[k].tx[i]);
        lc_tx_drop(ctl->handoff_tx[k]);
        lc_rx_drop(ctl->producers[k].handoffs);
    }
    lc_mux_free(ctl->mux);
}

static void set_setup(struct controller *ctl, int state)
{
    pthread_mutex_lock(&ctl->lock);
    ctl->setup = state;
    pthread_cond_signal(&ctl->cond);
    pthread_mutex_unlock(&ctl->lock);
}

static void *consume(void *arg)
{
    struct controller *ctl = arg;
    if (!setup(ctl)) {
        teardown(ctl);
        set_setup(ctl, -1);
        return NULL;
    }
    set_setup(ctl, 1);

    uint64_t next_replace = now_ns() + RETIRE_EVERY_NS;
    while (!atomic_load(&ctl->finish)) {
        uint64_t now = now_ns();
        if (atomic_load(&ctl->stop)) {
            wait_and_drain(ctl, RETIRE_EVERY_NS, false); /* until main says finish */
        } else if (now < next_replace) {
            wait_and_drain(ctl, next_replace - now, false);
        } else {
            wait_and_drain(ctl, 0, true);
            next_replace += RETIRE_EVERY_NS;
            if (next_replace < now)
                next_replace = now + RETIRE_EVERY_NS; /* fell behind: do not catch up */
        }
    }

    /* The producers are joined: install what they did not take, then drain everything. */
    for (int k = 0; k < N_PRODUCERS; k++)
        take_handoffs(&ctl->producers[k]);
    while (wait_and_drain(ctl, 0, false) > 0)
        continue;
    ctl->heap_drained = heap_live(&ctl->heap);
    ctl->control_drained = heap_live(&ctl->control_heap);
    teardown(ctl);
    return NULL;
}

/* ---- main: start, progress, report ---- */

/* Reads s into *out if it is a number from min to max (an integer if whole); if not, says why. */
static bool parse(const char *s, const char *name, double min, double max, bool whole,
                  double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max) ||
        (whole && v != (double)(uint64_t)v)) {
        fprintf(stderr, "controller: %s must be %s from %.15g to %.15g, got \"%s\"\n", name,
                whole ? "an integer" : "a number", min, max, s);
        return false;
    }
    *out = v;
    return true;
}

static int check(bool ok, const char *what)
{
    printf("  %-76s %s\n", what, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

/* One line of the traffic table: a count and its noun, its rate if over_s > 0, and a note. */
static void row(const char *label, uint64_t n, const char *noun, double over_s, const char *note)
{
    char word[16], rate[32] = "";
    snprintf(word, sizeof word, "%s%s", noun, plural(n));
    if (over_s > 0)
        snprintf(rate, sizeof rate, "%.0f/s", (double)n / over_s);
    printf("  %-9s %10" PRIu64 " %-7s %9s  %s\n", label, n, word, rate, note);
}

static void report(struct controller *ctl, double elapsed_s)
{
    uint64_t sent = count_get(&ctl->sent), received = count_get(&ctl->received);
    uint64_t dropped = count_get(&ctl->dropped);
    uint64_t made = 0, full = 0, closed = 0, no_sender = 0, gave_up = 0;
    for (int k = 0; k < N_PRODUCERS; k++) {
        made += ctl->producers[k].made;
        full += ctl->producers[k].refused_full;
        closed += ctl->producers[k].refused_closed;
        no_sender += ctl->producers[k].no_sender;
        gave_up += ctl->producers[k].gave_up;
    }
    double reached = (double)sent / elapsed_s, percent = 100 * reached / ctl->rate;
    char note[96];
    printf("\nTraffic over %.2f s, target %.0f event%s/s:\n", elapsed_s, ctl->rate,
           plural((uint64_t)ctl->rate));
    row("made", made, "event", elapsed_s, "by the producers: sent + LC_FULL + no object");
    snprintf(note, sizeof note, "= received + dropped; %.1f%% of the target rate", percent);
    row("sent", sent, "event", elapsed_s, note);
    row("LC_FULL", full, "send", 0, "found the channel full (consumer behind): event lost");
    snprintf(note, sizeof note, "not sent: none of %d random pick%s was an open object",
             SEND_TRIES, plural(SEND_TRIES));
    row("no object", gave_up, "event", 0, note);
    row("received", received, "event", elapsed_s, "by the consumer");
    row("dropped", dropped, "event", 0, "left in a retired object: passed to its drop callback");
    snprintf(note, sizeof note, "retired (receiver dropped) and renewed, one per %d ms",
             RETIRE_EVERY_NS / 1000000);
    row("replaced", count_get(&ctl->replaced), "object", 0, note);
    row("LC_CLOSED", closed, "send", 0, "found the object retired: sender dropped, next pick");
    row("no sender", no_sender, "pick", 0, "of a slot whose new sender was not handed over yet");
    printf("  lc_mux_wait: %" PRIu64 " call%s, %" PRIu64 " with reports (a report: one channel "
           "with events ready);\n               %.2f reports per call that had any, %.2f events "
           "drained per report\n", ctl->wait_calls, plural(ctl->wait_calls), ctl->waits_with_events,
           ctl->waits_with_events ? (double)ctl->reports / (double)ctl->waits_with_events : 0.0,
           ctl->reports ? (double)received / (double)ctl->reports : 0.0);
    const struct histogram *h = &ctl->latency;
    printf("  latency, send to receive: p50 %.1f µs, p99 %.1f µs, max %.1f µs (pN: N%% took "
           "less)\n", (double)histogram_quantile(h, 0.50) / 1e3,
           (double)histogram_quantile(h, 0.99) / 1e3, (double)h->max / 1e3);

    size_t after = heap_live(&ctl->heap), control_after = heap_live(&ctl->control_heap);
    printf("\nLibrary heap (bytes lazychan allocated for the objects, registrations and mux):\n");
    printf("  at start %zu B, peak %zu B, after draining %zu B, after teardown %zu B\n",
           ctl->idle.total, atomic_load(&ctl->heap.peak), ctl->heap_drained, after);

    printf("\nChecks (every event accounted for; heap back to idle once drained, 0 after "
           "teardown):\n");
    char line[128];
    int failures = 0;
    snprintf(line, sizeof line, "made %" PRIu64 " == sent %" PRIu64 " + LC_FULL %" PRIu64
             " + no object %" PRIu64, made, sent, full, gave_up);
    failures += check(made == sent + full + gave_up, line);
    snprintf(line, sizeof line, "sent %" PRIu64 " == received %" PRIu64 " + dropped %" PRIu64,
             sent, received, dropped);
    failures += check(sent == received + dropped, line);
    snprintf(line, sizeof line, "heap after draining %zu B == idle %zu B", ctl->heap_drained,
             ctl->idle.total);
    failures += check(ctl->heap_drained == ctl->idle.total, line);
    size_t blocks = atomic_load(&ctl->heap.blocks);
    snprintf(line, sizeof line, "heap after teardown %zu B (%zu block%s) == 0", after, blocks,
             plural(blocks));
    failures += check(after == 0 && blocks == 0, line);
    snprintf(line, sizeof line, "handoff channels (to producers): %zu B drained == %zu B "
             "idle, %zu B after", ctl->control_drained, ctl->idle.control, control_after);
    failures += check(ctl->control_drained == ctl->idle.control && control_after == 0, line);
    snprintf(line, sizeof line, "events for the wrong object %" PRIu64 ", out of order %" PRIu64
             ", early LC_CLOSED %" PRIu64, ctl->wrong_object, ctl->out_of_order,
             ctl->unexpected_closed);
    failures += check(ctl->wrong_object == 0 && ctl->out_of_order == 0 &&
                      ctl->unexpected_closed == 0, line);
    snprintf(line, sizeof line, "every received event timed (%" PRIu64 " of %" PRIu64 ")",
             h->total, received);
    failures += check(h->total == received, line);
    failures += check(!atomic_load(&ctl->failed), "no call failed");
    if (failures != 0) {
        printf("%d check%s FAILED\n", failures, plural((uint64_t)failures));
        atomic_store(&ctl->failed, true);
    } else {
        printf("All checks passed.\n");
    }

    /* The rate is reported, not checked: it measures the machine as much as the library. Slack:
     * 1%, and one event per producer (each makes whole events). */
    double enough = 0.99 * ctl->rate * elapsed_s - N_PRODUCERS;
    const char *unit = plural((uint64_t)ctl->rate);
    if ((double)sent >= enough) {
        printf("Target rate reached: %.0f of %.0f event%s/s (%.1f%%", reached, ctl->rate, unit,
               percent);
        if (percent < 99) /* within the slack: a short run */
            printf(": only whole events are sent, and %.1f were due", ctl->rate * elapsed_s);
        printf(").\n");
        return;
    }
    printf("Target rate NOT reached: asked %.0f event%s/s, reached %.0f/s, i.e. %.1f%% of it.\n",
           ctl->rate, unit, reached, percent);
    if ((double)made < enough)
        printf("  The producers could not keep up on this machine: they made only %.0f/s.\n",
               (double)made / elapsed_s);
    if (full > 0)
        printf("  Sends that found a channel full (LC_FULL: the consumer fell behind), their "
               "events lost: %" PRIu64 ".\n", full);
    if (gave_up > 0)
        printf("  Events not sent, no open object in %d pick%s (retired, new sender not handed "
               "over yet): %" PRIu64 ".\n", SEND_TRIES, plural(SEND_TRIES), gave_up);
}

int main(int argc, char **argv)
{
    double channels = 10000, seconds = 5, rate = 200000;
    if (argc > 4)
        fprintf(stderr, "controller: at most 3 arguments, got %d\n", argc - 1);
    if (argc > 4 || (argc > 1 && !parse(argv[1], "channels", 1, 1e8, true, &channels)) ||
        (argc > 2 && !parse(argv[2], "seconds", 0.1, 86400, false, &seconds)) ||
        (argc > 3 && !parse(argv[3], "events per second", 1, 1e9, true, &rate))) {
        fprintf(stderr, "usage: %s [channels (10000)] [seconds (5)] [events per second "
                        "(200000)]\n", argv[0]);
        return 2;
    }

    static struct controller ctl; /* large (the histogram): not on the stack */
    ctl.n_objects = (size_t)channels;
    ctl.rate = rate;
    ctl.heap_allocator = (lc_allocator){heap_alloc, heap_free, &ctl.heap};
    ctl.control_allocator = (lc_allocator){heap_alloc, heap_free, &ctl.control_heap};
    ctl.rng = (uint64_t)now_ns() | 1;
    pthread_mutex_init(&ctl.lock, NULL);
    pthread_cond_init(&ctl.cond, NULL);
    ctl.objects = calloc(ctl.n_objects, sizeof *ctl.objects);
    bool ok = ctl.objects != NULL;
    for (int k = 0; k < N_PRODUCERS; k++) {
        struct producer *p = &ctl.producers[k];
        p->ctl = &ctl;
        p->id = (uint16_t)k;
        p->seed = ctl.rng * (2 * (uint64_t)k + 3) | 1;
        p->tx = calloc(ctl.n_objects, sizeof *p->tx);
        ok = ok && p->tx != NULL;
    }
    if (!ok) {
        fprintf(stderr, "controller: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < ctl.n_objects; i++)
        ctl.objects[i].slot = (uint32_t)i;

    printf("controller: %zu object%s, each a bounded channel (capacity %d, %zu-byte events), all "
           "in one\nlc_mux (one wait for them all); %d producer%s, target %.0f event%s/s in total, "
           "for %g s;\nevery %d ms the consumer retires an object (drops its receiver) and a new "
           "one takes its slot.\n\n", ctl.n_objects, plural(ctl.n_objects), CAPACITY,
           sizeof(struct health_event), N_PRODUCERS, plural(N_PRODUCERS), rate,
           plural((uint64_t)rate), seconds, RETIRE_EVERY_NS / 1000000);

    pthread_t consumer, producers[N_PRODUCERS];
    int err = pthread_create(&consumer, NULL, consume, &ctl);
    if (err != 0) {
        fprintf(stderr, "controller: pthread_create: %s\n", strerror(err));
        return 1;
    }
    pthread_mutex_lock(&ctl.lock);
    while (ctl.setup == 0)
        pthread_cond_wait(&ctl.cond, &ctl.lock);
    pthread_mutex_unlock(&ctl.lock);
    if (ctl.setup < 0) {
        pthread_join(consumer, NULL);
        return 1;
    }

    const struct idle *idle = &ctl.idle;
    size_t n = ctl.n_objects;
    char label[64];
    printf("Idle, before any traffic (library heap: bytes lazychan allocated, counted by an "
           "lc_allocator):\n");
    snprintf(label, sizeof label, "%zu channel%s", n, plural(n));
    printf("  %-26s %10zu B  %6.1f B each (with a drop callback; %zu B without)\n", label,
           idle->channels, (double)idle->channels / (double)n, idle->plain);
    snprintf(label, sizeof label, "%zu mux registration%s", n, plural(n));
    printf("  %-26s %10zu B  %6.1f B each (the mux's record of a channel)\n", label,
           idle->registrations, (double)idle->registrations / (double)n);
    printf("  %-26s %10zu B\n", "the mux", idle->mux);
    printf("  %-26s %10zu B  %6.1f B per idle channel, its registration included:\n", "total",
           idle->total, (double)idle->total / (double)n);
    printf("  %-26s %10s    %.0f B channel + %.0f B mux registration (+ the mux, shared)\n",
           "", "", (double)idle->channels / (double)n, (double)idle->registrations / (double)n);
    printf("A drop callback: what a channel calls on each event it discards unreceived; this one "
           "counts them.\n\nEach second: rates over that second; dropped events and replaced "
           "objects so far; heap now:\n");
    fflush(stdout);

    uint64_t start = ctl.start_ns = now_ns(), end = start + (uint64_t)(seconds * 1e9);
    int started = 0;
    for (; started < N_PRODUCERS; started++) {
        err = pthread_create(&producers[started], NULL, produce, &ctl.producers[started]);
        if (err != 0) {
            fail(&ctl, "pthread_create: %s", strerror(err));
            break;
        }
    }

    uint64_t last_t = start, last_sent = 0, last_received = 0;
    for (int second = 1; !atomic_load(&ctl.stop); second++) {
        uint64_t t = start + (uint64_t)second * NS_PER_S;
        sleep_until(t < end ? t : end);
        uint64_t now = now_ns(), sent = count_get(&ctl.sent);
        uint64_t received = count_get(&ctl.received);
        double dt = (double)(now - last_t) / 1e9;
        printf("[%5.1f s] sent %9.0f/s  received %9.0f/s  dropped %6" PRIu64 "  replaced %5"
               PRIu64 "  heap %zu B\n", (double)(now - start) / 1e9,
               (double)(sent - last_sent) / dt, (double)(received - last_received) / dt,
               count_get(&ctl.dropped), count_get(&ctl.replaced), heap_live(&ctl.heap));
        fflush(stdout);
        last_t = now, last_sent = sent, last_received = received;
        if (now >= end)
            break;
    }

    /* Timed at the stop: a producer asleep until its next event (2 / rate) sends nothing more. */
    double elapsed = (double)(now_ns() - start) / 1e9;
    atomic_store(&ctl.stop, true);
    for (int k = 0; k < started; k++)
        pthread_join(producers[k], NULL);
    atomic_store(&ctl.finish, true); /* seq_cst: the producers' work happens before */
    pthread_join(consumer, NULL);

    report(&ctl, elapsed);
    for (int k = 0; k < N_PRODUCERS; k++)
        free(ctl.producers[k].tx);
    free(ctl.objects);
    pthread_cond_destroy(&ctl.cond);
    pthread_mutex_destroy(&ctl.lock);
    return atomic_load(&ctl.failed) ? 1 : 0;
}
