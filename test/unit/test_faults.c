/*
 * Allocation failures and bad input: a failing call returns its code, takes nothing, leaves the
 * channel usable, and nothing leaks.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "helpers.h"

#define MS 1000000ull
#define SCEN_MSG 16u /* msg_size of the scenario's channel */

enum send_how { TRY, BLOCKING, TIMED };

struct scenario {
    size_t k; /* the allocation that fails */
    struct counter cnt;
    struct drop_log *log;
    lc_tx *tx;
    lc_rx *rx;
    uint64_t next_send, next_recv;
    size_t nomem_seen;
};

static void scen_send(struct scenario *s, lc_tx *via, enum send_how how)
{
    unsigned char buf[SCEN_MSG];
    msg_fill(buf, SCEN_MSG, s->next_send);
    size_t len = lc_rx_len(s->rx);
    size_t failures = atomic_load(&s->cnt.failures);
    int rc;
    for (int attempt = 0;; attempt++) {
        switch (how) {
        case TRY: rc = lc_try_send(via, buf); break;
        case BLOCKING: rc = lc_send(via, buf); break;
        default: rc = lc_send_timeout(via, buf, 5000 * MS); break;
        }
        if (rc != LC_NOMEM)
            break;
        /* Failed: exactly because of our allocator, and it took nothing. */
        s->nomem_seen++;
        cr_assert_eq(attempt, 0, "k=%zu: a second LC_NOMEM", s->k);
        cr_assert_eq(atomic_load(&s->cnt.failures), failures + 1, "k=%zu: LC_NOMEM without a failed allocation", s->k);
        cr_assert_eq(lc_rx_len(s->rx), len, "k=%zu: a failed send counts as queued", s->k);
        cr_assert(msg_check(buf, SCEN_MSG, s->next_send), "k=%zu: a failed send changed the message", s->k);
    }
    cr_assert_eq(rc, LC_OK, "k=%zu: send %llu (how %d) returned %d", s->k, (unsigned long long)s->next_send,
                 (int)how, rc);
    cr_assert_eq(lc_rx_len(s->rx), len + 1, "k=%zu", s->k);
    s->next_send++;
}

static void scen_recv(struct scenario *s)
{
    unsigned char buf[SCEN_MSG];
    cr_assert_eq(lc_try_recv(s->rx, buf), LC_OK, "k=%zu: receive %llu", s->k, (unsigned long long)s->next_recv);
    cr_assert(msg_check(buf, SCEN_MSG, s->next_recv), "k=%zu: expected message %llu", s->k,
              (unsigned long long)s->next_recv);
    s->next_recv++;
}

/* Creates, sends, clones and receives with the k-th allocation failing. Returns the number of
 * failed allocations (0: the scenario makes fewer than k). */
static size_t run_scenario(size_t k)
{
    struct scenario s = {.k = k};
    counter_init(&s.cnt);
    atomic_store(&s.cnt.fail_at, k);
    s.log = malloc(sizeof *s.log);
    cr_assert_not_null(s.log);
    drop_log_init(s.log, SCEN_MSG);
    lc_config cfg = {.capacity = 4, .allocator = &s.cnt.allocator, .drop = drop_copy, .drop_ctx = s.log};

    lc_tx *const tx_unset = (lc_tx *)(void *)&s;
    lc_rx *const rx_unset = (lc_rx *)(void *)&s;
    s.tx = tx_unset;
    s.rx = rx_unset;
    int rc = lc_channel(SCEN_MSG, &cfg, &s.tx, &s.rx);
    if (rc == LC_NOMEM) {
        s.nomem_seen++;
        cr_assert_eq(s.tx, tx_unset, "k=%zu: *tx changed on LC_NOMEM", k);
        cr_assert_eq(s.rx, rx_unset, "k=%zu: *rx changed on LC_NOMEM", k);
        cr_assert_eq(counter_live_allocs(&s.cnt), 0);
        rc = lc_channel(SCEN_MSG, &cfg, &s.tx, &s.rx);
    }
    cr_assert_eq(rc, LC_OK, "k=%zu: lc_channel returned %d", k, rc);

    scen_send(&s, s.tx, TRY);           /* 0 */
    lc_tx *clone = lc_tx_clone(s.tx);
    cr_assert_eq(clone, s.tx);
    scen_send(&s, clone, BLOCKING);     /* 1 */
    scen_recv(&s);                      /* 0 */
    scen_send(&s, s.tx, TIMED);         /* 2 */
    scen_send(&s, clone, TRY);          /* 3 */
    scen_send(&s, s.tx, TRY);           /* 4: full now */
    unsigned char extra[SCEN_MSG] = {0};
    size_t attempts = atomic_load(&s.cnt.attempts);
    cr_assert_eq(lc_try_send(s.tx, extra), LC_FULL, "k=%zu", k);
    cr_assert_eq(atomic_load(&s.cnt.attempts), attempts, "k=%zu: a send that got LC_FULL allocated", k);
    lc_tx_drop(clone);
    scen_recv(&s);                      /* 1 */
    scen_recv(&s);                      /* 2 */
    scen_send(&s, s.tx, BLOCKING);      /* 5 */
    scen_recv(&s);                      /* 3 */
    /* 4 and 5 stay queued for lc_rx_drop. */
    cr_assert_eq(lc_rx_len(s.rx), 2, "k=%zu", k);
    lc_rx_drop(s.rx);
    lc_tx_drop(s.tx);

    size_t failures = atomic_load(&s.cnt.failures);
    cr_assert_eq(s.nomem_seen, failures, "k=%zu: %zu failed allocations, %zu LC_NOMEM", k, failures,
                 s.nomem_seen);
    cr_assert_eq(counter_live_allocs(&s.cnt), 0, "k=%zu: leaked %zu allocations", k,
                 counter_live_allocs(&s.cnt));
    cr_assert_eq(counter_live_bytes(&s.cnt), 0, "k=%zu: leaked bytes", k);
    cr_assert_eq(atomic_load(&s.cnt.bad_frees), 0, "k=%zu", k);
    /* Nothing received twice, nothing dropped that was received, each unreceived one dropped once. */
    cr_assert_eq(atomic_load(&s.log->calls), 2, "k=%zu: %zu drops", k, atomic_load(&s.log->calls));
    cr_assert_eq(atomic_load(&s.log->bad), 0, "k=%zu", k);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(atomic_load(&s.log->seen[i]), 0, "k=%zu: received message %d was dropped", k, i);
    cr_assert_eq(atomic_load(&s.log->seen[4]), 1, "k=%zu", k);
    cr_assert_eq(atomic_load(&s.log->seen[5]), 1, "k=%zu", k);
    free(s.log);
    return failures;
}

Test(faults, every_allocation_failure_is_nomem_and_recoverable)
{
    size_t k = 1;
    while (run_scenario(k) == 1)
        k++;
    /* One channel and six messages: seven allocations, each made to fail once. */
    cr_assert_eq(k - 1, 7, "the scenario failed %zu different allocations", k - 1);
}

Test(faults, nomem_send_gives_its_slot_back)
{
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.capacity = 2, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(8, &cfg, &tx, &rx), LC_OK);
    uint64_t v = 1, out;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    for (int i = 0; i < 3; i++) {
        counter_fail_next(&cnt);
        cr_assert_eq(lc_try_send(tx, &v), LC_NOMEM);
    }
    cr_assert_eq(lc_rx_len(rx), 1);
    v = 2;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK, "a failed send kept its slot");
    cr_assert_eq(lc_try_send(tx, &v), LC_FULL);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 1);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 2);
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_allocs(&cnt), 0);
}

Test(faults, every_send_call_reports_nomem)
{
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.capacity = 4, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(8, &cfg, &tx, &rx), LC_OK);
    uint64_t v = 1, out;
    counter_fail_next(&cnt);
    cr_assert_eq(lc_try_send(tx, &v), LC_NOMEM);
    counter_fail_next(&cnt);
    cr_assert_eq(lc_send(tx, &v), LC_NOMEM);
    counter_fail_next(&cnt);
    cr_assert_eq(lc_send_timeout(tx, &v, 0), LC_NOMEM);
    counter_fail_next(&cnt);
    cr_assert_eq(lc_send_timeout(tx, &v, 20 * MS), LC_NOMEM);
    cr_assert_eq(atomic_load(&cnt.failures), 4);
    cr_assert_eq(lc_rx_len(rx), 0);
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
    cr_assert_eq(counter_live_allocs(&cnt), 1);
    cr_assert_eq(lc_send(tx, &v), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_allocs(&cnt), 0);
}

Test(faults, nomem_send_does_not_wake_the_receiver)
{
    struct counter cnt;
    struct wake_count wc;
    counter_init(&cnt);
    wake_count_init(&wc);
    lc_config cfg = {.allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(8, &cfg, &tx, &rx), LC_OK);
    uint64_t v = 1, out;
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_PENDING);
    counter_fail_next(&cnt);
    cr_assert_eq(lc_try_send(tx, &v), LC_NOMEM);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_PENDING);
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(wake_calls(&wc), 1);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_OK);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_allocs(&cnt), 0);
}

Test(faults, granted_waiter_that_gets_nomem_passes_its_slot_on, .timeout = 10)
{
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.capacity = 1, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(8, &cfg, &tx, &rx), LC_OK);
    uint64_t v = 1, out;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    struct worker first = {.tx = tx, .value = 2}, second = {.tx = tx, .value = 3};
    worker_start(&first, worker_send);
    cr_assert(worker_wait_blocked(&first));
    worker_start(&second, worker_send);
    cr_assert(worker_wait_blocked(&second));
    /* The receive grants the slot to the first waiter, whose node allocation fails. */
    counter_fail_next(&cnt);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 1);
    cr_assert_eq(worker_join(&first), LC_NOMEM);
    cr_assert_eq(worker_join(&second), LC_OK, "the slot of the failed waiter was lost");
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 3);
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
    cr_assert_eq(lc_rx_len(rx), 0);
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(lc_try_send(tx, &v), LC_FULL);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_allocs(&cnt), 0);
}

/* ---- bad input takes nothing and leaks nothing ---- */

Test(faults, invalid_creations_allocate_nothing)
{
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.allocator = &cnt.allocator};
    lc_config big = {.capacity = LC_CAPACITY_MAX + 1, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(8, &cfg, NULL, &rx), LC_INVALID);
    cr_assert_eq(lc_channel(8, &cfg, &tx, NULL), LC_INVALID);
    cr_assert_eq(lc_channel(LC_MSG_SIZE_MAX + 1, &cfg, &tx, &rx), LC_INVALID);
    cr_assert_eq(lc_channel(SIZE_MAX, &cfg, &tx, &rx), LC_INVALID);
    cr_assert_eq(lc_channel(8, &big, &tx, &rx), LC_INVALID);
    cr_assert_eq(lc_channel_intrusive(&cfg, NULL, &rx), LC_INVALID);
    cr_assert_eq(lc_channel_intrusive(&cfg, &tx, NULL), LC_INVALID);
    cr_assert_eq(lc_channel_intrusive(&big, &tx, &rx), LC_INVALID);
    cr_assert_eq(atomic_load(&cnt.attempts), 0, "an invalid creation called the allocator");
    cr_assert_eq(counter_live_allocs(&cnt), 0);
}

Test(faults, invalid_calls_on_a_copy_channel_take_and_leak_nothing)
{
    struct counter cnt;
    struct wake_count wc;
    counter_init(&cnt);
    wake_count_init(&wc);
    lc_config cfg = {.capacity = 4, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(8, &cfg, &tx, &rx), LC_OK);
    uint64_t v = 1, out = 0;
    struct item it = {.seq = 0};
    lc_node *n = NULL;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    size_t attempts = atomic_load(&cnt.attempts);

    cr_assert_eq(lc_try_send(NULL, &v), LC_INVALID);
    cr_assert_eq(lc_try_send(tx, NULL), LC_INVALID);
    cr_assert_eq(lc_send(NULL, &v), LC_INVALID);
    cr_assert_eq(lc_send(tx, NULL), LC_INVALID);
    cr_assert_eq(lc_send_timeout(NULL, &v, 0), LC_INVALID);
    cr_assert_eq(lc_send_timeout(tx, NULL, 0), LC_INVALID);
    cr_assert_eq(lc_try_send_node(tx, &it.node), LC_INVALID);
    cr_assert_eq(lc_send_node(tx, &it.node), LC_INVALID);
    cr_assert_eq(lc_try_recv(NULL, &out), LC_INVALID);
    cr_assert_eq(lc_try_recv(rx, NULL), LC_INVALID);
    cr_assert_eq(lc_recv(rx, NULL), LC_INVALID);
    cr_assert_eq(lc_recv_timeout(rx, NULL, 0), LC_INVALID);
    cr_assert_eq(lc_poll_recv(rx, &out, NULL), LC_INVALID);
    cr_assert_eq(lc_poll_recv(rx, NULL, &wc.waker), LC_INVALID);
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_INVALID);
    cr_assert_eq(lc_recv_node(rx, &n), LC_INVALID);

    cr_assert_eq(atomic_load(&cnt.attempts), attempts, "an LC_INVALID call allocated");
    cr_assert_eq(atomic_load(&cnt.frees), 0, "an LC_INVALID call freed");
    cr_assert_eq(lc_rx_len(rx), 1);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 1);
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_allocs(&cnt), 0);
    cr_assert_eq(counter_live_bytes(&cnt), 0);
    cr_assert_eq(wake_calls(&wc), 0);
}

Test(faults, invalid_calls_on_an_intrusive_channel_take_and_leak_nothing)
{
    struct counter cnt;
    struct wake_count wc;
    counter_init(&cnt);
    wake_count_init(&wc);
    lc_config cfg = {.capacity = 4, .allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel_intrusive(&cfg, &tx, &rx), LC_OK);
    struct item it = {.seq = 0};
    uint64_t v = 1, out = 0;
    lc_node *n = NULL;
    cr_assert_eq(lc_try_send_node(tx, &it.node), LC_OK);
    size_t attempts = atomic_load(&cnt.attempts);

    cr_assert_eq(lc_try_send_node(tx, NULL), LC_INVALID);
    cr_assert_eq(lc_send_node(tx, NULL), LC_INVALID);
    cr_assert_eq(lc_try_send_node(NULL, &it.node), LC_INVALID);
    cr_assert_eq(lc_try_send(tx, &v), LC_INVALID);
    cr_assert_eq(lc_send(tx, &v), LC_INVALID);
    cr_assert_eq(lc_send_timeout(tx, &v, 0), LC_INVALID);
    cr_assert_eq(lc_try_recv_node(rx, NULL), LC_INVALID);
    cr_assert_eq(lc_recv_node(rx, NULL), LC_INVALID);
    cr_assert_eq(lc_try_recv(rx, &out), LC_INVALID);
    cr_assert_eq(lc_recv(rx, &out), LC_INVALID);
    cr_assert_eq(lc_recv_timeout(rx, &out, 0), LC_INVALID);
    cr_assert_eq(lc_poll_recv(rx, &out, &wc.waker), LC_INVALID);

    cr_assert_eq(atomic_load(&cnt.attempts), attempts, "an LC_INVALID call allocated");
    cr_assert_eq(lc_rx_len(rx), 1);
    cr_assert_eq(lc_try_recv_node(rx, &n), LC_OK);
    cr_assert_eq(n, &it.node);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_allocs(&cnt), 0);
    cr_assert_eq(counter_live_bytes(&cnt), 0);
    cr_assert_eq(wake_calls(&wc), 0);
}
