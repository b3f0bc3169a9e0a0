/*
 * stress_drop_race: channels created and destroyed rapidly. Each round makes a channel with a
 * counting allocator and a drop callback; senders send and drop their handles while the receiver
 * receives some messages and drops the receiver: receiver first (senders still sending, then
 * failing with LC_CLOSED), senders first, or both at random moments. The allocator can fail now
 * and then (LC_NOMEM), which must take nothing.
 *
 * Invariant, at the end of every round: zero bytes and zero blocks live in the allocator (the
 * channel and every node given back, each with the size it was allocated with); every send that
 * returned LC_OK was received or passed to the drop callback exactly once, and no failed send was
 * either; so drops + received = accepted.
 */
#include "stress.h"

static const char *const order_names[] = {"mixed", "rx-first", "tx-first", "racy", NULL};
enum { ORDER_MIXED, RX_FIRST, TX_FIRST, RACY };
static const char *const mode_names[] = {"mixed", "copy", "intrusive", NULL};
enum { MODE_MIXED, MODE_COPY, MODE_INTRUSIVE };

static uint64_t senders = 3;
static uint64_t rounds = 20000;
static uint64_t per_sender = 64; /* ids per sender and round */
static uint64_t order_opt = ORDER_MIXED;
static uint64_t mode_opt = MODE_MIXED;
static uint64_t fail_every = 97; /* the allocator fails every n-th allocation; 0: never */

/* ---- the counting allocator ---- */

static void *channel_block;         /* this round's channel (the lc_tx pointer) */
static _Thread_local bool on_receiver; /* the main thread is the receiver */
static atomic_uint_fast64_t freed_by_sender; /* rounds where a sender's drop freed the channel */

static void note_free(void *ptr)
{
    if (ptr == channel_block && !on_receiver)
        atomic_fetch_add(&freed_by_sender, 1);
}

/* ---- one round ---- */

static stress_counting mem = {.on_free = note_free};
static const lc_allocator allocator = STRESS_COUNTING_ALLOCATOR(&mem);
static stress_tally drops;
static int8_t *status;          /* per id: what its send finally returned */
static unsigned char *received; /* per id; the receiver only */
static stress_item *items;      /* intrusive: one per id */
static uint64_t n_ids;

static lc_tx *round_tx[64];
static lc_rx *rx;
static uint64_t round_no;
static int order;
static bool intrusive;
static pthread_barrier_t start, finish;
static atomic_uint_fast64_t round_accepted, round_senders_done;

enum { NOT_SENT = 1 };

static int send_one(lc_tx *tx, stress_rng *rng, uint64_t id, uint64_t s, bool may_block)
{
    return stress_send_any(tx, rng, intrusive ? &items[id] : NULL, id, s, may_block, 50000);
}

static void *sender_main(void *arg)
{
    uint64_t s = (uint64_t)(uintptr_t)arg;
    while (stress_round_begins(&start, &round_no)) {
        lc_tx *tx = round_tx[s];
        stress_rng rng = stress_rng_for(s + 1, round_no);
        /* Senders first: never wait for room (the receiver does not receive until they are
         * gone). Receiver first: send until closed. */
        bool may_block = order != TX_FIRST;
        uint64_t n = order == RX_FIRST ? per_sender : stress_below(&rng, per_sender + 1);
        if (order == RACY && stress_below(&rng, 2))
            stress_spin_ns(stress_below(&rng, 20000));
        for (uint64_t k = 0; k < n; k++) {
            uint64_t id = s * per_sender + k;
            int rc = send_one(tx, &rng, id, s, may_block);
            CHECK(rc == LC_OK || rc == LC_CLOSED || rc == LC_NOMEM || rc == LC_FULL ||
                      rc == LC_TIMEDOUT,
                  "send of id %" PRIu64 ": saw %d (%s)", id, rc, lc_strerror(rc));
            status[id] = (int8_t)rc;
            if (rc == LC_OK)
                atomic_fetch_add(&round_accepted, 1);
            if (rc == LC_CLOSED)
                break;
        }
        if (order == RACY && stress_below(&rng, 2))
            stress_spin_ns(stress_below(&rng, 20000));
        lc_tx_drop(tx);
        atomic_fetch_add(&round_senders_done, 1);
        pthread_barrier_wait(&finish);
    }
    return NULL;
}

static void receive_one(const stress_msg *m)
{
    CHECK_MSG(*m);
    CHECK(m->id < n_ids, "received id %" PRIu64 " out of range", m->id);
    CHECK(received[m->id] == 0, "id %" PRIu64 " received twice", m->id);
    received[m->id] = 1;
}

static int recv_any(bool blocking)
{
    stress_msg m;
    int rc;
    if (intrusive) {
        lc_node *node;
        rc = blocking ? lc_recv_node(rx, &node) : lc_try_recv_node(rx, &node);
        if (rc == LC_OK) {
            stress_item *it = STRESS_ITEM_OF(node);
            CHECK(it->id < n_ids && it == &items[it->id], "received a node that is not ours");
            m.id = it->id;
            m.aux = it->aux;
            m.check = it->check;
        }
    } else {
        rc = blocking ? lc_recv(rx, &m) : lc_try_recv(rx, &m);
    }
    if (rc == LC_OK)
        receive_one(&m);
    return rc;
}

static void hang_report(FILE *f)
{
    fprintf(f, "  order %s, %s; live bytes %" PRIdFAST64 "\n", order_names[order],
            intrusive ? "intrusive" : "copy", atomic_load(&mem.live_bytes));
}

int main(int argc, char **argv)
{
    stress_opt opts[] = {
        {.name = "threads", .help = "senders (at most 64)", .num = &senders},
        {.name = "iterations", .help = "rounds", .num = &rounds, .scaled_min = 200},
        {.name = "messages", .help = "ids per sender and round", .num = &per_sender},
        {.name = "order", .help = "who drops first", .num = &order_opt, .names = order_names},
        {.name = "mode", .help = "copy or intrusive", .num = &mode_opt, .names = mode_names},
        {.name = "fail-every", .help = "the allocator fails every n-th call (0: never)",
         .num = &fail_every},
    };
    stress_init(argc, argv, "stress_drop_race",
                "Channels created and dropped under senders: no leak, nothing lost or twice.",
                opts, sizeof opts / sizeof opts[0]);
    if (senders == 0 || senders > 64 || per_sender == 0) {
        fprintf(stderr, "stress_drop_race: need 1 <= --threads <= 64, --messages >= 1\n");
        return 2;
    }
    stress_hang_report = hang_report;
    on_receiver = true;
    mem.fail_every = fail_every;
    n_ids = senders * per_sender;
    status = malloc(n_ids);
    received = malloc(n_ids);
    items = calloc(n_ids, sizeof *items);
    CHECK(status && received && items, "out of memory");
    stress_tally_init(&drops, n_ids);
    pthread_barrier_init(&start, NULL, (unsigned)senders + 1);
    pthread_barrier_init(&finish, NULL, (unsigned)senders + 1);
    pthread_t threads[64];
    stress_spawn_each(threads, senders, sender_main);

    static const uint64_t capacities[] = {0, 0, 1, 3, 16};
    uint64_t accepted_all = 0, dropped_all = 0, received_all = 0, per_order[4] = {0};
    for (round_no = 0; round_no < rounds; round_no++) {
        stress_progress(round_no);
        stress_rng rng = stress_rng_for(0, round_no);
        order = order_opt == ORDER_MIXED ? RX_FIRST + (int)stress_below(&rng, 3) : (int)order_opt;
        per_order[order]++;
        intrusive = mode_opt == MODE_MIXED ? stress_below(&rng, 2) : mode_opt == MODE_INTRUSIVE;
        memset(status, NOT_SENT, n_ids);
        memset(received, 0, n_ids);
        stress_tally_reset(&drops);
        atomic_store(&round_accepted, 0);
        atomic_store(&round_senders_done, 0);

        lc_config cfg = {.capacity = capacities[stress_below(&rng, 5)],
                         .allocator = &allocator,
                         .drop = intrusive ? stress_drop_item : stress_drop_msg,
                         .drop_ctx = &drops};
        lc_tx *tx;
        int rc;
        while ((rc = stress_channel(intrusive, &cfg, &tx, &rx)) == LC_NOMEM)
            CHECK_EQ(atomic_load(&mem.live_blocks), 0); /* a failed creation keeps nothing */
        CHECK_RC(rc, LC_OK);
        channel_block = tx;
        round_tx[0] = tx;
        for (uint64_t s = 1; s < senders; s++) {
            round_tx[s] = lc_tx_clone(tx);
            CHECK(round_tx[s] != NULL, "lc_tx_clone returned NULL");
        }

        uint64_t limit = stress_below(&rng, n_ids / 2 + 1), got = 0;
        stress_phase("receiver");
        pthread_barrier_wait(&start);
        switch (order) {
        case RX_FIRST: /* receive some, drop while the senders still send */
            while (got < limit && recv_any(true) == LC_OK)
                got++;
            break;
        case TX_FIRST: /* wait until every sender has dropped, receive some, then drop */
            while (atomic_load(&round_senders_done) != senders)
                sched_yield();
            /* Nothing runs: the count is exact. */
            CHECK_EQ(lc_sender_count(rx), 0);
            CHECK_EQ(lc_rx_len(rx), atomic_load(&round_accepted));
            while (got < limit && recv_any(false) == LC_OK)
                got++;
            break;
        default: /* at a random moment, without waiting */
            stress_spin_ns(stress_below(&rng, 20000));
            while (got < limit && (rc = recv_any(false)) != LC_CLOSED) {
                if (rc == LC_OK)
                    got++;
                else if (stress_below(&rng, 8) == 0)
                    break;
            }
            break;
        }
        stress_phase("lc_rx_drop");
        lc_rx_drop(rx);
        stress_phase("senders finishing");
        pthread_barrier_wait(&finish);

        /* Every handle is gone: the channel is freed, by whichever went last. */
        CHECK(atomic_load(&mem.live_bytes) == 0 && atomic_load(&mem.live_blocks) == 0,
              "after every handle was dropped: expected 0 bytes in 0 blocks live, saw %" PRIdFAST64
              " bytes in %" PRIdFAST64 " blocks%s (order %s, %s, capacity %zu)",
              atomic_load(&mem.live_bytes), atomic_load(&mem.live_blocks),
              atomic_load(&mem.live_blocks) < 0 ? ": more frees than allocations (a double free)"
                                                : "",
              order_names[order],
              intrusive ? "intrusive" : "copy", cfg.capacity);
        uint64_t accepted = 0;
        for (uint64_t id = 0; id < n_ids; id++) {
            unsigned d = stress_tally_get(&drops, id), r = received[id];
            if (status[id] == LC_OK)
                accepted++;
            CHECK(r + d == (status[id] == LC_OK),
                  "id %" PRIu64 ": send returned %d (%s), then received %u and dropped %u times "
                  "(order %s, %s, capacity %zu)",
                  id, status[id], status[id] <= 0 ? lc_strerror(status[id]) : "not sent", r, d,
                  order_names[order], intrusive ? "intrusive" : "copy", cfg.capacity);
        }
        uint64_t dropped = atomic_load(&drops.total);
        CHECK(dropped + got == accepted,
              "drops %" PRIu64 " + received %" PRIu64 ": expected the %" PRIu64 " accepted",
              dropped, got, accepted);
        accepted_all += accepted;
        dropped_all += dropped;
        received_all += got;
    }
    stress_end_rounds(&start, &round_no, threads, senders);

    printf("ok: %" PRIu64 " rounds (rx first %" PRIu64 ", tx first %" PRIu64 ", racy %" PRIu64
           "): %" PRIu64 " accepted = %" PRIu64 " received + %" PRIu64 " dropped; %" PRIu64
           " allocations, %" PRIu64 " failed on purpose; a sender freed the channel in %" PRIu64
           " rounds\n",
           rounds, per_order[RX_FIRST], per_order[TX_FIRST], per_order[RACY], accepted_all,
           received_all, dropped_all, (uint64_t)atomic_load(&mem.allocs),
           (uint64_t)atomic_load(&mem.failures), (uint64_t)atomic_load(&freed_by_sender));
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&finish);
    stress_tally_free(&drops);
    free(status);
    free(received);
    free(items);
    return 0;
}
