/* End of stream, closing from the receiving side, and the drop callback. */
#include <criterion/criterion.h>

#include "helpers.h"

#define MS 1000000ull

static void open_u64(size_t capacity, lc_tx **tx, lc_rx **rx)
{
    lc_config cfg = {.capacity = capacity};
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, tx, rx), LC_OK);
}

/* A copy channel of msg_size bytes whose drop callback records into log. */
static void open_logged(size_t msg_size, size_t capacity, struct drop_log *log, lc_tx **tx, lc_rx **rx)
{
    drop_log_init(log, msg_size);
    lc_config cfg = {.capacity = capacity, .drop = drop_copy, .drop_ctx = log};
    cr_assert_eq(lc_channel(msg_size, &cfg, tx, rx), LC_OK);
}

static void send_seq(lc_tx *tx, size_t msg_size, uint64_t seq)
{
    unsigned char buf[256];
    cr_assert_leq(msg_size, sizeof buf);
    msg_fill(buf, msg_size, seq);
    cr_assert_eq(lc_try_send(tx, buf), LC_OK, "send %llu", (unsigned long long)seq);
}

static void recv_seq(lc_rx *rx, size_t msg_size, uint64_t seq)
{
    unsigned char buf[256];
    cr_assert_eq(lc_try_recv(rx, buf), LC_OK, "receive %llu", (unsigned long long)seq);
    cr_assert(msg_check(buf, msg_size, seq), "received the wrong bytes for %llu", (unsigned long long)seq);
}

/* ---- sends after close ---- */

Test(close, try_send_is_closed_after_rx_close)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    lc_rx_close(rx);
    uint64_t v = 1;
    cr_assert_eq(lc_try_send(tx, &v), LC_CLOSED);
    cr_assert_eq(lc_rx_len(rx), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(close, every_send_is_closed_after_rx_close)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    lc_rx_close(rx);
    uint64_t v = 1;
    cr_assert_eq(lc_send(tx, &v), LC_CLOSED);
    cr_assert_eq(lc_send_timeout(tx, &v, 0), LC_CLOSED);
    cr_assert_eq(lc_send_timeout(tx, &v, 20 * MS), LC_CLOSED);
    cr_assert_eq(lc_rx_len(rx), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(close, closed_beats_full)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    uint64_t v = 1;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    lc_rx_close(rx);
    cr_assert_eq(lc_try_send(tx, &v), LC_CLOSED);
    cr_assert_eq(lc_send(tx, &v), LC_CLOSED, "lc_send on a full, closed channel");
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(close, try_send_is_closed_after_rx_drop_while_a_sender_lives)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    lc_tx *clone = lc_tx_clone(tx);
    lc_rx_drop(rx);
    uint64_t v = 1;
    cr_assert_eq(lc_try_send(tx, &v), LC_CLOSED);
    cr_assert_eq(lc_send(clone, &v), LC_CLOSED);
    cr_assert_eq(lc_send_timeout(clone, &v, 20 * MS), LC_CLOSED);
    lc_tx_drop(clone);
    cr_assert_eq(lc_try_send(tx, &v), LC_CLOSED);
    lc_tx_drop(tx);
}

/* ---- receives at end of stream ---- */

Test(close, try_recv_drains_then_is_closed_after_last_tx_drop)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    for (uint64_t i = 0; i < 3; i++)
        cr_assert_eq(lc_try_send(tx, &i), LC_OK);
    lc_tx_drop(tx);
    cr_assert_eq(lc_sender_count(rx), 0);
    uint64_t out;
    for (uint64_t i = 0; i < 3; i++) {
        cr_assert_eq(lc_try_recv(rx, &out), LC_OK, "a queued message was lost at end of stream");
        cr_assert_eq(out, i);
    }
    for (int i = 0; i < 5; i++)
        cr_assert_eq(lc_try_recv(rx, &out), LC_CLOSED, "call %d", i);
    cr_assert_eq(lc_recv(rx, &out), LC_CLOSED);
    cr_assert_eq(lc_recv_timeout(rx, &out, 0), LC_CLOSED);
    cr_assert_eq(lc_recv_timeout(rx, &out, 20 * MS), LC_CLOSED);
    cr_assert_eq(lc_try_recv(rx, &out), LC_CLOSED);
    lc_rx_drop(rx);
}

Test(close, try_recv_drains_then_is_closed_after_rx_close)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    for (uint64_t i = 0; i < 3; i++)
        cr_assert_eq(lc_try_send(tx, &i), LC_OK);
    lc_rx_close(rx);
    uint64_t out;
    for (uint64_t i = 0; i < 3; i++) {
        cr_assert_eq(lc_try_recv(rx, &out), LC_OK, "a queued message was lost by lc_rx_close");
        cr_assert_eq(out, i);
    }
    cr_assert_eq(lc_try_recv(rx, &out), LC_CLOSED, "a sender is alive, but the receiver closed");
    cr_assert_eq(lc_try_recv(rx, &out), LC_CLOSED);
    cr_assert_eq(lc_recv(rx, &out), LC_CLOSED);
    lc_tx_drop(tx);
    cr_assert_eq(lc_try_recv(rx, &out), LC_CLOSED);
    lc_rx_drop(rx);
}

Test(close, recv_returns_closed_when_last_sender_is_dropped_from_another_thread, .timeout = 10)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct worker w = {.rx = rx};
    worker_start(&w, worker_recv);
    cr_assert(worker_wait_blocked(&w), "lc_recv returned %d on an empty channel", w.rc);
    lc_tx_drop(tx);
    cr_assert_eq(worker_join(&w), LC_CLOSED);
    lc_rx_drop(rx);
}

static int drop_tx_soon(struct worker *w)
{
    sleep_ms(20);
    lc_tx_drop(w->tx);
    return LC_OK;
}

Test(close, recv_timeout_returns_closed_when_last_sender_is_dropped_from_another_thread, .timeout = 10)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct worker w = {.tx = tx};
    worker_start(&w, drop_tx_soon);
    uint64_t out;
    cr_assert_eq(lc_recv_timeout(rx, &out, 8000 * MS), LC_CLOSED);
    worker_join(&w);
    lc_rx_drop(rx);
}

/* ---- blocked senders and close ---- */

Test(close, blocked_senders_wake_closed_on_rx_close, .timeout = 10)
{
    enum { WAITERS = 3 };
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    uint64_t first = 100, out;
    cr_assert_eq(lc_try_send(tx, &first), LC_OK);
    struct worker w[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        w[i] = (struct worker){.tx = tx, .value = (uint64_t)i, .timeout_ns = LC_FOREVER};
        worker_start(&w[i], i == 1 ? worker_send_timeout : worker_send);
        cr_assert(worker_wait_blocked(&w[i]), "sender %d did not block", i);
    }
    lc_rx_close(rx);
    for (int i = 0; i < WAITERS; i++)
        cr_assert_eq(worker_join(&w[i]), LC_CLOSED, "sender %d", i);
    /* The message accepted before the close is still there, and nothing else. */
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 100);
    cr_assert_eq(lc_try_recv(rx, &out), LC_CLOSED);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(close, blocked_sender_wakes_closed_on_rx_drop, .timeout = 10)
{
    struct drop_log log;
    lc_tx *tx;
    lc_rx *rx;
    open_logged(8, 1, &log, &tx, &rx);
    send_seq(tx, 8, 0);
    struct worker w = {.tx = tx};
    msg_fill(&w.value, 8, 1);
    worker_start(&w, worker_send);
    cr_assert(worker_wait_blocked(&w));
    lc_rx_drop(rx);
    cr_assert_eq(worker_join(&w), LC_CLOSED);
    cr_assert_eq(atomic_load(&log.calls), 1, "only the accepted message is dropped");
    cr_assert_eq(atomic_load(&log.seen[0]), 1);
    cr_assert_eq(atomic_load(&log.seen[1]), 0, "the refused message was dropped");
    lc_tx_drop(tx);
    cr_assert_eq(atomic_load(&log.calls), 1);
}

/* ---- the drop callback ---- */

Test(close, rx_drop_drops_each_queued_message_once_with_its_bytes)
{
    const size_t size = 40;
    struct drop_log log;
    lc_tx *tx;
    lc_rx *rx;
    open_logged(size, 0, &log, &tx, &rx);
    for (uint64_t i = 0; i < 10; i++)
        send_seq(tx, size, i);
    lc_rx_drop(rx);
    cr_assert_eq(atomic_load(&log.calls), 10);
    cr_assert_eq(atomic_load(&log.bad), 0, "a dropped payload had the wrong bytes");
    for (int i = 0; i < 10; i++)
        cr_assert_eq(atomic_load(&log.seen[i]), 1, "message %d", i);
    lc_tx_drop(tx);
    cr_assert_eq(atomic_load(&log.calls), 10, "the last lc_tx_drop dropped messages again");
}

Test(close, received_messages_are_never_dropped)
{
    const size_t size = 16;
    struct drop_log log;
    lc_tx *tx;
    lc_rx *rx;
    open_logged(size, 0, &log, &tx, &rx);
    for (uint64_t i = 0; i < 6; i++)
        send_seq(tx, size, i);
    for (uint64_t i = 0; i < 4; i++)
        recv_seq(rx, size, i);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(atomic_load(&log.calls), 2);
    cr_assert_eq(atomic_load(&log.bad), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(atomic_load(&log.seen[i]), 0, "received message %d was dropped", i);
    cr_assert_eq(atomic_load(&log.seen[4]), 1);
    cr_assert_eq(atomic_load(&log.seen[5]), 1);
}

Test(close, fully_received_channel_drops_nothing)
{
    struct drop_log log;
    lc_tx *tx;
    lc_rx *rx;
    open_logged(8, 4, &log, &tx, &rx);
    for (uint64_t i = 0; i < 4; i++)
        send_seq(tx, 8, i);
    lc_tx_drop(tx);
    for (uint64_t i = 0; i < 4; i++)
        recv_seq(rx, 8, i);
    lc_rx_drop(rx);
    cr_assert_eq(atomic_load(&log.calls), 0);
}

Test(close, messages_left_when_receiver_drops_first_are_dropped_once)
{
    struct drop_log log;
    lc_tx *tx;
    lc_rx *rx;
    open_logged(24, 8, &log, &tx, &rx);
    lc_tx *clone = lc_tx_clone(tx);
    for (uint64_t i = 0; i < 5; i++)
        send_seq(i % 2 ? clone : tx, 24, i);
    recv_seq(rx, 24, 0);
    lc_rx_drop(rx);
    lc_tx_drop(tx);
    lc_tx_drop(clone); /* the last handle: frees the channel */
    cr_assert_eq(atomic_load(&log.calls), 4);
    cr_assert_eq(atomic_load(&log.bad), 0);
    cr_assert_eq(atomic_load(&log.seen[0]), 0);
    for (int i = 1; i < 5; i++)
        cr_assert_eq(atomic_load(&log.seen[i]), 1, "message %d", i);
}

Test(close, messages_left_when_senders_drop_first_are_dropped_once)
{
    struct drop_log log;
    lc_tx *tx;
    lc_rx *rx;
    open_logged(24, 0, &log, &tx, &rx);
    for (uint64_t i = 0; i < 5; i++)
        send_seq(tx, 24, i);
    lc_tx_drop(tx);
    cr_assert_eq(atomic_load(&log.calls), 0, "dropping the senders dropped messages");
    recv_seq(rx, 24, 0);
    recv_seq(rx, 24, 1);
    lc_rx_drop(rx);
    cr_assert_eq(atomic_load(&log.calls), 3);
    cr_assert_eq(atomic_load(&log.bad), 0);
    for (int i = 2; i < 5; i++)
        cr_assert_eq(atomic_load(&log.seen[i]), 1, "message %d", i);
}

Test(close, rx_close_then_rx_drop_drops_what_was_not_received)
{
    struct drop_log log;
    lc_tx *tx;
    lc_rx *rx;
    open_logged(8, 0, &log, &tx, &rx);
    for (uint64_t i = 0; i < 3; i++)
        send_seq(tx, 8, i);
    lc_rx_close(rx);
    cr_assert_eq(atomic_load(&log.calls), 0, "lc_rx_close dropped messages");
    recv_seq(rx, 8, 0);
    lc_rx_drop(rx);
    lc_tx_drop(tx);
    cr_assert_eq(atomic_load(&log.calls), 2);
    cr_assert_eq(atomic_load(&log.seen[1]), 1);
    cr_assert_eq(atomic_load(&log.seen[2]), 1);
}
