/* Handles: lc_tx_clone, lc_tx_drop, lc_rx_close, lc_rx_drop, and the inspection calls. */
#include <criterion/criterion.h>

#include "helpers.h"

static void open_u64(size_t capacity, lc_tx **tx, lc_rx **rx)
{
    lc_config cfg = {.capacity = capacity};
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, tx, rx), LC_OK);
}

Test(handles, tx_clone_returns_same_pointer_and_counts_a_sender)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    cr_assert_eq(lc_sender_count(rx), 1);
    lc_tx *a = lc_tx_clone(tx);
    cr_assert_eq(a, tx);
    cr_assert_eq(lc_sender_count(rx), 2);
    lc_tx *b = lc_tx_clone(a);
    cr_assert_eq(b, tx);
    cr_assert_eq(lc_sender_count(rx), 3);
    lc_tx_drop(b);
    cr_assert_eq(lc_sender_count(rx), 2);
    lc_tx_drop(a);
    cr_assert_eq(lc_sender_count(rx), 1);
    lc_tx_drop(tx);
    cr_assert_eq(lc_sender_count(rx), 0);
    lc_rx_drop(rx);
}

Test(handles, tx_clone_of_null_is_null)
{
    cr_assert_null(lc_tx_clone(NULL));
}

Test(handles, clone_sends_into_the_same_channel)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    lc_tx *clone = lc_tx_clone(tx);
    uint64_t v = 5, out = 0;
    cr_assert_eq(lc_try_send(clone, &v), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 5);
    lc_tx_drop(clone);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(handles, end_of_stream_only_after_every_clone_is_dropped)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    lc_tx *c1 = lc_tx_clone(tx);
    lc_tx *c2 = lc_tx_clone(tx);
    cr_assert_not_null(c1);
    cr_assert_not_null(c2);
    uint64_t v = 1, out;
    cr_assert_eq(lc_try_send(c2, &v), LC_OK);
    lc_tx_drop(tx);
    lc_tx_drop(c2);
    cr_assert_eq(lc_sender_count(rx), 1);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY, "end of stream with a sender left");
    cr_assert_eq(lc_recv_timeout(rx, &out, 0), LC_TIMEDOUT);
    lc_tx_drop(c1);
    cr_assert_eq(lc_try_recv(rx, &out), LC_CLOSED);
    lc_rx_drop(rx);
}

Test(handles, drop_and_close_accept_null)
{
    lc_tx_drop(NULL);
    lc_rx_drop(NULL);
    lc_rx_close(NULL);
    /* Still alive, and a real channel is unaffected. */
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    cr_assert_eq(lc_sender_count(rx), 1);
    cr_assert_not(lc_tx_is_closed(tx));
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(handles, rx_close_is_idempotent)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    uint64_t v = 9, out = 0;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    lc_rx_close(rx);
    lc_rx_close(rx);
    cr_assert(lc_tx_is_closed(tx));
    cr_assert_eq(lc_try_send(tx, &v), LC_CLOSED);
    lc_rx_close(rx);
    cr_assert_eq(lc_rx_len(rx), 1, "closing again lost the queued message");
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 9);
    cr_assert_eq(lc_try_recv(rx, &out), LC_CLOSED);
    lc_rx_close(rx);
    cr_assert_eq(lc_try_recv(rx, &out), LC_CLOSED);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(handles, rx_len_counts_queued_messages)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    cr_assert_eq(lc_rx_len(rx), 0);
    for (uint64_t i = 1; i <= 5; i++) {
        cr_assert_eq(lc_try_send(tx, &i), LC_OK);
        cr_assert_eq(lc_rx_len(rx), i);
    }
    uint64_t out;
    for (size_t left = 5; left-- > 0;) {
        cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
        cr_assert_eq(lc_rx_len(rx), left);
    }
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
    cr_assert_eq(lc_rx_len(rx), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(handles, rx_len_of_null_is_zero)
{
    cr_assert_eq(lc_rx_len(NULL), 0);
}

Test(handles, failed_sends_do_not_count_in_rx_len)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    uint64_t v = 1;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(lc_try_send(tx, &v), LC_FULL);
    cr_assert_eq(lc_send_timeout(tx, &v, 0), LC_TIMEDOUT);
    cr_assert_eq(lc_try_send(tx, NULL), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 1);
    lc_rx_close(rx);
    cr_assert_eq(lc_try_send(tx, &v), LC_CLOSED);
    cr_assert_eq(lc_rx_len(rx), 1);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(handles, tx_is_closed_false_while_open)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    cr_assert_not(lc_tx_is_closed(tx));
    lc_tx *clone = lc_tx_clone(tx);
    lc_tx_drop(clone);
    cr_assert_not(lc_tx_is_closed(tx), "dropping a clone closed the channel");
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(handles, tx_is_closed_true_after_rx_close)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    lc_rx_close(rx);
    cr_assert(lc_tx_is_closed(tx));
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(handles, tx_is_closed_true_after_rx_drop)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    lc_rx_drop(rx);
    cr_assert(lc_tx_is_closed(tx));
    lc_tx_drop(tx);
}

Test(handles, tx_is_closed_true_for_null)
{
    cr_assert(lc_tx_is_closed(NULL));
}

Test(handles, sender_count_of_null_is_zero)
{
    cr_assert_eq(lc_sender_count(NULL), 0);
}

Test(handles, sender_count_survives_rx_close)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    lc_tx *clone = lc_tx_clone(tx);
    lc_rx_close(rx);
    cr_assert_eq(lc_sender_count(rx), 2);
    lc_tx_drop(clone);
    cr_assert_eq(lc_sender_count(rx), 1);
    lc_tx_drop(tx);
    cr_assert_eq(lc_sender_count(rx), 0);
    lc_rx_drop(rx);
}
