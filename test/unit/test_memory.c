/*
 * The memory contract: a channel is one allocation whatever its message size and capacity (64
 * bytes, 80 with a drop callback, to the byte); a queued copy-mode message is one node of at most
 * msg_size + 16 bytes, freed by its receive; an intrusive channel allocates nothing per message;
 * nothing is left once every handle is gone. Everything is measured through a counting
 * lc_allocator, which the header says costs no extra bytes.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "helpers.h"

static const size_t msg_sizes[] = {0, 8, 24, 128, 1024, 65536};
static const size_t capacities[] = {0, 1, 16, 1024};
#define N_SIZES (sizeof msg_sizes / sizeof msg_sizes[0])
#define N_CAPS (sizeof capacities / sizeof capacities[0])
/* How many messages "full" means for an unbounded channel. */
#define UNBOUNDED_FILL 1024u

static size_t fill_count(size_t capacity) { return capacity ? capacity : UNBOUNDED_FILL; }

static void assert_all_freed(struct counter *c, const char *what)
{
    cr_assert_eq(counter_live_allocs(c), 0, "%s: %zu allocations left", what, counter_live_allocs(c));
    cr_assert_eq(counter_live_bytes(c), 0, "%s: %zu bytes left", what, counter_live_bytes(c));
    cr_assert_eq(atomic_load(&c->allocs), atomic_load(&c->frees), "%s", what);
    cr_assert_eq(atomic_load(&c->bad_frees), 0, "%s: a free did not match its allocation", what);
}

/* Counts the drop calls of a channel whose messages are too small to carry a sequence number. */
static void drop_count(void *ctx, void *msg)
{
    (void)msg;
    atomic_fetch_add((atomic_size_t *)ctx, 1);
}

struct shape {
    size_t msg_size, capacity;
    struct counter cnt;
    size_t idle;          /* the documented size of this channel */
    struct drop_log *log; /* msg_size >= 8 */
    atomic_size_t drops;  /* msg_size < 8 */
    lc_tx *tx;
    lc_rx *rx;
    unsigned char *buf;
};

static void shape_open(struct shape *s, size_t msg_size, size_t capacity, bool with_drop)
{
    s->msg_size = msg_size;
    s->capacity = capacity;
    s->idle = with_drop ? CHAN_DROP_BYTES : CHAN_BYTES;
    counter_init(&s->cnt);
    atomic_init(&s->drops, 0);
    s->log = NULL;
    lc_config cfg = {.capacity = capacity, .allocator = &s->cnt.allocator};
    if (with_drop && msg_size >= 8) {
        s->log = malloc(sizeof *s->log);
        cr_assert_not_null(s->log);
        drop_log_init(s->log, msg_size);
        cfg.drop = drop_copy;
        cfg.drop_ctx = s->log;
    } else if (with_drop) {
        cfg.drop = drop_count;
        cfg.drop_ctx = &s->drops;
    }
    s->buf = malloc(msg_size ? msg_size : 1);
    cr_assert_not_null(s->buf);
    cr_assert_eq(lc_channel(msg_size, &cfg, &s->tx, &s->rx), LC_OK, "msg_size %zu capacity %zu",
                 msg_size, capacity);
}

static size_t shape_drops(struct shape *s)
{
    return s->log ? atomic_load(&s->log->calls) : atomic_load(&s->drops);
}

static void shape_close(struct shape *s)
{
    free(s->buf);
    free(s->log);
}

/* Sends seq 0..n-1 with try_send; each must add exactly one allocation of a node size. */
static void shape_fill(struct shape *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t allocs = atomic_load(&s->cnt.allocs);
        msg_fill(s->buf, s->msg_size, i);
        cr_assert_eq(lc_try_send(s->tx, s->buf), LC_OK, "msg_size %zu capacity %zu send %zu",
                     s->msg_size, s->capacity, i);
        cr_assert_eq(atomic_load(&s->cnt.allocs), allocs + 1,
                     "msg_size %zu: send %zu made %zu allocations", s->msg_size, i,
                     atomic_load(&s->cnt.allocs) - allocs);
    }
}

static void shape_drain(struct shape *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(lc_try_recv(s->rx, s->buf), LC_OK, "msg_size %zu receive %zu", s->msg_size, i);
        cr_assert(msg_check(s->buf, s->msg_size, i), "msg_size %zu: message %zu has the wrong bytes",
                  s->msg_size, i);
    }
    cr_assert_eq(lc_try_recv(s->rx, s->buf), LC_EMPTY);
}

Test(memory, copy_channel_is_one_allocation_of_the_documented_size)
{
    for (size_t i = 0; i < N_SIZES; i++) {
        for (size_t j = 0; j < N_CAPS; j++) {
            for (int with_drop = 0; with_drop <= 1; with_drop++) {
                struct shape s;
                shape_open(&s, msg_sizes[i], capacities[j], with_drop);
                cr_assert_eq(atomic_load(&s.cnt.allocs), 1, "msg_size %zu capacity %zu drop %d",
                             msg_sizes[i], capacities[j], with_drop);
                cr_assert_eq(counter_live_bytes(&s.cnt), s.idle,
                             "msg_size %zu capacity %zu drop %d: %zu bytes, documented %zu",
                             msg_sizes[i], capacities[j], with_drop, counter_live_bytes(&s.cnt), s.idle);
                lc_tx_drop(s.tx);
                lc_rx_drop(s.rx);
                assert_all_freed(&s.cnt, "idle channel");
                shape_close(&s);
            }
        }
    }
}

Test(memory, intrusive_channel_is_one_allocation_of_the_documented_size)
{
    for (size_t j = 0; j < N_CAPS; j++) {
        for (int with_drop = 0; with_drop <= 1; with_drop++) {
            struct counter cnt;
            struct drop_log log;
            counter_init(&cnt);
            drop_log_init(&log, 0);
            lc_config cfg = {.capacity = capacities[j], .allocator = &cnt.allocator};
            if (with_drop) {
                cfg.drop = drop_node;
                cfg.drop_ctx = &log;
            }
            size_t idle = with_drop ? CHAN_DROP_BYTES : CHAN_BYTES;
            lc_tx *tx;
            lc_rx *rx;
            cr_assert_eq(lc_channel_intrusive(&cfg, &tx, &rx), LC_OK);
            cr_assert_eq(atomic_load(&cnt.allocs), 1, "capacity %zu drop %d", capacities[j], with_drop);
            cr_assert_eq(counter_live_bytes(&cnt), idle, "capacity %zu drop %d: %zu bytes, documented %zu",
                         capacities[j], with_drop, counter_live_bytes(&cnt), idle);
            lc_tx_drop(tx);
            lc_rx_drop(rx);
            assert_all_freed(&cnt, "idle intrusive channel");
        }
    }
}

Test(memory, tx_clone_allocates_nothing)
{
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(64, &cfg, &tx, &rx), LC_OK);
    size_t attempts = atomic_load(&cnt.attempts);
    lc_tx *clones[100];
    for (int i = 0; i < 100; i++)
        clones[i] = lc_tx_clone(tx);
    cr_assert_eq(atomic_load(&cnt.attempts), attempts, "lc_tx_clone called the allocator");
    for (int i = 0; i < 100; i++)
        lc_tx_drop(clones[i]);
    cr_assert_eq(atomic_load(&cnt.attempts), attempts);
    cr_assert_eq(counter_live_bytes(&cnt), CHAN_BYTES);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    assert_all_freed(&cnt, "clones");
}

Test(memory, each_queued_message_is_one_node_of_at_most_msg_size_plus_16)
{
    for (size_t i = 0; i < N_SIZES; i++) {
        for (size_t j = 0; j < N_CAPS; j++) {
            struct shape s;
            shape_open(&s, msg_sizes[i], capacities[j], false);
            size_t n = fill_count(capacities[j]);
            counter_reset_max(&s.cnt);
            shape_fill(&s, n);
            cr_assert_leq(atomic_load(&s.cnt.max_size), msg_sizes[i] + NODE_OVERHEAD_MAX,
                          "msg_size %zu: a node of %zu bytes", msg_sizes[i],
                          atomic_load(&s.cnt.max_size));
            cr_assert_eq(counter_live_allocs(&s.cnt), 1 + n);
            size_t node = (counter_live_bytes(&s.cnt) - s.idle) / n;
            cr_assert_eq(counter_live_bytes(&s.cnt), s.idle + n * node,
                         "msg_size %zu: nodes of different sizes", msg_sizes[i]);
            cr_assert_geq(node, msg_sizes[i], "a node smaller than its payload");
            if (capacities[j] != 0) {
                cr_assert_eq(lc_try_send(s.tx, s.buf), LC_FULL);
                cr_assert_eq(counter_live_allocs(&s.cnt), 1 + n, "a refused send kept memory");
            }
            lc_tx_drop(s.tx);
            lc_rx_drop(s.rx);
            assert_all_freed(&s.cnt, "filled channel");
            shape_close(&s);
        }
    }
}

Test(memory, drained_channel_returns_to_its_idle_size_to_the_byte)
{
    for (size_t i = 0; i < N_SIZES; i++) {
        for (size_t j = 0; j < N_CAPS; j++) {
            struct shape s;
            shape_open(&s, msg_sizes[i], capacities[j], false);
            size_t idle = counter_live_bytes(&s.cnt);
            size_t n = fill_count(capacities[j]);
            for (int round = 0; round < 2; round++) {
                shape_fill(&s, n);
                size_t frees = atomic_load(&s.cnt.frees);
                shape_drain(&s, n);
                cr_assert_eq(atomic_load(&s.cnt.frees), frees + n, "each receive frees its node");
                cr_assert_eq(counter_live_bytes(&s.cnt), idle,
                             "msg_size %zu capacity %zu round %d: %zu bytes live, %zu when idle",
                             msg_sizes[i], capacities[j], round, counter_live_bytes(&s.cnt), idle);
                cr_assert_eq(counter_live_allocs(&s.cnt), 1);
            }
            lc_tx_drop(s.tx);
            lc_rx_drop(s.rx);
            assert_all_freed(&s.cnt, "drained channel");
            shape_close(&s);
        }
    }
}

Test(memory, nothing_is_left_after_dropping_a_drained_channel)
{
    for (int tx_first = 0; tx_first <= 1; tx_first++) {
        for (size_t i = 0; i < N_SIZES; i++) {
            struct shape s;
            shape_open(&s, msg_sizes[i], 16, true);
            lc_tx *clone = lc_tx_clone(s.tx);
            shape_fill(&s, 16);
            shape_drain(&s, 16);
            if (tx_first) {
                lc_tx_drop(s.tx);
                lc_tx_drop(clone);
                lc_rx_drop(s.rx);
            } else {
                lc_rx_drop(s.rx);
                lc_tx_drop(s.tx);
                cr_assert_eq(counter_live_allocs(&s.cnt), 1, "freed with a sender left");
                lc_tx_drop(clone);
            }
            assert_all_freed(&s.cnt, tx_first ? "senders dropped first" : "receiver dropped first");
            cr_assert_eq(shape_drops(&s), 0, "a received message was dropped");
            shape_close(&s);
        }
    }
}

Test(memory, nothing_is_left_after_dropping_a_channel_with_queued_messages)
{
    for (int tx_first = 0; tx_first <= 1; tx_first++) {
        for (size_t i = 0; i < N_SIZES; i++) {
            for (size_t j = 0; j < N_CAPS; j++) {
                struct shape s;
                shape_open(&s, msg_sizes[i], capacities[j], true);
                size_t n = fill_count(capacities[j]);
                shape_fill(&s, n);
                if (tx_first) {
                    lc_tx_drop(s.tx);
                    cr_assert_eq(counter_live_allocs(&s.cnt), 1 + n);
                    lc_rx_drop(s.rx);
                } else {
                    lc_rx_drop(s.rx);
                    lc_tx_drop(s.tx);
                }
                assert_all_freed(&s.cnt, tx_first ? "senders dropped first" : "receiver dropped first");
                cr_assert_eq(shape_drops(&s), n, "msg_size %zu capacity %zu: %zu drops for %zu messages",
                             msg_sizes[i], capacities[j], shape_drops(&s), n);
                if (s.log) {
                    cr_assert_eq(atomic_load(&s.log->bad), 0, "a dropped payload had the wrong bytes");
                    for (size_t k = 0; k < n; k++)
                        cr_assert_eq(atomic_load(&s.log->seen[k]), 1, "message %zu", k);
                }
                shape_close(&s);
            }
        }
    }
}

Test(memory, intrusive_mode_allocates_nothing_per_message)
{
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.capacity = 1024, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel_intrusive(&cfg, &tx, &rx), LC_OK);
    size_t attempts = atomic_load(&cnt.attempts);
    struct item *items = calloc(1024, sizeof *items);
    cr_assert_not_null(items);
    for (size_t i = 0; i < 1024; i++) {
        items[i].seq = i;
        cr_assert_eq(lc_try_send_node(tx, &items[i].node), LC_OK);
    }
    cr_assert_eq(atomic_load(&cnt.attempts), attempts, "an intrusive send allocated");
    lc_node *n;
    for (size_t i = 0; i < 1000; i++) {
        cr_assert_eq(lc_try_recv_node(rx, &n), LC_OK);
        cr_assert_eq(ITEM_OF(n)->seq, i);
    }
    cr_assert_eq(atomic_load(&cnt.attempts), attempts, "an intrusive receive allocated");
    cr_assert_eq(atomic_load(&cnt.frees), 0, "an intrusive receive freed");
    cr_assert_eq(counter_live_bytes(&cnt), CHAN_BYTES);
    lc_rx_drop(rx); /* 24 nodes still queued: they are the caller's, the channel frees none */
    lc_tx_drop(tx);
    assert_all_freed(&cnt, "intrusive channel");
    free(items);
}

Test(memory, a_waiting_sender_and_a_waiting_receiver_allocate_nothing, .timeout = 10)
{
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.capacity = 1, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, &tx, &rx), LC_OK);

    struct worker recv = {.rx = rx};
    worker_start(&recv, worker_recv);
    cr_assert(worker_wait_blocked(&recv));
    cr_assert_eq(atomic_load(&cnt.attempts), 1, "a blocked receive allocated");
    uint64_t v = 1;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(worker_join(&recv), LC_OK);

    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    size_t attempts = atomic_load(&cnt.attempts);
    struct worker send = {.tx = tx, .value = 2};
    worker_start(&send, worker_send);
    cr_assert(worker_wait_blocked(&send));
    cr_assert_eq(atomic_load(&cnt.attempts), attempts, "a sender waiting for room allocated");
    uint64_t out;
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(worker_join(&send), LC_OK);
    cr_assert_eq(atomic_load(&cnt.attempts), attempts + 1, "the granted send made its one node");
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    assert_all_freed(&cnt, "blocking calls");
}
