/*
 * stress_len: lc_rx_len and lc_sender_count read by sampling threads while producers send
 * (every kind of send, and now and then cloning and dropping extra sender handles) and the
 * receiver receives in every way. Producers and the receiver count what they start and finish
 * around each call; a sampler reads the finished counts, then the library, then the started
 * counts, which bounds what the library may answer at that moment:
 *
 *   sends accepted before - receives started after  <=  lc_rx_len
 *   lc_rx_len  <=  min(capacity, sends started after - receives finished before)
 *   1 + P + clones finished before - drops started after  <=  lc_sender_count
 *   lc_sender_count  <=  1 + P + clones started after - drops finished before
 *
 * (A slot handed from a receive to a waiting sender changes neither side.) So lc_rx_len is never
 * out of [0, capacity], never below what is surely queued, never above what can be. Each round is
 * cut into phases: when every producer has finished its share of a phase, the channel is at rest
 * and lc_rx_len must equal accepted - received exactly, also after each of a few receives made
 * alone; at the end of a round it is 0 after the drain, and the receiver gets LC_CLOSED once the
 * producers' handles are gone.
 */
#include "stress.h"

enum { MAX_PRODUCERS = 32, MAX_SAMPLERS = 8, PHASES = 4, BATCH = 16 };

static uint64_t producers = 4;
static uint64_t samplers = 2;
static uint64_t per_producer = 200000; /* messages per producer over the whole run */
static uint64_t rounds = 20;
static const char *const capacity_names[] = {"cycle", "0", "1", "4", "64", NULL};
static const uint64_t capacities[] = {0, 1, 4, 64};
static uint64_t capacity_opt = 0; /* cycle: rounds go through 0, 1, 4, 64 */

/* This round's channel and counters. */
static lc_tx *prod_tx[MAX_PRODUCERS];
static lc_rx *rx;
static bool intrusive;
static uint64_t capacity; /* 0: unbounded */
static uint64_t round_no, quota;
static stress_item *items; /* intrusive: one per message of the round */

static atomic_uint_fast64_t sends_started, sends_ok, recvs_started, recvs_done;
static atomic_uint_fast64_t clones_started, clones_done, drops_started, drops_done;
static atomic_uint_fast64_t phase_done; /* producers that finished the phase's share */
static atomic_bool sampling;
static atomic_uint_fast64_t samples, tight_samples;
static pthread_barrier_t round_start, round_end, phase_gate;

static void reset_counters(void)
{
    atomic_store(&sends_started, 0);
    atomic_store(&sends_ok, 0);
    atomic_store(&recvs_started, 0);
    atomic_store(&recvs_done, 0);
    atomic_store(&clones_started, 0);
    atomic_store(&clones_done, 0);
    atomic_store(&drops_started, 0);
    atomic_store(&drops_done, 0);
}

/* One look at the library between the counters: the bounds above. */
static void sample(void)
{
    uint64_t r0 = atomic_load(&recvs_done), ok0 = atomic_load(&sends_ok);
    uint64_t cd0 = atomic_load(&clones_done), dd0 = atomic_load(&drops_done);
    atomic_thread_fence(memory_order_seq_cst);
    size_t len = lc_rx_len(rx);
    size_t senders = lc_sender_count(rx);
    atomic_thread_fence(memory_order_seq_cst);
    uint64_t s1 = atomic_load(&sends_started), rs1 = atomic_load(&recvs_started);
    uint64_t cs1 = atomic_load(&clones_started), ds1 = atomic_load(&drops_started);

    uint64_t low = ok0 > rs1 ? ok0 - rs1 : 0;
    uint64_t high = s1 - r0;
    if (capacity && high > capacity)
        high = capacity;
    CHECK(len >= low && len <= high,
          "lc_rx_len %zu outside [%" PRIu64 ", %" PRIu64 "] (capacity %" PRIu64 "): %" PRIu64
          " sends accepted before, %" PRIu64 " receives started after; %" PRIu64
          " sends started after, %" PRIu64 " receives finished before",
          len, low, high, capacity, ok0, rs1, s1, r0);
    int64_t base = 1 + (int64_t)producers;
    int64_t s_low = base + (int64_t)cd0 - (int64_t)ds1, s_high = base + (int64_t)cs1 - (int64_t)dd0;
    CHECK((int64_t)senders >= s_low && (int64_t)senders <= s_high,
          "lc_sender_count %zu outside [%" PRId64 ", %" PRId64 "]", senders, s_low, s_high);
    atomic_fetch_add_explicit(&samples, 1, memory_order_relaxed);
    if (low == high)
        atomic_fetch_add_explicit(&tight_samples, 1, memory_order_relaxed);
}

static void *sampler_main(void *arg)
{
    (void)arg;
    while (stress_round_begins(&round_start, &round_no)) {
        unsigned n = 0;
        while (atomic_load_explicit(&sampling, memory_order_relaxed)) {
            sample();
            if (++n % 64 == 0)
                sched_yield();
        }
        pthread_barrier_wait(&round_end);
    }
    return NULL;
}

static int send_one(lc_tx *tx, stress_rng *rng, uint64_t id, uint64_t p)
{
    return stress_send_any(tx, rng, intrusive ? &items[id] : NULL, id, p, true, 100000);
}

static void *producer_main(void *arg)
{
    uint64_t p = (uint64_t)(uintptr_t)arg;
    while (stress_round_begins(&round_start, &round_no)) {
        stress_rng rng = stress_rng_for(p + 1, round_no);
        lc_tx *tx = prod_tx[p];
        lc_tx *extra[4];
        unsigned n_extra = 0;
        uint64_t share = quota / PHASES;
        for (int phase = 0; phase < PHASES; phase++) {
            for (uint64_t k = 0; k < share; k++) {
                uint64_t id = p * quota + (uint64_t)phase * share + k;
                int rc;
                do {
                    atomic_fetch_add(&sends_started, 1);
                    rc = send_one(tx, &rng, id, p);
                    if (rc == LC_FULL || rc == LC_TIMEDOUT)
                        sched_yield();
                } while (rc == LC_FULL || rc == LC_TIMEDOUT);
                CHECK(rc == LC_OK, "producer %" PRIu64 " id %" PRIu64 ": %d (%s)", p, id, rc,
                      lc_strerror(rc));
                atomic_fetch_add(&sends_ok, 1);
                /* Now and then one more sender handle, or one fewer. */
                if (stress_below(&rng, 64) == 0) {
                    if (n_extra < 4 && stress_below(&rng, 2)) {
                        atomic_fetch_add(&clones_started, 1);
                        extra[n_extra] = lc_tx_clone(tx);
                        CHECK(extra[n_extra] != NULL, "lc_tx_clone returned NULL");
                        n_extra++;
                        atomic_fetch_add(&clones_done, 1);
                    } else if (n_extra > 0) {
                        atomic_fetch_add(&drops_started, 1);
                        lc_tx_drop(extra[--n_extra]);
                        atomic_fetch_add(&drops_done, 1);
                    }
                }
            }
            atomic_fetch_add(&phase_done, 1);
            pthread_barrier_wait(&phase_gate); /* the receiver checks the channel at rest */
        }
        while (n_extra > 0) {
            atomic_fetch_add(&drops_started, 1);
            lc_tx_drop(extra[--n_extra]);
            atomic_fetch_add(&drops_done, 1);
        }
        pthread_barrier_wait(&round_end);
    }
    return NULL;
}

/* ---- the receiver ---- */

static uint64_t *last_seen;
static unsigned char *received;
static atomic_bool woken;
static void wake_flag(void *ctx) { atomic_store((atomic_bool *)ctx, true); }
static const lc_waker flag_waker = {wake_flag, &woken};

static void take(const stress_msg *m)
{
    CHECK_MSG(*m);
    CHECK(m->id < producers * quota && m->aux == m->id / quota, "received id %" PRIu64
          " aux %" PRIu64 " that no producer sent", m->id, m->aux);
    stress_take_once_in_order(received, last_seen, m->id, m->aux);
}

/* One receive, counted around the call. may_block: a message is surely coming. Returns how many
 * it took. */
static unsigned receive(stress_rng *rng, bool may_block)
{
    stress_msg buf[BATCH];
    unsigned want = 1, got = 0;
    int how = intrusive ? (may_block ? (int)stress_below(rng, 2) : 1)
                        : (int)stress_below(rng, may_block ? 5 : 4);
    if (!intrusive && how == 3)
        want = 1 + (unsigned)stress_below(rng, BATCH);
    atomic_fetch_add(&recvs_started, want);
    int rc;
    if (intrusive) {
        lc_node *node;
        rc = how == 0 ? lc_recv_node(rx, &node) : lc_try_recv_node(rx, &node);
        if (rc == LC_OK) {
            stress_item *it = STRESS_ITEM_OF(node);
            CHECK(it->id < producers * quota && it == &items[it->id], "a node not ours");
            buf[0] = (stress_msg){it->id, it->aux, it->check};
            got = 1;
        }
    } else {
        switch (how) {
        case 0:
            rc = lc_try_recv(rx, &buf[0]);
            break;
        case 1:
            rc = lc_recv_timeout(rx, &buf[0], stress_below(rng, 200000));
            break;
        case 2:
            atomic_store(&woken, false);
            rc = lc_poll_recv(rx, &buf[0], &flag_waker);
            break;
        case 3:
            rc = lc_try_recv_many(rx, buf, want);
            if (rc > 0) {
                got = (unsigned)rc;
                rc = LC_OK;
            }
            break;
        default:
            rc = lc_recv(rx, &buf[0]);
            break;
        }
        if (rc == LC_OK && got == 0)
            got = 1;
    }
    CHECK(rc == LC_OK || rc == LC_EMPTY || rc == LC_TIMEDOUT || rc == LC_PENDING,
          "receive: %d (%s)", rc, lc_strerror(rc));
    atomic_fetch_add(&recvs_done, got);
    atomic_fetch_sub(&recvs_started, want - got);
    for (unsigned i = 0; i < got; i++)
        take(&buf[i]);
    return got;
}

static void check_at_rest(const char *when)
{
    uint64_t expected = atomic_load(&sends_ok) - atomic_load(&recvs_done);
    CHECK(lc_rx_len(rx) == expected, "%s: lc_rx_len %zu, expected %" PRIu64 " (%" PRIu64
          " accepted, %" PRIu64 " received)", when, lc_rx_len(rx), expected,
          (uint64_t)atomic_load(&sends_ok), (uint64_t)atomic_load(&recvs_done));
}

int main(int argc, char **argv)
{
    stress_opt opts[] = {
        {.name = "threads", .help = "producers (at most 32)", .num = &producers},
        {.name = "samplers", .help = "threads that sample lc_rx_len (at most 8)", .num = &samplers},
        {.name = "iterations", .help = "messages per producer, over all rounds",
         .num = &per_producer, .scaled_min = 4000},
        {.name = "rounds", .help = "rounds, each on a new channel", .num = &rounds},
        {.name = "capacity", .help = "the channels' capacity (0: unbounded)",
         .num = &capacity_opt, .names = capacity_names},
    };
    stress_init(argc, argv, "stress_len",
                "lc_rx_len and lc_sender_count sampled under load: within exact bounds, exact at "
                "rest.",
                opts, sizeof opts / sizeof opts[0]);
    if (producers == 0 || producers > MAX_PRODUCERS || samplers > MAX_SAMPLERS || rounds == 0 ||
        per_producer / rounds < PHASES) {
        fprintf(stderr, "stress_len: need 1 <= --threads <= 32, --samplers <= 8, --rounds >= 1 "
                        "and --iterations >= 4 x --rounds\n");
        return 2;
    }
    quota = per_producer / rounds / PHASES * PHASES;
    uint64_t n_ids = producers * quota;
    items = calloc(n_ids, sizeof *items);
    received = malloc(n_ids);
    last_seen = malloc(producers * sizeof *last_seen);
    CHECK(items && received && last_seen, "out of memory");
    unsigned parties = (unsigned)(producers + samplers + 1);
    pthread_barrier_init(&round_start, NULL, parties);
    pthread_barrier_init(&round_end, NULL, parties);
    pthread_barrier_init(&phase_gate, NULL, (unsigned)producers + 1);
    pthread_t threads[MAX_PRODUCERS + MAX_SAMPLERS];
    stress_spawn_each(threads, producers, producer_main);
    for (uint64_t s = 0; s < samplers; s++)
        threads[producers + s] = stress_spawn(sampler_main, NULL);

    uint64_t step = 0, at_rest_checks = 0;
    for (round_no = 0; round_no < rounds; round_no++) {
        stress_rng rng = stress_rng_for(0, round_no);
        capacity = capacities[capacity_opt ? capacity_opt - 1 : round_no % 4];
        intrusive = stress_below(&rng, 4) == 0;
        reset_counters();
        atomic_store(&phase_done, 0);
        memset(received, 0, n_ids);
        for (uint64_t p = 0; p < producers; p++)
            last_seen[p] = UINT64_MAX;
        lc_config cfg = {.capacity = capacity};
        lc_tx *tx;
        CHECK_RC(stress_channel(intrusive, &cfg, &tx, &rx), LC_OK);
        for (uint64_t p = 0; p < producers; p++) {
            prod_tx[p] = lc_tx_clone(tx);
            CHECK(prod_tx[p] != NULL, "lc_tx_clone returned NULL");
        }
        atomic_store(&sampling, true);
        pthread_barrier_wait(&round_start);
        for (int phase = 0; phase < PHASES; phase++) {
            stress_phase("receiving while producers send");
            while (atomic_load(&phase_done) < producers) {
                bool surely = atomic_load(&sends_ok) > atomic_load(&recvs_done);
                if (receive(&rng, surely) > 0)
                    stress_progress(++step);
                else if (stress_below(&rng, 4) == 0)
                    sched_yield();
            }
            /* At rest: every producer waits at the gate, nothing else receives. */
            stress_phase("checking lc_rx_len at rest");
            check_at_rest("every producer done with its share");
            at_rest_checks++;
            uint64_t queued = atomic_load(&sends_ok) - atomic_load(&recvs_done);
            uint64_t take_now = phase == PHASES - 1 ? queued : stress_below(&rng, queued + 1);
            while (take_now > 0) {
                unsigned got = receive(&rng, true);
                take_now -= got < take_now ? got : take_now;
                check_at_rest("at rest, after a receive");
                at_rest_checks++;
            }
            atomic_store(&phase_done, 0);
            pthread_barrier_wait(&phase_gate);
        }
        atomic_store(&sampling, false);
        pthread_barrier_wait(&round_end); /* producers dropped their extra handles */
        CHECK_EQ(lc_rx_len(rx), 0);
        CHECK_EQ(atomic_load(&recvs_done), n_ids);
        CHECK_EQ(lc_sender_count(rx), 1 + producers);
        for (uint64_t p = 0; p < producers; p++)
            lc_tx_drop(prod_tx[p]);
        lc_tx_drop(tx);
        CHECK_EQ(lc_sender_count(rx), 0);
        stress_msg m;
        lc_node *node;
        CHECK_RC(intrusive ? lc_recv_node(rx, &node) : lc_recv(rx, &m), LC_CLOSED);
        lc_rx_drop(rx);
    }
    stress_end_rounds(&round_start, &round_no, threads, producers + samplers);
    printf("ok: %" PRIu64 " rounds, %" PRIu64 " producers, %" PRIu64 " messages: %" PRIu64
           " samples within bounds (%" PRIu64 " with the bounds equal), %" PRIu64
           " exact checks at rest\n",
           rounds, producers, n_ids * rounds, (uint64_t)atomic_load(&samples),
           (uint64_t)atomic_load(&tight_samples), at_rest_checks);
    pthread_barrier_destroy(&round_start);
    pthread_barrier_destroy(&round_end);
    pthread_barrier_destroy(&phase_gate);
    free(items);
    free(received);
    free(last_seen);
    return 0;
}
