/* lc_mux: one thread waiting on many receivers; readiness reports, end of stream, memory. */
#define _POSIX_C_SOURCE 200809L /* poll and fcntl under -std=c11 */

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#ifdef __linux__
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#endif

#include "helpers.h"

/* The header: "lc_mux_add makes one [allocation] of 48 bytes". */
#define ENTRY_BYTES 48u
#define MAX_EV 16

static void open_u64(size_t capacity, lc_tx **tx, lc_rx **rx)
{
    lc_config cfg = {.capacity = capacity};
    cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, tx, rx), LC_OK);
}

static lc_mux *new_mux_with(const lc_allocator *a)
{
    lc_mux *m = NULL;
    cr_assert_eq(lc_mux_new(a, &m), LC_OK);
    cr_assert_not_null(m);
    return m;
}

static lc_mux *new_mux(void) { return new_mux_with(NULL); }

static void send_u64(lc_tx *tx, uint64_t v) { cr_assert_eq(lc_try_send(tx, &v), LC_OK); }

/* lc_mux_wait without waiting. */
static int wait0(lc_mux *m, lc_mux_event *ev) { return lc_mux_wait(m, 0, ev, MAX_EV); }

/* Receives everything rx holds now; returns how many, and the code that ended it in *end. */
static int drain(lc_rx *rx, int *end)
{
    uint64_t out;
    int n = 0, rc;
    while ((rc = lc_try_recv(rx, &out)) == LC_OK)
        n++;
    if (end)
        *end = rc;
    return n;
}

/* The only report of one wait: rx, with user_data. */
static void expect_one(lc_mux *m, lc_rx *rx, void *user_data, const char *what)
{
    lc_mux_event ev[MAX_EV];
    int n = wait0(m, ev);
    cr_assert_eq(n, 1, "%s: lc_mux_wait returned %d", what, n);
    cr_assert_eq(ev[0].rx, rx, "%s: another receiver was reported", what);
    cr_assert_eq(ev[0].user_data, user_data, "%s: wrong user_data", what);
}

static void expect_none(lc_mux *m, const char *what)
{
    lc_mux_event ev[MAX_EV];
    int n = wait0(m, ev);
    cr_assert_eq(n, LC_TIMEDOUT, "%s: lc_mux_wait returned %d", what, n);
}

static void assert_all_freed(struct counter *c, const char *what)
{
    cr_assert_eq(counter_live_allocs(c), 0, "%s: %zu allocations left", what,
                 counter_live_allocs(c));
    cr_assert_eq(counter_live_bytes(c), 0, "%s: %zu bytes left", what, counter_live_bytes(c));
    cr_assert_eq(atomic_load(&c->bad_frees), 0, "%s: a free did not match its allocation", what);
}

/* ---- creation and memory ---- */

Test(mux, new_and_free_without_allocator)
{
    lc_mux *m = NULL;
    cr_assert_eq(lc_mux_new(NULL, &m), LC_OK);
    cr_assert_not_null(m);
    cr_assert_eq(lc_mux_count(m), 0);
    lc_mux_event ev[1];
    cr_assert_eq(lc_mux_wait(m, 0, ev, 1), LC_TIMEDOUT);
    lc_mux_free(m);
    lc_mux_free(NULL); /* no effect */
}

Test(mux, new_and_free_with_allocator)
{
    struct counter mc;
    counter_init(&mc);
    lc_mux *m = new_mux_with(&mc.allocator);
    cr_assert_eq(counter_live_allocs(&mc), 1, "lc_mux_new makes one allocation");
    lc_mux_free(m);
    assert_all_freed(&mc, "lc_mux_free");
}

Test(mux, new_rejects_bad_input_and_reports_nomem)
{
    struct counter mc;
    counter_init(&mc);
    lc_mux *m = NULL;
    cr_assert_eq(lc_mux_new(NULL, NULL), LC_INVALID);
    cr_assert_eq(lc_mux_new(&mc.allocator, NULL), LC_INVALID);
    lc_allocator no_alloc = mc.allocator, no_free = mc.allocator;
    no_alloc.alloc = NULL;
    no_free.free = NULL;
    cr_assert_eq(lc_mux_new(&no_alloc, &m), LC_INVALID);
    cr_assert_eq(lc_mux_new(&no_free, &m), LC_INVALID);
    cr_assert_null(m);
    cr_assert_eq(atomic_load(&mc.attempts), 0);
    counter_fail_next(&mc);
    cr_assert_eq(lc_mux_new(&mc.allocator, &m), LC_NOMEM);
    cr_assert_null(m);
    assert_all_freed(&mc, "failed lc_mux_new");
}

/* 48 bytes per registration, through the mux's allocator; nothing per message or per wake;
 * everything back after remove and free. The channels use their own counter. */
Test(mux, registration_costs_48_bytes_and_nothing_per_message)
{
    struct counter mc, cc;
    counter_init(&mc);
    counter_init(&cc);
    lc_mux *m = new_mux_with(&mc.allocator);
    size_t base = counter_live_bytes(&mc);
    lc_config cfg = {.capacity = 0, .allocator = &cc.allocator};
    lc_tx *tx[3];
    lc_rx *rx[3];
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, &tx[i], &rx[i]), LC_OK);
        size_t chan_attempts = atomic_load(&cc.attempts);
        cr_assert_eq(lc_mux_add(m, rx[i], NULL), LC_OK);
        cr_assert_eq(atomic_load(&mc.last_size), ENTRY_BYTES);
        cr_assert_eq(counter_live_bytes(&mc), base + (size_t)(i + 1) * ENTRY_BYTES);
        cr_assert_eq(atomic_load(&cc.attempts), chan_attempts, "lc_mux_add used the channel's "
                     "allocator");
    }
    size_t mux_attempts = atomic_load(&mc.attempts);
    lc_mux_event ev[MAX_EV];
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 3; i++)
            for (uint64_t v = 0; v < 20; v++)
                send_u64(tx[i], v);
        cr_assert_eq(counter_live_allocs(&cc), 3 + 60, "one node per queued message");
        cr_assert_eq(wait0(m, ev), 3);
        for (int i = 0; i < 3; i++)
            cr_assert_eq(drain(ev[i].rx, NULL), 20);
        cr_assert_eq(wait0(m, ev), LC_TIMEDOUT);
    }
    cr_assert_eq(atomic_load(&mc.attempts), mux_attempts, "the mux allocated per message");
    cr_assert_eq(counter_live_bytes(&cc), 3 * CHAN_BYTES);
    cr_assert_eq(lc_mux_remove(m, rx[0]), LC_OK);
    cr_assert_eq(counter_live_bytes(&mc), base + 2 * ENTRY_BYTES, "remove kept its 48 bytes");
    cr_assert_eq(lc_mux_remove(m, rx[1]), LC_OK);
    cr_assert_eq(counter_live_bytes(&mc), base + ENTRY_BYTES);
    lc_mux_free(m); /* rx[2] still registered */
    assert_all_freed(&mc, "lc_mux_free");
    for (int i = 0; i < 3; i++) {
        lc_tx_drop(tx[i]);
        lc_rx_drop(rx[i]);
    }
    assert_all_freed(&cc, "channels");
}

Test(mux, add_nomem_changes_nothing)
{
    struct counter mc;
    counter_init(&mc);
    lc_mux *m = new_mux_with(&mc.allocator);
    size_t base = counter_live_bytes(&mc);
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct wake_count k;
    wake_count_init(&k);
    uint64_t out;
    cr_assert_eq(lc_poll_recv(rx, &out, &k.waker), LC_PENDING);
    counter_fail_next(&mc);
    cr_assert_eq(lc_mux_add(m, rx, NULL), LC_NOMEM);
    cr_assert_eq(lc_mux_count(m), 0);
    cr_assert_eq(counter_live_bytes(&mc), base);
    send_u64(tx, 1);
    cr_assert_eq(wake_calls(&k), 1, "the failed lc_mux_add forgot the poll waker");
    expect_none(m, "after a failed add");
    cr_assert_eq(lc_recv_timeout(rx, &out, 0), LC_OK, "the receiver is not registered");
    cr_assert_eq(lc_mux_add(m, rx, NULL), LC_OK, "a later add works");
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    assert_all_freed(&mc, "lc_mux_free");
}

/* ---- argument checks ---- */

Test(mux, add_rejects_bad_input_and_double_registration)
{
    lc_mux *m1 = new_mux(), *m2 = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    int a, b;
    cr_assert_eq(lc_mux_add(NULL, rx, &a), LC_INVALID);
    cr_assert_eq(lc_mux_add(m1, NULL, &a), LC_INVALID);
    cr_assert_eq(lc_mux_count(m1), 0);
    cr_assert_eq(lc_mux_add(m1, rx, &a), LC_OK);
    cr_assert_eq(lc_mux_add(m1, rx, &b), LC_INVALID, "added twice to one mux");
    cr_assert_eq(lc_mux_add(m2, rx, &b), LC_INVALID, "added to a second mux");
    cr_assert_eq(lc_mux_count(m1), 1);
    cr_assert_eq(lc_mux_count(m2), 0);
    /* Still registered with m1, with its first user_data, and only there. */
    send_u64(tx, 1);
    expect_none(m2, "m2");
    expect_one(m1, rx, &a, "m1");
    /* Moved to m2 after a removal: only m2 reports it. */
    cr_assert_eq(lc_mux_remove(m1, rx), LC_OK);
    cr_assert_eq(lc_mux_add(m2, rx, &b), LC_OK);
    expect_one(m2, rx, &b, "m2 after the move");
    expect_none(m1, "m1 after the move");
    lc_mux_free(m1);
    lc_mux_free(m2);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(mux, remove_rejects_bad_input_and_foreign_receivers)
{
    lc_mux *m1 = new_mux(), *m2 = new_mux();
    lc_tx *tx, *tx2;
    lc_rx *rx, *rx2;
    open_u64(0, &tx, &rx);
    open_u64(0, &tx2, &rx2);
    int a;
    cr_assert_eq(lc_mux_remove(m1, rx), LC_INVALID, "never registered");
    cr_assert_eq(lc_mux_add(m1, rx, &a), LC_OK);
    cr_assert_eq(lc_mux_remove(NULL, rx), LC_INVALID);
    cr_assert_eq(lc_mux_remove(m1, NULL), LC_INVALID);
    cr_assert_eq(lc_mux_remove(m2, rx), LC_INVALID, "registered with another mux");
    cr_assert_eq(lc_mux_remove(m1, rx2), LC_INVALID, "not registered");
    cr_assert_eq(lc_mux_count(m1), 1);
    send_u64(tx, 1);
    expect_one(m1, rx, &a, "still registered after the failed removals");
    cr_assert_eq(lc_mux_remove(m1, rx), LC_OK);
    cr_assert_eq(lc_mux_remove(m1, rx), LC_INVALID, "removed twice");
    cr_assert_eq(lc_mux_count(m1), 0);
    lc_mux_free(m1);
    lc_mux_free(m2);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    lc_tx_drop(tx2);
    lc_rx_drop(rx2);
}

Test(mux, wait_rejects_bad_input)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    cr_assert_eq(lc_mux_add(m, rx, NULL), LC_OK);
    send_u64(tx, 1);
    lc_mux_event ev[1];
    cr_assert_eq(lc_mux_wait(NULL, 0, ev, 1), LC_INVALID);
    cr_assert_eq(lc_mux_wait(m, 0, NULL, 1), LC_INVALID);
    cr_assert_eq(lc_mux_wait(m, 0, ev, 0), LC_INVALID);
    cr_assert_eq(lc_mux_wait(m, LC_FOREVER, ev, 0), LC_INVALID);
    /* The rejected calls consumed no report. */
    cr_assert_eq(lc_mux_wait(m, 0, ev, 1), 1);
    cr_assert_eq(ev[0].rx, rx);
    cr_assert_eq(lc_mux_count(NULL), 0);
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(mux, count_follows_add_remove_and_drop)
{
    lc_mux *m = new_mux();
    lc_tx *tx[3];
    lc_rx *rx[3];
    for (int i = 0; i < 3; i++) {
        open_u64(0, &tx[i], &rx[i]);
        cr_assert_eq(lc_mux_count(m), (size_t)i);
        cr_assert_eq(lc_mux_add(m, rx[i], NULL), LC_OK);
    }
    cr_assert_eq(lc_mux_count(m), 3);
    cr_assert_eq(lc_mux_remove(m, rx[1]), LC_OK);
    cr_assert_eq(lc_mux_count(m), 2);
    lc_rx_drop(rx[0]);
    cr_assert_eq(lc_mux_count(m), 1);
    cr_assert_eq(lc_mux_add(m, rx[1], NULL), LC_OK);
    cr_assert_eq(lc_mux_count(m), 2);
    lc_mux_free(m);
    lc_rx_drop(rx[1]);
    lc_rx_drop(rx[2]);
    for (int i = 0; i < 3; i++)
        lc_tx_drop(tx[i]);
}

/* ---- readiness ---- */

Test(mux, nothing_ready_times_out_at_once)
{
    lc_mux *m = new_mux();
    expect_none(m, "empty mux");
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    cr_assert_eq(lc_mux_add(m, rx, NULL), LC_OK);
    expect_none(m, "an idle receiver");
    expect_none(m, "an idle receiver, again");
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(mux, add_of_a_ready_receiver_is_reported)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    send_u64(tx, 5);
    int tag;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    expect_one(m, rx, &tag, "ready before it was added");
    uint64_t out;
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 5);
    expect_none(m, "drained");
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(mux, burst_of_sends_gives_one_report)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    int tag;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    for (uint64_t v = 0; v < 100; v++)
        send_u64(tx, v);
    expect_one(m, rx, &tag, "100 sends");
    uint64_t out[128];
    cr_assert_eq(lc_try_recv_many(rx, out, 128), 100, "lc_try_recv_many on a registered receiver");
    for (uint64_t v = 0; v < 100; v++)
        cr_assert_eq(out[v], v);
    expect_none(m, "drained");
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(mux, undrained_receiver_is_reported_again)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    int tag;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    send_u64(tx, 1);
    send_u64(tx, 2);
    expect_one(m, rx, &tag, "first");
    expect_one(m, rx, &tag, "not drained at all");
    uint64_t out;
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    expect_one(m, rx, &tag, "one of two messages received");
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 2);
    expect_none(m, "drained");
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(mux, drained_receiver_is_not_reported_until_a_new_send)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    int tag;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    for (uint64_t round = 0; round < 5; round++) {
        send_u64(tx, round);
        expect_one(m, rx, &tag, "after a send");
        cr_assert_eq(drain(rx, NULL), 1);
        expect_none(m, "drained");
        expect_none(m, "drained, second wait");
    }
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* A send that lands between a report and the next wait makes no second report of its own. */
Test(mux, send_after_report_is_seen_at_the_rearm)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    cr_assert_eq(lc_mux_add(m, rx, NULL), LC_OK);
    send_u64(tx, 1);
    expect_one(m, rx, NULL, "first send");
    cr_assert_eq(drain(rx, NULL), 1);
    send_u64(tx, 2); /* the slot is FIRED now: senders skip it */
    lc_mux_event ev[MAX_EV];
    cr_assert_eq(wait0(m, ev), 1, "the re-arm missed a message");
    cr_assert_eq(drain(rx, NULL), 1);
    expect_none(m, "drained");
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(mux, user_data_comes_back_with_each_receiver)
{
    lc_mux *m = new_mux();
    enum { N = 4 };
    lc_tx *tx[N];
    lc_rx *rx[N];
    int tags[N];
    for (int i = 0; i < N; i++) {
        open_u64(0, &tx[i], &rx[i]);
        cr_assert_eq(lc_mux_add(m, rx[i], &tags[i]), LC_OK);
    }
    for (int i = N - 1; i >= 0; i--)
        send_u64(tx[i], (uint64_t)i);
    lc_mux_event ev[MAX_EV];
    cr_assert_eq(wait0(m, ev), N);
    bool seen[N] = {false};
    for (int e = 0; e < N; e++) {
        int i = (int *)ev[e].user_data - tags;
        cr_assert(i >= 0 && i < N, "unknown user_data");
        cr_assert_not(seen[i], "receiver %d reported twice", i);
        seen[i] = true;
        cr_assert_eq(ev[e].rx, rx[i], "user_data of receiver %d came with another", i);
        uint64_t out;
        cr_assert_eq(lc_try_recv(ev[e].rx, &out), LC_OK);
        cr_assert_eq(out, (uint64_t)i);
    }
    expect_none(m, "all drained");
    lc_mux_free(m);
    for (int i = 0; i < N; i++) {
        lc_tx_drop(tx[i]);
        lc_rx_drop(rx[i]);
    }
}

Test(mux, more_ready_receivers_than_max_come_over_several_calls)
{
    lc_mux *m = new_mux();
    enum { N = 5 };
    lc_tx *tx[N];
    lc_rx *rx[N];
    int tags[N];
    for (int i = 0; i < N; i++) {
        open_u64(0, &tx[i], &rx[i]);
        cr_assert_eq(lc_mux_add(m, rx[i], &tags[i]), LC_OK);
        send_u64(tx[i], (uint64_t)i);
    }
    int seen[N] = {0};
    int expect[] = {2, 2, 1};
    lc_mux_event ev[2];
    for (int call = 0; call < 3; call++) {
        int n = lc_mux_wait(m, 0, ev, 2);
        cr_assert_eq(n, expect[call], "call %d returned %d", call, n);
        for (int e = 0; e < n; e++) {
            int i = (int *)ev[e].user_data - tags;
            cr_assert(i >= 0 && i < N);
            cr_assert_eq(ev[e].rx, rx[i]);
            seen[i]++;
            cr_assert_eq(drain(rx[i], NULL), 1);
        }
    }
    for (int i = 0; i < N; i++)
        cr_assert_eq(seen[i], 1, "receiver %d reported %d times", i, seen[i]);
    cr_assert_eq(lc_mux_wait(m, 0, ev, 2), LC_TIMEDOUT);
    lc_mux_free(m);
    for (int i = 0; i < N; i++) {
        lc_tx_drop(tx[i]);
        lc_rx_drop(rx[i]);
    }
}

/* ---- end of stream ---- */

Test(mux, last_tx_drop_is_reported_once)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    lc_tx *clone = lc_tx_clone(tx);
    int tag, end;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    send_u64(tx, 1);
    expect_one(m, rx, &tag, "message");
    cr_assert_eq(drain(rx, &end), 1);
    cr_assert_eq(end, LC_EMPTY);
    expect_none(m, "drained");
    lc_tx_drop(clone);
    expect_none(m, "a drop that was not the last");
    lc_tx_drop(tx);
    expect_one(m, rx, &tag, "end of stream");
    cr_assert_eq(drain(rx, &end), 0);
    cr_assert_eq(end, LC_CLOSED);
    expect_none(m, "end of stream reported twice");
    expect_none(m, "end of stream reported again later");
    lc_mux_free(m);
    lc_rx_drop(rx);
}

/* The last sender goes while messages are queued: they are reported, and then the end of stream
 * once more, then nothing. */
Test(mux, end_of_stream_behind_queued_messages)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    int tag, end;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    send_u64(tx, 1);
    send_u64(tx, 2);
    lc_tx_drop(tx);
    expect_one(m, rx, &tag, "messages");
    cr_assert_eq(lc_try_recv(rx, &(uint64_t){0}), LC_OK);
    expect_one(m, rx, &tag, "one message left");
    cr_assert_eq(drain(rx, &end), 1);
    cr_assert_eq(end, LC_CLOSED);
    expect_one(m, rx, &tag, "end of stream, once more");
    cr_assert_eq(drain(rx, &end), 0);
    cr_assert_eq(end, LC_CLOSED);
    expect_none(m, "then not again");
    expect_none(m, "then not again, later");
    lc_mux_free(m);
    lc_rx_drop(rx);
}

Test(mux, add_at_end_of_stream_is_reported_once)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    lc_tx_drop(tx);
    int tag, end;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    expect_one(m, rx, &tag, "registered at end of stream");
    cr_assert_eq(drain(rx, &end), 0);
    cr_assert_eq(end, LC_CLOSED);
    expect_none(m, "reported twice");
    lc_mux_free(m);
    lc_rx_drop(rx);
}

/* lc_rx_close with messages queued: they stay receivable; then one end-of-stream report. */
Test(mux, rx_close_with_queued_messages)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    int tag, end;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    send_u64(tx, 1);
    send_u64(tx, 2);
    expect_one(m, rx, &tag, "messages");
    lc_rx_close(rx);
    uint64_t v = 3;
    cr_assert_eq(lc_try_send(tx, &v), LC_CLOSED);
    cr_assert_eq(drain(rx, &end), 2);
    cr_assert_eq(end, LC_CLOSED);
    expect_one(m, rx, &tag, "end of stream after the close");
    cr_assert_eq(drain(rx, &end), 0);
    cr_assert_eq(end, LC_CLOSED);
    expect_none(m, "end of stream reported twice");
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* The header: end of stream is "reported once more ... and then not again". After a close has
 * been reported, the later drop of the last sender must not report the receiver again. */
Test(mux, rx_close_reported_then_last_tx_drop_is_not_reported_again)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    int tag, end;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    send_u64(tx, 1);
    expect_one(m, rx, &tag, "message");
    cr_assert_eq(drain(rx, &end), 1);
    lc_rx_close(rx);
    expect_one(m, rx, &tag, "end of stream after the close");
    cr_assert_eq(drain(rx, &end), 0);
    cr_assert_eq(end, LC_CLOSED);
    expect_none(m, "end of stream reported twice");
    lc_tx_drop(tx);
    lc_mux_event ev[MAX_EV];
    int n = wait0(m, ev);
    /* cr_expect: a failure still frees everything, so valgrind reports only what matters. */
    cr_expect_eq(n, LC_TIMEDOUT, "end of stream reported again when the last sender went: "
                 "lc_mux_wait returned %d", n);
    lc_mux_free(m);
    lc_rx_drop(rx);
}

/* The header: "A receiver at end of stream (drained, and every sender gone or the channel
 * closed) is reported once more". A drained receiver that is closed while armed is such a
 * receiver, whether or not a sender ever goes. */
Test(mux, rx_close_of_an_armed_receiver_is_reported)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    int tag, end;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    expect_none(m, "idle");
    lc_rx_close(rx);
    cr_assert_eq(drain(rx, &end), 0);
    cr_assert_eq(end, LC_CLOSED, "the receiver is at end of stream");
    /* cr_expect: a failure still frees everything, so valgrind reports only what matters. */
    lc_mux_event ev[MAX_EV];
    int n = wait0(m, ev);
    cr_expect_eq(n, 1, "end of stream after closing an armed receiver: lc_mux_wait returned %d",
                 n);
    cr_expect(n != 1 || (ev[0].rx == rx && ev[0].user_data == &tag));
    n = wait0(m, ev);
    cr_expect_eq(n, LC_TIMEDOUT, "end of stream reported twice: lc_mux_wait returned %d", n);
    lc_tx_drop(tx);
    n = wait0(m, ev);
    cr_expect_eq(n, LC_TIMEDOUT, "end of stream reported again when the last sender went: "
                 "lc_mux_wait returned %d", n);
    lc_mux_free(m);
    lc_rx_drop(rx);
}

/* ---- remove, re-add, drop ---- */

/* Removed after a send fired it but before any wait reported it. */
Test(mux, remove_while_fired_is_not_reported_and_keeps_the_messages)
{
    struct counter mc;
    counter_init(&mc);
    lc_mux *m = new_mux_with(&mc.allocator);
    size_t base = counter_live_bytes(&mc);
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    cr_assert_eq(lc_mux_add(m, rx, NULL), LC_OK);
    send_u64(tx, 7);
    send_u64(tx, 8);
    cr_assert_eq(lc_mux_remove(m, rx), LC_OK);
    cr_assert_eq(lc_mux_count(m), 0);
    expect_none(m, "a removed receiver was reported");
    cr_assert_eq(counter_live_bytes(&mc), base, "the registration was not freed by the wait");
    uint64_t out;
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 7);
    cr_assert_eq(lc_recv_timeout(rx, &out, 0), LC_OK, "the waker slot is free again");
    cr_assert_eq(out, 8);
    send_u64(tx, 9);
    expect_none(m, "a send after the removal was reported");
    lc_mux_free(m);
    assert_all_freed(&mc, "lc_mux_free");
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* Removed while armed: freed at once; later sends reach nobody but the receiver. */
Test(mux, remove_while_armed_frees_at_once)
{
    struct counter mc;
    counter_init(&mc);
    lc_mux *m = new_mux_with(&mc.allocator);
    size_t base = counter_live_bytes(&mc);
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    cr_assert_eq(lc_mux_add(m, rx, NULL), LC_OK);
    cr_assert_eq(lc_mux_remove(m, rx), LC_OK);
    cr_assert_eq(counter_live_bytes(&mc), base);
    send_u64(tx, 1);
    expect_none(m, "a removed receiver was reported");
    struct wake_count k;
    wake_count_init(&k);
    uint64_t out;
    cr_assert_eq(lc_poll_recv(rx, &out, &k.waker), LC_OK, "lc_poll_recv works again");
    cr_assert_eq(lc_poll_recv(rx, &out, &k.waker), LC_PENDING);
    send_u64(tx, 2);
    cr_assert_eq(wake_calls(&k), 1);
    lc_mux_free(m);
    assert_all_freed(&mc, "lc_mux_free");
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(mux, remove_then_add_reports_a_queued_message)
{
    struct counter mc;
    counter_init(&mc);
    lc_mux *m = new_mux_with(&mc.allocator);
    size_t base = counter_live_bytes(&mc);
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    int first, second, third, fourth;
    lc_mux_event ev[MAX_EV];

    /* Armed, a send lands after the removal. */
    cr_assert_eq(lc_mux_add(m, rx, &first), LC_OK);
    cr_assert_eq(lc_mux_remove(m, rx), LC_OK);
    send_u64(tx, 1);
    cr_assert_eq(lc_mux_add(m, rx, &second), LC_OK);
    expect_one(m, rx, &second, "removed while armed, then re-added");

    /* Reported (not re-armed yet), removed, re-added. */
    cr_assert_eq(lc_mux_remove(m, rx), LC_OK);
    cr_assert_eq(lc_mux_add(m, rx, &third), LC_OK);
    expect_one(m, rx, &third, "removed after a report, then re-added");

    /* Fired but not reported, removed, re-added before any wait: one report, not two. */
    cr_assert_eq(drain(rx, NULL), 1);
    expect_none(m, "drained");
    send_u64(tx, 2);
    cr_assert_eq(lc_mux_remove(m, rx), LC_OK);
    cr_assert_eq(lc_mux_add(m, rx, &fourth), LC_OK);
    cr_assert_eq(wait0(m, ev), 1, "the old and the new registration were both reported");
    cr_assert_eq(ev[0].user_data, &fourth);
    cr_assert_eq(drain(rx, NULL), 1);
    expect_none(m, "drained");
    cr_assert_eq(lc_mux_count(m), 1);
    cr_assert_eq(counter_live_bytes(&mc), base + ENTRY_BYTES, "a stale registration is left");
    lc_mux_free(m);
    assert_all_freed(&mc, "lc_mux_free");
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* lc_rx_drop of a registered receiver removes it first, in each state of its registration. */
Test(mux, rx_drop_removes_the_receiver_without_leaks)
{
    struct counter mc, cc;
    counter_init(&mc);
    counter_init(&cc);
    lc_mux *m = new_mux_with(&mc.allocator);
    size_t base = counter_live_bytes(&mc);
    lc_config cfg = {.allocator = &cc.allocator};
    enum { N = 4 };
    lc_tx *tx[N];
    lc_rx *rx[N];
    int tags[N];
    for (int i = 0; i < N; i++) {
        cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, &tx[i], &rx[i]), LC_OK);
        cr_assert_eq(lc_mux_add(m, rx[i], &tags[i]), LC_OK);
    }
    /* rx[0] reported, rx[1] fired and not reported, rx[2] armed, rx[3] keeps running. */
    send_u64(tx[0], 0);
    expect_one(m, rx[0], &tags[0], "rx[0]");
    send_u64(tx[1], 1);
    lc_rx_drop(rx[0]);
    cr_assert_eq(lc_mux_count(m), 3);
    lc_rx_drop(rx[1]);
    cr_assert_eq(lc_mux_count(m), 2);
    lc_rx_drop(rx[2]);
    cr_assert_eq(lc_mux_count(m), 1);
    for (int i = 0; i < 3; i++)
        lc_tx_drop(tx[i]);
    expect_none(m, "a dropped receiver was reported");
    cr_assert_eq(counter_live_bytes(&mc), base + ENTRY_BYTES, "registrations of dropped "
                 "receivers are left");
    send_u64(tx[3], 3);
    expect_one(m, rx[3], &tags[3], "the remaining receiver");
    lc_rx_drop(rx[3]);
    cr_assert_eq(lc_mux_count(m), 0);
    lc_tx_drop(tx[3]);
    expect_none(m, "empty");
    cr_assert_eq(counter_live_bytes(&mc), base);
    lc_mux_free(m);
    assert_all_freed(&mc, "lc_mux_free");
    assert_all_freed(&cc, "channels");
}

/* ---- the waker slot belongs to the mux ---- */

Test(mux, blocking_and_poll_receives_are_invalid_while_registered)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    cr_assert_eq(lc_mux_add(m, rx, NULL), LC_OK);
    send_u64(tx, 1);
    send_u64(tx, 2);
    uint64_t out = 0;
    struct wake_count k;
    wake_count_init(&k);
    cr_assert_eq(lc_recv(rx, &out), LC_INVALID);
    cr_assert_eq(lc_recv_timeout(rx, &out, 0), LC_INVALID);
    cr_assert_eq(lc_recv_timeout(rx, &out, LC_FOREVER), LC_INVALID);
    cr_assert_eq(lc_poll_recv(rx, &out, &k.waker), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 2, "a rejected receive took a message");
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 1);
    uint64_t many[4];
    cr_assert_eq(lc_try_recv_many(rx, many, 4), 1);
    cr_assert_eq(many[0], 2);
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
    /* The mux still works: the rejected calls left its registration alone. */
    send_u64(tx, 3);
    expect_one(m, rx, NULL, "after the rejected receives");
    cr_assert_eq(wake_calls(&k), 0);
    cr_assert_eq(lc_mux_remove(m, rx), LC_OK);
    cr_assert_eq(lc_recv(rx, &out), LC_OK, "lc_recv works after the removal");
    cr_assert_eq(out, 3);
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(mux, recv_node_is_invalid_while_registered)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel_intrusive(NULL, &tx, &rx), LC_OK);
    int tag;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    struct item a = {.seq = 1}, b = {.seq = 2};
    cr_assert_eq(lc_try_send_node(tx, &a.node), LC_OK);
    cr_assert_eq(lc_try_send_node(tx, &b.node), LC_OK);
    expect_one(m, rx, &tag, "intrusive receiver");
    lc_node *n = NULL;
    cr_assert_eq(lc_recv_node(rx, &n), LC_INVALID);
    cr_assert_eq(lc_rx_len(rx), 2, "the rejected receive took a node");
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_OK);
    cr_assert_eq(n, &a.node);
    cr_assert_eq(lc_mux_remove(m, rx), LC_OK);
    cr_assert_eq(lc_recv_node(rx, &n), LC_OK);
    cr_assert_eq(n, &b.node);
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(mux, add_forgets_a_poll_recv_waker)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    struct wake_count k;
    wake_count_init(&k);
    uint64_t out;
    cr_assert_eq(lc_poll_recv(rx, &out, &k.waker), LC_PENDING);
    int tag;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    send_u64(tx, 1);
    cr_assert_eq(wake_calls(&k), 0, "the forgotten poll waker was called");
    expect_one(m, rx, &tag, "the mux gets the wake-up instead");
    cr_assert_eq(lc_mux_remove(m, rx), LC_OK);
    lc_tx_drop(tx); /* the last sender: would call a registered waker */
    cr_assert_eq(wake_calls(&k), 0, "the forgotten poll waker was called after the removal");
    lc_mux_free(m);
    lc_rx_drop(rx);
}

/* ---- waiting ---- */

/* Sends (or drops) on its own thread once the test thread sleeps, parked in lc_mux_wait. */
struct late {
    pthread_t thread;
    lc_tx *tx;
    int tid;
    bool drop;
    int rc;
};

static void *late_main(void *arg)
{
    struct late *l = arg;
    (void)thread_wait_sleeping(l->tid); /* makes the parked path likelier; decides nothing */
    if (l->drop) {
        lc_tx_drop(l->tx);
        l->rc = LC_OK;
    } else {
        uint64_t v = 123;
        l->rc = lc_try_send(l->tx, &v);
    }
    return NULL;
}

static void late_start(struct late *l, lc_tx *tx, bool drop)
{
    l->tx = tx;
    l->tid = thread_id();
    l->drop = drop;
    l->rc = RC_NOT_RUN;
    cr_assert_eq(pthread_create(&l->thread, NULL, late_main, l), 0);
}

Test(mux, wait_with_timeout_wakes_for_a_send_on_another_thread, .timeout = 30)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    int tag;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    struct late l;
    late_start(&l, tx, false);
    lc_mux_event ev[MAX_EV];
    int n = lc_mux_wait(m, 20ull * 1000 * 1000 * 1000, ev, MAX_EV);
    pthread_join(l.thread, NULL);
    cr_assert_eq(l.rc, LC_OK);
    cr_assert_eq(n, 1, "lc_mux_wait returned %d", n);
    cr_assert_eq(ev[0].rx, rx);
    cr_assert_eq(ev[0].user_data, &tag);
    uint64_t out;
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 123);
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(mux, wait_forever_wakes_for_end_of_stream_on_another_thread, .timeout = 30)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    int tag;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    struct late l;
    late_start(&l, tx, true);
    lc_mux_event ev[MAX_EV];
    int n = lc_mux_wait(m, LC_FOREVER, ev, MAX_EV);
    pthread_join(l.thread, NULL);
    cr_assert_eq(n, 1, "lc_mux_wait returned %d", n);
    cr_assert_eq(ev[0].rx, rx);
    int end;
    cr_assert_eq(drain(rx, &end), 0);
    cr_assert_eq(end, LC_CLOSED);
    expect_none(m, "end of stream reported twice");
    lc_mux_free(m);
    lc_rx_drop(rx);
}

Test(mux, wait_with_a_short_timeout_times_out, .timeout = 30)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    cr_assert_eq(lc_mux_add(m, rx, NULL), LC_OK);
    lc_mux_event ev[MAX_EV];
    cr_assert_eq(lc_mux_wait(m, 1000 * 1000, ev, MAX_EV), LC_TIMEDOUT);
    cr_assert_eq(lc_mux_wait(m, 1, ev, MAX_EV), LC_TIMEDOUT);
    /* Still armed after parking and giving up. */
    send_u64(tx, 1);
    cr_assert_eq(lc_mux_wait(m, 1000 * 1000, ev, MAX_EV), 1);
    cr_assert_eq(ev[0].rx, rx);
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

/* ---- lc_mux_fd ---- */

#ifdef __linux__
static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc;
    while ((rc = poll(&p, 1, 0)) < 0 && errno == EINTR)
        continue;
    cr_assert_geq(rc, 0, "poll: %s", strerror(errno));
    return rc == 1 && (p.revents & POLLIN);
}

Test(mux, fd_is_made_once)
{
    lc_mux *m = new_mux();
    int fd = lc_mux_fd(m);
    cr_assert_geq(fd, 0, "lc_mux_fd returned %d", fd);
    cr_assert_eq(lc_mux_fd(m), fd, "a second call made another descriptor");
    cr_assert_eq(lc_mux_fd(NULL), LC_INVALID);
    cr_assert_not(readable(fd), "readable with nothing registered");
    lc_mux_free(m);
}

/* Out of descriptors: LC_NOMEM, and the mux works on without one (and can make it later). */
Test(mux, fd_reports_nomem_when_out_of_descriptors)
{
    lc_mux *m = new_mux();
    struct rlimit old, none;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    none = old;
    none.rlim_cur = 3; /* stdin, stdout, stderr: no room for one more */
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &none), 0);
    int rc = lc_mux_fd(m);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    cr_assert_eq(rc, LC_NOMEM, "lc_mux_fd returned %d", rc);

    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(sizeof(uint64_t), NULL, &tx, &rx), LC_OK);
    cr_assert_eq(lc_mux_add(m, rx, NULL), LC_OK);
    uint64_t v = 1;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    lc_mux_event ev;
    cr_assert_eq(lc_mux_wait(m, 0, &ev, 1), 1);
    int fd = lc_mux_fd(m);
    cr_assert_geq(fd, 0, "lc_mux_fd failed once descriptors were back: %d", fd);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    lc_mux_free(m);
}

Test(mux, fd_becomes_readable_after_a_timed_out_wait)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    int tag;
    cr_assert_eq(lc_mux_add(m, rx, &tag), LC_OK);
    int fd = lc_mux_fd(m);
    cr_assert_geq(fd, 0);
    expect_none(m, "idle");
    cr_assert_not(readable(fd), "readable with nothing ready");
    for (int round = 0; round < 3; round++) {
        send_u64(tx, 1);
        send_u64(tx, 2);
        cr_assert(readable(fd), "round %d: a send after LC_TIMEDOUT did not signal", round);
        expect_one(m, rx, &tag, "after the descriptor signalled");
        cr_assert_eq(drain(rx, NULL), 2);
        expect_none(m, "drained");
        cr_assert_not(readable(fd), "round %d: readable after lc_mux_wait drained everything",
                      round);
    }
    /* The park path of a wait with a timeout leaves the descriptor armed too. */
    lc_mux_event ev[MAX_EV];
    cr_assert_eq(lc_mux_wait(m, 1000 * 1000, ev, MAX_EV), LC_TIMEDOUT);
    cr_assert_not(readable(fd));
    send_u64(tx, 3);
    cr_assert(readable(fd), "a send after a parked LC_TIMEDOUT did not signal");
    expect_one(m, rx, &tag, "after the parked wait");
    cr_assert_not(readable(fd), "lc_mux_wait did not clear the descriptor");
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(mux, fd_is_readable_at_once_when_something_is_ready)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    send_u64(tx, 1);
    cr_assert_eq(lc_mux_add(m, rx, NULL), LC_OK);
    int fd = lc_mux_fd(m);
    cr_assert_geq(fd, 0);
    cr_assert(readable(fd), "ready before the descriptor existed, but not readable");
    expect_one(m, rx, NULL, "ready");
    lc_mux_free(m);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(mux, fd_signals_end_of_stream)
{
    lc_mux *m = new_mux();
    lc_tx *tx;
    lc_rx *rx;
    open_u64(0, &tx, &rx);
    cr_assert_eq(lc_mux_add(m, rx, NULL), LC_OK);
    int fd = lc_mux_fd(m);
    cr_assert_geq(fd, 0);
    expect_none(m, "idle");
    lc_tx_drop(tx);
    cr_assert(readable(fd), "the last lc_tx_drop did not signal");
    expect_one(m, rx, NULL, "end of stream");
    expect_none(m, "reported twice");
    cr_assert_not(readable(fd));
    lc_mux_free(m);
    lc_rx_drop(rx);
}

Test(mux, free_closes_the_fd)
{
    lc_mux *m = new_mux();
    int fd = lc_mux_fd(m);
    cr_assert_geq(fd, 0);
    cr_assert_neq(fcntl(fd, F_GETFD), -1);
    lc_mux_free(m);
    errno = 0;
    cr_assert_eq(fcntl(fd, F_GETFD), -1, "the descriptor is still open after lc_mux_free");
    cr_assert_eq(errno, EBADF);
}
#endif

/* ---- lc_mux_free ---- */

/* Frees the mux with registrations in every state; the receivers keep their messages and get
 * their waker slot back. */
Test(mux, free_with_registered_receivers_leaves_them_usable)
{
    struct counter mc, cc;
    counter_init(&mc);
    counter_init(&cc);
    lc_mux *m = new_mux_with(&mc.allocator);
    lc_config cfg = {.allocator = &cc.allocator};
    enum { N = 5 };
    lc_tx *tx[N];
    lc_rx *rx[N];
    for (int i = 0; i < N; i++) {
        cr_assert_eq(lc_channel(sizeof(uint64_t), &cfg, &tx[i], &rx[i]), LC_OK);
        cr_assert_eq(lc_mux_add(m, rx[i], NULL), LC_OK);
    }
#ifdef __linux__
    cr_assert_geq(lc_mux_fd(m), 0);
#endif
    /* rx[0] and rx[3] reported by this wait (not re-armed yet); rx[3] is then removed. */
    send_u64(tx[0], 100);
    send_u64(tx[3], 103);
    lc_mux_event ev[MAX_EV];
    cr_assert_eq(wait0(m, ev), 2);
    cr_assert_eq(lc_mux_remove(m, rx[3]), LC_OK);
    /* rx[1] and rx[4] fired but not reported; rx[4] is then removed. rx[2] stays armed. */
    send_u64(tx[1], 101);
    send_u64(tx[4], 104);
    cr_assert_eq(lc_mux_remove(m, rx[4]), LC_OK);
    cr_assert_eq(lc_mux_count(m), 3);
    lc_mux_free(m);
    assert_all_freed(&mc, "lc_mux_free");

    for (int i = 0; i < N; i++) {
        uint64_t out = 0;
        if (i != 2) {
            cr_assert_eq(lc_recv_timeout(rx[i], &out, 0), LC_OK, "receiver %d", i);
            cr_assert_eq(out, 100u + (uint64_t)i);
        }
        struct wake_count k;
        wake_count_init(&k);
        cr_assert_eq(lc_poll_recv(rx[i], &out, &k.waker), LC_PENDING, "receiver %d", i);
        send_u64(tx[i], 200u + (uint64_t)i);
        cr_assert_eq(wake_calls(&k), 1, "receiver %d: its waker slot still points to the mux", i);
        cr_assert_eq(lc_poll_recv(rx[i], &out, &k.waker), LC_OK);
        cr_assert_eq(out, 200u + (uint64_t)i);
        lc_tx_drop(tx[i]);
        lc_rx_drop(rx[i]);
    }
    assert_all_freed(&cc, "channels");
}
