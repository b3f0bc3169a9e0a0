/*
 * stress_capacity: many senders wait for room in lc_send and in lc_send_timeout with small
 * timeouts (so some give up, some just as they were granted a slot) while the receiver drains
 * slowly.
 *
 * Invariant: never more than capacity messages queued (lc_rx_len, sampled by every thread, and
 * the sends that returned LC_OK minus the messages received, sampled by the receiver); every
 * LC_OK send received exactly once and intact, per sender in order; no LC_TIMEDOUT send
 * received; every sender thread finishes (a swallowed wake-up leaves one stuck: the watchdog
 * reports it). At the end of each round the capacity is still exact: with nothing queued,
 * exactly capacity lc_try_send calls succeed and the next gets LC_FULL (a slot lost by a timeout
 * would show here), and after the last sender drops, the receiver gets LC_CLOSED.
 */
#include "stress.h"

static uint64_t senders = 8;
static uint64_t per_sender = 4000; /* sends per sender and round */
static uint64_t rounds = 4;
static uint64_t capacity = 4;
static uint64_t max_timeout_us = 100;
static uint64_t drain_delay_us = 10;

enum { NOT_SENT = 1 };
static int8_t *status;          /* per id: what its send returned */
static unsigned char *received; /* per id */
static uint64_t n_ids;

static lc_tx *round_tx[64];
static lc_rx *rx;
static uint64_t round_no;
static pthread_barrier_t start;
static atomic_uint_fast64_t ok_sends, done_senders;
static atomic_uint_fast64_t timeouts, slow_ok; /* statistics */

static void check_len(const char *who)
{
    size_t len = lc_rx_len(rx);
    CHECK(len <= capacity, "%s saw lc_rx_len %zu above capacity %" PRIu64, who, len, capacity);
}

static void *sender_main(void *arg)
{
    uint64_t s = (uint64_t)(uintptr_t)arg;
    while (stress_round_begins(&start, &round_no)) {
        lc_tx *tx = round_tx[s];
        stress_rng rng = stress_rng_for(s + 1, round_no);
        for (uint64_t k = 0; k < per_sender; k++) {
            uint64_t id = s * per_sender + k;
            stress_msg m = stress_make_msg(id, s);
            int rc;
            uint64_t t0 = stress_now_ns();
            if (stress_below(&rng, 2)) {
                rc = lc_send(tx, &m);
                CHECK(rc == LC_OK, "lc_send of id %" PRIu64 ": expected LC_OK, saw %d (%s)", id,
                      rc, lc_strerror(rc));
            } else {
                uint64_t timeout = stress_below(&rng, 8) ? stress_below(&rng, max_timeout_us * 1000)
                                                         : 0;
                rc = lc_send_timeout(tx, &m, timeout);
                CHECK(rc == LC_OK || rc == LC_TIMEDOUT,
                      "lc_send_timeout(%" PRIu64 " ns) of id %" PRIu64
                      ": expected LC_OK or LC_TIMEDOUT, saw %d (%s)",
                      timeout, id, rc, lc_strerror(rc));
                if (rc == LC_TIMEDOUT) {
                    uint64_t waited = stress_now_ns() - t0;
                    CHECK(waited >= timeout,
                          "lc_send_timeout(%" PRIu64 " ns) gave up after %" PRIu64 " ns", timeout,
                          waited);
                    atomic_fetch_add_explicit(&timeouts, 1, memory_order_relaxed);
                }
            }
            status[id] = (int8_t)rc;
            if (rc == LC_OK) {
                atomic_fetch_add(&ok_sends, 1);
                if (stress_now_ns() - t0 > 10000)
                    atomic_fetch_add_explicit(&slow_ok, 1, memory_order_relaxed);
            }
            if ((k & 15) == 0)
                check_len("a sender");
        }
        lc_tx_drop(tx);
        atomic_fetch_add(&done_senders, 1);
    }
    return NULL;
}

static void hang_report(FILE *f)
{
    fprintf(f, "  capacity %" PRIu64 ", lc_rx_len %zu, senders %zu, %" PRIu64
               " sender threads done of %" PRIu64 "\n",
            capacity, lc_rx_len(rx), lc_sender_count(rx), (uint64_t)atomic_load(&done_senders),
            senders);
}

static void receive_one(const stress_msg *m, uint64_t *last_seen, uint64_t *got)
{
    CHECK_MSG(*m);
    CHECK(m->id < n_ids, "received id %" PRIu64 " out of range", m->id);
    stress_take_once_in_order(received, last_seen, m->id, m->id / per_sender);
    ++*got;
    check_len("the receiver");
    uint64_t ok = atomic_load(&ok_sends);
    uint64_t queued = ok > *got ? ok - *got : 0;
    CHECK(queued <= capacity,
          "%" PRIu64 " sends returned LC_OK and %" PRIu64 " messages were received: at least %"
          PRIu64 " queued, above capacity %" PRIu64,
          ok, *got, queued, capacity);
}

int main(int argc, char **argv)
{
    stress_opt opts[] = {
        {.name = "threads", .help = "senders (at most 64)", .num = &senders},
        {.name = "iterations", .help = "sends per sender and round", .num = &per_sender,
         .scaled_min = 100},
        {.name = "rounds", .help = "rounds, each on a new channel", .num = &rounds},
        {.name = "capacity", .help = "the channel's capacity (at least 1)", .num = &capacity},
        {.name = "timeout-us", .help = "largest lc_send_timeout timeout", .num = &max_timeout_us},
        {.name = "drain-us", .help = "largest pause of the receiver", .num = &drain_delay_us},
    };
    stress_init(argc, argv, "stress_capacity",
                "Senders block and time out on a full channel drained slowly: exact capacity.",
                opts, sizeof opts / sizeof opts[0]);
    if (senders == 0 || senders > 64 || capacity == 0) {
        fprintf(stderr, "stress_capacity: need 1 <= --threads <= 64 and --capacity >= 1\n");
        return 2;
    }
    stress_hang_report = hang_report;
    n_ids = senders * per_sender;
    status = malloc(n_ids);
    received = malloc(n_ids);
    uint64_t *last_seen = malloc(senders * sizeof *last_seen);
    CHECK(status && received && last_seen, "out of memory");
    pthread_barrier_init(&start, NULL, (unsigned)senders + 1);
    pthread_t threads[64];
    stress_spawn_each(threads, senders, sender_main);

    uint64_t total_ok = 0, step = 0;
    for (round_no = 0; round_no < rounds; round_no++) {
        stress_rng rng = stress_rng_for(0, round_no);
        memset(status, NOT_SENT, n_ids);
        memset(received, 0, n_ids);
        for (uint64_t s = 0; s < senders; s++)
            last_seen[s] = UINT64_MAX;
        atomic_store(&ok_sends, 0);
        atomic_store(&done_senders, 0);
        lc_config cfg = {.capacity = capacity};
        lc_tx *tx;
        CHECK_RC(lc_channel(sizeof(stress_msg), &cfg, &tx, &rx), LC_OK);
        for (uint64_t s = 0; s < senders; s++) {
            round_tx[s] = lc_tx_clone(tx);
            CHECK(round_tx[s] != NULL, "lc_tx_clone returned NULL");
        }

        stress_phase("draining slowly");
        pthread_barrier_wait(&start);
        uint64_t got = 0;
        stress_msg m;
        for (;;) {
            int rc = lc_recv_timeout(rx, &m, 2000000);
            if (rc == LC_TIMEDOUT) {
                if (atomic_load(&done_senders) == senders)
                    break; /* every send returned: nothing is in flight, and nothing came */
                continue;
            }
            CHECK_RC(rc, LC_OK);
            receive_one(&m, last_seen, &got);
            stress_progress(++step); /* only messages count: a stuck sender stops them */
            /* Slowly: a pause after most messages, sometimes a burst without. */
            if (stress_below(&rng, 4))
                stress_spin_ns(stress_below(&rng, drain_delay_us * 1000 + 1));
        }
        /* Every sender has returned from its last send and dropped its clone. */
        while ((lc_try_recv(rx, &m)) == LC_OK)
            receive_one(&m, last_seen, &got);
        CHECK_EQ(lc_rx_len(rx), 0);
        CHECK_EQ(lc_sender_count(rx), 1);
        uint64_t ok = 0;
        for (uint64_t id = 0; id < n_ids; id++) {
            if (status[id] == LC_OK)
                ok++;
            CHECK(received[id] == (status[id] == LC_OK),
                  "id %" PRIu64 ": send returned %d (%s) but it was received %u times", id,
                  status[id], status[id] <= 0 ? lc_strerror(status[id]) : "not sent",
                  received[id]);
        }
        CHECK_EQ(got, ok);
        total_ok += ok;

        /* The capacity is still exact: no slot was lost to a timeout or kept by a waiter. */
        stress_phase("checking that the capacity is exact");
        for (uint64_t k = 0; k < capacity; k++) {
            stress_msg probe = stress_make_msg(k, 0);
            CHECK(lc_try_send(tx, &probe) == LC_OK,
                  "after the round, with nothing queued, try_send %" PRIu64 " of capacity %" PRIu64
                  " failed: a slot was lost",
                  k + 1, capacity);
        }
        stress_msg probe = stress_make_msg(0, 0);
        CHECK_RC(lc_try_send(tx, &probe), LC_FULL);
        CHECK_RC(lc_send_timeout(tx, &probe, 0), LC_TIMEDOUT);
        CHECK_RC(lc_send_timeout(tx, &probe, 100000), LC_TIMEDOUT);
        CHECK_EQ(lc_rx_len(rx), capacity);
        CHECK_RC(lc_try_recv(rx, &m), LC_OK);
        CHECK_RC(lc_try_send(tx, &probe), LC_OK);
        CHECK_RC(lc_try_send(tx, &probe), LC_FULL);
        for (uint64_t k = 0; k < capacity; k++)
            CHECK_RC(lc_try_recv(rx, &m), LC_OK);
        lc_tx_drop(tx);
        CHECK_RC(lc_recv(rx, &m), LC_CLOSED);
        lc_rx_drop(rx);
    }
    stress_end_rounds(&start, &round_no, threads, senders);

    printf("ok: %" PRIu64 " rounds, capacity %" PRIu64 ", %" PRIu64 " senders: %" PRIu64
           " sends accepted (%" PRIu64 " after waiting over 10 us), %" PRIu64 " timed out\n",
           rounds, capacity, senders, total_ok, (uint64_t)atomic_load(&slow_ok),
           (uint64_t)atomic_load(&timeouts));
    pthread_barrier_destroy(&start);
    free(status);
    free(received);
    free(last_seen);
    return 0;
}
