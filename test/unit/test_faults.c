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

/* ---- the full scenario: every call that allocates, on three channels and a mux ---- */

/*
 * One run makes a mux and three channels, each with the counting allocator and a drop callback:
 *   A  copy mode, capacity 2       (lc_try_send, lc_send_timeout, lc_poll_send, blocked senders,
 *                                   lc_rx_close with a granted wait and a blocked receiver)
 *   B  copy mode, unbounded        (lc_send, lc_try_send, lc_send_timeout, lc_poll_send,
 *                                   lc_try_recv_many, lc_rx_drop with messages queued)
 *   C  intrusive, capacity 2       (lc_try_send_node, lc_send_node: no allocation at all)
 * and registers all three with the mux. run_full(k) makes allocation k fail: the call that made
 * it must return LC_NOMEM, take nothing and leave everything usable, so the run retries it and
 * goes on. The model below follows what each channel holds, in order, so that every receive is
 * checked against the message expected and the live allocations can be predicted at each step.
 * lc_mux_fd is left out: its eventfd does not come from the allocator.
 */
#define FULL_ALLOCS 24u /* allocations of one run without failures: see run_full */
#define FULL_MSG 16u    /* msg_size of A and B */
#define FULL_SEQS 64u   /* message numbers of one run (below DROP_LOG_MAX) */
#define FULL_FIFO 16u
#define FULL_EVENTS 8
#define JOIN_MS 5000u /* a worker that has not finished by then is stuck */

struct model_chan {
    const char *name;
    lc_tx *tx;
    lc_rx *rx;
    bool intrusive;
    bool alive;      /* the channel struct is allocated */
    bool registered; /* with the mux */
    uint64_t fifo[FULL_FIFO]; /* accepted and neither received nor dropped, oldest first */
    size_t head, tail;
};

struct full {
    size_t k; /* the allocation that fails (0: none) */
    struct counter cnt;
    struct drop_log log; /* shared: message numbers are unique across the channels */
    struct wake_count stray; /* a poll waker that lc_mux_add must forget */
    struct item items[FULL_SEQS];
    bool accepted[FULL_SEQS];
    unsigned received[FULL_SEQS];
    unsigned dropped[FULL_SEQS]; /* what the drop callback should have seen */
    uint64_t next_seq;
    size_t nomem_seen;  /* LC_NOMEM results, from any call */
    size_t lost_sends;  /* failed sends that could not be retried (the channel closed) */
    size_t mux_blocks;  /* the mux and its entries */
    lc_mux *mux;
    struct model_chan a, b, c;
};

static size_t queued(const struct model_chan *ch) { return ch->tail - ch->head; }

/* A new message number. */
static uint64_t full_seq(struct full *s)
{
    cr_assert_lt(s->next_seq, FULL_SEQS, "k=%zu: too many messages", s->k);
    return s->next_seq++;
}

static void model_push(struct full *s, struct model_chan *ch, uint64_t seq)
{
    cr_assert_lt(ch->tail, FULL_FIFO, "k=%zu: the model of %s overflows", s->k, ch->name);
    cr_assert(!s->accepted[seq], "k=%zu: message %llu accepted twice", s->k, (unsigned long long)seq);
    ch->fifo[ch->tail++] = seq;
    s->accepted[seq] = true;
}

static uint64_t model_pop(struct full *s, struct model_chan *ch)
{
    cr_assert_gt(queued(ch), 0, "k=%zu: %s should be empty", s->k, ch->name);
    return ch->fifo[ch->head++];
}

/* The counting allocator holds exactly the mux blocks, the live channels and the copy-mode nodes
 * queued in them. */
static void full_check_live(struct full *s, const char *where)
{
    size_t want = s->mux_blocks;
    struct model_chan *chans[] = {&s->a, &s->b, &s->c};
    for (size_t i = 0; i < 3; i++)
        if (chans[i]->alive)
            want += 1 + (chans[i]->intrusive ? 0 : queued(chans[i]));
    size_t live = counter_live_allocs(&s->cnt);
    cr_assert_eq(live, want, "k=%zu: after %s: %zu live allocations, expected %zu", s->k, where, live,
                 want);
    cr_assert_eq(atomic_load(&s->cnt.bad_frees), 0, "k=%zu: after %s: a bad free", s->k, where);
}

struct before {
    size_t attempts, failures;
};

static struct before full_before(struct full *s)
{
    return (struct before){atomic_load(&s->cnt.attempts), atomic_load(&s->cnt.failures)};
}

/* After a call that may allocate. true if it returned LC_NOMEM, which must come from the failure
 * of allocation k, made by this very call; otherwise no allocation may have failed. */
static bool full_nomem(struct full *s, const struct before *b, int rc, const char *what)
{
    size_t attempts = atomic_load(&s->cnt.attempts);
    size_t failures = atomic_load(&s->cnt.failures);
    if (rc != LC_NOMEM) {
        cr_assert_eq(failures, b->failures, "k=%zu: %s: an allocation failed, yet it returned %d",
                     s->k, what, rc);
        return false;
    }
    s->nomem_seen++;
    cr_assert_eq(failures, b->failures + 1, "k=%zu: %s: LC_NOMEM without a failed allocation", s->k,
                 what);
    cr_assert(b->attempts < s->k && s->k <= attempts,
              "k=%zu: %s: LC_NOMEM, but it made allocations %zu..%zu only", s->k, what,
              b->attempts + 1, attempts);
    return true;
}

static void full_no_alloc(struct full *s, const struct before *b, const char *what)
{
    size_t attempts = atomic_load(&s->cnt.attempts);
    cr_assert_eq(attempts, b->attempts, "k=%zu: %s called the allocator %zu times", s->k, what,
                 attempts - b->attempts);
}

static void full_one_alloc(struct full *s, const struct before *b, const char *what)
{
    size_t attempts = atomic_load(&s->cnt.attempts);
    cr_assert_eq(attempts, b->attempts + 1, "k=%zu: %s made %zu allocations, expected one", s->k,
                 what, attempts - b->attempts);
}

/* ---- creation ---- */

static void full_mux_new(struct full *s)
{
    lc_mux *const unset = (lc_mux *)(void *)s;
    lc_mux *m = unset;
    struct before b = full_before(s);
    int rc = lc_mux_new(&s->cnt.allocator, &m);
    if (full_nomem(s, &b, rc, "lc_mux_new")) {
        cr_assert_eq(m, unset, "k=%zu: lc_mux_new changed *mux on LC_NOMEM", s->k);
        full_check_live(s, "a failed lc_mux_new");
        b = full_before(s);
        rc = lc_mux_new(&s->cnt.allocator, &m);
        cr_assert_neq(rc, LC_NOMEM, "k=%zu: lc_mux_new failed twice", s->k);
    }
    cr_assert_eq(rc, LC_OK, "k=%zu: lc_mux_new returned %d", s->k, rc);
    full_one_alloc(s, &b, "lc_mux_new");
    cr_assert_eq(lc_mux_count(m), 0);
    s->mux = m;
    s->mux_blocks = 1;
    full_check_live(s, "lc_mux_new");
}

static int full_create_call(const struct model_chan *ch, const lc_config *cfg, lc_tx **tx, lc_rx **rx)
{
    return ch->intrusive ? lc_channel_intrusive(cfg, tx, rx) : lc_channel(FULL_MSG, cfg, tx, rx);
}

static void full_create(struct full *s, struct model_chan *ch, const lc_config *cfg)
{
    const char *what = ch->intrusive ? "lc_channel_intrusive" : "lc_channel";
    lc_tx *const tx_unset = (lc_tx *)(void *)s;
    lc_rx *const rx_unset = (lc_rx *)(void *)s;
    lc_tx *tx = tx_unset;
    lc_rx *rx = rx_unset;
    struct before b = full_before(s);
    int rc = full_create_call(ch, cfg, &tx, &rx);
    if (full_nomem(s, &b, rc, what)) {
        cr_assert(tx == tx_unset && rx == rx_unset, "k=%zu: %s changed *tx or *rx on LC_NOMEM", s->k,
                  what);
        full_check_live(s, what);
        b = full_before(s);
        rc = full_create_call(ch, cfg, &tx, &rx);
        cr_assert_neq(rc, LC_NOMEM, "k=%zu: %s failed twice", s->k, what);
    }
    cr_assert_eq(rc, LC_OK, "k=%zu: %s for %s returned %d", s->k, what, ch->name, rc);
    full_one_alloc(s, &b, what);
    ch->tx = tx;
    ch->rx = rx;
    ch->alive = true;
    full_check_live(s, what);
}

static lc_tx *full_clone(struct full *s, struct model_chan *ch)
{
    size_t senders = lc_sender_count(ch->rx);
    struct before b = full_before(s);
    lc_tx *t = lc_tx_clone(ch->tx);
    full_no_alloc(s, &b, "lc_tx_clone");
    cr_assert_not_null(t, "k=%zu: lc_tx_clone of %s", s->k, ch->name);
    cr_assert_eq(lc_sender_count(ch->rx), senders + 1, "k=%zu", s->k);
    return t;
}

/* Gives back one sender reference; lc_tx_drop never allocates. */
static void full_tx_drop(struct full *s, lc_tx *tx)
{
    struct before b = full_before(s);
    lc_tx_drop(tx);
    full_no_alloc(s, &b, "lc_tx_drop");
}

/* ---- sending ---- */

enum full_how { F_TRY, F_SEND, F_TIMED, F_POLL };
static const char *const full_how_name[] = {"lc_try_send", "lc_send", "lc_send_timeout",
                                            "lc_poll_send"};

/* One copy-mode send on a channel with room. */
static int full_send_call(lc_tx *via, const void *buf, enum full_how how)
{
    switch (how) {
    case F_TRY: return lc_try_send(via, buf);
    case F_SEND: return lc_send(via, buf);
    case F_TIMED: return lc_send_timeout(via, buf, 5000 * MS);
    default: break;
    }
    lc_send_wait w = {0};
    struct wake_count wc;
    wake_count_init(&wc);
    int rc = lc_poll_send(via, buf, &w, &wc.waker);
    if (rc == LC_PENDING)
        (void)lc_send_cancel(via, &w); /* the record lives on this stack */
    return rc;
}

/* Sends message seq on copy channel ch through via, where there is room; a LC_NOMEM is checked and
 * the send retried. */
static void full_send_seq(struct full *s, struct model_chan *ch, lc_tx *via, enum full_how how,
                          uint64_t seq)
{
    const char *what = full_how_name[how];
    unsigned char buf[FULL_MSG];
    msg_fill(buf, FULL_MSG, seq);
    size_t len = lc_rx_len(ch->rx);
    struct before b = full_before(s);
    int rc = full_send_call(via, buf, how);
    if (full_nomem(s, &b, rc, what)) {
        cr_assert_eq(lc_rx_len(ch->rx), len, "k=%zu: a failed %s on %s holds a slot", s->k, what,
                      ch->name);
        cr_assert(msg_check(buf, FULL_MSG, seq), "k=%zu: a failed %s changed the message", s->k, what);
        full_check_live(s, what);
        b = full_before(s);
        rc = full_send_call(via, buf, how);
        cr_assert_neq(rc, LC_NOMEM, "k=%zu: %s failed twice", s->k, what);
    }
    cr_assert_eq(rc, LC_OK, "k=%zu: %s of message %llu on %s returned %d", s->k, what,
                 (unsigned long long)seq, ch->name, rc);
    full_one_alloc(s, &b, what);
    cr_assert_eq(lc_rx_len(ch->rx), len + 1, "k=%zu: after %s on %s", s->k, what, ch->name);
    model_push(s, ch, seq);
}

static void full_send(struct full *s, struct model_chan *ch, lc_tx *via, enum full_how how)
{
    full_send_seq(s, ch, via, how, full_seq(s));
}

/* An intrusive send: never allocates, so never LC_NOMEM. */
static void full_send_node(struct full *s, struct model_chan *ch, lc_tx *via, bool blocking)
{
    uint64_t seq = full_seq(s);
    struct item *it = &s->items[seq];
    it->seq = seq;
    size_t len = lc_rx_len(ch->rx);
    struct before b = full_before(s);
    int rc = blocking ? lc_send_node(via, &it->node) : lc_try_send_node(via, &it->node);
    full_no_alloc(s, &b, blocking ? "lc_send_node" : "lc_try_send_node");
    cr_assert_eq(rc, LC_OK, "k=%zu: sending node %llu on %s returned %d", s->k,
                 (unsigned long long)seq, ch->name, rc);
    cr_assert_eq(lc_rx_len(ch->rx), len + 1, "k=%zu", s->k);
    model_push(s, ch, seq);
}

/* A full channel refuses without allocating and without taking anything. */
static void full_refused(struct full *s, struct model_chan *ch)
{
    size_t len = lc_rx_len(ch->rx);
    struct before b = full_before(s);
    if (ch->intrusive) {
        struct item extra = {.seq = FULL_SEQS};
        cr_assert_eq(lc_try_send_node(ch->tx, &extra.node), LC_FULL, "k=%zu: %s", s->k, ch->name);
    } else {
        unsigned char buf[FULL_MSG] = {0};
        cr_assert_eq(lc_try_send(ch->tx, buf), LC_FULL, "k=%zu: %s", s->k, ch->name);
        cr_assert_eq(lc_send_timeout(ch->tx, buf, 0), LC_TIMEDOUT, "k=%zu: %s", s->k, ch->name);
        cr_assert_eq(lc_send_timeout(ch->tx, buf, 1 * MS), LC_TIMEDOUT, "k=%zu: %s", s->k, ch->name);
    }
    full_no_alloc(s, &b, "a send refused for want of room");
    cr_assert_eq(lc_rx_len(ch->rx), len, "k=%zu", s->k);
}

/* ---- receiving ---- */

/* A copy-mode message just received from ch: it must be the oldest the model holds. */
static void full_got(struct full *s, struct model_chan *ch, const void *buf)
{
    uint64_t want = model_pop(s, ch);
    cr_assert(msg_check(buf, FULL_MSG, want), "k=%zu: %s: expected message %llu", s->k, ch->name,
              (unsigned long long)want);
    s->received[want]++;
}

static void full_got_node(struct full *s, struct model_chan *ch, lc_node *n)
{
    uint64_t want = model_pop(s, ch);
    cr_assert_eq(n, &s->items[want].node, "k=%zu: %s: expected node %llu", s->k, ch->name,
                 (unsigned long long)want);
    s->received[want]++;
}

/* lc_try_recv, without looking at the allocator (another thread may be sending). */
static void full_recv_raw(struct full *s, struct model_chan *ch)
{
    unsigned char buf[FULL_MSG];
    int rc = lc_try_recv(ch->rx, buf);
    cr_assert_eq(rc, LC_OK, "k=%zu: lc_try_recv on %s returned %d", s->k, ch->name, rc);
    full_got(s, ch, buf);
}

static void full_recv(struct full *s, struct model_chan *ch)
{
    struct before b = full_before(s);
    full_recv_raw(s, ch);
    full_no_alloc(s, &b, "lc_try_recv");
}

static void full_recv_many(struct full *s, struct model_chan *ch, size_t max)
{
    unsigned char buf[FULL_EVENTS][FULL_MSG];
    cr_assert_leq(max, FULL_EVENTS);
    size_t want = queued(ch) < max ? queued(ch) : max;
    struct before b = full_before(s);
    int rc = lc_try_recv_many(ch->rx, buf, max);
    full_no_alloc(s, &b, "lc_try_recv_many");
    cr_assert_eq(rc, want ? (int)want : LC_EMPTY, "k=%zu: lc_try_recv_many on %s returned %d", s->k,
                 ch->name, rc);
    for (size_t i = 0; i < want; i++)
        full_got(s, ch, buf[i]);
}

static void full_recv_node(struct full *s, struct model_chan *ch)
{
    lc_node *n = NULL;
    struct before b = full_before(s);
    int rc = lc_try_recv_node(ch->rx, &n);
    full_no_alloc(s, &b, "lc_try_recv_node");
    cr_assert_eq(rc, LC_OK, "k=%zu: lc_try_recv_node on %s returned %d", s->k, ch->name, rc);
    full_got_node(s, ch, n);
}

/* Every queued message goes to the drop callback with the receiver. */
static void full_rx_drop(struct full *s, struct model_chan *ch)
{
    while (queued(ch) > 0)
        s->dropped[model_pop(s, ch)]++;
    lc_rx_drop(ch->rx);
    ch->rx = NULL;
}

/* ---- the mux ---- */

/* After a failed lc_mux_add the receiver is not registered: the calls that a registration turns
 * into LC_INVALID work on it. With messages queued they receive one. */
static void full_check_unregistered(struct full *s, struct model_chan *ch)
{
    if (ch->intrusive) {
        cr_assert_gt(queued(ch), 0, "k=%zu: lc_recv_node would wait", s->k);
        lc_node *n = NULL;
        int rc = lc_recv_node(ch->rx, &n);
        cr_assert_eq(rc, LC_OK, "k=%zu: lc_recv_node on %s after a failed lc_mux_add: %d", s->k,
                     ch->name, rc);
        full_got_node(s, ch, n);
        return;
    }
    unsigned char buf[FULL_MSG];
    if (queued(ch) == 0) {
        int rc = lc_recv_timeout(ch->rx, buf, 0);
        cr_assert_eq(rc, LC_TIMEDOUT, "k=%zu: lc_recv_timeout on %s after a failed lc_mux_add: %d",
                     s->k, ch->name, rc);
        rc = lc_poll_recv(ch->rx, buf, &s->stray.waker);
        cr_assert_eq(rc, LC_PENDING, "k=%zu: lc_poll_recv on %s after a failed lc_mux_add: %d", s->k,
                     ch->name, rc);
        return; /* the waker stays registered: the retried lc_mux_add must forget it */
    }
    int rc = lc_poll_recv(ch->rx, buf, &s->stray.waker);
    cr_assert_eq(rc, LC_OK, "k=%zu: lc_poll_recv on %s after a failed lc_mux_add: %d", s->k, ch->name,
                 rc);
    full_got(s, ch, buf);
}

static void full_mux_add(struct full *s, struct model_chan *ch)
{
    size_t count = lc_mux_count(s->mux);
    struct before b = full_before(s);
    int rc = lc_mux_add(s->mux, ch->rx, ch);
    if (full_nomem(s, &b, rc, "lc_mux_add")) {
        cr_assert_eq(lc_mux_count(s->mux), count, "k=%zu: a failed lc_mux_add changed the count", s->k);
        full_check_live(s, "a failed lc_mux_add");
        full_check_unregistered(s, ch);
        b = full_before(s);
        rc = lc_mux_add(s->mux, ch->rx, ch);
        cr_assert_neq(rc, LC_NOMEM, "k=%zu: lc_mux_add failed twice", s->k);
    }
    cr_assert_eq(rc, LC_OK, "k=%zu: lc_mux_add of %s returned %d", s->k, ch->name, rc);
    full_one_alloc(s, &b, "lc_mux_add");
    cr_assert_eq(lc_mux_count(s->mux), count + 1, "k=%zu", s->k);
    ch->registered = true;
    s->mux_blocks++;
    full_check_live(s, "lc_mux_add");
}

/* One lc_mux_wait that does not wait: it reports exactly the registered receivers that hold
 * messages (none of them is at end of stream here), each with its user_data. */
static void full_mux_wait(struct full *s, const char *where)
{
    struct model_chan *chans[] = {&s->a, &s->b, &s->c};
    lc_mux_event ev[FULL_EVENTS];
    struct before b = full_before(s);
    int n = lc_mux_wait(s->mux, 0, ev, FULL_EVENTS);
    full_no_alloc(s, &b, "lc_mux_wait");
    int want = 0;
    for (size_t i = 0; i < 3; i++) {
        struct model_chan *ch = chans[i];
        if (!ch->registered || queued(ch) == 0)
            continue;
        want++;
        int found = 0;
        for (int j = 0; j < n; j++)
            if (ev[j].rx == ch->rx) {
                found++;
                cr_assert_eq(ev[j].user_data, ch, "k=%zu: %s: wrong user_data for %s", s->k, where,
                             ch->name);
            }
        cr_assert_eq(found, 1, "k=%zu: %s: %s reported %d times", s->k, where, ch->name, found);
    }
    cr_assert_eq(n, want ? want : LC_TIMEDOUT, "k=%zu: %s: lc_mux_wait returned %d, expected %d", s->k,
                 where, n, want);
}

/* ---- threads ---- */

struct full_job {
    struct worker w; /* first: the worker functions get &job->w */
    unsigned char buf[FULL_MSG];
};

static int job_send(struct worker *w) { return lc_send(w->tx, ((struct full_job *)(void *)w)->buf); }
static int job_recv(struct worker *w) { return lc_recv(w->rx, ((struct full_job *)(void *)w)->buf); }

/* Joins a worker that must finish now; a stuck one fails the run instead of hanging it. */
static int full_join(struct full *s, struct full_job *j, const char *what)
{
    for (unsigned i = 0; i < JOIN_MS && !atomic_load(&j->w.done); i++)
        sleep_ms(1);
    cr_assert(atomic_load(&j->w.done), "k=%zu: %s is still blocked after %u ms", s->k, what, JOIN_MS);
    return worker_join(&j->w);
}

/* ---- lc_poll_send whose allocation fails once its slot was granted ---- */

/* A lc_poll_send of the next message in sequence: its message, wait record and counting waker. */
struct full_poll {
    uint64_t seq;
    unsigned char buf[FULL_MSG];
    lc_send_wait wait;
    struct wake_count wc;
};

static void full_poll_init(struct full *s, struct full_poll *pw)
{
    pw->seq = full_seq(s);
    msg_fill(pw->buf, FULL_MSG, pw->seq);
    pw->wait = (lc_send_wait){0};
    wake_count_init(&pw->wc);
}

static int full_poll_send(struct full_poll *pw, lc_tx *tx)
{
    return lc_poll_send(tx, pw->buf, &pw->wait, &pw->wc.waker);
}

/* full_nomem for a lc_poll_send of pw: a failed one leaves its message as it was. */
static bool full_poll_nomem(struct full *s, const struct before *b, const struct full_poll *pw,
                            int rc, const char *what)
{
    if (!full_nomem(s, b, rc, what))
        return false;
    cr_assert(msg_check(pw->buf, FULL_MSG, pw->seq),
              "k=%zu: a failed lc_poll_send changed the message", s->k);
    return true;
}

/* A is full, a lc_poll_send waits first and a blocked lc_send second. A receive grants the slot to
 * the wait; if its allocation fails, the slot must go on to the blocked sender. Makes 4
 * allocations: two to fill A, the poll's node and the blocked sender's. */
static void full_poll_after_grant(struct full *s)
{
    struct model_chan *a = &s->a;
    full_send(s, a, a->tx, F_TRY);
    full_send(s, a, a->tx, F_TRY);
    full_refused(s, a);

    struct full_poll pw;
    full_poll_init(s, &pw);
    struct before b = full_before(s);
    cr_assert_eq(full_poll_send(&pw, a->tx), LC_PENDING, "k=%zu", s->k);
    full_no_alloc(s, &b, "a pending lc_poll_send");

    struct full_job job = {.w = {.tx = a->tx}};
    uint64_t job_seq = full_seq(s);
    msg_fill(job.buf, FULL_MSG, job_seq);
    worker_start(&job.w, job_send);
    cr_assert(worker_wait_blocked(&job.w), "k=%zu: lc_send did not wait on the full channel", s->k);

    full_recv(s, a); /* grants the slot to the pending wait */
    cr_assert_eq(wake_calls(&pw.wc), 1, "k=%zu: the granted wait was not woken", s->k);
    cr_assert(!atomic_load(&job.w.done), "k=%zu: the blocked sender overtook the wait", s->k);

    b = full_before(s);
    int rc = full_poll_send(&pw, a->tx);
    if (full_poll_nomem(s, &b, &pw, rc, "lc_poll_send with a granted slot")) {
        rc = full_join(s, &job, "the sender behind a failed lc_poll_send");
        cr_assert_eq(rc, LC_OK, "k=%zu: the sender behind a failed lc_poll_send returned %d", s->k, rc);
        model_push(s, a, job_seq);
        cr_assert_eq(lc_rx_len(a->rx), 2, "k=%zu: the failed wait kept its slot", s->k);
        full_check_live(s, "a failed lc_poll_send");
        /* The record is idle again: the retry waits for the next slot. */
        b = full_before(s);
        cr_assert_eq(full_poll_send(&pw, a->tx), LC_PENDING, "k=%zu", s->k);
        full_no_alloc(s, &b, "a pending lc_poll_send");
        full_recv(s, a);
        cr_assert_eq(wake_calls(&pw.wc), 2, "k=%zu: the retried wait was not woken", s->k);
        b = full_before(s);
        rc = full_poll_send(&pw, a->tx);
        cr_assert_neq(rc, LC_NOMEM, "k=%zu: lc_poll_send failed twice", s->k);
        cr_assert_eq(rc, LC_OK, "k=%zu: the retried lc_poll_send returned %d", s->k, rc);
        full_one_alloc(s, &b, "lc_poll_send");
        model_push(s, a, pw.seq);
    } else {
        cr_assert_eq(rc, LC_OK, "k=%zu: lc_poll_send with a granted slot returned %d", s->k, rc);
        model_push(s, a, pw.seq);
        cr_assert(!atomic_load(&job.w.done), "k=%zu: the blocked sender went on without a slot", s->k);
        /* Now the blocked sender gets a slot, and makes its allocation on its own thread. */
        b = full_before(s);
        full_recv_raw(s, a);
        rc = full_join(s, &job, "the blocked sender");
        if (full_nomem(s, &b, rc, "lc_send woken with a slot")) {
            cr_assert(msg_check(job.buf, FULL_MSG, job_seq),
                      "k=%zu: a failed lc_send changed the message", s->k);
            cr_assert_eq(lc_rx_len(a->rx), 1, "k=%zu: the failed lc_send kept its slot", s->k);
            full_check_live(s, "a failed lc_send");
            full_send_seq(s, a, a->tx, F_TIMED, job_seq);
        } else {
            cr_assert_eq(rc, LC_OK, "k=%zu: the blocked sender returned %d", s->k, rc);
            full_one_alloc(s, &b, "a woken lc_send");
            model_push(s, a, job_seq);
        }
    }
    full_check_live(s, "lc_poll_send with a granted slot");
    full_recv_many(s, a, FULL_EVENTS);
    cr_assert_eq(lc_rx_len(a->rx), 0, "k=%zu", s->k);
}

/* A granted wait outlives lc_rx_close, and the receiver waits in lc_recv for its message. If the
 * allocation fails, giving the slot back ends the stream: the receiver must wake with LC_CLOSED.
 * Makes 3 allocations: two to fill A and the poll's node. */
static void full_poll_after_close(struct full *s)
{
    struct model_chan *a = &s->a;
    full_send(s, a, a->tx, F_TRY);
    full_send(s, a, a->tx, F_TRY);

    struct full_poll pw;
    full_poll_init(s, &pw);
    cr_assert_eq(full_poll_send(&pw, a->tx), LC_PENDING, "k=%zu", s->k);
    full_recv(s, a); /* grants the slot */
    cr_assert_eq(wake_calls(&pw.wc), 1, "k=%zu", s->k);
    full_recv(s, a);
    cr_assert_eq(lc_rx_len(a->rx), 1, "k=%zu: the granted slot is not counted", s->k);
    lc_rx_close(a->rx);
    cr_assert(lc_tx_is_closed(a->tx));

    /* The receiving thread changes hands: the join below orders it back. */
    struct full_job job = {.w = {.rx = a->rx}};
    worker_start(&job.w, job_recv);
    cr_assert(worker_wait_blocked(&job.w), "k=%zu: lc_recv did not wait for the granted slot", s->k);

    struct before b = full_before(s);
    int rc = full_poll_send(&pw, a->tx);
    if (full_poll_nomem(s, &b, &pw, rc, "lc_poll_send with a slot granted before the close")) {
        rc = full_join(s, &job, "lc_recv on a closed channel whose last slot was given back");
        cr_assert_eq(rc, LC_CLOSED, "k=%zu: lc_recv returned %d, expected LC_CLOSED", s->k, rc);
        /* The retry finds the channel closed: the message was never accepted. */
        b = full_before(s);
        rc = full_poll_send(&pw, a->tx);
        full_no_alloc(s, &b, "lc_poll_send on a closed channel");
        cr_assert_eq(rc, LC_CLOSED, "k=%zu: the retried lc_poll_send returned %d", s->k, rc);
        s->lost_sends++;
    } else {
        cr_assert_eq(rc, LC_OK, "k=%zu: lc_poll_send with a granted slot returned %d", s->k, rc);
        model_push(s, a, pw.seq);
        rc = full_join(s, &job, "lc_recv of the granted slot's message");
        cr_assert_eq(rc, LC_OK, "k=%zu: lc_recv returned %d", s->k, rc);
        full_got(s, a, job.buf);
    }
    unsigned char out[FULL_MSG];
    cr_assert_eq(lc_try_recv(a->rx, out), LC_CLOSED, "k=%zu", s->k);
    b = full_before(s);
    cr_assert_eq(lc_try_send(a->tx, pw.buf), LC_CLOSED, "k=%zu", s->k);
    full_no_alloc(s, &b, "lc_try_send on a closed channel");
    full_check_live(s, "lc_poll_send with a slot granted before the close");
}

/* ---- one run ---- */

/* Runs the scenario with allocation k failing (0: none). Returns the number of failed
 * allocations; *attempts gets the number of allocation calls. */
static size_t run_full(size_t k, size_t *attempts)
{
    struct full *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    s->k = k;
    counter_init(&s->cnt);
    atomic_store(&s->cnt.fail_at, k);
    drop_log_init(&s->log, FULL_MSG);
    wake_count_init(&s->stray);
    s->a.name = "A (copy, capacity 2)";
    s->b.name = "B (copy, unbounded)";
    s->c.name = "C (intrusive, capacity 2)";
    s->c.intrusive = true;
    struct model_chan *a = &s->a, *b = &s->b, *c = &s->c;
    lc_config bounded = {.capacity = 2, .allocator = &s->cnt.allocator, .drop = drop_copy,
                         .drop_ctx = &s->log};
    lc_config unbounded = {.allocator = &s->cnt.allocator, .drop = drop_copy, .drop_ctx = &s->log};
    lc_config nodes = {.capacity = 2, .allocator = &s->cnt.allocator, .drop = drop_node,
                       .drop_ctx = &s->log};

    /* Allocations 1-4: the mux and the channels. */
    full_mux_new(s);
    full_create(s, a, &bounded);
    full_create(s, b, &unbounded);
    full_create(s, c, &nodes);

    /* 5-11: copy-mode sends of every kind, through clones as well. */
    full_send(s, a, a->tx, F_TRY);
    lc_tx *b2 = full_clone(s, b);
    full_send(s, b, b2, F_SEND);
    full_send(s, a, a->tx, F_TIMED);
    full_refused(s, a);
    full_send(s, b, b->tx, F_TRY);
    full_send(s, b, b2, F_TIMED);
    full_send(s, b, b->tx, F_POLL);
    full_recv(s, a);
    full_send(s, a, a->tx, F_POLL);
    full_recv_many(s, b, 2);
    full_check_live(s, "the copy-mode sends");

    /* No allocation: intrusive sends. */
    lc_tx *c2 = full_clone(s, c);
    full_send_node(s, c, c->tx, false);
    full_send_node(s, c, c2, true);
    full_refused(s, c);
    full_recv_node(s, c);

    /* 12-14: registration, of an empty receiver (A) and of two that hold messages. */
    full_recv_many(s, a, FULL_EVENTS);
    full_mux_add(s, a);
    full_mux_add(s, b);
    full_mux_add(s, c);
    unsigned char buf[FULL_MSG];
    lc_node *n = NULL;
    cr_assert_eq(lc_recv_timeout(a->rx, buf, 0), LC_INVALID, "k=%zu: A is not registered", k);
    cr_assert_eq(lc_poll_recv(b->rx, buf, &s->stray.waker), LC_INVALID, "k=%zu: B is not registered", k);
    cr_assert_eq(lc_recv_node(c->rx, &n), LC_INVALID, "k=%zu: C is not registered", k);
    full_mux_wait(s, "after the registrations");
    full_recv_many(s, b, FULL_EVENTS);
    while (queued(c) > 0)
        full_recv_node(s, c);
    full_mux_wait(s, "once drained");

    /* 15-16: sends to the registered receivers. */
    full_send(s, a, a->tx, F_TRY);
    full_send(s, b, b2, F_SEND);
    full_send_node(s, c, c2, false);
    full_mux_wait(s, "after a send to each");
    full_recv(s, a);
    /* A was reported and not re-armed: its entry is freed by the next lc_mux_wait. */
    cr_assert_eq(lc_mux_remove(s->mux, a->rx), LC_OK, "k=%zu", k);
    cr_assert_eq(lc_mux_remove(s->mux, a->rx), LC_INVALID, "k=%zu", k);
    a->registered = false;
    cr_assert_eq(lc_mux_count(s->mux), 2, "k=%zu", k);
    full_check_live(s, "lc_mux_remove of a reported receiver");
    s->mux_blocks--;
    full_mux_wait(s, "after the removal of A");
    full_check_live(s, "lc_mux_wait after a removal");
    cr_assert_eq(lc_recv_timeout(a->rx, buf, 0), LC_TIMEDOUT, "k=%zu: A is still registered", k);
    lc_mux_free(s->mux);
    s->mux = NULL;
    s->mux_blocks = 0;
    b->registered = c->registered = false;
    full_check_live(s, "lc_mux_free");
    /* No longer registered: blocking receives work again. */
    cr_assert_eq(lc_recv_timeout(b->rx, buf, 0), LC_OK, "k=%zu: B is still registered", k);
    full_got(s, b, buf);
    cr_assert_eq(lc_recv_node(c->rx, &n), LC_OK, "k=%zu: C is still registered", k);
    full_got_node(s, c, n);

    /* 17-20 and 21-23: lc_poll_send that fails after its slot was granted. */
    full_poll_after_grant(s);
    full_poll_after_close(s);

    /* 24: B's receiver goes first, with messages queued: they go to the drop callback, and the
     * last sender frees the channel. */
    full_send(s, b, b->tx, F_TRY);
    full_rx_drop(s, b);
    full_check_live(s, "lc_rx_drop with messages queued");
    struct before bf = full_before(s);
    cr_assert(lc_tx_is_closed(b2));
    cr_assert_eq(lc_try_send(b2, buf), LC_CLOSED, "k=%zu", k);
    full_no_alloc(s, &bf, "lc_try_send after lc_rx_drop");
    full_tx_drop(s, b2);
    full_tx_drop(s, b->tx);
    b->alive = false;
    full_check_live(s, "the last lc_tx_drop of B");

    /* C's senders go first: the receiver takes a message, and lc_rx_drop drops the other. */
    full_send_node(s, c, c->tx, true);
    full_send_node(s, c, c2, false);
    full_tx_drop(s, c2);
    full_tx_drop(s, c->tx);
    cr_assert_eq(lc_sender_count(c->rx), 0, "k=%zu", k);
    full_recv_node(s, c);
    full_rx_drop(s, c);
    c->alive = false;

    /* A is closed and drained. */
    full_rx_drop(s, a);
    full_tx_drop(s, a->tx);
    a->alive = false;
    full_check_live(s, "the end");

    /* Nothing left, nothing lost, nothing twice. */
    size_t failures = atomic_load(&s->cnt.failures);
    cr_assert_eq(s->nomem_seen, failures, "k=%zu: %zu failed allocations, %zu LC_NOMEM", k, failures,
                 s->nomem_seen);
    cr_assert_eq(counter_live_allocs(&s->cnt), 0, "k=%zu: %zu allocations leaked", k,
                 counter_live_allocs(&s->cnt));
    cr_assert_eq(counter_live_bytes(&s->cnt), 0, "k=%zu: %zu bytes leaked", k,
                 counter_live_bytes(&s->cnt));
    cr_assert_eq(atomic_load(&s->cnt.bad_frees), 0, "k=%zu: bad frees", k);
    cr_assert_eq(atomic_load(&s->log.bad), 0, "k=%zu: the drop callback saw a damaged message", k);
    size_t drops = 0;
    for (uint64_t seq = 0; seq < s->next_seq; seq++) {
        unsigned seen = atomic_load(&s->log.seen[seq]);
        drops += s->dropped[seq];
        cr_assert_eq(seen, s->dropped[seq], "k=%zu: message %llu dropped %u times, expected %u", k,
                     (unsigned long long)seq, seen, s->dropped[seq]);
        cr_assert_eq(s->received[seq] + seen, s->accepted[seq] ? 1u : 0u,
                     "k=%zu: message %llu (accepted: %d) received %u times and dropped %u times", k,
                     (unsigned long long)seq, (int)s->accepted[seq], s->received[seq], seen);
    }
    cr_assert_eq(atomic_load(&s->log.calls), drops, "k=%zu: %zu drop calls, expected %zu", k,
                 atomic_load(&s->log.calls), drops);
    cr_assert_eq(wake_calls(&s->stray), 0, "k=%zu: a poll waker forgotten by lc_mux_add was called", k);
    size_t want_attempts = FULL_ALLOCS + failures - s->lost_sends;
    *attempts = atomic_load(&s->cnt.attempts);
    cr_assert_eq(*attempts, want_attempts, "k=%zu: %zu allocation calls, expected %zu", k, *attempts,
                 want_attempts);
    free(s);
    return failures;
}

/* Both scenario tests start threads. Their timeout is the one of the other threaded test here on
 * purpose: Criterion 2.4.1's runner can leak a timeout record when timed tests with different
 * timeouts overlap, and LeakSanitizer then fails the whole executable. A stuck thread is reported
 * sooner anyway, by full_join, with its k. */
Test(faults, full_scenario_makes_a_known_number_of_allocations, .timeout = 10)
{
    size_t attempts = 0;
    cr_assert_eq(run_full(0, &attempts), 0);
    cr_assert_eq(attempts, FULL_ALLOCS, "the scenario makes %zu allocations, not %u", attempts,
                 FULL_ALLOCS);
    cr_assert_eq(run_full(FULL_ALLOCS + 1, &attempts), 0, "the scenario made allocation %u",
                 FULL_ALLOCS + 1);
}

Test(faults, full_scenario_recovers_from_each_allocation_failing, .timeout = 10)
{
    for (size_t k = 1; k <= FULL_ALLOCS; k++) {
        size_t attempts = 0;
        size_t failures = run_full(k, &attempts);
        cr_assert_eq(failures, 1, "k=%zu: %zu allocations failed, expected exactly one", k, failures);
    }
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
