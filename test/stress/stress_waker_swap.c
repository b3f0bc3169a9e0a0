/*
 * stress_waker_swap: the receiver's waker replaced between polls while producers send at random
 * moments. The receiver polls with a new lc_waker nearly every time (a ring of records, each with
 * its own lc_waker and state) and, after LC_PENDING, either waits for the call, polls again at
 * once or after a spin (replacing the waker), calls lc_try_recv (which keeps it registered) or
 * lc_recv_timeout (which forgets it). Rounds end with the last sender gone, or with lc_rx_drop
 * while a waker is registered and the producers still send.
 *
 * Invariants:
 *  - a registration is called at most once, and never once it is no longer referenced: after the
 *    lc_poll_recv that replaced it returned, after an lc_poll_recv that did not return LC_PENDING
 *    returned (it may have been called during that call), after lc_recv_timeout or lc_rx_drop
 *    returned; a replaced lc_waker struct is overwritten with a function that fails, so a
 *    library that still read it would call that;
 *  - a waker is called only from a send or a sender handle's drop, at most once per call;
 *  - a receive call during which no send was running (no send started and not finished from
 *    before the call until after it) finds a message if one was accepted and not yet received,
 *    and LC_CLOSED once every sender handle was dropped before it with nothing left: so a poll
 *    whose waker was called finds the message (or the end of stream) on the next poll, unless
 *    the call was spurious or another send was still running;
 *  - no lost wake-up: while the receiver waits for the call after LC_PENDING, whenever no send
 *    is running, the waker has been called if a message was accepted and not received or every
 *    sender handle is gone;
 *  - every message is received exactly once, intact, per producer in order; a hang (a waker never
 *    called) is the failure the watchdog reports.
 */
#include "stress.h"

enum { MAX_PRODUCERS = 32, RING = 256 };

static uint64_t producers = 2;
static uint64_t per_producer = 100000; /* messages per producer over the run */
static uint64_t rounds = 20;
static uint64_t gap_us = 20; /* producers pause up to this long between sends */

/* ---- waker records ---- */

enum { IDLE, ARMED, REGISTERED, FIRED, RELEASED, REPLACED };
static const char *const state_names[] = {"idle", "being passed to lc_poll_recv", "registered",
                                          "called", "not kept by lc_poll_recv",
                                          "replaced or forgotten"};

struct record {
    lc_waker waker;
    atomic_int state;
    atomic_uint calls;
};

static struct record ring[RING];
static unsigned ring_next;

/* Who is calling: set by producers around their sends and drops (0 elsewhere). */
enum { ROLE_NONE, ROLE_SEND, ROLE_DROP };
static _Thread_local int role;
static _Thread_local unsigned calls_in_call;

static void record_wake(void *ctx)
{
    struct record *r = ctx;
    CHECK(role != ROLE_NONE, "waker %d called outside a send and a sender drop (on the "
          "receiving thread?)", (int)(r - ring));
    calls_in_call++;
    int st = atomic_load(&r->state);
    for (;;) {
        if (st != ARMED && st != REGISTERED)
            FAIL("waker %d called while %s: %s", (int)(r - ring), state_names[st],
                 st == FIRED ? "a registration was called twice"
                             : "the library called a waker it no longer held");
        if (atomic_compare_exchange_weak(&r->state, &st, FIRED))
            break;
    }
    atomic_fetch_add(&r->calls, 1);
}

static void poisoned_wake(void *ctx)
{
    struct record *r = ctx;
    FAIL("the lc_waker struct of record %d was read and called after it was replaced or "
         "forgotten (state %s)",
         (int)(r - ring), state_names[atomic_load(&r->state)]);
}

/* The registration the library may hold now (at most one), or NULL. */
static struct record *held;

/* After a call that forgets or replaces held: it is no longer referenced. */
static void forget_held(void)
{
    if (held == NULL)
        return;
    int st = REGISTERED;
    if (!atomic_compare_exchange_strong(&held->state, &st, REPLACED))
        CHECK(st == FIRED, "a registered waker was %s", state_names[st]);
    held->waker.wake = poisoned_wake; /* no longer referenced: the library must not read it */
    held = NULL;
}

static struct record *record_take(void)
{
    struct record *r;
    do
        r = &ring[ring_next++ % RING];
    while (r == held);
    r->waker.wake = record_wake;
    r->waker.ctx = r;
    atomic_store(&r->state, ARMED);
    atomic_store(&r->calls, 0);
    return r;
}

/* ---- producers ---- */

static lc_tx *prod_tx[MAX_PRODUCERS];
static lc_rx *rx;
static uint64_t round_no, quota;
static bool round_drops; /* this round ends with lc_rx_drop */
static pthread_barrier_t round_start, round_end;
static atomic_uint_fast64_t sends_started, sends_done, drops_done;
static atomic_uint_fast64_t accepted;
static atomic_uint_fast64_t wake_calls;

static void *producer_main(void *arg)
{
    uint64_t p = (uint64_t)(uintptr_t)arg;
    while (stress_round_begins(&round_start, &round_no)) {
        stress_rng rng = stress_rng_for(p + 1, round_no);
        for (uint64_t k = 0; k < quota; k++) {
            switch (stress_below(&rng, 16)) {
            case 0:
                stress_sleep_ns(stress_below(&rng, 300000));
                break;
            case 1:
            case 2:
                sched_yield();
                break;
            default:
                stress_spin_ns(stress_below(&rng, gap_us * 1000 + 1));
                break;
            }
            stress_msg m = stress_make_msg(p * quota + k, p);
            atomic_fetch_add(&sends_started, 1);
            role = ROLE_SEND;
            calls_in_call = 0;
            int rc = stress_below(&rng, 2) ? lc_send(prod_tx[p], &m) : lc_try_send(prod_tx[p], &m);
            role = ROLE_NONE;
            CHECK(calls_in_call <= 1, "one send called %u wakers", calls_in_call);
            wake_calls += calls_in_call;
            if (rc == LC_CLOSED) {
                CHECK(round_drops, "LC_CLOSED from a channel nobody closed");
                atomic_fetch_add(&sends_done, 1);
                break;
            }
            CHECK(rc == LC_OK, "producer %" PRIu64 ": %d (%s)", p, rc, lc_strerror(rc));
            atomic_fetch_add(&accepted, 1);
            atomic_fetch_add(&sends_done, 1);
        }
        if (stress_below(&rng, 2))
            stress_sleep_ns(stress_below(&rng, 500000)); /* the receiver parks or polls */
        role = ROLE_DROP;
        calls_in_call = 0;
        lc_tx_drop(prod_tx[p]);
        role = ROLE_NONE;
        CHECK(calls_in_call <= 1, "one lc_tx_drop called %u wakers", calls_in_call);
        wake_calls += calls_in_call;
        atomic_fetch_add(&drops_done, 1);
        pthread_barrier_wait(&round_end);
    }
    return NULL;
}

/* ---- the receiver ---- */

static unsigned char *received;
static uint64_t *last_seen;
static uint64_t got;
static uint64_t stats[8]; /* polls, pending, waited, replaced, forgotten, spurious, quiet, kept */

static void take(const stress_msg *m)
{
    CHECK_MSG(*m);
    CHECK(m->id < producers * quota && m->aux == m->id / quota, "received id %" PRIu64
          " that no producer sent", m->id);
    stress_take_once_in_order(received, last_seen, m->id, m->aux);
    got++;
    stress_progress(round_no * 10000000 + got);
}

/* What a receive call returned: a message is taken; at LC_CLOSED returns true; anything else
 * must be `other`. */
static bool took(int rc, const stress_msg *m, int other)
{
    if (rc == LC_OK)
        take(m);
    else if (rc != LC_CLOSED)
        CHECK_RC(rc, other);
    return rc == LC_CLOSED;
}

/* The counters before a receive call, for the quiet-call check after it. */
struct before {
    uint64_t done, accepted, dropped, received;
};

static struct before before_call(void)
{
    struct before b;
    b.done = atomic_load(&sends_done);
    b.accepted = atomic_load(&accepted); /* each counted before its sends_done */
    b.dropped = atomic_load(&drops_done);
    b.received = got;
    return b;
}

/* A call with no send running meanwhile must find what was surely there. */
static void after_call(const struct before *b, int rc, const char *call)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load(&sends_started) != b->done)
        return; /* a send was running at some moment of the call */
    stats[6]++;
    uint64_t waiting = b->accepted - b->received;
    if (rc == LC_OK || rc == LC_CLOSED)
        return;
    CHECK(waiting == 0,
          "%s returned %d (%s) while no send was running, with %" PRIu64 " accepted messages "
          "not received",
          call, rc, lc_strerror(rc), waiting);
    CHECK(b->dropped < producers,
          "%s returned %d (%s) although every sender was gone before the call and nothing was "
          "left: expected LC_CLOSED",
          call, rc, lc_strerror(rc));
}

static int poll_once(stress_msg *m, struct record **out)
{
    struct record *r = record_take();
    struct before b = before_call();
    int rc = lc_poll_recv(rx, m, &r->waker);
    after_call(&b, rc, "lc_poll_recv");
    stats[0]++;
    /* The earlier registration, if any, is replaced whatever this returned. */
    forget_held();
    int st = ARMED;
    if (rc == LC_PENDING) {
        stats[1]++;
        if (!atomic_compare_exchange_strong(&r->state, &st, REGISTERED))
            CHECK(st == FIRED, "a waker being registered was %s", state_names[st]);
        held = r;
    } else {
        if (!atomic_compare_exchange_strong(&r->state, &st, RELEASED))
            CHECK(st == FIRED, "a waker lc_poll_recv did not keep was %s", state_names[st]);
        r->waker.wake = poisoned_wake;
    }
    *out = r;
    return rc;
}

static void hang_report(FILE *f)
{
    fprintf(f, "  lc_rx_len %zu, senders %zu; received %" PRIu64 " of %" PRIu64
               " accepted; waker %s\n",
            rx ? lc_rx_len(rx) : (size_t)0, rx ? lc_sender_count(rx) : (size_t)0, got,
            (uint64_t)atomic_load(&accepted),
            held ? state_names[atomic_load(&held->state)] : "none held");
}

int main(int argc, char **argv)
{
    stress_opt opts[] = {
        {.name = "threads", .help = "producers (at most 32)", .num = &producers},
        {.name = "iterations", .help = "messages per producer, over all rounds",
         .num = &per_producer, .scaled_min = 2000},
        {.name = "rounds", .help = "rounds, each on a new channel", .num = &rounds},
        {.name = "gap-us", .help = "the longest spin of a producer between sends",
         .num = &gap_us},
    };
    stress_init(argc, argv, "stress_waker_swap",
                "Wakers replaced between polls under random sends: only the newest is called, "
                "each once.",
                opts, sizeof opts / sizeof opts[0]);
    if (producers == 0 || producers > MAX_PRODUCERS || rounds == 0 || per_producer < rounds) {
        fprintf(stderr, "stress_waker_swap: need 1 <= --threads <= 32, 1 <= --rounds <= "
                        "--iterations\n");
        return 2;
    }
    stress_hang_report = hang_report;
    quota = per_producer / rounds;
    uint64_t n_ids = producers * quota;
    received = malloc(n_ids);
    last_seen = malloc(producers * sizeof *last_seen);
    CHECK(received && last_seen, "out of memory");
    for (int i = 0; i < RING; i++) {
        ring[i].waker = (lc_waker){poisoned_wake, &ring[i]};
        atomic_init(&ring[i].state, IDLE);
        atomic_init(&ring[i].calls, 0);
    }
    pthread_barrier_init(&round_start, NULL, (unsigned)producers + 1);
    pthread_barrier_init(&round_end, NULL, (unsigned)producers + 1);
    pthread_t threads[MAX_PRODUCERS];
    stress_spawn_each(threads, producers, producer_main);

    uint64_t total_accepted = 0, drop_rounds = 0;
    for (round_no = 0; round_no < rounds; round_no++) {
        stress_rng rng = stress_rng_for(0, round_no);
        round_drops = stress_below(&rng, 4) == 0;
        uint64_t drop_after = round_drops ? stress_below(&rng, n_ids) : UINT64_MAX;
        memset(received, 0, n_ids);
        for (uint64_t p = 0; p < producers; p++)
            last_seen[p] = UINT64_MAX;
        got = 0;
        atomic_store(&sends_started, 0);
        atomic_store(&sends_done, 0);
        atomic_store(&drops_done, 0);
        atomic_store(&accepted, 0);
        lc_tx *tx;
        CHECK_RC(lc_channel(sizeof(stress_msg), NULL, &tx, &rx), LC_OK);
        for (uint64_t p = 0; p < producers; p++) {
            prod_tx[p] = lc_tx_clone(tx);
            CHECK(prod_tx[p] != NULL, "lc_tx_clone returned NULL");
        }
        lc_tx_drop(tx); /* the producers' handles are the only ones */
        pthread_barrier_wait(&round_start);

        stress_phase("polling with a new waker each time");
        bool closed = false;
        while (!closed) {
            if (got >= drop_after) {
                /* Dropped with a waker registered (or none): never called after this. */
                stress_phase("lc_rx_drop while producers send");
                lc_rx_drop(rx);
                rx = NULL;
                forget_held();
                drop_rounds++;
                break;
            }
            stress_msg m;
            struct record *r;
            if (stress_below(&rng, 8) == 0) {
                /* Let messages come, then take one without touching the waker slot. */
                stress_spin_ns(stress_below(&rng, 4 * gap_us * 1000 + 1));
                struct before b = before_call();
                int rc = lc_try_recv(rx, &m);
                after_call(&b, rc, "lc_try_recv");
                stats[7]++;
                if (took(rc, &m, LC_EMPTY))
                    break;
            }
            int rc = poll_once(&m, &r);
            if (rc == LC_OK) {
                take(&m);
                continue;
            }
            if (rc == LC_CLOSED)
                break;
            CHECK_RC(rc, LC_PENDING);
            /* Pending: r is held. What next? */
            switch (stress_below(&rng, 8)) {
            case 0:
            case 1:
            case 2: {
                /* Wait for the call, then poll again (with a new waker). */
                stress_phase("waiting for the waker after LC_PENDING");
                unsigned spins = 0;
                for (;;) {
                    /* Once no send runs, the waker must have been called if a message is
                     * there or every sender is gone: a send that linked after the registration
                     * calls it (or another send is inside the call: still running), and one
                     * that linked before it was seen by the poll's re-check. */
                    uint64_t done = atomic_load(&sends_done), acc = atomic_load(&accepted);
                    uint64_t dropped = atomic_load(&drops_done);
                    if (atomic_load(&r->state) == FIRED)
                        break;
                    if (atomic_load(&sends_started) == done) {
                        CHECK(acc == got,
                              "lost wake-up: after LC_PENDING, %" PRIu64 " accepted messages "
                              "not received, no send running, and the waker not called",
                              acc - got);
                        CHECK(dropped < producers, "lost wake-up: after LC_PENDING every sender "
                              "dropped its handle, and the waker was not called");
                    }
                    if (++spins < 200)
                        sched_yield();
                    else
                        stress_sleep_ns(20000);
                }
                stress_phase("polling with a new waker each time");
                stats[2]++;
                uint64_t before = got;
                rc = poll_once(&m, &r);
                if (rc == LC_OK)
                    take(&m);
                else if (rc == LC_CLOSED)
                    closed = true;
                else if (got == before)
                    stats[5]++; /* woken, yet nothing there: spurious, or a send in flight */
                break;
            }
            case 3:
            case 4:
                /* Replace it at once, or after a moment. */
                if (stress_below(&rng, 2))
                    stress_spin_ns(stress_below(&rng, 20000));
                stats[3]++;
                break;
            case 5: {
                /* lc_try_recv keeps it registered. */
                struct before b = before_call();
                rc = lc_try_recv(rx, &m);
                after_call(&b, rc, "lc_try_recv");
                stats[7]++;
                closed = took(rc, &m, LC_EMPTY);
                break;
            }
            default: {
                /* lc_recv_timeout forgets it, whatever it returns. */
                struct before b = before_call();
                rc = lc_recv_timeout(rx, &m, stress_below(&rng, 100000));
                after_call(&b, rc, "lc_recv_timeout");
                forget_held();
                stats[4]++;
                closed = took(rc, &m, LC_TIMEDOUT);
                break;
            }
            }
        }
        stress_phase("waiting for the producers");
        pthread_barrier_wait(&round_end);
        uint64_t acc = atomic_load(&accepted);
        if (rx != NULL) {
            CHECK(got == acc, "LC_CLOSED after %" PRIu64 " of %" PRIu64 " accepted messages", got,
                  acc);
            stress_msg m;
            CHECK_RC(lc_try_recv(rx, &m), LC_CLOSED);
            struct record *r;
            CHECK_RC(poll_once(&m, &r), LC_CLOSED);
            lc_rx_drop(rx);
            rx = NULL;
        }
        total_accepted += acc;
    }
    stress_end_rounds(&round_start, &round_no, threads, producers);
    printf("ok: %" PRIu64 " rounds (%" PRIu64 " ended by lc_rx_drop), %" PRIu64
           " messages accepted; %" PRIu64 " polls, %" PRIu64 " LC_PENDING: %" PRIu64
           " waited for the call, %" PRIu64 " replaced by the next poll, %" PRIu64
           " lc_try_recv calls, %" PRIu64 " forgotten by lc_recv_timeout; %" PRIu64
           " waker calls, %" PRIu64 " found nothing on the next poll; %" PRIu64
           " calls checked with no send running\n",
           rounds, drop_rounds, total_accepted, stats[0], stats[1], stats[2], stats[3], stats[7],
           stats[4], (uint64_t)wake_calls, stats[5], stats[6]);
    pthread_barrier_destroy(&round_start);
    pthread_barrier_destroy(&round_end);
    free(received);
    free(last_seen);
    return 0;
}
