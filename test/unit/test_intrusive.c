/* Intrusive mode: lc_node embedded in the caller's structs, and wrong-mode calls. */
#include <criterion/criterion.h>

#include "helpers.h"

#define MS 1000000ull

static void open_intrusive(size_t capacity, lc_tx **tx, lc_rx **rx)
{
    lc_config cfg = {.capacity = capacity};
    cr_assert_eq(lc_channel_intrusive(&cfg, tx, rx), LC_OK);
}

Test(intrusive, nodes_come_back_as_the_same_structs_in_fifo_order)
{
    lc_tx *tx;
    lc_rx *rx;
    open_intrusive(0, &tx, &rx);
    struct item items[8];
    for (uint64_t i = 0; i < 8; i++) {
        items[i].seq = i;
        cr_assert_eq(lc_try_send_node(tx, &items[i].node), LC_OK);
    }
    cr_assert_eq(lc_rx_len(rx), 8);
    for (uint64_t i = 0; i < 8; i++) {
        lc_node *n = NULL;
        cr_assert_eq(lc_try_recv_node(rx, &n), LC_OK);
        struct item *it = ITEM_OF(n);
        cr_assert_eq(it, &items[i], "node %llu came back out of order", (unsigned long long)i);
        cr_assert_eq(it->seq, i);
    }
    lc_node *n = NULL;
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_EMPTY);
    lc_tx_drop(tx);
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_CLOSED);
    lc_rx_drop(rx);
}

Test(intrusive, a_received_node_can_be_sent_again)
{
    lc_tx *tx;
    lc_rx *rx;
    open_intrusive(0, &tx, &rx);
    struct item it = {.seq = 1};
    lc_node *n;
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(lc_try_send_node(tx, &it.node), LC_OK);
        cr_assert_eq(lc_recv_node(rx, &n), LC_OK);
        cr_assert_eq(n, &it.node);
    }
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(intrusive, try_send_node_full_exactly_at_capacity)
{
    lc_tx *tx;
    lc_rx *rx;
    open_intrusive(2, &tx, &rx);
    struct item a = {.seq = 0}, b = {.seq = 1}, c = {.seq = 2};
    cr_assert_eq(lc_try_send_node(tx, &a.node), LC_OK);
    cr_assert_eq(lc_try_send_node(tx, &b.node), LC_OK);
    cr_assert_eq(lc_try_send_node(tx, &c.node), LC_FULL);
    lc_node *n;
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_OK);
    cr_assert_eq(n, &a.node);
    /* c stayed the caller's, so it can be sent now. */
    cr_assert_eq(lc_try_send_node(tx, &c.node), LC_OK);
    cr_assert_eq(lc_try_send_node(tx, &a.node), LC_FULL);
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_OK);
    cr_assert_eq(n, &b.node);
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_OK);
    cr_assert_eq(n, &c.node);
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_EMPTY);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(intrusive, send_node_on_a_closed_channel_keeps_the_node)
{
    lc_tx *tx;
    lc_rx *rx;
    open_intrusive(0, &tx, &rx);
    struct item it = {.seq = 4};
    lc_rx_close(rx);
    cr_assert_eq(lc_try_send_node(tx, &it.node), LC_CLOSED);
    cr_assert_eq(lc_send_node(tx, &it.node), LC_CLOSED);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    /* The node is still the caller's: another channel takes it. */
    open_intrusive(0, &tx, &rx);
    lc_node *n;
    cr_assert_eq(lc_send_node(tx, &it.node), LC_OK);
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_OK);
    cr_assert_eq(n, &it.node);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(intrusive, send_node_blocked_on_full_channel_is_woken_by_a_receive, .timeout = 10)
{
    lc_tx *tx;
    lc_rx *rx;
    open_intrusive(1, &tx, &rx);
    struct item a = {.seq = 0}, b = {.seq = 1};
    cr_assert_eq(lc_send_node(tx, &a.node), LC_OK);
    struct worker w = {.tx = tx, .node = &b.node};
    worker_start(&w, worker_send_node);
    cr_assert(worker_wait_blocked(&w), "lc_send_node returned %d on a full channel", w.rc);
    lc_node *n;
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_OK);
    cr_assert_eq(n, &a.node);
    cr_assert_eq(worker_join(&w), LC_OK);
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_OK);
    cr_assert_eq(n, &b.node);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(intrusive, recv_node_gets_a_node_sent_from_another_thread, .timeout = 10)
{
    lc_tx *tx;
    lc_rx *rx;
    open_intrusive(0, &tx, &rx);
    struct worker w = {.rx = rx};
    worker_start(&w, worker_recv_node);
    cr_assert(worker_wait_blocked(&w), "lc_recv_node returned %d on an empty channel", w.rc);
    struct item it = {.seq = 9};
    cr_assert_eq(lc_try_send_node(tx, &it.node), LC_OK);
    cr_assert_eq(worker_join(&w), LC_OK);
    cr_assert_eq(w.node, &it.node);
    cr_assert_eq(ITEM_OF(w.node)->seq, 9);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(intrusive, recv_node_returns_closed_when_last_sender_is_dropped, .timeout = 10)
{
    lc_tx *tx;
    lc_rx *rx;
    open_intrusive(0, &tx, &rx);
    struct worker w = {.rx = rx};
    worker_start(&w, worker_recv_node);
    cr_assert(worker_wait_blocked(&w));
    lc_tx_drop(tx);
    cr_assert_eq(worker_join(&w), LC_CLOSED);
    lc_rx_drop(rx);
}

Test(intrusive, drop_gets_each_unreceived_node_once)
{
    struct drop_log log;
    drop_log_init(&log, 0);
    lc_config cfg = {.drop = drop_node, .drop_ctx = &log};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel_intrusive(&cfg, &tx, &rx), LC_OK);
    struct item items[5];
    for (uint64_t i = 0; i < 5; i++) {
        items[i].seq = i;
        cr_assert_eq(lc_try_send_node(tx, &items[i].node), LC_OK);
    }
    lc_node *n;
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_OK);
    lc_rx_drop(rx);
    lc_tx_drop(tx);
    cr_assert_eq(atomic_load(&log.calls), 4);
    cr_assert_eq(atomic_load(&log.bad), 0);
    cr_assert_eq(atomic_load(&log.seen[0]), 0, "a received node was dropped");
    for (int i = 1; i < 5; i++)
        cr_assert_eq(atomic_load(&log.seen[i]), 1, "node %d", i);
}

Test(intrusive, drop_gets_nodes_left_when_senders_drop_first)
{
    struct drop_log log;
    drop_log_init(&log, 0);
    lc_config cfg = {.drop = drop_node, .drop_ctx = &log};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel_intrusive(&cfg, &tx, &rx), LC_OK);
    struct item items[3];
    for (uint64_t i = 0; i < 3; i++) {
        items[i].seq = i;
        cr_assert_eq(lc_try_send_node(tx, &items[i].node), LC_OK);
    }
    lc_tx_drop(tx);
    cr_assert_eq(atomic_load(&log.calls), 0);
    lc_rx_drop(rx);
    cr_assert_eq(atomic_load(&log.calls), 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(atomic_load(&log.seen[i]), 1, "node %d", i);
}

/* ---- bad input and wrong mode ---- */

Test(intrusive, node_calls_reject_null_node)
{
    lc_tx *tx;
    lc_rx *rx;
    open_intrusive(0, &tx, &rx);
    cr_assert_eq(lc_try_send_node(tx, NULL), LC_INVALID);
    cr_assert_eq(lc_send_node(tx, NULL), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 0);
    cr_assert_eq(lc_try_recv_node(rx, NULL), LC_INVALID);
    cr_assert_eq(lc_recv_node(rx, NULL), LC_INVALID);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(intrusive, node_calls_reject_null_handles)
{
    struct item it = {.seq = 0};
    lc_node *n;
    cr_assert_eq(lc_try_send_node(NULL, &it.node), LC_INVALID);
    cr_assert_eq(lc_send_node(NULL, &it.node), LC_INVALID);
    cr_assert_eq(lc_try_recv_node(NULL, &n), LC_INVALID);
    cr_assert_eq(lc_recv_node(NULL, &n), LC_INVALID);
}

Test(intrusive, node_calls_on_a_copy_channel_are_invalid)
{
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(sizeof(uint64_t), NULL, &tx, &rx), LC_OK);
    struct item it = {.seq = 0};
    lc_node *n = NULL;
    cr_assert_eq(lc_try_send_node(tx, &it.node), LC_INVALID);
    cr_assert_eq(lc_send_node(tx, &it.node), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 0);
    uint64_t v = 3;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_INVALID);
    cr_assert_eq(lc_recv_node(rx, &n), LC_INVALID);
    cr_assert_null(n);
    cr_assert_eq(lc_rx_len(rx), 1, "a wrong-mode receive took the message");
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(intrusive, copy_calls_on_an_intrusive_channel_are_invalid)
{
    lc_tx *tx;
    lc_rx *rx;
    open_intrusive(0, &tx, &rx);
    uint64_t v = 1, out = 0;
    struct wake_count wc;
    wake_count_init(&wc);
    cr_assert_eq(lc_try_send(tx, &v), LC_INVALID);
    cr_assert_eq(lc_send(tx, &v), LC_INVALID);
    cr_assert_eq(lc_send_timeout(tx, &v, 0), LC_INVALID);
    cr_assert_eq(lc_send_timeout(tx, &v, 20 * MS), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 0);
    struct item it = {.seq = 0};
    cr_assert_eq(lc_try_send_node(tx, &it.node), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_INVALID);
    cr_assert_eq(lc_recv(rx, &out), LC_INVALID);
    cr_assert_eq(lc_recv_timeout(rx, &out, 0), LC_INVALID);
    cr_assert_eq(lc_recv_timeout(rx, &out, 20 * MS), LC_INVALID);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_INVALID);
    cr_assert_eq(out, 0);
    cr_assert_eq(lc_rx_len(rx), 1, "a wrong-mode receive took the node");
    lc_node *n;
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_OK);
    cr_assert_eq(n, &it.node);
    cr_assert_eq(wake_calls(&wc), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}
