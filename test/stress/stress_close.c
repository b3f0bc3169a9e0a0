/*
 * stress_close: producers send in a loop while the receiver, after a random number of messages,
 * closes the channel (lc_rx_close, then drains) or drops it (lc_rx_drop). Many rounds, each on a
 * new channel; bounded rounds leave producers blocked in lc_send at the moment of the close.
 *
 * Invariant, per message id: a send that returned LC_OK is received or passed to the drop
 * callback, exactly once; a send that failed (LC_CLOSED, or LC_FULL / LC_TIMEDOUT, which are
 * retried with the same message) was neither. Once a producer sees LC_CLOSED every later send
 * fails with LC_CLOSED and lc_tx_is_closed is true; blocked lc_send calls return (no hang). After
 * lc_rx_close the receiver drains every accepted message and then gets LC_CLOSED, so nothing is
 * left for the drop callback. Per producer, messages arrive in the order sent.
 */
#include "stress.h"

static const char *const end_names[] = {"mixed", "close", "drop", NULL};
enum { END_MIXED, END_CLOSE, END_DROP };
static const char *const mode_names[] = {"mixed", "copy", "intrusive", NULL};
enum { MODE_MIXED, MODE_COPY, MODE_INTRUSIVE };

static uint64_t producers = 4;
static uint64_t rounds = 2000;
static uint64_t per_producer = 200;  /* ids each producer may send in a round */
static uint64_t capacity_opt = 0;
static uint64_t end_opt = END_MIXED;
static uint64_t mode_opt = MODE_MIXED;

/* The status of each id in the current round: what its send finally returned. */
enum { NOT_SENT = 1 };
static int8_t *status;
static unsigned char *received; /* per id; the receiver's thread only */
static stress_tally drops;
static stress_item *items;      /* intrusive: one per id */
static uint64_t n_ids;          /* producers * per_producer; id n_ids is the probe */

/* This round's setup, written by main before the start barrier. */
static lc_tx *round_tx[64];
static lc_rx *rx;
static bool intrusive;
static uint64_t capacity;
static uint64_t round_no;
static pthread_barrier_t start, finish;
static atomic_uint_fast64_t blocked_closed; /* lc_send calls that waited and then got LC_CLOSED */

/* Sends id in a random way; intrusive mode sends *it. */
static int send_one(lc_tx *tx, stress_rng *rng, uint64_t id, uint64_t aux, stress_item *it)
{
    if (intrusive) {
        stress_make_item(it, id, aux);
        return stress_below(rng, 2) ? lc_send_node(tx, &it->node) : lc_try_send_node(tx, &it->node);
    }
    stress_msg m = stress_make_msg(id, aux);
    switch (stress_below(rng, 4)) {
    case 0:
    case 1:
        return lc_send(tx, &m);
    case 2:
        return lc_try_send(tx, &m);
    default:
        return lc_send_timeout(tx, &m, stress_below(rng, 4) ? stress_below(rng, 100000) : 0);
    }
}

static void *producer_main(void *arg)
{
    uint64_t p = (uint64_t)(uintptr_t)arg;
    while (stress_round_begins(&start, &round_no)) {
        lc_tx *tx = round_tx[p];
        stress_rng rng = stress_rng_for(p + 1, round_no);
        bool closed = false;
        for (uint64_t k = 0; k < per_producer && !closed; k++) {
            uint64_t id = p * per_producer + k;
            int rc;
            /* LC_FULL and LC_TIMEDOUT took nothing: send the very same message again. */
            do {
                uint64_t t0 = stress_now_ns();
                rc = send_one(tx, &rng, id, p, &items[id]);
                if (rc == LC_CLOSED && stress_now_ns() - t0 > 20000)
                    atomic_fetch_add(&blocked_closed, 1);
                if (rc == LC_FULL || rc == LC_TIMEDOUT)
                    sched_yield();
            } while (rc == LC_FULL || rc == LC_TIMEDOUT);
            CHECK(rc == LC_OK || rc == LC_CLOSED,
                  "producer %" PRIu64 " id %" PRIu64 ": expected LC_OK or LC_CLOSED, saw %d (%s)",
                  p, id, rc, lc_strerror(rc));
            status[id] = (int8_t)rc;
            closed = rc == LC_CLOSED;
            if (stress_below(&rng, 64) == 0)
                sched_yield();
        }
        if (closed) {
            /* Closed stays closed, for every kind of send; the probe id must never arrive. */
            CHECK(lc_tx_is_closed(tx), "lc_tx_is_closed is false after a send got LC_CLOSED");
            stress_item probe;
            for (int i = 0; i < 4; i++) {
                int rc = send_one(tx, &rng, n_ids, p, &probe);
                CHECK(rc == LC_CLOSED, "a send after LC_CLOSED returned %d (%s)", rc,
                      lc_strerror(rc));
            }
        }
        lc_tx_drop(tx);
        pthread_barrier_wait(&finish);
    }
    return NULL;
}

static void receive_one(stress_msg *m, uint64_t *last_seen)
{
    CHECK_MSG(*m);
    CHECK(m->id < n_ids, "received id %" PRIu64 " that no send accepted (probe or range)", m->id);
    uint64_t p = m->id / per_producer;
    CHECK(m->aux == p, "id %" PRIu64 " carries producer %" PRIu64 ", expected %" PRIu64, m->id,
          m->aux, p);
    stress_take_once_in_order(received, last_seen, m->id, p);
}

static int recv_any(stress_msg *m)
{
    if (!intrusive)
        return lc_recv(rx, m);
    lc_node *node;
    int rc = lc_recv_node(rx, &node);
    if (rc == LC_OK) {
        stress_item *it = STRESS_ITEM_OF(node);
        CHECK(it->id < n_ids && it == &items[it->id], "received a node that is not ours");
        m->id = it->id;
        m->aux = it->aux;
        m->check = it->check;
    }
    return rc;
}

static void hang_report(FILE *f)
{
    fprintf(f, "  capacity %" PRIu64 ", %s; lc_rx_len %zu, senders %zu\n", capacity,
            intrusive ? "intrusive" : "copy", lc_rx_len(rx), lc_sender_count(rx));
}

int main(int argc, char **argv)
{
    stress_opt opts[] = {
        {.name = "threads", .help = "producers (at most 64)", .num = &producers},
        {.name = "iterations", .help = "rounds", .num = &rounds, .scaled_min = 20},
        {.name = "messages", .help = "ids per producer and round", .num = &per_producer},
        {.name = "capacity", .help = "0: unbounded; if not given, rounds cycle 0, 1, 4, 64",
         .num = &capacity_opt},
        {.name = "end", .help = "how the receiver ends a round", .num = &end_opt,
         .names = end_names},
        {.name = "mode", .help = "copy or intrusive messages", .num = &mode_opt,
         .names = mode_names},
    };
    stress_init(argc, argv, "stress_close",
                "Receiver closes or drops the channel under sending producers: nothing lost.",
                opts, sizeof opts / sizeof opts[0]);
    bool capacity_given = opts[3].given;
    if (producers == 0 || producers > 64 || per_producer == 0) {
        fprintf(stderr, "stress_close: need 1 <= --threads <= 64 and --messages >= 1\n");
        return 2;
    }
    stress_hang_report = hang_report;
    n_ids = producers * per_producer;
    status = malloc(n_ids + 1);
    received = malloc(n_ids + 1);
    items = calloc(n_ids + 1, sizeof *items);
    CHECK(status && received && items, "out of memory");
    stress_tally_init(&drops, n_ids + 1);

    pthread_barrier_init(&start, NULL, (unsigned)producers + 1);
    pthread_barrier_init(&finish, NULL, (unsigned)producers + 1);
    pthread_t threads[64];
    stress_spawn_each(threads, producers, producer_main);

    static const uint64_t capacities[] = {0, 1, 4, 64};
    uint64_t *last_seen = malloc(producers * sizeof *last_seen);
    CHECK(last_seen != NULL, "out of memory");
    uint64_t total_ok = 0, total_closed = 0, total_dropped = 0, total_received = 0;
    for (round_no = 0; round_no < rounds; round_no++) {
        stress_progress(round_no);
        stress_rng rng = stress_rng_for(0, round_no);
        capacity = capacity_given ? capacity_opt : capacities[round_no % 4];
        intrusive = mode_opt == MODE_MIXED ? stress_below(&rng, 2) : mode_opt == MODE_INTRUSIVE;
        bool drop_end = end_opt == END_MIXED ? stress_below(&rng, 2) : end_opt == END_DROP;
        memset(status, NOT_SENT, n_ids + 1);
        memset(received, 0, n_ids + 1);
        stress_tally_reset(&drops);
        for (uint64_t p = 0; p < producers; p++)
            last_seen[p] = UINT64_MAX;

        lc_config cfg = {.capacity = capacity,
                         .drop = intrusive ? stress_drop_item : stress_drop_msg,
                         .drop_ctx = &drops};
        lc_tx *tx;
        int rc = stress_channel(intrusive, &cfg, &tx, &rx);
        CHECK_RC(rc, LC_OK);
        round_tx[0] = tx;
        for (uint64_t p = 1; p < producers; p++) {
            round_tx[p] = lc_tx_clone(tx);
            CHECK(round_tx[p] != NULL, "lc_tx_clone returned NULL");
        }

        /* Close after up to three quarters of what could be sent, often after very little. */
        uint64_t limit = stress_below(&rng, 4) == 0 ? stress_below(&rng, 8)
                                                    : stress_below(&rng, n_ids * 3 / 4 + 1);
        uint64_t got = 0;
        stress_phase("receiving before the close");
        pthread_barrier_wait(&start);
        stress_msg m;
        while (got < limit && (rc = recv_any(&m)) == LC_OK) {
            receive_one(&m, last_seen);
            got++;
        }
        if (got < limit)
            CHECK_RC(rc, LC_CLOSED); /* every producer finished its ids and dropped */
        if (stress_below(&rng, 2))
            sched_yield(); /* let blocked producers pile up */

        if (drop_end) {
            stress_phase("lc_rx_drop");
            lc_rx_drop(rx);
            stress_phase("joining producers after lc_rx_drop");
        } else {
            stress_phase("lc_rx_close, then draining");
            lc_rx_close(rx);
            while ((rc = recv_any(&m)) == LC_OK) {
                receive_one(&m, last_seen);
                got++;
            }
            CHECK_RC(rc, LC_CLOSED);
            CHECK_RC(recv_any(&m), LC_CLOSED);
            CHECK_EQ(lc_rx_len(rx), 0);
            stress_phase("joining producers after lc_rx_close");
        }
        pthread_barrier_wait(&finish); /* every producer has dropped its handle */
        if (!drop_end) {
            CHECK_EQ(lc_sender_count(rx), 0);
            CHECK_RC(recv_any(&m), LC_CLOSED);
            lc_rx_drop(rx);
            CHECK(atomic_load(&drops.total) == 0,
                  "%" PRIu64 " messages went to the drop callback after lc_rx_close and a full "
                  "drain (LC_CLOSED): expected none",
                  (uint64_t)atomic_load(&drops.total));
        }

        uint64_t ok = 0;
        for (uint64_t id = 0; id <= n_ids; id++) {
            unsigned d = stress_tally_get(&drops, id);
            unsigned r = received[id];
            if (status[id] == LC_OK) {
                ok++;
                CHECK(r + d == 1,
                      "id %" PRIu64 " was accepted (LC_OK): expected received + dropped = 1, saw "
                      "received %u, dropped %u (capacity %" PRIu64 ", %s, %s)",
                      id, r, d, capacity, intrusive ? "intrusive" : "copy",
                      drop_end ? "lc_rx_drop" : "lc_rx_close");
            } else {
                CHECK(r + d == 0,
                      "id %" PRIu64 " was not accepted (status %d): expected neither received nor "
                      "dropped, saw received %u, dropped %u",
                      id, status[id], r, d);
                if (status[id] == LC_CLOSED)
                    total_closed++;
            }
        }
        CHECK_EQ(got + atomic_load(&drops.total), ok);
        total_ok += ok;
        total_received += got;
        total_dropped += atomic_load(&drops.total);
    }
    stress_end_rounds(&start, &round_no, threads, producers);

    printf("ok: %" PRIu64 " rounds; %" PRIu64 " accepted (%" PRIu64 " received, %" PRIu64
           " dropped), %" PRIu64 " sends got LC_CLOSED, %" PRIu64 " of them after waiting\n",
           rounds, total_ok, total_received, total_dropped, total_closed,
           (uint64_t)atomic_load(&blocked_closed));
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&finish);
    stress_tally_free(&drops);
    free(last_seen);
    free(status);
    free(received);
    free(items);
    return 0;
}
