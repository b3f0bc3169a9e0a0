/*
 * stress_poll_send: senders that wait for room without blocking. Async producers send with
 * lc_poll_send and a waker of their own (a flag and a condition variable, or a flag they poll
 * with sched_yield), and give up some pending waits with lc_send_cancel: at once, after a short
 * spin (racing with the grant), or after the wake (so the slot granted to them must pass on);
 * after a cancel they send the same message again or give it up. Some pending waits are polled
 * again early with a second waker, which replaces the first. Blocking producers use lc_send,
 * lc_send_timeout and lc_try_send on the same channel. The consumer receives with lc_recv,
 * lc_recv_timeout, lc_try_recv and lc_try_recv_many, now and then slowly, so the channel stays
 * full. Some rounds end with the receiver closing (lc_rx_close) or dropping (lc_rx_drop) the
 * channel under waiting senders. The last producer to finish a round sends an end marker.
 *
 * Invariants:
 *  - every send that returned LC_OK is received exactly once (or, after lc_rx_drop, passed to
 *    cfg->drop exactly once), intact, and per producer in order; a message given up after
 *    lc_send_cancel, and every other failed send, is neither;
 *  - never more than capacity messages queued (lc_rx_len, and the sends that returned LC_OK
 *    minus the messages received, both seen by the consumer);
 *  - a waker is called at most once per wait, never after it was replaced by a later
 *    lc_poll_send, after lc_poll_send returned without LC_PENDING, or after lc_send_cancel
 *    returned; a wait that ends with LC_OK or LC_CLOSED after LC_PENDING was woken exactly
 *    once, and lc_poll_send after the wake is never LC_PENDING;
 *  - no wake-up swallowed: every producer finishes every round (a stuck waiter stops progress
 *    and the watchdog reports it); at the end of a round nothing is queued and the capacity is
 *    exact: a check by hand of grant order, cancel of a waiting and of a granted wait;
 *  - after lc_rx_close the consumer, blocked in lc_recv or not, gets every accepted message and
 *    then LC_CLOSED, also when the end of stream comes from a granted wait cancelled after the
 *    close (a hang, reported by the watchdog with the channel closed and drained).
 */
#include "stress.h"

static const char *const park_names[] = {"mixed", "cond", "spin", NULL};
enum { PARK_MIXED, PARK_COND, PARK_SPIN };

enum { MAX_PRODUCERS = 64, BATCH = 16 };
enum { NOT_SENT = 1, GAVE_UP = 2 }; /* status values besides the LC_ codes */
enum { END_NONE, END_CLOSE, END_DROP };

static uint64_t producers = 4;
static uint64_t n_blocking = 1;
static uint64_t per_producer = 4000; /* messages per producer and round */
static uint64_t rounds = 10;
static uint64_t capacity = 2;
static uint64_t cancel_pm = 250; /* per mille of pending waits cancelled */
static uint64_t giveup_pm = 500; /* per mille of cancels after which the message is given up */
static uint64_t close_pm = 200;  /* per mille of rounds ending with a close or a drop */
static uint64_t park_opt = PARK_MIXED;
static uint64_t drain_delay_us = 5;

/* What a producer is doing, for the hang report. */
enum { DOING_SEND, DOING_WAIT_WAKE, DOING_CANCEL, DOING_BLOCKING, DOING_END, DOING_IDLE };
static const char *const doing_names[] = {"lc_poll_send", "waiting for its wake",
                                          "lc_send_cancel", "a blocking send", "the end marker",
                                          "idle"};

struct producer;

/* One of a producer's two wakers: lc_poll_send gets one, an early re-poll the other. */
struct waker_rec {
    lc_waker waker;
    struct producer *owner;
    atomic_bool armed; /* registered with the pending wait (or possibly being called) */
};

struct producer {
    uint64_t id;
    bool async, spin;
    lc_send_wait wait; /* reused: idle between messages */
    struct waker_rec rec[2];
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    atomic_uint woken; /* wake calls for the current wait */
    atomic_int doing;
    atomic_uint_fast64_t at_id;
    /* statistics, the producer's own */
    uint64_t pending, woken_total, cancels[3], giveups, retries, repolls, closed, fails;
};

static struct producer prods[MAX_PRODUCERS];
static lc_tx *round_tx[MAX_PRODUCERS];
static lc_rx *rx;
static lc_tx *main_tx;          /* the consumer's sender handle of this round */
static uint64_t n_ids;          /* per round: producers * per_producer; n_ids is the end marker */
static int8_t *status;          /* per id: what its send returned, NOT_SENT or GAVE_UP */
static unsigned char *received; /* per id */
static uint64_t round_no;
static int ending;              /* END_*: this round's end, written before the start barrier */
static pthread_barrier_t start, finish;
static atomic_uint_fast64_t ok_sends, done_producers;
static stress_tally drops;

static void wake(void *ctx)
{
    struct waker_rec *w = ctx;
    struct producer *pr = w->owner;
    CHECK(atomic_load(&w->armed),
          "producer %" PRIu64 " waker %d called while not registered (replaced, cancelled, or "
          "after lc_poll_send returned without LC_PENDING)",
          pr->id, (int)(w - pr->rec));
    unsigned n = atomic_fetch_add(&pr->woken, 1) + 1;
    CHECK(n == 1, "producer %" PRIu64 ": waker called %u times for one wait (id %" PRIu64 ")",
          pr->id, n, (uint64_t)atomic_load(&pr->at_id));
    if (!pr->spin) {
        pthread_mutex_lock(&pr->mutex);
        pthread_cond_signal(&pr->cond);
        pthread_mutex_unlock(&pr->mutex);
    }
}

static void wait_for_wake(struct producer *pr)
{
    atomic_store(&pr->doing, DOING_WAIT_WAKE);
    if (pr->spin) {
        while (atomic_load(&pr->woken) == 0)
            sched_yield();
    } else {
        pthread_mutex_lock(&pr->mutex);
        while (atomic_load(&pr->woken) == 0)
            pthread_cond_wait(&pr->cond, &pr->mutex);
        pthread_mutex_unlock(&pr->mutex);
    }
}

static void disarm(struct producer *pr)
{
    atomic_store(&pr->rec[0].armed, false);
    atomic_store(&pr->rec[1].armed, false);
}

/* One message through lc_poll_send: LC_OK, LC_CLOSED or GAVE_UP. */
static int send_async(struct producer *pr, lc_tx *tx, const stress_msg *m, stress_rng *rng)
{
    for (;;) {
        int cur = 0;
        bool was_pending = false;
        atomic_store(&pr->woken, 0); /* no call of an earlier wait is running: it is settled */
        atomic_store(&pr->rec[0].armed, true);
        atomic_store(&pr->doing, DOING_SEND);
        int rc = lc_poll_send(tx, m, &pr->wait, &pr->rec[0].waker);
        while (rc == LC_PENDING) {
            was_pending = true;
            pr->pending++;
            uint64_t r = stress_below(rng, 1000);
            if (r < cancel_pm) {
                uint64_t when = stress_below(rng, 3);
                if (when == 1)
                    stress_spin_ns(stress_below(rng, 20000));
                else if (when == 2)
                    wait_for_wake(pr);
                pr->cancels[when]++;
                atomic_store(&pr->doing, DOING_CANCEL);
                CHECK_RC(lc_send_cancel(tx, &pr->wait), LC_OK);
                /* Returned: no call of either waker is running or will come. */
                disarm(pr);
                pr->woken_total += atomic_load(&pr->woken);
                if (stress_below(rng, 1000) < giveup_pm) {
                    pr->giveups++;
                    return GAVE_UP;
                }
                pr->retries++;
                break;
            }
            if (r < cancel_pm + 125) {
                /* Poll again before the wake, with the other waker: it replaces the first. */
                int other = cur ^ 1;
                atomic_store(&pr->rec[other].armed, true);
                atomic_store(&pr->doing, DOING_SEND);
                rc = lc_poll_send(tx, m, &pr->wait, &pr->rec[other].waker);
                if (rc == LC_PENDING) {
                    atomic_store(&pr->rec[cur].armed, false);
                    cur = other;
                }
                pr->repolls++;
                continue;
            }
            wait_for_wake(pr);
            atomic_store(&pr->doing, DOING_SEND);
            rc = lc_poll_send(tx, m, &pr->wait, &pr->rec[cur].waker);
            CHECK(rc == LC_OK || rc == LC_CLOSED,
                  "producer %" PRIu64 ": woken, then lc_poll_send returned %d (%s)", pr->id, rc,
                  lc_strerror(rc));
        }
        if (rc == LC_PENDING)
            continue; /* cancelled: send it again */
        disarm(pr);
        unsigned woken = atomic_load(&pr->woken);
        pr->woken_total += woken;
        CHECK(rc == LC_OK || rc == LC_CLOSED, "producer %" PRIu64 ": lc_poll_send: %d (%s)",
              pr->id, rc, lc_strerror(rc));
        CHECK(woken == (was_pending ? 1u : 0u),
              "producer %" PRIu64 ": lc_poll_send returned %s %s LC_PENDING, but its waker was "
              "called %u times",
              pr->id, lc_strerror(rc), was_pending ? "after" : "without", woken);
        return rc;
    }
}

static int send_blocking(struct producer *pr, lc_tx *tx, const stress_msg *m, stress_rng *rng)
{
    int rc;
    atomic_store(&pr->doing, DOING_BLOCKING);
    switch (stress_below(rng, 8)) {
    case 0:
        rc = lc_try_send(tx, m);
        CHECK(rc == LC_OK || rc == LC_FULL || rc == LC_CLOSED, "lc_try_send: %d (%s)", rc,
              lc_strerror(rc));
        break;
    case 1:
        rc = lc_send_timeout(tx, m, stress_below(rng, 30000));
        CHECK(rc == LC_OK || rc == LC_TIMEDOUT || rc == LC_CLOSED, "lc_send_timeout: %d (%s)", rc,
              lc_strerror(rc));
        break;
    default:
        rc = lc_send(tx, m);
        CHECK(rc == LC_OK || rc == LC_CLOSED, "lc_send: %d (%s)", rc, lc_strerror(rc));
        break;
    }
    return rc;
}

static void *producer_main(void *arg)
{
    struct producer *pr = arg;
    while (stress_round_begins(&start, &round_no)) {
        lc_tx *tx = round_tx[pr->id];
        stress_rng rng = stress_rng_for(pr->id + 1, round_no);
        for (uint64_t k = 0; k < per_producer; k++) {
            uint64_t id = pr->id * per_producer + k;
            atomic_store(&pr->at_id, id);
            stress_msg m = stress_make_msg(id, pr->id);
            int rc = pr->async ? send_async(pr, tx, &m, &rng) : send_blocking(pr, tx, &m, &rng);
            CHECK(rc != LC_CLOSED || ending != END_NONE,
                  "producer %" PRIu64 ": LC_CLOSED from a channel nobody closed", pr->id);
            status[id] = (int8_t)rc;
            if (rc == LC_OK)
                atomic_fetch_add(&ok_sends, 1);
            else if (rc == LC_CLOSED)
                pr->closed++;
            else
                pr->fails++;
            if (stress_below(&rng, 32) == 0)
                stress_spin_ns(stress_below(&rng, 5000));
        }
        /* The last one to finish marks the end: every other send returned before it. */
        if (atomic_fetch_add(&done_producers, 1) + 1 == producers) {
            atomic_store(&pr->doing, DOING_END);
            stress_msg end = stress_make_msg(n_ids, producers);
            int rc = lc_send(tx, &end);
            CHECK(rc == LC_OK || (rc == LC_CLOSED && ending != END_NONE),
                  "end marker: %d (%s)", rc, lc_strerror(rc));
            if (rc == LC_OK)
                atomic_fetch_add(&ok_sends, 1);
        }
        atomic_store(&pr->doing, DOING_IDLE);
        lc_tx_drop(tx);
        pthread_barrier_wait(&finish);
    }
    return NULL;
}

static void hang_report(FILE *f)
{
    size_t len = lc_rx_len(rx);
    bool closed = rx && lc_tx_is_closed(main_tx);
    fprintf(f, "  round %" PRIu64 " (end: %d), capacity %" PRIu64 ", lc_rx_len %zu, senders %zu, "
               "closed %d; %" PRIu64 " of %" PRIu64 " producers done, %" PRIu64
               " sends accepted\n",
            round_no, ending, capacity, len, lc_sender_count(rx), closed,
            (uint64_t)atomic_load(&done_producers), producers,
            (uint64_t)atomic_load(&ok_sends));
    if (closed && len == 0)
        fprintf(f, "  the channel is closed and drained: a receive must return LC_CLOSED; a "
                   "receiver still waiting missed its wake-up\n");
    for (uint64_t p = 0; p < producers; p++) {
        struct producer *pr = &prods[p];
        fprintf(f, "  producer %" PRIu64 " (%s): %s, id %" PRIu64 ", wake calls %u\n", p,
                pr->async ? "lc_poll_send" : "blocking", doing_names[atomic_load(&pr->doing)],
                (uint64_t)atomic_load(&pr->at_id), atomic_load(&pr->woken));
    }
}

/* ---- the consumer ---- */

struct tally {
    uint64_t got;         /* messages received, end marker included */
    bool end_seen;
    uint64_t last[MAX_PRODUCERS];
};

static void take(struct tally *t, const stress_msg *m)
{
    CHECK_MSG(*m);
    t->got++;
    if (m->id == n_ids) {
        CHECK(m->aux == producers && !t->end_seen, "end marker aux %" PRIu64 ", seen before %d",
              m->aux, t->end_seen);
        t->end_seen = true;
        return;
    }
    CHECK(!t->end_seen, "id %" PRIu64 " arrived after the end marker", m->id);
    CHECK(m->id < n_ids && m->aux < producers && m->id / per_producer == m->aux,
          "id %" PRIu64 " (producer %" PRIu64 ") out of range", m->id, m->aux);
    stress_take_once_in_order(received, t->last, m->id, m->aux);
}

static void check_room(const struct tally *t)
{
    size_t len = lc_rx_len(rx);
    CHECK(len <= capacity, "lc_rx_len %zu above capacity %" PRIu64, len, capacity);
    uint64_t ok = atomic_load(&ok_sends);
    uint64_t queued = ok > t->got ? ok - t->got : 0;
    CHECK(queued <= capacity,
          "%" PRIu64 " sends returned LC_OK and %" PRIu64 " messages were received: at least %"
          PRIu64 " queued, above capacity %" PRIu64,
          ok, t->got, queued, capacity);
}

/* One receive in a random way: LC_OK (messages taken), LC_EMPTY / LC_TIMEDOUT, or LC_CLOSED. */
static int receive_some(struct tally *t, stress_rng *rng)
{
    stress_msg buf[BATCH];
    int rc;
    switch (stress_below(rng, 8)) {
    case 0:
    case 1:
    case 2:
        rc = lc_recv(rx, &buf[0]);
        if (rc == LC_OK)
            take(t, &buf[0]);
        break;
    case 3:
        rc = lc_recv_timeout(rx, &buf[0], stress_below(rng, 100000));
        if (rc == LC_OK)
            take(t, &buf[0]);
        break;
    case 4:
        rc = lc_try_recv(rx, &buf[0]);
        if (rc == LC_OK)
            take(t, &buf[0]);
        break;
    default: {
        size_t max = 1 + stress_below(rng, BATCH);
        rc = lc_try_recv_many(rx, buf, max);
        CHECK(rc <= (int)max, "lc_try_recv_many(max %zu) returned %d", max, rc);
        for (int i = 0; i < rc; i++)
            take(t, &buf[i]);
        if (rc > 0) {
            CHECK(rc <= (int)capacity, "lc_try_recv_many took %d messages, capacity %" PRIu64,
                  rc, capacity);
            rc = LC_OK;
        }
        break;
    }
    }
    CHECK(rc == LC_OK || rc == LC_EMPTY || rc == LC_TIMEDOUT || rc == LC_CLOSED,
          "receive: %d (%s)", rc, lc_strerror(rc));
    if (rc == LC_EMPTY)
        sched_yield();
    return rc;
}

/* A probe waker: counts its calls. */
static void count_wake(void *ctx) { atomic_fetch_add((atomic_uint *)ctx, 1); }

static void recv_probe(void)
{
    stress_msg m;
    CHECK_RC(lc_try_recv(rx, &m), LC_OK);
    CHECK_MSG(m);
}

/* With nothing queued and no sender left but tx: grant order, cancel of a waiting wait and of a
 * granted one, and the capacity, exactly. */
static void probe(lc_tx *tx)
{
    stress_msg m = stress_make_msg(n_ids, producers + 1);
    atomic_uint calls_a, calls_b;
    atomic_init(&calls_a, 0);
    atomic_init(&calls_b, 0);
    const lc_waker wa = {count_wake, &calls_a}, wb = {count_wake, &calls_b};
    lc_send_wait a = {0}, b = {0};
    for (uint64_t k = 0; k < capacity; k++)
        CHECK(lc_try_send(tx, &m) == LC_OK,
              "at rest, with nothing queued, lc_try_send %" PRIu64 " of capacity %" PRIu64
              " failed: a slot was lost",
              k + 1, capacity);
    CHECK_RC(lc_try_send(tx, &m), LC_FULL);
    CHECK_RC(lc_poll_send(tx, &m, &a, &wa), LC_PENDING);
    CHECK_RC(lc_poll_send(tx, &m, &b, &wb), LC_PENDING);
    CHECK_RC(lc_try_send(tx, &m), LC_FULL); /* waiting senders go first */
    recv_probe();                           /* grants the oldest wait, a */
    CHECK_EQ(atomic_load(&calls_a), 1);
    CHECK_EQ(atomic_load(&calls_b), 0);
    CHECK_EQ(lc_rx_len(rx), capacity);
    CHECK_RC(lc_send_cancel(tx, &b), LC_OK); /* still waiting: withdrawn */
    CHECK_RC(lc_try_send(tx, &m), LC_FULL);  /* the freed slot is a's */
    CHECK_RC(lc_poll_send(tx, &m, &a, &wa), LC_OK);
    CHECK_EQ(lc_rx_len(rx), capacity);
    recv_probe(); /* nobody waits: back to the count */
    CHECK_EQ(lc_rx_len(rx), capacity - 1);
    CHECK_RC(lc_poll_send(tx, &m, &a, &wa), LC_OK);
    CHECK_EQ(atomic_load(&calls_a), 1);
    CHECK_RC(lc_poll_send(tx, &m, &b, &wb), LC_PENDING);
    recv_probe(); /* grants b */
    CHECK_EQ(atomic_load(&calls_b), 1);
    CHECK_RC(lc_send_cancel(tx, &b), LC_OK); /* granted, then cancelled: the slot goes back */
    CHECK_EQ(lc_rx_len(rx), capacity - 1);
    CHECK_RC(lc_try_send(tx, &m), LC_OK);
    CHECK_RC(lc_try_send(tx, &m), LC_FULL);
    CHECK_RC(lc_send_cancel(tx, &b), LC_OK); /* idle: nothing to do */
    stress_msg buf[BATCH];
    uint64_t left = capacity;
    while (left > 0) {
        int n = lc_try_recv_many(rx, buf, BATCH);
        CHECK(n > 0 && (uint64_t)n <= left, "draining the probe: %d with %" PRIu64 " left", n,
              left);
        left -= (uint64_t)n;
    }
    CHECK_RC(lc_try_recv(rx, &m), LC_EMPTY);
    CHECK_EQ(lc_rx_len(rx), 0);
}

int main(int argc, char **argv)
{
    stress_opt opts[] = {
        {.name = "threads", .help = "producers (at most 64)", .num = &producers},
        {.name = "blocking", .help = "of which use blocking sends", .num = &n_blocking},
        {.name = "iterations", .help = "messages per producer and round", .num = &per_producer,
         .scaled_min = 200},
        {.name = "rounds", .help = "rounds, each on a new channel", .num = &rounds},
        {.name = "capacity", .help = "the channel's capacity (at least 1)", .num = &capacity},
        {.name = "cancel", .help = "per mille of pending waits cancelled", .num = &cancel_pm},
        {.name = "giveup", .help = "per mille of cancels that give the message up",
         .num = &giveup_pm},
        {.name = "close", .help = "per mille of rounds ending in lc_rx_close or lc_rx_drop",
         .num = &close_pm},
        {.name = "park", .help = "how async producers wait for their wake", .num = &park_opt,
         .names = park_names},
        {.name = "drain-us", .help = "largest pause of the consumer", .num = &drain_delay_us},
    };
    stress_init(argc, argv, "stress_poll_send",
                "lc_poll_send with wakers and cancels, beside blocking senders: exactly once, "
                "no swallowed wake-up, exact capacity.",
                opts, sizeof opts / sizeof opts[0]);
    if (producers == 0 || producers > MAX_PRODUCERS || n_blocking > producers || capacity == 0 ||
        capacity > 1000 || cancel_pm + 125 > 1000) {
        fprintf(stderr, "stress_poll_send: need 1 <= --threads <= 64, --blocking <= --threads, "
                        "1 <= --capacity <= 1000, --cancel <= 875\n");
        return 2;
    }
    stress_hang_report = hang_report;
    n_ids = producers * per_producer;
    status = malloc(n_ids);
    received = malloc(n_ids);
    CHECK(status && received, "out of memory");
    stress_tally_init(&drops, n_ids + 1);
    pthread_barrier_init(&start, NULL, (unsigned)producers + 1);
    pthread_barrier_init(&finish, NULL, (unsigned)producers + 1);

    stress_rng rng = stress_rng_for(0, 0);
    pthread_t threads[MAX_PRODUCERS];
    for (uint64_t p = 0; p < producers; p++) {
        struct producer *pr = &prods[p];
        pr->id = p;
        pr->async = p >= n_blocking;
        pr->spin = park_opt == PARK_SPIN || (park_opt == PARK_MIXED && stress_below(&rng, 2));
        pthread_mutex_init(&pr->mutex, NULL);
        pthread_cond_init(&pr->cond, NULL);
        for (int i = 0; i < 2; i++) {
            pr->rec[i].waker = (lc_waker){wake, &pr->rec[i]};
            pr->rec[i].owner = pr;
            atomic_init(&pr->rec[i].armed, false);
        }
        atomic_init(&pr->woken, 0);
        atomic_init(&pr->doing, DOING_IDLE);
        threads[p] = stress_spawn(producer_main, pr);
    }

    uint64_t total_ok = 0, total_got = 0, total_dropped = 0, ends[3] = {0}, step = 0;
    uint64_t start_ns = stress_now_ns();
    for (round_no = 0; round_no < rounds; round_no++) {
        stress_rng round_rng = stress_rng_for(0, round_no + 1);
        memset(status, NOT_SENT, n_ids);
        memset(received, 0, n_ids);
        stress_tally_reset(&drops);
        atomic_store(&ok_sends, 0);
        atomic_store(&done_producers, 0);
        ending = stress_below(&round_rng, 1000) < close_pm
                     ? (stress_below(&round_rng, 2) ? END_CLOSE : END_DROP)
                     : END_NONE;
        uint64_t end_after = ending ? stress_below(&round_rng, n_ids / 2 + 1) : UINT64_MAX;
        lc_config cfg = {.capacity = capacity, .drop = stress_drop_msg, .drop_ctx = &drops};
        lc_tx *tx;
        CHECK_RC(lc_channel(sizeof(stress_msg), &cfg, &tx, &rx), LC_OK);
        main_tx = tx;
        for (uint64_t p = 0; p < producers; p++) {
            round_tx[p] = lc_tx_clone(tx);
            CHECK(round_tx[p] != NULL, "lc_tx_clone returned NULL");
        }
        struct tally t = {0};
        for (uint64_t p = 0; p < producers; p++)
            t.last[p] = UINT64_MAX;

        stress_phase("receiving");
        pthread_barrier_wait(&start);
        int how = END_NONE; /* how the round ended */
        for (;;) {
            if (t.got >= end_after && how == END_NONE && !t.end_seen) {
                how = ending;
                if (how == END_DROP) {
                    lc_rx_drop(rx); /* queued messages go to cfg->drop; waiting senders wake */
                    rx = NULL;
                    break;
                }
                lc_rx_close(rx);
                stress_phase("receiving until LC_CLOSED, after lc_rx_close");
            }
            int rc = receive_some(&t, &round_rng);
            if (rc == LC_CLOSED) {
                CHECK(how == END_CLOSE, "LC_CLOSED from a channel that was not closed");
                break;
            }
            if (rc != LC_OK)
                continue;
            stress_progress(++step);
            check_room(&t);
            if (t.end_seen && how == END_NONE)
                break;
            if (stress_below(&round_rng, 4) == 0)
                stress_spin_ns(stress_below(&round_rng, drain_delay_us * 1000 + 1));
        }
        ends[how]++;
        stress_phase("waiting for the producers");
        pthread_barrier_wait(&finish); /* every producer returned from its last call */

        if (how == END_NONE) {
            /* The end marker came last: nothing is queued, and no slot is held. */
            stress_msg m;
            CHECK_RC(lc_try_recv(rx, &m), LC_EMPTY);
            CHECK_EQ(lc_rx_len(rx), 0);
            CHECK_EQ(lc_sender_count(rx), 1);
            stress_phase("checking grants, cancels and the capacity by hand");
            probe(tx);
        } else if (how == END_CLOSE) {
            CHECK_EQ(lc_rx_len(rx), 0);
            stress_msg m;
            CHECK_RC(lc_try_recv(rx, &m), LC_CLOSED);
            CHECK_RC(lc_try_send(tx, &m), LC_CLOSED);
        }
        lc_tx_drop(tx); /* after a drop, this frees the channel: in-flight messages dropped */
        if (rx) {
            stress_msg m;
            CHECK_RC(lc_recv(rx, &m), LC_CLOSED);
            lc_rx_drop(rx);
            rx = NULL;
        }
        CHECK(how != END_NONE || atomic_load(&drops.total) == 0,
              "%" PRIu64 " messages dropped in a round without a drop",
              (uint64_t)atomic_load(&drops.total));

        uint64_t ok = 0;
        for (uint64_t id = 0; id < n_ids; id++) {
            unsigned seen = received[id] + stress_tally_get(&drops, id);
            if (status[id] == LC_OK)
                ok++;
            CHECK(status[id] != NOT_SENT, "id %" PRIu64 " was never sent", id);
            CHECK(seen == (status[id] == LC_OK),
                  "id %" PRIu64 ": the send returned %d (%s), but it was received %u and "
                  "dropped %u times",
                  id, status[id],
                  status[id] == GAVE_UP ? "cancelled and given up" : lc_strerror(status[id]),
                  received[id], stress_tally_get(&drops, id));
        }
        uint64_t accepted = atomic_load(&ok_sends);
        uint64_t end_ok = accepted - ok; /* the end marker, if it was accepted */
        CHECK(end_ok <= 1, "%" PRIu64 " LC_OK counted, %" PRIu64 " by id", accepted, ok);
        CHECK_EQ(t.got + atomic_load(&drops.total), accepted);
        total_ok += ok;
        total_got += t.got - t.end_seen;
        total_dropped += atomic_load(&drops.total) - stress_tally_get(&drops, n_ids);
    }
    stress_end_rounds(&start, &round_no, threads, producers);
    uint64_t elapsed = stress_now_ns() - start_ns;

    uint64_t pending = 0, woken = 0, cancels[3] = {0}, giveups = 0, retries = 0, repolls = 0;
    uint64_t closed = 0, fails = 0;
    for (uint64_t p = 0; p < producers; p++) {
        struct producer *pr = &prods[p];
        pending += pr->pending;
        woken += pr->woken_total;
        for (int i = 0; i < 3; i++)
            cancels[i] += pr->cancels[i];
        giveups += pr->giveups;
        retries += pr->retries;
        repolls += pr->repolls;
        closed += pr->closed;
        fails += pr->fails;
        pthread_mutex_destroy(&pr->mutex);
        pthread_cond_destroy(&pr->cond);
    }
    printf("ok: %" PRIu64 " rounds (%" PRIu64 " closed, %" PRIu64 " dropped), capacity %" PRIu64
           ", %" PRIu64 " producers (%" PRIu64 " blocking): %" PRIu64 " sends accepted (%" PRIu64
           " received, %" PRIu64 " dropped) in %.3f s\n",
           rounds, ends[END_CLOSE], ends[END_DROP], capacity, producers, n_blocking, total_ok,
           total_got, total_dropped, (double)elapsed / 1e9);
    printf("    %" PRIu64 " waits pending, %" PRIu64 " wakes; cancelled %" PRIu64 " at once, %"
           PRIu64 " racing, %" PRIu64 " after the wake (%" PRIu64 " given up, %" PRIu64
           " sent again); %" PRIu64 " early re-polls; %" PRIu64 " sends closed, %" PRIu64
           " full or timed out\n",
           pending, woken, cancels[0], cancels[1], cancels[2], giveups, retries, repolls, closed,
           fails);
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&finish);
    stress_tally_free(&drops);
    free(status);
    free(received);
    return 0;
}
