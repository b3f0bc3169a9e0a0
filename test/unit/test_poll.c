/* lc_poll_recv and the waker it registers. */
#include <criterion/criterion.h>

#include "helpers.h"

static void open_u64(size_t capacity, lc_tx **tx, lc_rx **rx)
{
    lc_config cfg = {.capacity = capacity};
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, tx, rx), LC_OK);
}

Test(poll, pending_then_waker_called_exactly_once_by_later_sends)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct wake_count wc;
    wake_count_init(&wc);
    uint64_t out = 0;
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_PENDING);
    cr_assert_eq(wake_calls(&wc), 0);
    uint64_t v = 10;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(wake_calls(&wc), 1, "the send did not wake the receiver");
    v = 11;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(wake_calls(&wc), 1, "the waker was called twice for one registration");
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_OK);
    cr_assert_eq(out, 10);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_OK);
    cr_assert_eq(out, 11);
    cr_assert_eq(wake_calls(&wc), 1);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(poll, each_registration_is_woken_once)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct wake_count wc;
    wake_count_init(&wc);
    uint64_t out;
    for (uint64_t i = 0; i < 5; i++) {
        cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_PENDING);
        cr_assert_eq(lc_try_send(tx, &i), LC_OK);
        cr_assert_eq(wake_calls(&wc), (int)i + 1);
        cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_OK);
        cr_assert_eq(out, i);
    }
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(poll, waker_not_called_when_nothing_arrives)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    lc_tx *clone = lc_tx_clone(tx);
    struct wake_count wc;
    wake_count_init(&wc);
    uint64_t out;
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_PENDING);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_PENDING, "polling again with the same waker");
    lc_tx_drop(clone); /* not the last sender */
    cr_assert_eq(lc_rx_len(rx), 0);
    cr_assert_eq(wake_calls(&wc), 0, "woken although nothing happened");
    /* lc_rx_drop forgets the waker: the last lc_tx_drop after it does not call it. */
    lc_rx_drop(rx);
    lc_tx_drop(tx);
    cr_assert_eq(wake_calls(&wc), 0, "the waker was called after lc_rx_drop forgot it");
}

Test(poll, failed_sends_do_not_wake)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    struct wake_count wc;
    wake_count_init(&wc);
    uint64_t out, v = 1;
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_PENDING);
    cr_assert_eq(lc_try_send(tx, NULL), LC_INVALID);
    cr_assert_eq(wake_calls(&wc), 0);
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(wake_calls(&wc), 1);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(poll, replaced_waker_is_not_called)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct wake_count a, b, c;
    wake_count_init(&a);
    wake_count_init(&b);
    wake_count_init(&c);
    uint64_t out, v = 3;
    cr_assert_eq(lc_poll_recv(rx, &out, &a.waker), LC_PENDING);
    cr_assert_eq(lc_poll_recv(rx, &out, &b.waker), LC_PENDING);
    cr_assert_eq(lc_poll_recv(rx, &out, &c.waker), LC_PENDING);
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(wake_calls(&a), 0, "a replaced waker was called");
    cr_assert_eq(wake_calls(&b), 0, "a replaced waker was called");
    cr_assert_eq(wake_calls(&c), 1, "the newest waker was not called");
    lc_tx_drop(tx);
    cr_assert_eq(wake_calls(&a) + wake_calls(&b), 0);
    lc_rx_drop(rx);
}

/* lc_recv and lc_recv_timeout forget a waker lc_poll_recv registered, even when they return
 * without parking. */
Test(poll, blocking_receive_forgets_the_poll_waker_whatever_it_returns)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct wake_count a, b;
    wake_count_init(&a);
    wake_count_init(&b);
    uint64_t out = 0, v = 5;

    /* Timed out at once, without parking. */
    cr_assert_eq(lc_poll_recv(rx, &out, &a.waker), LC_PENDING);
    cr_assert_eq(lc_recv_timeout(rx, &out, 0), LC_TIMEDOUT);
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(wake_calls(&a), 0, "a waker kept after lc_recv_timeout returned");
    cr_assert_eq(lc_recv(rx, &out), LC_OK);

    /* Closed at once, without parking. */
    cr_assert_eq(lc_poll_recv(rx, &out, &b.waker), LC_PENDING);
    lc_rx_close(rx);
    cr_assert_eq(lc_recv(rx, &out), LC_CLOSED);
    lc_tx_drop(tx); /* the last sender: would call a registered waker */
    cr_assert_eq(wake_calls(&b), 0, "a waker kept after lc_recv returned");
    lc_rx_drop(rx);
}

Test(poll, waker_called_on_last_tx_drop_then_closed)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    lc_tx *clone = lc_tx_clone(tx);
    struct wake_count wc;
    wake_count_init(&wc);
    uint64_t out;
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_PENDING);
    lc_tx_drop(clone);
    cr_assert_eq(wake_calls(&wc), 0, "woken by a drop that was not the last");
    lc_tx_drop(tx);
    cr_assert_eq(wake_calls(&wc), 1, "the last lc_tx_drop did not wake the receiver");
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_CLOSED);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_CLOSED);
    lc_rx_drop(rx);
    cr_assert_eq(wake_calls(&wc), 1);
}

Test(poll, last_tx_drop_wakes_and_queued_messages_come_first)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct wake_count wc;
    wake_count_init(&wc);
    uint64_t out, v = 1;
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_PENDING);
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(wake_calls(&wc), 1);
    lc_tx_drop(tx);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_OK);
    cr_assert_eq(out, 1);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_CLOSED);
    lc_rx_drop(rx);
}

Test(poll, ok_when_ready_and_waker_not_called_later)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct wake_count wc;
    wake_count_init(&wc);
    uint64_t out = 0, v = 21;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_OK);
    cr_assert_eq(out, 21);
    v = 22;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    lc_tx_drop(tx);
    cr_assert_eq(wake_calls(&wc), 0, "a waker given to a poll that returned LC_OK was kept");
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 22);
    lc_rx_drop(rx);
}

Test(poll, closed_after_rx_close_once_drained)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct wake_count wc;
    wake_count_init(&wc);
    uint64_t out, v = 5;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    lc_rx_close(rx);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_OK);
    cr_assert_eq(out, 5);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_CLOSED);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* The header: "On any return other than LC_PENDING the waker is not kept". */
Test(poll, closed_return_does_not_keep_the_waker)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct wake_count wc;
    wake_count_init(&wc);
    uint64_t out;
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_PENDING);
    lc_rx_close(rx);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_CLOSED);
    int calls = wake_calls(&wc);
    cr_assert_leq(calls, 1);
    /* The caller may now free the waker; the library must not call it any more. */
    lc_tx_drop(tx);
    cr_assert_eq(wake_calls(&wc), calls,
                 "lc_poll_recv returned LC_CLOSED, but the last lc_tx_drop still called its waker");
    lc_rx_drop(rx);
}

/* The header: "a later lc_poll_recv replaces it, and a waker that was replaced ... is no longer
 * referenced". */
Test(poll, later_poll_returning_closed_forgets_the_earlier_waker)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct wake_count first, second;
    wake_count_init(&first);
    wake_count_init(&second);
    uint64_t out;
    cr_assert_eq(lc_poll_recv(rx, &out, &first.waker), LC_PENDING);
    lc_rx_close(rx);
    cr_assert_eq(lc_poll_recv(rx, &out, &second.waker), LC_CLOSED);
    lc_tx_drop(tx);
    cr_assert_eq(wake_calls(&first), 0,
                 "a waker replaced by a later lc_poll_recv was called by the last lc_tx_drop");
    cr_assert_leq(wake_calls(&second), 1);
    lc_rx_drop(rx);
}

Test(poll, zero_size_messages_poll_with_null_out)
{
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(0, NULL, &tx, &rx), LC_OK);
    struct wake_count wc;
    wake_count_init(&wc);
    cr_assert_eq(lc_poll_recv(rx, NULL, &wc.waker), LC_PENDING);
    cr_assert_eq(lc_try_send(tx, NULL), LC_OK);
    cr_assert_eq(wake_calls(&wc), 1);
    cr_assert_eq(lc_poll_recv(rx, NULL, &wc.waker), LC_OK);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(poll, rejects_bad_input)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct wake_count wc;
    wake_count_init(&wc);
    uint64_t out, v = 1;
    cr_assert_eq(lc_poll_recv(rx, &out, NULL), LC_INVALID);
    cr_assert_eq(lc_poll_recv(NULL, &out, &wc.waker), LC_INVALID);
    cr_assert_eq(lc_poll_recv(rx, NULL, &wc.waker), LC_INVALID);
    /* None of them registered anything, or took a message. */
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(wake_calls(&wc), 0);
    cr_assert_eq(lc_poll_recv(rx, &out, NULL), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 1, "an LC_INVALID poll took the message");
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* ---- across threads ---- */

static void *send_one(void *arg)
{
    uint64_t v = 77;
    lc_tx *tx = arg;
    if (lc_send(tx, &v) != LC_OK)
        return (void *)1;
    return NULL;
}

static void *drop_tx(void *arg)
{
    lc_tx_drop(arg);
    return NULL;
}

Test(poll, waker_is_called_by_a_send_on_another_thread, .timeout = 10)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(4, &tx, &rx);
    struct wake_count wc;
    wake_count_init(&wc);
    uint64_t out = 0;
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_PENDING);
    pthread_t t;
    void *res;
    cr_assert_eq(pthread_create(&t, NULL, send_one, tx), 0);
    while (wake_calls(&wc) == 0)
        sleep_ms(1);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_OK);
    cr_assert_eq(out, 77);
    pthread_join(t, &res);
    cr_assert_null(res);
    cr_assert_eq(wake_calls(&wc), 1);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(poll, waker_is_called_by_last_tx_drop_on_another_thread, .timeout = 10)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct wake_count wc;
    wake_count_init(&wc);
    uint64_t out = 0;
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_PENDING);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, drop_tx, tx), 0);
    while (wake_calls(&wc) == 0)
        sleep_ms(1);
    pthread_join(t, NULL);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_CLOSED);
    cr_assert_eq(wake_calls(&wc), 1);
    lc_rx_drop(rx);
}
