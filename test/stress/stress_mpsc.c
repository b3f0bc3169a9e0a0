/*
 * stress_mpsc: P producers send sequence-numbered messages through one channel to one consumer.
 *
 * Invariant: every message is received exactly once, intact, and per producer in sequence order
 * (each producer's seq goes up by exactly one); the total is P * per-producer count; after the
 * last producer drops its handle the consumer gets LC_CLOSED, and again LC_CLOSED. Bounded:
 * lc_rx_len never exceeds the capacity, and neither does (sends that returned LC_OK) minus
 * (messages received), sampled by the consumer between receives. At the end lc_rx_len is 0 and
 * nothing was passed to the drop callback.
 */
#include "stress.h"

static const char *const send_names[] = {"send", "try", "node", "trynode", NULL};
enum { SEND, TRY, NODE, TRYNODE };
static const char *const recv_names[] = {"recv", "try", "timeout", NULL};
enum { RECV, RECV_TRY, RECV_TIMEOUT };

static uint64_t producers = 4;
static uint64_t total = 1000000; /* messages in all, shared out among the producers */
static uint64_t capacity = 0;
static uint64_t send_mode = SEND;
static uint64_t recv_mode = RECV;

static uint64_t per_producer;
static lc_rx *rx;
static stress_item *items;           /* intrusive: per_producer items for each producer */
static atomic_uint_fast64_t sent;    /* sends that returned LC_OK */
static atomic_uint_fast64_t fulls;   /* LC_FULL returns seen by try modes */
static pthread_barrier_t start;

struct producer {
    uint64_t id;
    lc_tx *tx;
};

static void *producer_main(void *arg)
{
    struct producer *p = arg;
    uint64_t full_here = 0;
    pthread_barrier_wait(&start);
    for (uint64_t seq = 0; seq < per_producer; seq++) {
        stress_msg m = stress_make_msg(p->id, seq);
        stress_item *it = items ? &items[p->id * per_producer + seq] : NULL;
        int rc;
        switch (send_mode) {
        case SEND:
            rc = lc_send(p->tx, &m);
            break;
        case TRY:
            while ((rc = lc_try_send(p->tx, &m)) == LC_FULL) {
                full_here++;
                sched_yield();
            }
            break;
        case NODE:
            rc = lc_send_node(p->tx, &it->node);
            break;
        default:
            while ((rc = lc_try_send_node(p->tx, &it->node)) == LC_FULL) {
                full_here++;
                sched_yield();
            }
            break;
        }
        CHECK(rc == LC_OK, "producer %" PRIu64 " seq %" PRIu64 ": expected LC_OK, saw %d (%s)",
              p->id, seq, rc, lc_strerror(rc));
        atomic_fetch_add(&sent, 1);
        if (capacity && (seq & 31) == 0) {
            size_t len = lc_rx_len(rx);
            CHECK(len <= capacity, "producer saw lc_rx_len %zu above capacity %" PRIu64, len,
                  capacity);
        }
    }
    CHECK(capacity || full_here == 0, "unbounded channel returned LC_FULL %" PRIu64 " times",
          full_here);
    atomic_fetch_add(&fulls, full_here);
    lc_tx_drop(p->tx);
    return NULL;
}

/* One receive in the selected way; LC_EMPTY and LC_TIMEDOUT mean "try again". */
static int receive(stress_rng *rng, stress_msg *m, lc_node **node)
{
    if (items)
        return recv_mode == RECV ? lc_recv_node(rx, node) : lc_try_recv_node(rx, node);
    switch (recv_mode) {
    case RECV:
        return lc_recv(rx, m);
    case RECV_TRY:
        return lc_try_recv(rx, m);
    default: {
        static const uint64_t timeouts[] = {0, 1000, 10000, 100000};
        return lc_recv_timeout(rx, m, timeouts[stress_below(rng, 4)]);
    }
    }
}

static void hang_report(FILE *f)
{
    fprintf(f, "  sent %" PRIu64 " of %" PRIu64 ", lc_rx_len %zu, senders %zu\n",
            (uint64_t)atomic_load(&sent), per_producer * producers, lc_rx_len(rx),
            lc_sender_count(rx));
}

int main(int argc, char **argv)
{
    stress_opt opts[] = {
        {.name = "threads", .help = "producers", .num = &producers},
        {.name = "iterations", .help = "messages in all", .num = &total, .scaled_min = 1000},
        {.name = "capacity", .help = "0: unbounded", .num = &capacity},
        {.name = "send", .help = "how producers send", .num = &send_mode, .names = send_names},
        {.name = "recv", .help = "how the consumer receives", .num = &recv_mode,
         .names = recv_names},
    };
    stress_init(argc, argv, "stress_mpsc",
                "P producers, one consumer: exactly once, FIFO per producer, LC_CLOSED at the end.",
                opts, sizeof opts / sizeof opts[0]);
    bool intrusive = send_mode == NODE || send_mode == TRYNODE;
    if (producers == 0 || (intrusive && recv_mode == RECV_TIMEOUT)) {
        fprintf(stderr, "stress_mpsc: need --threads >= 1; intrusive mode has no timed receive\n");
        return 2;
    }
    per_producer = total / producers ? total / producers : 1;
    uint64_t expected = per_producer * producers;
    stress_hang_report = hang_report;

    stress_tally drops;
    stress_tally_init(&drops, producers);
    lc_config cfg = {.capacity = capacity, .drop = intrusive ? stress_drop_item : stress_drop_msg,
                     .drop_ctx = &drops};
    lc_tx *tx;
    int rc = stress_channel(intrusive, &cfg, &tx, &rx);
    CHECK_RC(rc, LC_OK);
    if (intrusive) {
        items = calloc(expected, sizeof *items);
        CHECK(items != NULL, "out of memory for %" PRIu64 " items", expected);
        for (uint64_t p = 0; p < producers; p++)
            for (uint64_t s = 0; s < per_producer; s++)
                stress_make_item(&items[p * per_producer + s], p, s);
    }

    pthread_barrier_init(&start, NULL, (unsigned)producers + 1);
    struct producer *ps = calloc(producers, sizeof *ps);
    pthread_t *threads = calloc(producers, sizeof *threads);
    CHECK(ps && threads, "out of memory");
    for (uint64_t p = 0; p < producers; p++) {
        ps[p].id = p;
        ps[p].tx = lc_tx_clone(tx);
        CHECK(ps[p].tx != NULL, "lc_tx_clone returned NULL");
        threads[p] = stress_spawn(producer_main, &ps[p]);
    }
    CHECK_EQ(lc_sender_count(rx), producers + 1);
    lc_tx_drop(tx); /* from now on the producers hold the only sender references */

    uint64_t *next = calloc(producers, sizeof *next);
    CHECK(next != NULL, "out of memory");
    stress_rng rng = stress_rng_for(0, 0);
    uint64_t received = 0, retries = 0, start_ns = stress_now_ns();
    stress_phase("receiving");
    pthread_barrier_wait(&start);
    while (received < expected) {
        stress_msg m;
        lc_node *node = NULL;
        rc = receive(&rng, &m, &node);
        if (rc == LC_EMPTY || rc == LC_TIMEDOUT) {
            retries++;
            if (recv_mode == RECV_TRY)
                sched_yield();
            continue;
        }
        CHECK(rc == LC_OK, "after %" PRIu64 " of %" PRIu64 " messages: expected LC_OK, saw %d (%s)",
              received, expected, rc, lc_strerror(rc));
        if (node) {
            stress_item *it = STRESS_ITEM_OF(node);
            CHECK(it->id < producers && it->aux < per_producer &&
                      it == &items[it->id * per_producer + it->aux],
                  "received node %p is not item (producer %" PRIu64 ", seq %" PRIu64 ")",
                  (void *)node, it->id, it->aux);
            m.id = it->id;
            m.aux = it->aux;
            m.check = it->check;
        }
        CHECK_MSG(m);
        CHECK(m.id < producers, "producer id %" PRIu64 " out of range", m.id);
        CHECK(m.aux == next[m.id],
              "producer %" PRIu64 ": expected seq %" PRIu64 ", saw seq %" PRIu64
              " (a lost, duplicated or reordered message)",
              m.id, next[m.id], m.aux);
        next[m.id]++;
        received++;
        if ((received & 1023) == 0)
            stress_progress(received);
        if (capacity) {
            size_t len = lc_rx_len(rx);
            CHECK(len <= capacity, "lc_rx_len %zu above capacity %" PRIu64, len, capacity);
            /* Every send counted in `sent` was accepted; every accepted one not received yet is
             * queued, so this difference (when positive: `sent` lags behind the sends) is a
             * lower bound on the queue length. */
            uint64_t ok = atomic_load(&sent);
            uint64_t in_queue = ok > received ? ok - received : 0;
            CHECK(in_queue <= capacity,
                  "%" PRIu64 " sends returned LC_OK and %" PRIu64 " were received: %" PRIu64
                  " queued, above capacity %" PRIu64,
                  ok, received, in_queue, capacity);
        }
    }
    stress_phase("waiting for LC_CLOSED");
    stress_msg m;
    lc_node *node;
    do {
        rc = receive(&rng, &m, &node);
    } while (rc == LC_EMPTY || rc == LC_TIMEDOUT);
    CHECK_RC(rc, LC_CLOSED);
    CHECK_RC(receive(&rng, &m, &node), LC_CLOSED);
    CHECK_RC(intrusive ? lc_try_recv_node(rx, &node) : lc_try_recv(rx, &m), LC_CLOSED);
    CHECK_EQ(lc_rx_len(rx), 0);
    CHECK_EQ(lc_sender_count(rx), 0);
    uint64_t elapsed = stress_now_ns() - start_ns;

    for (uint64_t p = 0; p < producers; p++) {
        stress_join(threads[p]);
        CHECK_EQ(next[p], per_producer);
    }
    CHECK_EQ(atomic_load(&sent), expected);
    lc_rx_drop(rx);
    CHECK_EQ(atomic_load(&drops.total), 0);

    printf("ok: %" PRIu64 " messages from %" PRIu64 " producers in %.3f s (%.0f ns/msg); "
           "empty/timed-out receives %" PRIu64 ", LC_FULL sends %" PRIu64 "\n",
           expected, producers, (double)elapsed / 1e9, (double)elapsed / (double)expected,
           retries, (uint64_t)atomic_load(&fulls));
    pthread_barrier_destroy(&start);
    stress_tally_free(&drops);
    free(next);
    free(ps);
    free(threads);
    free(items);
    return 0;
}
