/* lc_poll_send and lc_send_cancel: waiting for room without blocking, in a caller-owned record. */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"

static void open_u64(size_t capacity, lc_tx **tx, lc_rx **rx)
{
    lc_config cfg = {.capacity = capacity};
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, tx, rx), LC_OK);
}

/* Fills a channel of the given capacity with 0, 1, ... */
static void fill(lc_tx *tx, size_t capacity)
{
    for (uint64_t v = 0; v < capacity; v++)
        cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    uint64_t extra = 999;
    cr_assert_eq(lc_try_send(tx, &extra), LC_FULL);
}

static uint64_t recv_one(lc_rx *rx)
{
    uint64_t out = 0;
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    return out;
}

/* ---- lc_poll_send ---- */

Test(poll_send, ok_when_there_is_room)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(2, &tx, &rx);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 5;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_OK);
    v = 6; /* the channel copied the message */
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_OK, "the record is reusable at once");
    cr_assert_eq(lc_rx_len(rx), 2);
    cr_assert_eq(recv_one(rx), 5);
    cr_assert_eq(recv_one(rx), 6);
    cr_assert_eq(wake_calls(&k), 0, "woken without waiting");
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(poll_send, unbounded_channel_never_pends)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    for (uint64_t v = 0; v < 1000; v++)
        cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_OK);
    cr_assert_eq(lc_rx_len(rx), 1000);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(poll_send, pending_when_full_then_woken_once_and_sent)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    fill(tx, 1);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 77;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    cr_assert_eq(wake_calls(&k), 0);
    cr_assert_eq(lc_rx_len(rx), 1, "a pending send took a slot");
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(wake_calls(&k), 1, "freeing a slot did not wake the pending sender");
    /* The slot is the wait's: nobody else can take it. */
    uint64_t other = 1;
    cr_assert_eq(lc_try_send(tx, &other), LC_FULL, "lc_try_send took the granted slot");
    uint64_t out;
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
    cr_assert_eq(wake_calls(&k), 1);
    v = 78; /* the message is copied only now */
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_OK);
    cr_assert_eq(recv_one(rx), 78);
    cr_assert_eq(wake_calls(&k), 1, "the waker was called more than once");
    cr_assert_eq(lc_rx_len(rx), 0);
    cr_assert_eq(lc_try_send(tx, &other), LC_OK, "the slot was not given back");
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(poll_send, pending_waits_are_granted_in_fifo_order)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    fill(tx, 1);
    lc_send_wait w[3];
    memset(w, 0, sizeof w);
    struct wake_count k[3];
    uint64_t v[3] = {10, 11, 12};
    for (int i = 0; i < 3; i++) {
        wake_count_init(&k[i]);
        cr_assert_eq(lc_poll_send(tx, &v[i], &w[i], &k[i].waker), LC_PENDING);
    }
    cr_assert_eq(recv_one(rx), 0);
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++)
            cr_assert_eq(wake_calls(&k[j]), j <= i ? 1 : 0, "after grant %d, waker %d", i, j);
        cr_assert_eq(lc_poll_send(tx, &v[i], &w[i], &k[i].waker), LC_OK);
        cr_assert_eq(recv_one(rx), v[i]);
    }
    cr_assert_eq(lc_rx_len(rx), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* Pending waits and blocked lc_send callers share one FIFO list. */
Test(poll_send, fifo_with_blocked_senders, .timeout = 20)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    fill(tx, 1);
    lc_send_wait wa = {0}, wb = {0};
    struct wake_count ka, kb;
    wake_count_init(&ka);
    wake_count_init(&kb);
    uint64_t a = 1, b = 3;
    cr_assert_eq(lc_poll_send(tx, &a, &wa, &ka.waker), LC_PENDING);
    struct worker blocked = {.tx = tx, .value = 2};
    worker_start(&blocked, worker_send);
    cr_assert(worker_wait_blocked(&blocked), "lc_send returned %d on a full channel", blocked.rc);
    cr_assert_eq(lc_poll_send(tx, &b, &wb, &kb.waker), LC_PENDING);

    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(wake_calls(&ka), 1);
    cr_assert_eq(wake_calls(&kb), 0);
    cr_assert(worker_wait_blocked(&blocked), "the blocked sender overtook an older wait");
    cr_assert_eq(lc_poll_send(tx, &a, &wa, &ka.waker), LC_OK);

    cr_assert_eq(recv_one(rx), 1);
    cr_assert_eq(worker_join(&blocked), LC_OK);
    cr_assert_eq(wake_calls(&kb), 0, "the newer wait overtook the blocked sender");

    cr_assert_eq(recv_one(rx), 2);
    cr_assert_eq(wake_calls(&kb), 1);
    cr_assert_eq(lc_poll_send(tx, &b, &wb, &kb.waker), LC_OK);
    cr_assert_eq(recv_one(rx), 3);
    cr_assert_eq(wake_calls(&ka), 1);
    cr_assert_eq(wake_calls(&kb), 1);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* While a wait is pending, a free slot is not for lc_try_send: it goes to the waiter. */
Test(poll_send, try_send_does_not_overtake_a_pending_wait)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(2, &tx, &rx);
    fill(tx, 2);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 50, other = 60;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(recv_one(rx), 1);
    cr_assert_eq(wake_calls(&k), 1);
    cr_assert_eq(lc_try_send(tx, &other), LC_OK, "the second freed slot is free");
    cr_assert_eq(lc_try_send(tx, &other), LC_FULL, "the granted slot was taken");
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_OK);
    cr_assert_eq(recv_one(rx), 60);
    cr_assert_eq(recv_one(rx), 50);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(poll_send, repoll_while_pending_replaces_the_waker)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    fill(tx, 1);
    lc_send_wait w = {0};
    struct wake_count first, second;
    wake_count_init(&first);
    wake_count_init(&second);
    uint64_t v = 8;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &first.waker), LC_PENDING);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &first.waker), LC_PENDING, "same waker again");
    cr_assert_eq(lc_poll_send(tx, &v, &w, &second.waker), LC_PENDING);
    cr_assert_eq(lc_rx_len(rx), 1, "a re-poll took a slot");
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(wake_calls(&first), 0, "the replaced waker was called");
    cr_assert_eq(wake_calls(&second), 1, "the new waker was not called");
    cr_assert_eq(lc_poll_send(tx, &v, &w, &second.waker), LC_OK);
    cr_assert_eq(recv_one(rx), 8);
    cr_assert_eq(wake_calls(&first), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* A re-poll keeps the wait's place in the list. */
Test(poll_send, repoll_keeps_the_place_in_line)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    fill(tx, 1);
    lc_send_wait wa = {0}, wb = {0};
    struct wake_count ka, kb, ka2;
    wake_count_init(&ka);
    wake_count_init(&kb);
    wake_count_init(&ka2);
    uint64_t a = 1, b = 2;
    cr_assert_eq(lc_poll_send(tx, &a, &wa, &ka.waker), LC_PENDING);
    cr_assert_eq(lc_poll_send(tx, &b, &wb, &kb.waker), LC_PENDING);
    cr_assert_eq(lc_poll_send(tx, &a, &wa, &ka2.waker), LC_PENDING);
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(wake_calls(&ka2), 1, "the older wait lost its place when it re-polled");
    cr_assert_eq(wake_calls(&kb), 0);
    cr_assert_eq(wake_calls(&ka), 0);
    cr_assert_eq(lc_poll_send(tx, &a, &wa, &ka2.waker), LC_OK);
    cr_assert_eq(recv_one(rx), 1);
    cr_assert_eq(wake_calls(&kb), 1);
    cr_assert_eq(lc_poll_send(tx, &b, &wb, &kb.waker), LC_OK);
    cr_assert_eq(recv_one(rx), 2);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(poll_send, closed_when_the_receiver_closes_while_pending)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    fill(tx, 1);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 4;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    lc_rx_close(rx);
    cr_assert_eq(wake_calls(&k), 1, "closing did not wake the pending sender");
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_CLOSED);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_CLOSED, "idle again, still closed");
    cr_assert_eq(wake_calls(&k), 1);
    cr_assert_eq(recv_one(rx), 0, "the message accepted before the close stays receivable");
    uint64_t out;
    cr_assert_eq(lc_try_recv(rx, &out), LC_CLOSED, "the closed wait sent something");
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(poll_send, closed_when_the_receiver_is_dropped_while_pending)
{
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.capacity = 1, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, &tx, &rx), LC_OK);
    fill(tx, 1);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 4;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    lc_rx_drop(rx);
    cr_assert_eq(wake_calls(&k), 1);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_CLOSED);
    lc_tx_drop(tx);
    cr_assert_eq(counter_live_bytes(&cnt), 0);
}

Test(poll_send, closed_at_once_on_a_closed_channel)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    lc_rx_close(rx);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 1;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_CLOSED);
    cr_assert_eq(wake_calls(&k), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* A slot granted just before the receiver went is still used: the send is accepted, and the
 * message then reaches cfg->drop exactly once, with nothing leaked. */
Test(poll_send, granted_slot_after_the_receiver_went)
{
    struct counter cnt;
    counter_init(&cnt);
    struct drop_log log;
    drop_log_init(&log, sizeof(uint64_t));
    lc_config cfg = {.capacity = 1, .allocator = &cnt.allocator, .drop = drop_copy,
                     .drop_ctx = &log};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, &tx, &rx), LC_OK);
    uint64_t msg;
    msg_fill(&msg, sizeof msg, 1);
    cr_assert_eq(lc_try_send(tx, &msg), LC_OK);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    msg_fill(&msg, sizeof msg, 2);
    cr_assert_eq(lc_poll_send(tx, &msg, &w, &k.waker), LC_PENDING);
    uint64_t out;
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(wake_calls(&k), 1);
    lc_rx_drop(rx);
    int rc = lc_poll_send(tx, &msg, &w, &k.waker);
    cr_assert(rc == LC_OK || rc == LC_CLOSED, "lc_poll_send returned %d", rc);
    lc_tx_drop(tx);
    cr_assert_eq(atomic_load(&log.seen[2]), rc == LC_OK ? 1u : 0u);
    cr_assert_eq(atomic_load(&log.seen[1]), 0u, "a received message was dropped");
    cr_assert_eq(atomic_load(&log.bad), 0);
    cr_assert_eq(counter_live_bytes(&cnt), 0);
    cr_assert_eq(atomic_load(&cnt.bad_frees), 0);
}

Test(poll_send, nomem_with_room_takes_no_slot)
{
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.capacity = 1, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, &tx, &rx), LC_OK);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 3;
    counter_fail_next(&cnt);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_NOMEM);
    cr_assert_eq(lc_rx_len(rx), 0, "the failed send kept its slot");
    cr_assert_eq(counter_live_bytes(&cnt), CHAN_BYTES);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_OK, "the record is idle after NOMEM");
    cr_assert_eq(recv_one(rx), 3);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_bytes(&cnt), 0);
}

Test(poll_send, nomem_after_a_grant_passes_the_slot_on)
{
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.capacity = 1, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, &tx, &rx), LC_OK);
    fill(tx, 1);
    lc_send_wait wa = {0}, wb = {0};
    struct wake_count ka, kb;
    wake_count_init(&ka);
    wake_count_init(&kb);
    uint64_t a = 1, b = 2;
    cr_assert_eq(lc_poll_send(tx, &a, &wa, &ka.waker), LC_PENDING);
    cr_assert_eq(lc_poll_send(tx, &b, &wb, &kb.waker), LC_PENDING);
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(wake_calls(&ka), 1);
    counter_fail_next(&cnt);
    cr_assert_eq(lc_poll_send(tx, &a, &wa, &ka.waker), LC_NOMEM);
    cr_assert_eq(wake_calls(&kb), 1, "the slot of the failed send was not passed on");
    cr_assert_eq(lc_poll_send(tx, &b, &wb, &kb.waker), LC_OK);
    cr_assert_eq(lc_rx_len(rx), 1);
    /* wa is idle again: it may wait anew, and then behind nobody. */
    cr_assert_eq(lc_poll_send(tx, &a, &wa, &ka.waker), LC_PENDING);
    cr_assert_eq(recv_one(rx), 2);
    cr_assert_eq(wake_calls(&ka), 2);
    cr_assert_eq(lc_poll_send(tx, &a, &wa, &ka.waker), LC_OK);
    cr_assert_eq(recv_one(rx), 1);
    cr_assert_eq(lc_rx_len(rx), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_bytes(&cnt), 0);
    cr_assert_eq(atomic_load(&cnt.bad_frees), 0);
}

Test(poll_send, nomem_after_a_grant_returns_the_slot_to_the_channel)
{
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.capacity = 1, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, &tx, &rx), LC_OK);
    fill(tx, 1);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 1;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    cr_assert_eq(recv_one(rx), 0);
    counter_fail_next(&cnt);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_NOMEM);
    cr_assert_eq(lc_rx_len(rx), 0, "the slot was lost");
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_bytes(&cnt), 0);
}

Test(poll_send, nomem_after_a_grant_lets_a_blocked_sender_proceed, .timeout = 20)
{
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.capacity = 1, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, &tx, &rx), LC_OK);
    fill(tx, 1);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 1;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    struct worker blocked = {.tx = tx, .value = 2};
    worker_start(&blocked, worker_send);
    cr_assert(worker_wait_blocked(&blocked));
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(wake_calls(&k), 1);
    counter_fail_next(&cnt);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_NOMEM);
    cr_assert_eq(worker_join(&blocked), LC_OK, "the blocked sender did not get the slot");
    cr_assert_eq(recv_one(rx), 2);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_bytes(&cnt), 0);
}

Test(poll_send, rejects_bad_input)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    lc_waker no_fn = {NULL, &k};
    uint64_t v = 1;
    cr_assert_eq(lc_poll_send(NULL, &v, &w, &k.waker), LC_INVALID);
    cr_assert_eq(lc_poll_send(tx, &v, NULL, &k.waker), LC_INVALID);
    cr_assert_eq(lc_poll_send(tx, &v, &w, NULL), LC_INVALID);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &no_fn), LC_INVALID);
    cr_assert_eq(lc_poll_send(tx, NULL, &w, &k.waker), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 0, "an LC_INVALID call sent something");
    /* Also while full, and while the record is pending: nothing changes. */
    fill(tx, 1);
    cr_assert_eq(lc_poll_send(tx, NULL, &w, &k.waker), LC_INVALID);
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(wake_calls(&k), 0, "an LC_INVALID call joined the waiters");
    fill(tx, 1);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    cr_assert_eq(lc_poll_send(tx, NULL, &w, &k.waker), LC_INVALID);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &no_fn), LC_INVALID);
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(wake_calls(&k), 1, "an LC_INVALID re-poll lost the wait");
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_OK);
    cr_assert_eq(recv_one(rx), 1);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(poll_send, rejects_an_intrusive_channel)
{
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel_intrusive(NULL, &tx, &rx), LC_OK);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    struct item it = {.seq = 1};
    cr_assert_eq(lc_poll_send(tx, &it.node, &w, &k.waker), LC_INVALID);
    cr_assert_eq(lc_poll_send(tx, NULL, &w, &k.waker), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(poll_send, zero_size_messages_with_null_msg)
{
    lc_tx *tx;
    lc_rx *rx;
    lc_config cfg = {.capacity = 1};
    cr_assert_eq(lc_channel(0, &cfg, &tx, &rx), LC_OK);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    cr_assert_eq(lc_poll_send(tx, NULL, &w, &k.waker), LC_OK);
    cr_assert_eq(lc_poll_send(tx, NULL, &w, &k.waker), LC_PENDING);
    cr_assert_eq(lc_try_recv(rx, NULL), LC_OK);
    cr_assert_eq(wake_calls(&k), 1);
    cr_assert_eq(lc_poll_send(tx, NULL, &w, &k.waker), LC_OK);
    cr_assert_eq(lc_try_recv(rx, NULL), LC_OK);
    cr_assert_eq(lc_try_recv(rx, NULL), LC_EMPTY);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* After LC_OK and after LC_CLOSED the record is idle: it may wait on another channel. */
Test(poll_send, record_is_reusable_after_ok_and_closed)
{
    lc_tx *tx1, *tx2, *tx3;
    lc_rx *rx1, *rx2, *rx3;
    open_u64(1, &tx1, &rx1);
    open_u64(1, &tx2, &rx2);
    open_u64(1, &tx3, &rx3);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 1;

    fill(tx1, 1);
    cr_assert_eq(lc_poll_send(tx1, &v, &w, &k.waker), LC_PENDING);
    cr_assert_eq(recv_one(rx1), 0);
    cr_assert_eq(lc_poll_send(tx1, &v, &w, &k.waker), LC_OK);

    v = 2;
    fill(tx2, 1);
    cr_assert_eq(lc_poll_send(tx2, &v, &w, &k.waker), LC_PENDING, "reuse after LC_OK");
    lc_rx_close(rx2);
    cr_assert_eq(wake_calls(&k), 2);
    cr_assert_eq(lc_poll_send(tx2, &v, &w, &k.waker), LC_CLOSED);

    v = 3;
    fill(tx3, 1);
    cr_assert_eq(lc_poll_send(tx3, &v, &w, &k.waker), LC_PENDING, "reuse after LC_CLOSED");
    cr_assert_eq(recv_one(rx3), 0);
    cr_assert_eq(wake_calls(&k), 3);
    cr_assert_eq(lc_poll_send(tx3, &v, &w, &k.waker), LC_OK);
    cr_assert_eq(recv_one(rx3), 3);
    cr_assert_eq(recv_one(rx1), 1);

    lc_tx_drop(tx1);
    lc_tx_drop(tx2);
    lc_tx_drop(tx3);
    lc_rx_drop(rx1);
    lc_rx_drop(rx2);
    lc_rx_drop(rx3);
}

/* The waker runs on the thread that frees the slot. */
Test(poll_send, woken_by_a_receive_on_another_thread, .timeout = 20)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    fill(tx, 1);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 33;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    struct worker r = {.rx = rx};
    worker_start(&r, worker_recv);
    cr_assert_eq(worker_join(&r), LC_OK);
    cr_assert_eq(r.value, 0);
    cr_assert_eq(wake_calls(&k), 1);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_OK);
    r.value = 0;
    worker_start(&r, worker_recv);
    cr_assert_eq(worker_join(&r), LC_OK);
    cr_assert_eq(r.value, 33);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* ---- lc_send_cancel ---- */

Test(send_cancel, pending_wait_sends_nothing_and_is_not_woken)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    fill(tx, 1);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 5;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    cr_assert_eq(lc_send_cancel(tx, &w), LC_OK);
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(wake_calls(&k), 0, "a cancelled wait was woken");
    uint64_t out;
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY, "a cancelled wait sent its message");
    cr_assert_eq(lc_rx_len(rx), 0, "the freed slot went to the cancelled wait");
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    lc_rx_close(rx);
    cr_assert_eq(wake_calls(&k), 0, "a cancelled wait was woken by the close");
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_cancel, pending_wait_leaves_its_place_to_the_next)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    fill(tx, 1);
    lc_send_wait wa = {0}, wb = {0};
    struct wake_count ka, kb;
    wake_count_init(&ka);
    wake_count_init(&kb);
    uint64_t a = 1, b = 2;
    cr_assert_eq(lc_poll_send(tx, &a, &wa, &ka.waker), LC_PENDING);
    cr_assert_eq(lc_poll_send(tx, &b, &wb, &kb.waker), LC_PENDING);
    cr_assert_eq(lc_send_cancel(tx, &wa), LC_OK);
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(wake_calls(&ka), 0);
    cr_assert_eq(wake_calls(&kb), 1);
    cr_assert_eq(lc_poll_send(tx, &b, &wb, &kb.waker), LC_OK);
    cr_assert_eq(recv_one(rx), 2);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* The last waiter cancelled: a later free slot goes back to the count, not to a ghost. */
Test(send_cancel, last_pending_wait_restores_plain_room)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(2, &tx, &rx);
    fill(tx, 2);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 9;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    cr_assert_eq(lc_send_cancel(tx, &w), LC_OK);
    uint64_t out[2];
    cr_assert_eq(lc_try_recv_many(rx, out, 2), 2);
    cr_assert_eq(lc_rx_len(rx), 0);
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(wake_calls(&k), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_cancel, granted_wait_passes_its_slot_to_the_next_wait)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    fill(tx, 1);
    lc_send_wait wa = {0}, wb = {0};
    struct wake_count ka, kb;
    wake_count_init(&ka);
    wake_count_init(&kb);
    uint64_t a = 1, b = 2;
    cr_assert_eq(lc_poll_send(tx, &a, &wa, &ka.waker), LC_PENDING);
    cr_assert_eq(lc_poll_send(tx, &b, &wb, &kb.waker), LC_PENDING);
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(wake_calls(&ka), 1);
    cr_assert_eq(wake_calls(&kb), 0);
    cr_assert_eq(lc_send_cancel(tx, &wa), LC_OK);
    cr_assert_eq(wake_calls(&kb), 1, "the cancelled grant swallowed the next waiter's wake-up");
    cr_assert_eq(lc_poll_send(tx, &b, &wb, &kb.waker), LC_OK);
    cr_assert_eq(recv_one(rx), 2);
    uint64_t out;
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY, "the cancelled wait sent its message");
    cr_assert_eq(wake_calls(&ka), 1);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_cancel, granted_wait_passes_its_slot_to_a_blocked_sender, .timeout = 20)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    fill(tx, 1);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 1;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    struct worker blocked = {.tx = tx, .value = 2};
    worker_start(&blocked, worker_send);
    cr_assert(worker_wait_blocked(&blocked));
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(wake_calls(&k), 1);
    cr_assert(worker_wait_blocked(&blocked), "the blocked sender overtook the older wait");
    cr_assert_eq(lc_send_cancel(tx, &w), LC_OK);
    cr_assert_eq(worker_join(&blocked), LC_OK, "the blocked sender never got the slot");
    cr_assert_eq(recv_one(rx), 2);
    cr_assert_eq(lc_rx_len(rx), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_cancel, granted_wait_with_no_other_waiter_gives_the_slot_back)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    fill(tx, 1);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 1;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(lc_rx_len(rx), 1, "the granted slot is counted");
    cr_assert_eq(lc_send_cancel(tx, &w), LC_OK);
    cr_assert_eq(lc_rx_len(rx), 0, "the cancelled grant kept its slot");
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(lc_try_send(tx, &v), LC_FULL);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_cancel, idle_record_is_ok_and_stays_usable)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    lc_send_wait w = {0};
    cr_assert_eq(lc_send_cancel(tx, &w), LC_OK);
    cr_assert_eq(lc_send_cancel(tx, &w), LC_OK);
    cr_assert_eq(lc_rx_len(rx), 0);
    uint64_t v = 4;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK, "cancelling an idle record changed the count");
    struct wake_count k;
    wake_count_init(&k);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    cr_assert_eq(recv_one(rx), 4);
    cr_assert_eq(wake_calls(&k), 1);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_OK);
    /* Idle again after LC_OK, and after LC_CLOSED. */
    cr_assert_eq(lc_send_cancel(tx, &w), LC_OK);
    cr_assert_eq(lc_rx_len(rx), 1, "cancelling after LC_OK undid the send");
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    lc_rx_close(rx);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_CLOSED);
    cr_assert_eq(lc_send_cancel(tx, &w), LC_OK);
    cr_assert_eq(lc_rx_len(rx), 1);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* Closed while pending, then cancelled instead of polled: the wait is simply over. */
Test(send_cancel, after_close_wake_is_ok)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    fill(tx, 1);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 1;
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    lc_rx_close(rx);
    cr_assert_eq(wake_calls(&k), 1);
    cr_assert_eq(lc_send_cancel(tx, &w), LC_OK);
    cr_assert_eq(lc_rx_len(rx), 1);
    cr_assert_eq(recv_one(rx), 0);
    uint64_t out;
    cr_assert_eq(lc_try_recv(rx, &out), LC_CLOSED);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_cancel, rejects_null)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    fill(tx, 1);
    lc_send_wait w = {0};
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 1;
    cr_assert_eq(lc_send_cancel(NULL, NULL), LC_INVALID);
    cr_assert_eq(lc_send_cancel(tx, NULL), LC_INVALID);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_PENDING);
    cr_assert_eq(lc_send_cancel(NULL, &w), LC_INVALID);
    /* The wait is still pending: it gets the next slot. */
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(wake_calls(&k), 1, "an LC_INVALID cancel withdrew the wait");
    cr_assert_eq(lc_poll_send(tx, &v, &w, &k.waker), LC_OK);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* Memory: the record is the caller's, so waiting allocates nothing; a cancelled wait leaves
 * nothing behind. */
Test(send_cancel, waiting_and_cancelling_allocate_nothing)
{
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.capacity = 1, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, &tx, &rx), LC_OK);
    fill(tx, 1);
    size_t attempts = atomic_load(&cnt.attempts);
    lc_send_wait w[4];
    memset(w, 0, sizeof w);
    struct wake_count k;
    wake_count_init(&k);
    uint64_t v = 1;
    for (int i = 0; i < 4; i++)
        cr_assert_eq(lc_poll_send(tx, &v, &w[i], &k.waker), LC_PENDING);
    cr_assert_eq(atomic_load(&cnt.attempts), attempts, "a pending wait allocated");
    for (int i = 3; i >= 0; i--)
        cr_assert_eq(lc_send_cancel(tx, &w[i]), LC_OK);
    cr_assert_eq(atomic_load(&cnt.attempts), attempts);
    cr_assert_eq(recv_one(rx), 0);
    cr_assert_eq(counter_live_bytes(&cnt), CHAN_BYTES);
    cr_assert_eq(wake_calls(&k), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_bytes(&cnt), 0);
}

/* A granted wait cancelled after lc_rx_close gives back the last slot: that is the end of
 * stream, and a receiver waiting for it must be woken (it used to sleep on). */
Test(send_cancel, cancel_after_close_wakes_the_receiver_at_end_of_stream)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    struct wake_count sender, receiver;
    wake_count_init(&sender);
    wake_count_init(&receiver);
    uint64_t v = 1, out;
    lc_send_wait w = {0};
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(lc_poll_send(tx, &v, &w, &sender.waker), LC_PENDING);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK); /* grants the slot to w */
    cr_assert_eq(wake_calls(&sender), 1);
    lc_rx_close(rx);
    cr_assert_eq(lc_poll_recv(rx, &out, &receiver.waker), LC_PENDING, "the slot is still held");
    cr_assert_eq(lc_send_cancel(tx, &w), LC_OK);
    cr_assert_eq(wake_calls(&receiver), 1, "the end of stream did not wake the receiver");
    cr_assert_eq(lc_try_recv(rx, &out), LC_CLOSED);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}
