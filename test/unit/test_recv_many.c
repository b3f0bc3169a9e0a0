/* lc_try_recv_many: batch receive, its codes, and the slots and memory it gives back. */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"

static void open_u64(size_t capacity, lc_tx **tx, lc_rx **rx)
{
    lc_config cfg = {.capacity = capacity};
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, tx, rx), LC_OK);
}

static void send_range(lc_tx *tx, uint64_t first, uint64_t count)
{
    for (uint64_t v = first; v < first + count; v++)
        cr_assert_eq(lc_try_send(tx, &v), LC_OK, "send %llu", (unsigned long long)v);
}

Test(recv_many, copies_every_ready_message_in_fifo_order)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    send_range(tx, 100, 5);
    uint64_t out[8];
    memset(out, 0xee, sizeof out);
    cr_assert_eq(lc_try_recv_many(rx, out, 8), 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(out[i], 100u + (uint64_t)i, "element %d", i);
    uint64_t untouched;
    memset(&untouched, 0xee, sizeof untouched);
    for (int i = 5; i < 8; i++)
        cr_assert_eq(out[i], untouched, "element %d written past the count returned", i);
    cr_assert_eq(lc_rx_len(rx), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(recv_many, returns_at_most_max_and_leaves_the_rest_in_order)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    send_range(tx, 0, 10);
    uint64_t out[4] = {0};
    uint64_t next = 0;
    int expect[] = {4, 4, 2};
    for (int call = 0; call < 3; call++) {
        int n = lc_try_recv_many(rx, out, 4);
        cr_assert_eq(n, expect[call], "call %d returned %d", call, n);
        for (int i = 0; i < n; i++, next++)
            cr_assert_eq(out[i], next, "call %d element %d", call, i);
        cr_assert_eq(lc_rx_len(rx), 10 - next);
    }
    cr_assert_eq(lc_try_recv_many(rx, out, 4), LC_EMPTY);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(recv_many, max_one_behaves_as_try_recv)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    send_range(tx, 7, 2);
    uint64_t out[2] = {0, 0};
    cr_assert_eq(lc_try_recv_many(rx, out, 1), 1);
    cr_assert_eq(out[0], 7);
    cr_assert_eq(out[1], 0, "max 1 wrote a second element");
    cr_assert_eq(lc_try_recv_many(rx, out, 1), 1);
    cr_assert_eq(out[0], 8);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(recv_many, elements_are_msg_size_apart)
{
    const size_t size = 24;
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(size, NULL, &tx, &rx), LC_OK);
    unsigned char msg[24];
    for (uint64_t seq = 0; seq < 3; seq++) {
        msg_fill(msg, size, seq);
        cr_assert_eq(lc_try_send(tx, msg), LC_OK);
    }
    unsigned char out[24 * 4];
    memset(out, 0xee, sizeof out);
    cr_assert_eq(lc_try_recv_many(rx, out, 4), 3);
    for (uint64_t seq = 0; seq < 3; seq++)
        cr_assert(msg_check(out + seq * size, size, seq), "element %llu differs",
                  (unsigned long long)seq);
    for (size_t i = 3 * size; i < sizeof out; i++)
        cr_assert_eq(out[i], 0xee, "byte %zu written past the messages returned", i);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(recv_many, empty_while_a_sender_remains)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(4, &tx, &rx);
    uint64_t out[2] = {55, 55};
    cr_assert_eq(lc_try_recv_many(rx, out, 2), LC_EMPTY);
    cr_assert_eq(out[0], 55, "out written on LC_EMPTY");
    send_range(tx, 1, 1);
    cr_assert_eq(lc_try_recv_many(rx, out, 2), 1);
    cr_assert_eq(lc_try_recv_many(rx, out, 2), LC_EMPTY);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(recv_many, closed_after_last_sender_dropped_and_drained)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    lc_tx *clone = lc_tx_clone(tx);
    cr_assert_not_null(clone);
    send_range(tx, 0, 3);
    lc_tx_drop(tx);
    uint64_t out[8];
    cr_assert_eq(lc_try_recv_many(rx, out, 8), 3);
    cr_assert_eq(lc_try_recv_many(rx, out, 8), LC_EMPTY, "a sender is still there");
    lc_tx_drop(clone);
    cr_assert_eq(lc_try_recv_many(rx, out, 8), LC_CLOSED);
    cr_assert_eq(lc_try_recv_many(rx, out, 8), LC_CLOSED);
    lc_rx_drop(rx);
}

Test(recv_many, queued_messages_come_before_closed)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    send_range(tx, 10, 3);
    lc_tx_drop(tx);
    uint64_t out[2];
    cr_assert_eq(lc_try_recv_many(rx, out, 2), 2);
    cr_assert_eq(out[0], 10);
    cr_assert_eq(out[1], 11);
    cr_assert_eq(lc_try_recv_many(rx, out, 2), 1, "the last message before LC_CLOSED");
    cr_assert_eq(out[0], 12);
    cr_assert_eq(lc_try_recv_many(rx, out, 2), LC_CLOSED);
    lc_rx_drop(rx);
}

Test(recv_many, closed_after_rx_close_and_drained)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    send_range(tx, 0, 2);
    lc_rx_close(rx);
    uint64_t out[4];
    cr_assert_eq(lc_try_recv_many(rx, out, 4), 2, "accepted messages stay receivable");
    cr_assert_eq(lc_try_recv_many(rx, out, 4), LC_CLOSED);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(recv_many, rejects_bad_input_and_takes_nothing)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    send_range(tx, 0, 2);
    uint64_t out[2];
    cr_assert_eq(lc_try_recv_many(NULL, out, 2), LC_INVALID);
    cr_assert_eq(lc_try_recv_many(rx, NULL, 2), LC_INVALID);
    cr_assert_eq(lc_try_recv_many(rx, out, 0), LC_INVALID);
    cr_assert_eq(lc_try_recv_many(NULL, NULL, 0), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 2, "an LC_INVALID call took a message");
    cr_assert_eq(lc_try_recv_many(rx, out, 2), 2);
    lc_tx_drop(tx);
    /* Still LC_INVALID once the channel is at end of stream. */
    cr_assert_eq(lc_try_recv_many(rx, out, 0), LC_INVALID);
    cr_assert_eq(lc_try_recv_many(rx, NULL, 1), LC_INVALID);
    lc_rx_drop(rx);
}

Test(recv_many, rejects_an_intrusive_channel)
{
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel_intrusive(NULL, &tx, &rx), LC_OK);
    struct item it = {.seq = 1};
    cr_assert_eq(lc_try_send_node(tx, &it.node), LC_OK);
    lc_node *buf[4];
    cr_assert_eq(lc_try_recv_many(rx, buf, 4), LC_INVALID);
    cr_assert_eq(lc_try_recv_many(rx, NULL, 4), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 1);
    lc_node *n = NULL;
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_OK);
    cr_assert_eq(n, &it.node);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(recv_many, zero_size_messages_with_null_out)
{
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(0, NULL, &tx, &rx), LC_OK);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(lc_try_send(tx, NULL), LC_OK);
    cr_assert_eq(lc_try_recv_many(rx, NULL, 4), 4);
    cr_assert_eq(lc_try_recv_many(rx, NULL, 4), 2);
    cr_assert_eq(lc_try_recv_many(rx, NULL, 4), LC_EMPTY);
    lc_tx_drop(tx);
    cr_assert_eq(lc_try_recv_many(rx, NULL, 4), LC_CLOSED);
    lc_rx_drop(rx);
}

Test(recv_many, frees_the_slots_of_a_bounded_channel)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(4, &tx, &rx);
    send_range(tx, 0, 4);
    uint64_t v = 99;
    cr_assert_eq(lc_try_send(tx, &v), LC_FULL);
    uint64_t out[4];
    cr_assert_eq(lc_try_recv_many(rx, out, 3), 3);
    cr_assert_eq(lc_rx_len(rx), 1);
    send_range(tx, 4, 3); /* exactly the three freed slots */
    cr_assert_eq(lc_try_send(tx, &v), LC_FULL, "more slots given back than received");
    cr_assert_eq(lc_try_recv_many(rx, out, 4), 4);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(out[i], 3u + (uint64_t)i);
    cr_assert_eq(lc_rx_len(rx), 0);
    send_range(tx, 0, 4);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* Two pending lc_poll_send waits: one batch of two receives grants both, in order, each once. */
Test(recv_many, grants_pending_senders_one_slot_each)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(2, &tx, &rx);
    send_range(tx, 0, 2);
    lc_send_wait wa = {0}, wb = {0}, wc = {0};
    struct wake_count ka, kb, kc;
    wake_count_init(&ka);
    wake_count_init(&kb);
    wake_count_init(&kc);
    uint64_t a = 10, b = 11, c = 12;
    cr_assert_eq(lc_poll_send(tx, &a, &wa, &ka.waker), LC_PENDING);
    cr_assert_eq(lc_poll_send(tx, &b, &wb, &kb.waker), LC_PENDING);
    cr_assert_eq(lc_poll_send(tx, &c, &wc, &kc.waker), LC_PENDING);
    uint64_t out[4];
    cr_assert_eq(lc_try_recv_many(rx, out, 4), 2);
    cr_assert_eq(wake_calls(&ka), 1);
    cr_assert_eq(wake_calls(&kb), 1);
    cr_assert_eq(wake_calls(&kc), 0, "three waiters granted for two freed slots");
    cr_assert_eq(lc_rx_len(rx), 2, "the granted slots must stay counted");
    cr_assert_eq(lc_poll_send(tx, &a, &wa, &ka.waker), LC_OK);
    cr_assert_eq(lc_poll_send(tx, &b, &wb, &kb.waker), LC_OK);
    cr_assert_eq(lc_try_recv_many(rx, out, 4), 2);
    cr_assert_eq(out[0], 10);
    cr_assert_eq(out[1], 11);
    cr_assert_eq(wake_calls(&kc), 1);
    cr_assert_eq(lc_poll_send(tx, &c, &wc, &kc.waker), LC_OK);
    cr_assert_eq(lc_try_recv_many(rx, out, 4), 1);
    cr_assert_eq(out[0], 12);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(recv_many, grants_a_blocked_sender, .timeout = 20)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(3, &tx, &rx);
    send_range(tx, 0, 3);
    struct worker w = {.tx = tx, .value = 42};
    worker_start(&w, worker_send);
    cr_assert(worker_wait_blocked(&w), "lc_send returned %d on a full channel", w.rc);
    uint64_t out[3];
    cr_assert_eq(lc_try_recv_many(rx, out, 3), 3);
    cr_assert_eq(worker_join(&w), LC_OK);
    cr_assert_eq(lc_rx_len(rx), 1);
    cr_assert_eq(lc_try_recv_many(rx, out, 3), 1);
    cr_assert_eq(out[0], 42);
    /* The other two slots went back to the count. */
    send_range(tx, 0, 3);
    uint64_t v = 9;
    cr_assert_eq(lc_try_send(tx, &v), LC_FULL);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(recv_many, memory_returns_to_the_idle_channel)
{
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.capacity = 0, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, &tx, &rx), LC_OK);
    cr_assert_eq(counter_live_bytes(&cnt), CHAN_BYTES);
    send_range(tx, 0, 100);
    cr_assert_eq(counter_live_allocs(&cnt), 101);
    uint64_t out[32];
    int total = 0, n;
    while ((n = lc_try_recv_many(rx, out, 32)) > 0)
        total += n;
    cr_assert_eq(n, LC_EMPTY);
    cr_assert_eq(total, 100);
    cr_assert_eq(counter_live_bytes(&cnt), CHAN_BYTES, "%zu bytes live after draining",
                 counter_live_bytes(&cnt));
    cr_assert_eq(counter_live_allocs(&cnt), 1);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_bytes(&cnt), 0);
    cr_assert_eq(atomic_load(&cnt.bad_frees), 0);
}

/* Received messages are the caller's: none of them reaches cfg->drop; the rest do, once. */
Test(recv_many, received_messages_are_not_dropped)
{
    struct drop_log log;
    drop_log_init(&log, sizeof(uint64_t));
    lc_config cfg = {.drop = drop_copy, .drop_ctx = &log};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, &tx, &rx), LC_OK);
    for (uint64_t seq = 0; seq < 6; seq++) {
        uint64_t msg;
        msg_fill(&msg, sizeof msg, seq);
        cr_assert_eq(lc_try_send(tx, &msg), LC_OK);
    }
    uint64_t out[4];
    cr_assert_eq(lc_try_recv_many(rx, out, 4), 4);
    lc_rx_drop(rx);
    lc_tx_drop(tx);
    cr_assert_eq(atomic_load(&log.calls), 2);
    cr_assert_eq(atomic_load(&log.bad), 0);
    for (unsigned seq = 0; seq < 6; seq++)
        cr_assert_eq(atomic_load(&log.seen[seq]), seq < 4 ? 0u : 1u, "seq %u", seq);
}
