/* Copy-mode send and receive: codes, exact bytes, capacity, FIFO, blocking and timeouts. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <string.h>

#include "helpers.h"

#define MS 1000000ull /* nanoseconds */

static void open_u64(size_t capacity, lc_tx **tx, lc_rx **rx)
{
    lc_config cfg = {.capacity = capacity};
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, tx, rx), LC_OK);
}

/* ---- lc_try_send / lc_try_recv ---- */

Test(send_recv, try_recv_gets_the_exact_bytes_sent)
{
    const size_t size = 37;
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(size, NULL, &tx, &rx), LC_OK);
    unsigned char in[37], out[37 + 8];
    msg_fill(in, size, 1234);
    memset(out, 0xee, sizeof out);
    cr_assert_eq(lc_try_send(tx, in), LC_OK);
    memset(in, 0, sizeof in); /* the channel holds its own copy */
    cr_assert_eq(lc_try_recv(rx, out), LC_OK);
    cr_assert(msg_check(out, size, 1234), "received bytes differ from those sent");
    for (size_t i = size; i < sizeof out; i++)
        cr_assert_eq(out[i], 0xee, "lc_try_recv wrote past msg_size at byte %zu", i);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, try_recv_on_empty_channel_is_empty)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    uint64_t out = 77;
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
    cr_assert_eq(out, 77, "out written on LC_EMPTY");
    uint64_t v = 1;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

static void full_exactly_at(size_t capacity)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(capacity, &tx, &rx);
    for (uint64_t i = 0; i < capacity; i++)
        cr_assert_eq(lc_try_send(tx, &i), LC_OK, "send %llu of capacity %zu", (unsigned long long)i,
                     capacity);
    uint64_t extra = 999999;
    cr_assert_eq(lc_try_send(tx, &extra), LC_FULL, "capacity %zu", capacity);
    cr_assert_eq(lc_try_send(tx, &extra), LC_FULL, "capacity %zu, second try", capacity);
    cr_assert_eq(lc_rx_len(rx), capacity);
    uint64_t out;
    for (uint64_t i = 0; i < capacity; i++) {
        cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
        cr_assert_eq(out, i);
    }
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY, "a send that got LC_FULL was queued");
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, try_send_full_exactly_at_capacity_1) { full_exactly_at(1); }
Test(send_recv, try_send_full_exactly_at_capacity_16) { full_exactly_at(16); }
Test(send_recv, try_send_full_exactly_at_capacity_1024) { full_exactly_at(1024); }

Test(send_recv, one_receive_makes_room_for_exactly_one_send)
{
    const size_t n = 16;
    lc_tx *tx;
    lc_rx *rx;
    open_u64(n, &tx, &rx);
    uint64_t seq = 0, out;
    for (size_t i = 0; i < n; i++, seq++)
        cr_assert_eq(lc_try_send(tx, &seq), LC_OK);
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(lc_try_send(tx, &seq), LC_FULL);
        cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
        cr_assert_eq(lc_try_send(tx, &seq), LC_OK, "round %d", round);
        seq++;
        cr_assert_eq(lc_try_send(tx, &seq), LC_FULL, "round %d: two sends after one receive", round);
    }
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, unbounded_channel_is_never_full)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    for (uint64_t i = 0; i < 10000; i++)
        cr_assert_eq(lc_try_send(tx, &i), LC_OK, "send %llu", (unsigned long long)i);
    cr_assert_eq(lc_rx_len(rx), 10000);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, try_send_null_msg_is_ok_with_msg_size_zero)
{
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(0, NULL, &tx, &rx), LC_OK);
    cr_assert_eq(lc_try_send(tx, NULL), LC_OK);
    cr_assert_eq(lc_rx_len(rx), 1);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, zero_size_messages_are_counted)
{
    lc_tx *tx;
    lc_rx *rx;
    lc_config cfg = {.capacity = 3};
    cr_assert_eq(lc_channel(0, &cfg, &tx, &rx), LC_OK);
    char dummy = 'x';
    cr_assert_eq(lc_try_send(tx, NULL), LC_OK);
    cr_assert_eq(lc_try_send(tx, &dummy), LC_OK);
    cr_assert_eq(lc_send(tx, NULL), LC_OK);
    cr_assert_eq(lc_try_send(tx, NULL), LC_FULL);
    cr_assert_eq(lc_rx_len(rx), 3);
    char out = 'y';
    cr_assert_eq(lc_try_recv(rx, NULL), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 'y', "a zero-size receive wrote to out");
    cr_assert_eq(lc_recv(rx, NULL), LC_OK);
    cr_assert_eq(lc_try_recv(rx, NULL), LC_EMPTY);
    lc_tx_drop(tx);
    cr_assert_eq(lc_try_recv(rx, NULL), LC_CLOSED);
    lc_rx_drop(rx);
}

Test(send_recv, try_send_rejects_null_tx)
{
    uint64_t v = 1;
    cr_assert_eq(lc_try_send(NULL, &v), LC_INVALID);
}

Test(send_recv, try_send_rejects_null_msg)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    cr_assert_eq(lc_try_send(tx, NULL), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 0);
    uint64_t out;
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, try_recv_rejects_null_rx)
{
    uint64_t out;
    cr_assert_eq(lc_try_recv(NULL, &out), LC_INVALID);
}

Test(send_recv, try_recv_rejects_null_out)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    uint64_t v = 4, out = 0;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(lc_try_recv(rx, NULL), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 1, "LC_INVALID consumed the message");
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 4);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* ---- FIFO ---- */

Test(send_recv, single_producer_is_fifo)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    uint64_t out;
    /* Interleave sends and receives, so the queue passes through empty and non-empty states. */
    uint64_t next_send = 0, next_recv = 0;
    for (int burst = 1; burst <= 64; burst++) {
        for (int i = 0; i < burst; i++, next_send++)
            cr_assert_eq(lc_try_send(tx, &next_send), LC_OK);
        for (int i = 0; i < burst / 2 + 1 && next_recv < next_send; i++, next_recv++) {
            cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
            cr_assert_eq(out, next_recv);
        }
    }
    while (next_recv < next_send) {
        cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
        cr_assert_eq(out, next_recv++);
    }
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

#define THREAD_MSGS 20000u

struct producer {
    lc_tx *tx;
    uint64_t id;
    int failed_rc; /* LC_OK, or the first failing code */
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    p->failed_rc = LC_OK;
    for (uint64_t i = 0; i < THREAD_MSGS; i++) {
        uint64_t v = p->id << 32 | i;
        int rc = lc_send(p->tx, &v);
        if (rc != LC_OK) {
            p->failed_rc = rc;
            break;
        }
    }
    lc_tx_drop(p->tx);
    return NULL;
}

Test(send_recv, blocking_producer_thread_is_fifo, .timeout = 10)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(16, &tx, &rx);
    struct producer p = {.tx = tx, .id = 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, produce, &p), 0);
    uint64_t out, expect = 0;
    int rc;
    while ((rc = lc_recv(rx, &out)) == LC_OK) {
        cr_assert_eq(out, expect, "got %llu, expected %llu", (unsigned long long)out,
                     (unsigned long long)expect);
        expect++;
    }
    pthread_join(t, NULL);
    cr_assert_eq(rc, LC_CLOSED);
    cr_assert_eq(p.failed_rc, LC_OK);
    cr_assert_eq(expect, THREAD_MSGS);
    lc_rx_drop(rx);
}

Test(send_recv, several_producers_are_each_fifo, .timeout = 10)
{
    enum { PRODUCERS = 4 };
    lc_tx *tx;
    lc_rx *rx;
    open_u64(64, &tx, &rx);
    struct producer p[PRODUCERS];
    pthread_t t[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        p[i] = (struct producer){.tx = i == 0 ? tx : lc_tx_clone(tx), .id = (uint64_t)i};
        cr_assert_not_null(p[i].tx);
    }
    for (int i = 0; i < PRODUCERS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, produce, &p[i]), 0);
    uint64_t next[PRODUCERS] = {0}, out;
    int rc;
    while ((rc = lc_recv(rx, &out)) == LC_OK) {
        uint64_t id = out >> 32, seq = out & 0xffffffffu;
        cr_assert_lt(id, PRODUCERS);
        cr_assert_eq(seq, next[id], "producer %llu: got %llu, expected %llu", (unsigned long long)id,
                     (unsigned long long)seq, (unsigned long long)next[id]);
        next[id]++;
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(rc, LC_CLOSED);
    for (int i = 0; i < PRODUCERS; i++) {
        cr_assert_eq(p[i].failed_rc, LC_OK);
        cr_assert_eq(next[i], THREAD_MSGS, "producer %d", i);
    }
    lc_rx_drop(rx);
}

/* ---- lc_send ---- */

Test(send_recv, send_on_room_is_ok)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(2, &tx, &rx);
    uint64_t v = 11, out;
    cr_assert_eq(lc_send(tx, &v), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 11);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, send_rejects_bad_input)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    uint64_t v = 1;
    cr_assert_eq(lc_send(NULL, &v), LC_INVALID);
    cr_assert_eq(lc_send(tx, NULL), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, send_blocked_on_full_channel_is_woken_by_a_receive, .timeout = 10)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    uint64_t first = 1, out;
    cr_assert_eq(lc_try_send(tx, &first), LC_OK);
    struct worker w = {.tx = tx, .value = 2};
    worker_start(&w, worker_send);
    cr_assert(worker_wait_blocked(&w), "lc_send returned %d on a full channel", w.rc);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 1);
    cr_assert_eq(worker_join(&w), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 2);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, waiting_senders_are_served_in_fifo_order, .timeout = 10)
{
    enum { WAITERS = 5 };
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    uint64_t first = 0, out;
    cr_assert_eq(lc_try_send(tx, &first), LC_OK);
    struct worker w[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        w[i] = (struct worker){.tx = tx, .value = (uint64_t)i + 1};
        worker_start(&w[i], worker_send);
        cr_assert(worker_wait_blocked(&w[i]), "sender %d did not block", i + 1);
    }
    /* Capacity 1: each receive grants the slot to the oldest waiter, whose message must come
     * next. A try_send from here must not overtake them. */
    for (uint64_t i = 0; i <= WAITERS; i++) {
        cr_assert_eq(lc_recv(rx, &out), LC_OK);
        cr_assert_eq(out, i, "received %llu, expected %llu", (unsigned long long)out,
                     (unsigned long long)i);
        if (i < WAITERS) {
            uint64_t intruder = 1000;
            cr_assert_eq(lc_try_send(tx, &intruder), LC_FULL, "lc_try_send overtook a waiting sender");
        }
    }
    for (int i = 0; i < WAITERS; i++)
        cr_assert_eq(worker_join(&w[i]), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* ---- lc_send_timeout ---- */

Test(send_recv, send_timeout_times_out_on_full_channel, .timeout = 10)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    uint64_t first = 1, second = 2, out;
    cr_assert_eq(lc_try_send(tx, &first), LC_OK);
    cr_assert_eq(lc_send_timeout(tx, &second, 20 * MS), LC_TIMEDOUT);
    cr_assert_eq(second, 2);
    cr_assert_eq(lc_rx_len(rx), 1, "the timed-out message was queued");
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 1);
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY, "the timed-out message was queued");
    /* The message is still the caller's: it can be sent again. */
    cr_assert_eq(lc_send_timeout(tx, &second, 20 * MS), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 2);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, send_timeout_zero_times_out_on_full_channel)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    uint64_t first = 1, second = 2, out;
    cr_assert_eq(lc_send_timeout(tx, &first, 0), LC_OK, "timeout 0 with room");
    cr_assert_eq(lc_send_timeout(tx, &second, 0), LC_TIMEDOUT);
    cr_assert_eq(lc_rx_len(rx), 1);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 1);
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* A sender blocked in lc_send_timeout on a full channel succeeds once a receive makes room. */
static void check_send_timeout_gets_room(uint64_t timeout_ns)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    uint64_t first = 1, out;
    cr_assert_eq(lc_try_send(tx, &first), LC_OK);
    struct worker w = {.tx = tx, .value = 2, .timeout_ns = timeout_ns};
    worker_start(&w, worker_send_timeout);
    cr_assert(worker_wait_blocked(&w), "lc_send_timeout(%" PRIu64 ") returned %d on a full channel",
              timeout_ns, w.rc);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(worker_join(&w), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 2);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, send_timeout_succeeds_once_another_thread_makes_room, .timeout = 10)
{
    check_send_timeout_gets_room(8000 * MS);
}

Test(send_recv, send_timeout_forever_waits_for_room, .timeout = 10)
{
    check_send_timeout_gets_room(LC_FOREVER);
}

Test(send_recv, timed_out_waiter_leaves_no_trace, .timeout = 10)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(1, &tx, &rx);
    uint64_t first = 1, out;
    cr_assert_eq(lc_try_send(tx, &first), LC_OK);
    struct worker patient = {.tx = tx, .value = 2};
    worker_start(&patient, worker_send);
    cr_assert(worker_wait_blocked(&patient));
    struct worker hasty = {.tx = tx, .value = 3, .timeout_ns = 20 * MS};
    worker_start(&hasty, worker_send_timeout);
    cr_assert_eq(worker_join(&hasty), LC_TIMEDOUT);
    /* The slot freed next goes to the sender still waiting, and nothing of the other is queued. */
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 1);
    cr_assert_eq(worker_join(&patient), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 2);
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
    cr_assert_eq(lc_rx_len(rx), 0);
    /* And the channel's capacity is intact. */
    cr_assert_eq(lc_try_send(tx, &first), LC_OK);
    cr_assert_eq(lc_try_send(tx, &first), LC_FULL);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, send_timeout_rejects_bad_input)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    uint64_t v = 1;
    cr_assert_eq(lc_send_timeout(NULL, &v, 0), LC_INVALID);
    cr_assert_eq(lc_send_timeout(NULL, &v, 20 * MS), LC_INVALID);
    cr_assert_eq(lc_send_timeout(tx, NULL, 20 * MS), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 0);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* ---- lc_recv / lc_recv_timeout ---- */

Test(send_recv, recv_gets_a_message_sent_from_another_thread, .timeout = 10)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct worker w = {.rx = rx};
    worker_start(&w, worker_recv); /* receive calls may move between threads: join orders them */
    cr_assert(worker_wait_blocked(&w), "lc_recv returned %d on an empty channel", w.rc);
    uint64_t v = 321;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(worker_join(&w), LC_OK);
    cr_assert_eq(w.value, 321);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, recv_returns_a_ready_message_at_once)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    uint64_t v = 8, out = 0;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(lc_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 8);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, recv_rejects_bad_input)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    uint64_t out;
    cr_assert_eq(lc_recv(NULL, &out), LC_INVALID);
    cr_assert_eq(lc_recv(rx, NULL), LC_INVALID);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, recv_timeout_times_out_on_empty_channel, .timeout = 10)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    uint64_t out = 5;
    cr_assert_eq(lc_recv_timeout(rx, &out, 20 * MS), LC_TIMEDOUT);
    cr_assert_eq(out, 5, "out written on LC_TIMEDOUT");
    uint64_t v = 6;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(lc_recv_timeout(rx, &out, 20 * MS), LC_OK);
    cr_assert_eq(out, 6);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, recv_timeout_zero_times_out_on_empty_channel)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    uint64_t out = 5;
    cr_assert_eq(lc_recv_timeout(rx, &out, 0), LC_TIMEDOUT);
    uint64_t v = 6;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(lc_recv_timeout(rx, &out, 0), LC_OK);
    cr_assert_eq(out, 6);
    cr_assert_eq(lc_recv_timeout(rx, &out, 0), LC_TIMEDOUT);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(send_recv, recv_timeout_rejects_bad_input)
{
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    uint64_t out;
    cr_assert_eq(lc_recv_timeout(NULL, &out, 0), LC_INVALID);
    cr_assert_eq(lc_recv_timeout(NULL, &out, 20 * MS), LC_INVALID);
    cr_assert_eq(lc_recv_timeout(rx, NULL, 20 * MS), LC_INVALID);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}
