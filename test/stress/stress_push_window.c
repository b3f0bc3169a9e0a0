/*
 * stress_push_window: a sender stopped between the two steps of its push, the swap of the
 * queue's producer end and the store that links the previous node to its own. Its message is
 * then "in flight" (include/lazychan.h): counted, not receivable, and neither is the message
 * queued just before it nor any later one.
 *
 * The program is linked with a copy of the library built with -DLC_TEST_HOOKS, whose pushes call
 * lc__test_push_window inside that window (push_window.h). The hook here acts only on pushes a
 * thread chose beforehand (a thread-local plan): it holds the thread at a gate until the
 * receiver opens it (or until a time the receiver set), sleeps, spins or yields. Each round has
 * two parts.
 *
 * A scenario (the kind cycles with the round): k messages sent and linked, then a sender held in
 * its window with message X, then j more messages sent (they complete). With the gate closed, so
 * that anything that waits for the held sender hangs (the watchdog reports it):
 *  - lc_rx_len counts X and everything else queued;
 *  - exactly max(k - 1, 0) messages can be received, in order; then lc_try_recv and
 *    lc_try_recv_many return LC_EMPTY (never LC_CLOSED), lc_recv_timeout LC_TIMEDOUT;
 *  - a bounded channel that holds capacity messages, X among them, answers lc_try_send with
 *    LC_FULL and lc_send_timeout with LC_TIMEDOUT;
 * then, by kind:
 *  - recv, full: lc_recv, lc_recv_timeout or lc_recv_node waits for the sender and returns the
 *    next message only after the gate opened, parked rather than spinning (the receiving thread
 *    used at most half the wait in CPU time); the rest follows in order, then LC_CLOSED;
 *  - poll: the waker of an lc_poll_recv that returned LC_PENDING is called exactly once when the
 *    sender resumes, and the next poll gets the next message;
 *  - eos: every other sender handle is dropped meanwhile: LC_EMPTY, not LC_CLOSED, until the
 *    held sender resumed, X was received and that sender dropped its handle; then LC_CLOSED;
 *  - close: lc_rx_close meanwhile: X's send still returns LC_OK, later sends LC_CLOSED; the
 *    receiver gets LC_EMPTY until X is linked, then every message, then LC_CLOSED;
 *  - drop: lc_rx_drop meanwhile returns without waiting for the sender and forgets a registered
 *    waker (never called after it returned); X reaches cfg->drop exactly once, from the thread
 *    that drops the last sender handle;
 *  - two: two senders held, the later one released first: its send returns, nothing more can be
 *    received until the first resumes, then everything arrives in the order of the swaps;
 *  - mux, mux-ready: the receiver is registered with an lc_mux. lc_mux_wait(0) reports nothing
 *    while X is in flight, and a waiting lc_mux_wait reports the receiver once it is linked;
 *    mux-ready holds the sender in its second push instead, onto the mux's ready queue, so the
 *    message is linked but its report is in flight.
 * Every scenario ends with every handle dropped: zero bytes live in the counting allocator, and
 * every message was received exactly once or passed to cfg->drop exactly once, never both.
 *
 * A storm: producers send with one push in --stretch held a little (a sleep of up to
 * --sleep-us, a spin or a yield), and the receiver stretches its own re-pushes of the stub, while
 * it receives in every way; the round ends when the last sender is gone, or with lc_rx_close or
 * lc_rx_drop at a random moment. Every message arrives intact, at most once, per producer in
 * order; received + dropped = accepted; LC_CLOSED comes only once every accepted message was
 * received; lc_rx_len stays within the capacity; zero bytes live at the end; nothing hangs.
 */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include "stress.h"

#include <sys/resource.h>

#include "push_window.h"

static uint64_t producers = 4;
static uint64_t rounds = 300;
static uint64_t messages = 300;  /* storm: per producer and round */
static uint64_t stretch = 32;    /* storm: one push in this many is stretched */
static uint64_t sleep_us = 2000; /* storm: the longest sleep inside a push */

/* ---- the hook ---- */

enum { HOLD_NONE, HOLD_GATE, HOLD_SLEEP, HOLD_SPIN, HOLD_YIELD };

struct gate {
    atomic_bool entered;             /* the held thread is inside its push window */
    atomic_bool open;                /* go on now */
    atomic_uint_fast64_t open_at_ns; /* or once the clock reaches this (0: not set) */
};

/* What the hook does to the calling thread's pushes; each thread sets only its own. */
struct plan {
    int kind;
    unsigned skip;     /* pushes to let through before the one to stretch */
    uint64_t ns;       /* HOLD_SLEEP, HOLD_SPIN */
    struct gate *gate; /* HOLD_GATE */
};

static _Thread_local struct plan plan;
static atomic_uint_fast64_t stretched; /* pushes the hook held or stretched */

static void gate_init(struct gate *g)
{
    atomic_init(&g->entered, false);
    atomic_init(&g->open, false);
    atomic_init(&g->open_at_ns, 0);
}

static void hold_at_gate(struct gate *g)
{
    atomic_store(&g->entered, true);
    while (!atomic_load(&g->open)) {
        uint64_t at = atomic_load(&g->open_at_ns);
        if (at != 0 && stress_now_ns() >= at)
            break;
        stress_sleep_ns(20000);
    }
}

static void push_window(void)
{
    if (plan.kind == HOLD_NONE)
        return;
    if (plan.skip > 0) {
        plan.skip--;
        return;
    }
    struct plan p = plan;
    plan.kind = HOLD_NONE; /* one push per plan */
    atomic_fetch_add_explicit(&stretched, 1, memory_order_relaxed);
    switch (p.kind) {
    case HOLD_GATE:
        hold_at_gate(p.gate);
        break;
    case HOLD_SLEEP:
        stress_sleep_ns(p.ns);
        break;
    case HOLD_SPIN:
        stress_spin_ns(p.ns);
        break;
    default:
        sched_yield();
        break;
    }
}

/* ---- a counting allocator ---- */

static stress_counting mem;
static const lc_allocator counting = STRESS_COUNTING_ALLOCATOR(&mem);

static void check_nothing_live(const char *when)
{
    int_fast64_t bytes = atomic_load(&mem.live_bytes), blocks = atomic_load(&mem.live_blocks);
    CHECK(bytes == 0 && blocks == 0,
          "%s: expected every handle gone and nothing allocated, saw %" PRIdFAST64
          " bytes in %" PRIdFAST64 " blocks live",
          when, bytes, blocks);
}

/* ---- scenario messages ---- */

enum { MAX_IDS = 16, PROBE_ID = MAX_IDS - 1 }; /* the probe is refused, never queued */
enum { TAG_NONE, TAG_MAIN, TAG_HELD0, TAG_HELD1 };
static const char *const tag_names[] = {"no thread", "the receiver's thread",
                                        "the first held sender's thread",
                                        "the second held sender's thread"};

static _Thread_local int thread_tag;
static bool scen_intrusive;
static stress_item scen_items[MAX_IDS];
static atomic_uint drop_hits[MAX_IDS];
static atomic_int drop_tag[MAX_IDS]; /* the thread that called cfg->drop for the id (last) */

static void note_drop(uint64_t id)
{
    CHECK(id < PROBE_ID, "cfg->drop got id %" PRIu64 ", which no send accepted", id);
    atomic_fetch_add(&drop_hits[id], 1);
    atomic_store(&drop_tag[id], thread_tag);
}

static void scen_drop_copy(void *ctx, void *msg)
{
    (void)ctx;
    stress_msg m;
    memcpy(&m, msg, sizeof m);
    CHECK_MSG(m);
    note_drop(m.id);
}

static void scen_drop_node(void *ctx, void *node)
{
    (void)ctx;
    stress_item *it = STRESS_ITEM_OF(node);
    CHECK(it->check == stress_check_word(it->id, it->aux), "dropped item is corrupt");
    CHECK(it->id < MAX_IDS && it == &scen_items[it->id], "dropped a node that is not ours");
    note_drop(it->id);
}

/* how: 0 try, 1 blocking, 2 with a timeout (copy mode; intrusive takes how % 2). */
static int send_id(lc_tx *tx, uint64_t id, uint64_t aux, int how)
{
    if (scen_intrusive) {
        stress_item *it = &scen_items[id];
        stress_make_item(it, id, aux);
        return how % 2 ? lc_send_node(tx, &it->node) : lc_try_send_node(tx, &it->node);
    }
    stress_msg m = stress_make_msg(id, aux);
    switch (how) {
    case 0:
        return lc_try_send(tx, &m);
    case 1:
        return lc_send(tx, &m);
    default:
        return lc_send_timeout(tx, &m, 1000000000u);
    }
}

enum { R_TRY, R_MANY, R_RECV, R_TIMEOUT };

/* Receives one message in the way asked (intrusive: R_TRY, else lc_recv_node). */
static int recv_id(lc_rx *rx, int how, uint64_t timeout_ns, uint64_t *id)
{
    if (scen_intrusive) {
        lc_node *node;
        int rc = how == R_TRY || how == R_MANY ? lc_try_recv_node(rx, &node)
                                               : lc_recv_node(rx, &node);
        if (rc == LC_OK) {
            stress_item *it = STRESS_ITEM_OF(node);
            CHECK(it->check == stress_check_word(it->id, it->aux), "received item is corrupt");
            CHECK(it->id < MAX_IDS && it == &scen_items[it->id], "received a node not ours");
            *id = it->id;
        }
        return rc;
    }
    stress_msg m;
    int rc;
    switch (how) {
    case R_TRY:
        rc = lc_try_recv(rx, &m);
        break;
    case R_MANY:
        rc = lc_try_recv_many(rx, &m, 1);
        if (rc == 1)
            rc = LC_OK;
        break;
    case R_RECV:
        rc = lc_recv(rx, &m);
        break;
    default:
        rc = lc_recv_timeout(rx, &m, timeout_ns);
        break;
    }
    if (rc == LC_OK) {
        CHECK_MSG(m);
        *id = m.id;
    }
    return rc;
}

/* One scenario's channel and what the receiver has seen: ids are given in the order of the
 * swaps, so the receiver must see 0, 1, 2, ... */
struct scen {
    lc_tx *tx; /* the receiver thread's own sender handle (NULL once dropped) */
    lc_rx *rx; /* NULL once dropped */
    uint64_t total;
    uint64_t next; /* the next id due */
    uint64_t aux[MAX_IDS];
};

static void expect_next(struct scen *s, int rc, uint64_t id, const char *how)
{
    CHECK(rc == LC_OK, "%s: expected id %" PRIu64 " of %" PRIu64 ", saw %d (%s)", how, s->next,
          s->total, rc, lc_strerror(rc));
    CHECK(id == s->next, "%s: expected id %" PRIu64 " (ids follow the order of the swaps), saw id "
          "%" PRIu64, how, s->next, id);
    s->next++;
}

/* ---- the held sender ---- */

struct held {
    pthread_t thread;
    lc_tx *tx; /* its own handle, dropped after the send */
    uint64_t id, aux;
    int how;
    unsigned skip; /* 1: held in its second push (the mux's ready queue), not its first */
    int tag;
    struct gate gate;
    int rc;               /* its send's result, read after the join */
    atomic_bool returned; /* its send returned */
    atomic_bool joined;
};

static void *held_main(void *arg)
{
    struct held *h = arg;
    thread_tag = h->tag;
    plan = (struct plan){.kind = HOLD_GATE, .skip = h->skip, .gate = &h->gate};
    int rc = send_id(h->tx, h->id, h->aux, h->how);
    CHECK(plan.kind == HOLD_NONE,
          "the send of id %" PRIu64 " returned %d (%s) without making the push it was to be "
          "held in",
          h->id, rc, lc_strerror(rc));
    h->rc = rc;
    atomic_store(&h->returned, true);
    lc_tx_drop(h->tx);
    return NULL;
}

static void held_start(struct held *h)
{
    gate_init(&h->gate);
    atomic_init(&h->returned, false);
    atomic_init(&h->joined, false);
    h->rc = 1;
    h->thread = stress_spawn(held_main, h);
    stress_phase("waiting for the held sender to reach its push window");
    while (!atomic_load(&h->gate.entered)) {
        CHECK(!atomic_load(&h->returned), "the held sender's send returned before its push");
        stress_sleep_ns(10000);
    }
}

static void held_join(struct held *h)
{
    if (atomic_load(&h->joined))
        return;
    atomic_store(&h->gate.open, true);
    stress_join(h->thread);
    atomic_store(&h->joined, true);
    CHECK(h->rc == LC_OK, "the held sender's send of id %" PRIu64 " returned %d (%s), expected "
          "LC_OK: it had its slot before anything else happened", h->id, h->rc,
          lc_strerror(h->rc));
}

/* ---- scenario checks ---- */

static bool check_cpu; /* the CPU and sleep checks: off under valgrind (one thread at a time) */

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Times this thread went to sleep (a futex wait counts; a spin or sched_yield does not). */
static long thread_sleeps(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_nvcsw;
}

/* Nothing more can be received now: LC_EMPTY (not LC_CLOSED), every way that does not block. */
static void check_stuck(struct scen *s, const char *why)
{
    uint64_t id = UINT64_MAX;
    for (int i = 0; i < 3; i++) {
        int rc = recv_id(s->rx, i == 1 ? R_MANY : R_TRY, 0, &id);
        CHECK(rc == LC_EMPTY,
              "%s: expected LC_EMPTY with %" PRIu64 " of %" PRIu64 " received, saw %d (%s)%s", why,
              s->next, s->total, rc, lc_strerror(rc),
              rc == LC_OK ? " (a message behind the one in flight was received)" : "");
    }
    if (!scen_intrusive) {
        uint64_t t0 = stress_now_ns();
        int rc = recv_id(s->rx, R_TIMEOUT, 200000, &id);
        CHECK(rc == LC_TIMEDOUT, "%s: lc_recv_timeout(200 us): expected LC_TIMEDOUT, saw %d (%s)",
              why, rc, lc_strerror(rc));
        CHECK(stress_now_ns() - t0 >= 200000, "lc_recv_timeout(200 us) returned early");
    }
    CHECK(lc_rx_len(s->rx) == s->total - s->next,
          "%s: lc_rx_len %zu, expected %" PRIu64 " (the messages in flight count)", why,
          lc_rx_len(s->rx), s->total - s->next);
}

/* Opens the gate in hold_ns and receives the next message in a blocking way: it can only come
 * once the gate is open, and the wait must park. */
static void receive_across_gate(struct scen *s, struct held *h, stress_rng *rng)
{
    uint64_t hold = 1000000 + stress_below(rng, 3000000);
    int how = scen_intrusive || stress_below(rng, 2) ? R_RECV : R_TIMEOUT;
    long sleeps0 = thread_sleeps();
    uint64_t cpu0 = thread_cpu_ns(), t0 = stress_now_ns(), open_at = t0 + hold;
    atomic_store(&h->gate.open_at_ns, open_at);
    stress_phase("a blocking receive waits for the held sender");
    uint64_t id = UINT64_MAX;
    int rc = recv_id(s->rx, how, 2000000000u, &id);
    uint64_t t1 = stress_now_ns(), cpu = thread_cpu_ns() - cpu0;
    long sleeps = thread_sleeps() - sleeps0;
    expect_next(s, rc, id, how == R_RECV ? "blocking receive across the window" :
                "lc_recv_timeout(2 s) across the window");
    CHECK(t1 >= open_at, "a blocking receive returned id %" PRIu64 " %.3f ms before the held "
          "sender could link it", id, (double)(open_at - t1) / 1e6);
    /* Parking shows as a sleep; spinning as CPU time near the whole wait. (Not half of it: on a
     * loaded machine a parked receiver may burn a few ms yielding to a sender that is inside a
     * wake call, which it must wait out.) Neither holds under valgrind, which runs one thread
     * at a time and does not report its threads' sleeps. */
    if (check_cpu)
        CHECK(sleeps >= 1, "the blocking receive never slept in %.3f ms while the sender was "
              "held: it spun instead of parking", (double)(t1 - t0) / 1e6);
    if (check_cpu)
        CHECK(cpu <= (t1 - t0) / 10 * 9,
              "the blocking receive used %.3f ms of CPU in %.3f ms while the sender was held: "
              "it spun instead of parking",
              (double)cpu / 1e6, (double)(t1 - t0) / 1e6);
}

/* Receives everything left, in order, in random ways that may wait. */
static void receive_rest(struct scen *s, stress_rng *rng)
{
    stress_phase("receiving the rest");
    while (s->next < s->total) {
        uint64_t id = UINT64_MAX;
        int how = (int)stress_below(rng, 4);
        int rc;
        do /* the held senders resumed, so each message is at most a moment away */
            rc = recv_id(s->rx, how, 1000000000u, &id);
        while ((how == R_TRY || how == R_MANY) && rc == LC_EMPTY);
        expect_next(s, rc, id, "receiving after the window closed");
    }
}

/* The last handles go; a receiver still there sees LC_CLOSED for good. */
static void finish(struct scen *s, struct held *h, int nheld)
{
    for (int i = 0; i < nheld; i++)
        held_join(&h[i]);
    if (s->tx) {
        lc_tx_drop(s->tx);
        s->tx = NULL;
    }
    if (s->rx) {
        uint64_t id;
        CHECK_RC(recv_id(s->rx, R_RECV, 0, &id), LC_CLOSED);
        CHECK_RC(recv_id(s->rx, R_TRY, 0, &id), LC_CLOSED);
        lc_rx_drop(s->rx);
        s->rx = NULL;
        for (uint64_t i = 0; i < s->total; i++)
            CHECK(atomic_load(&drop_hits[i]) == 0, "id %" PRIu64 " was received and dropped", i);
    }
    check_nothing_live("after the scenario");
}

/* The waker of the poll and drop scenarios. */
struct wake_rec {
    lc_waker waker;
    atomic_uint calls;
    atomic_bool dead; /* replaced or forgotten: a call now is a failure */
};

static void wake_rec_fn(void *ctx)
{
    struct wake_rec *w = ctx;
    CHECK(!atomic_load(&w->dead), "a waker was called after lc_rx_drop returned");
    atomic_fetch_add(&w->calls, 1);
}

static void wake_rec_init(struct wake_rec *w)
{
    w->waker = (lc_waker){wake_rec_fn, w};
    atomic_init(&w->calls, 0);
    atomic_init(&w->dead, false);
}

/* ---- the scenarios ---- */

enum { K_RECV, K_FULL, K_POLL, K_EOS, K_CLOSE, K_DROP, K_TWO, K_MUX, K_MUX_READY, N_KINDS };
static const char *const kind_names[] = {"recv", "full", "poll", "eos", "close",
                                         "drop", "two", "mux", "mux-ready"};
static uint64_t kind_runs[N_KINDS];

static void scenario_mux(struct scen *s, struct held *h, lc_mux *mux, stress_rng *rng)
{
    lc_mux_event ev[4];
    CHECK_RC(lc_mux_wait(mux, 0, ev, 4), LC_TIMEDOUT);
    uint64_t hold = 1000000 + stress_below(rng, 2000000);
    uint64_t open_at = stress_now_ns() + hold;
    atomic_store(&h->gate.open_at_ns, open_at);
    stress_phase("lc_mux_wait waits for the held sender");
    int n = lc_mux_wait(mux, LC_FOREVER, ev, 4);
    CHECK(n == 1 && ev[0].rx == s->rx && ev[0].user_data == s,
          "lc_mux_wait: expected our receiver reported once, saw %d (%s)", n,
          n < 0 ? lc_strerror(n) : "reports");
    CHECK(stress_now_ns() >= open_at, "lc_mux_wait reported the receiver before the held "
          "sender could link its message or its report");
    uint64_t id = UINT64_MAX;
    int rc = recv_id(s->rx, R_TRY, 0, &id);
    expect_next(s, rc, id, "lc_try_recv after the mux report");
    CHECK_RC(recv_id(s->rx, R_TRY, 0, &id), LC_EMPTY);
    held_join(h);
    CHECK_RC(lc_mux_wait(mux, 0, ev, 4), LC_TIMEDOUT);
    lc_tx_drop(s->tx); /* the end of stream is reported */
    s->tx = NULL;
    stress_phase("lc_mux_wait waits for the end of stream");
    n = lc_mux_wait(mux, LC_FOREVER, ev, 4);
    CHECK(n == 1 && ev[0].rx == s->rx, "end of stream: expected one report, saw %d", n);
    CHECK_RC(recv_id(s->rx, R_TRY, 0, &id), LC_CLOSED);
    lc_rx_drop(s->rx); /* unregisters it */
    s->rx = NULL;
    CHECK_EQ(lc_mux_count(mux), 0);
    lc_mux_free(mux);
}

static void scenario(uint64_t round)
{
    stress_rng rng = stress_rng_for(1000, round);
    int kind = (int)(round % N_KINDS);
    kind_runs[kind]++;
    bool mux_kind = kind == K_MUX || kind == K_MUX_READY;
    scen_intrusive = kind != K_POLL && stress_below(&rng, 3) == 0;
    uint64_t k = mux_kind ? 0 : stress_below(&rng, 4);
    uint64_t j = mux_kind ? 0 : stress_below(&rng, 3);
    int nheld = kind == K_TWO ? 2 : 1;
    struct scen s = {.total = k + (uint64_t)nheld + j};
    uint64_t capacity = kind == K_FULL          ? s.total
                        : stress_below(&rng, 2) ? 0
                                                : s.total + stress_below(&rng, 3);
    for (int i = 0; i < MAX_IDS; i++) {
        atomic_store(&drop_hits[i], 0);
        atomic_store(&drop_tag[i], TAG_NONE);
    }
    lc_config cfg = {.capacity = capacity,
                     .allocator = &counting,
                     .drop = scen_intrusive ? scen_drop_node : scen_drop_copy};
    CHECK_RC(stress_channel(scen_intrusive, &cfg, &s.tx, &s.rx), LC_OK);
    lc_mux *mux = NULL;
    if (mux_kind) {
        CHECK_RC(lc_mux_new(&counting, &mux), LC_OK);
        CHECK_RC(lc_mux_add(mux, s.rx, &s), LC_OK);
    }

    /* k linked, X held (two held: X and X'), j linked behind. */
    for (uint64_t i = 0; i < k; i++)
        CHECK_RC(send_id(s.tx, i, 0, (int)stress_below(&rng, 3)), LC_OK);
    struct held h[2];
    memset(h, 0, sizeof h);
    for (int n = 0; n < nheld; n++) {
        h[n].tx = lc_tx_clone(s.tx);
        CHECK(h[n].tx != NULL, "lc_tx_clone returned NULL");
        h[n].id = k + (uint64_t)n;
        h[n].aux = 1 + (uint64_t)n;
        h[n].how = (int)stress_below(&rng, 3);
        h[n].skip = kind == K_MUX_READY;
        h[n].tag = TAG_HELD0 + n;
        held_start(&h[n]);
    }
    for (uint64_t i = k + (uint64_t)nheld; i < s.total; i++)
        CHECK_RC(send_id(s.tx, i, 0, (int)stress_below(&rng, 3)), LC_OK);
    stress_phase("checking the channel while a sender is held in its push window");

    if (mux_kind) {
        scenario_mux(&s, &h[0], mux, &rng);
        finish(&s, h, nheld);
        return;
    }
    CHECK(lc_rx_len(s.rx) == s.total,
          "lc_rx_len %zu, expected %" PRIu64 " (%" PRIu64 " linked, %d in flight, %" PRIu64
          " behind)",
          lc_rx_len(s.rx), s.total, k, nheld, j);
    if (kind == K_FULL) {
        CHECK_RC(send_id(s.tx, PROBE_ID, 0, 0), LC_FULL);
        if (!scen_intrusive) {
            stress_msg m = stress_make_msg(PROBE_ID, 0);
            CHECK_RC(lc_send_timeout(s.tx, &m, 300000), LC_TIMEDOUT);
        }
        CHECK_EQ(lc_rx_len(s.rx), s.total);
    }
    /* Everything but the last message linked before X. */
    uint64_t receivable = k > 0 ? k - 1 : 0;
    bool take_first = kind != K_DROP || stress_below(&rng, 2);
    if (take_first) {
        for (uint64_t i = 0; i < receivable; i++) {
            uint64_t id = UINT64_MAX;
            int rc = recv_id(s.rx, stress_below(&rng, 2) ? R_TRY : R_MANY, 0, &id);
            expect_next(&s, rc, id,
                        "receiving what was linked before the message just ahead of the held one");
        }
        check_stuck(&s, "a sender held in its push window");
    }

    switch (kind) {
    case K_RECV:
    case K_FULL:
        receive_across_gate(&s, &h[0], &rng);
        receive_rest(&s, &rng);
        break;
    case K_POLL: {
        struct wake_rec w1, w2;
        wake_rec_init(&w1);
        wake_rec_init(&w2);
        stress_msg m;
        CHECK_RC(lc_poll_recv(s.rx, &m, &w1.waker), LC_PENDING);
        atomic_store(&h[0].gate.open, true);
        stress_phase("waiting for the waker after the held sender resumed");
        while (atomic_load(&w1.calls) == 0)
            sched_yield();
        held_join(&h[0]);
        CHECK_EQ(atomic_load(&w1.calls), 1);
        while (s.next < s.total) {
            int rc = lc_poll_recv(s.rx, &m, &w2.waker);
            CHECK(rc == LC_OK, "lc_poll_recv after the wake: expected id %" PRIu64 ", saw %d (%s)",
                  s.next, rc, lc_strerror(rc));
            CHECK_MSG(m);
            expect_next(&s, rc, m.id, "lc_poll_recv after the wake");
        }
        CHECK_EQ(atomic_load(&w1.calls), 1);
        CHECK(atomic_load(&w2.calls) <= 1, "a waker was called twice");
        break;
    }
    case K_EOS: {
        lc_tx_drop(s.tx);
        s.tx = NULL;
        CHECK_EQ(lc_sender_count(s.rx), 1);
        if (take_first)
            check_stuck(&s, "the last sender held in its push window after the others dropped");
        receive_across_gate(&s, &h[0], &rng);
        receive_rest(&s, &rng);
        break;
    }
    case K_CLOSE: {
        lc_rx_close(s.rx);
        CHECK(lc_tx_is_closed(s.tx), "lc_tx_is_closed is false after lc_rx_close");
        CHECK_RC(send_id(s.tx, PROBE_ID, 0, (int)stress_below(&rng, 3)), LC_CLOSED);
        check_stuck(&s, "lc_rx_close while a sender is held in its push window");
        receive_across_gate(&s, &h[0], &rng);
        receive_rest(&s, &rng);
        uint64_t id;
        CHECK_RC(recv_id(s.rx, R_TRY, 0, &id), LC_CLOSED); /* closed and drained */
        break;
    }
    case K_DROP: {
        struct wake_rec w;
        wake_rec_init(&w);
        bool polled = !scen_intrusive && stress_below(&rng, 2);
        if (polled) {
            /* Registers the waker, unless something linked before can be taken. */
            stress_msg m;
            int rc = lc_poll_recv(s.rx, &m, &w.waker);
            if (s.next < receivable) {
                CHECK_MSG(m);
                expect_next(&s, rc, m.id, "lc_poll_recv before lc_rx_drop");
            } else {
                CHECK_RC(rc, LC_PENDING);
            }
        }
        uint64_t received = s.next;
        stress_phase("lc_rx_drop while a sender is held in its push window");
        lc_rx_drop(s.rx); /* must not wait for the held sender: the gate is closed */
        s.rx = NULL;
        atomic_store(&w.dead, true);
        uint64_t x = h[0].id;
        CHECK(atomic_load(&drop_hits[x]) == 0,
              "id %" PRIu64 " reached cfg->drop while still in flight", x);
        int last_tag;
        if (stress_below(&rng, 2)) {
            lc_tx_drop(s.tx); /* the held sender's handle is the last */
            s.tx = NULL;
            last_tag = h[0].tag;
            held_join(&h[0]);
        } else {
            held_join(&h[0]);
            last_tag = TAG_MAIN;
            lc_tx_drop(s.tx);
            s.tx = NULL;
        }
        CHECK(atomic_load(&drop_hits[x]) == 1 && atomic_load(&drop_tag[x]) == last_tag,
              "id %" PRIu64 " (in flight at lc_rx_drop): expected one cfg->drop call from %s, saw "
              "%u, the last from %s",
              x, tag_names[last_tag], atomic_load(&drop_hits[x]),
              tag_names[atomic_load(&drop_tag[x])]);
        for (uint64_t i = 0; i < s.total; i++) {
            unsigned d = atomic_load(&drop_hits[i]);
            CHECK(d == (i >= received),
                  "id %" PRIu64 ": %s, but cfg->drop was called %u times for it", i,
                  i < received ? "received" : "never received", d);
        }
        check_nothing_live("after lc_rx_drop with a message in flight and every sender gone");
        return;
    }
    case K_TWO: {
        atomic_store(&h[1].gate.open, true);
        stress_phase("the second held sender resumes first");
        while (!atomic_load(&h[1].returned))
            sched_yield();
        check_stuck(&s, "the first of two held senders still in its push window");
        receive_across_gate(&s, &h[0], &rng);
        receive_rest(&s, &rng);
        break;
    }
    default:
        FAIL("unknown scenario %d", kind);
    }
    finish(&s, h, nheld);
}

/* ---- the storm ---- */

enum { END_EOS, END_CLOSE, END_DROP };
static const char *const end_names[] = {"last sender gone", "lc_rx_close", "lc_rx_drop"};
enum { NOT_SENT = 1 };

static lc_rx *storm_rx;
static lc_tx *storm_tx[64];
static bool storm_intrusive;
static uint64_t storm_capacity;
static uint64_t storm_round;
static int8_t *storm_status;      /* per id: what its send returned */
static unsigned char *storm_recvd; /* per id */
static stress_item *storm_items;
static stress_tally storm_drops;
static pthread_barrier_t storm_start, storm_finish;

/* A random stretch of the calling thread's next push. */
static void plan_stretch(stress_rng *rng, uint64_t max_sleep_ns)
{
    switch (stress_below(rng, 4)) {
    case 0:
        plan = (struct plan){.kind = HOLD_YIELD};
        break;
    case 1:
        plan = (struct plan){.kind = HOLD_SPIN, .ns = 1000 + stress_below(rng, 20000)};
        break;
    default: {
        /* Mostly short sleeps; one in four up to the longest. */
        uint64_t top = stress_below(rng, 4) ? 300000 : max_sleep_ns;
        if (top < 100000)
            top = 100000;
        plan = (struct plan){.kind = HOLD_SLEEP, .ns = 100000 + stress_below(rng, top - 99999)};
        break;
    }
    }
}

static void *storm_producer(void *arg)
{
    uint64_t p = (uint64_t)(uintptr_t)arg;
    while (stress_round_begins(&storm_start, &storm_round)) {
        stress_rng rng = stress_rng_for(p + 1, storm_round);
        lc_tx *tx = storm_tx[p];
        for (uint64_t k = 0; k < messages; k++) {
            uint64_t id = p * messages + k;
            if (stress_below(&rng, stretch) == 0)
                plan_stretch(&rng, sleep_us * 1000);
            int rc;
            do {
                if (storm_intrusive) {
                    stress_item *it = &storm_items[id];
                    stress_make_item(it, id, p);
                    rc = stress_below(&rng, 2) ? lc_send_node(tx, &it->node)
                                               : lc_try_send_node(tx, &it->node);
                } else {
                    stress_msg m = stress_make_msg(id, p);
                    switch (stress_below(&rng, 3)) {
                    case 0:
                        rc = lc_send(tx, &m);
                        break;
                    case 1:
                        rc = lc_try_send(tx, &m);
                        break;
                    default:
                        rc = lc_send_timeout(tx, &m, stress_below(&rng, 200000));
                        break;
                    }
                }
                if (rc == LC_FULL || rc == LC_TIMEDOUT)
                    sched_yield();
            } while (rc == LC_FULL || rc == LC_TIMEDOUT);
            plan.kind = HOLD_NONE;
            CHECK(rc == LC_OK || rc == LC_CLOSED,
                  "producer %" PRIu64 " id %" PRIu64 ": expected LC_OK or LC_CLOSED, saw %d (%s)",
                  p, id, rc, lc_strerror(rc));
            storm_status[id] = (int8_t)rc;
            if (rc == LC_CLOSED)
                break;
            if (stress_below(&rng, 128) == 0)
                stress_sleep_ns(stress_below(&rng, 200000));
        }
        lc_tx_drop(tx);
        pthread_barrier_wait(&storm_finish);
    }
    return NULL;
}

static atomic_bool storm_woken;
static void storm_wake(void *ctx) { atomic_store((atomic_bool *)ctx, true); }
static const lc_waker storm_waker = {storm_wake, &storm_woken};

/* One receive in a random way: LC_OK (*m filled), LC_EMPTY, LC_TIMEDOUT or LC_CLOSED. */
static int storm_receive(stress_rng *rng, stress_msg *m)
{
    if (storm_intrusive) {
        lc_node *node;
        int rc = stress_below(rng, 2) ? lc_recv_node(storm_rx, &node)
                                      : lc_try_recv_node(storm_rx, &node);
        if (rc == LC_OK) {
            stress_item *it = STRESS_ITEM_OF(node);
            CHECK(it->id < producers * messages && it == &storm_items[it->id],
                  "received a node that is not ours");
            *m = (stress_msg){it->id, it->aux, it->check};
        }
        return rc;
    }
    switch (stress_below(rng, 5)) {
    case 0:
        return lc_recv(storm_rx, m);
    case 1:
        return lc_recv_timeout(storm_rx, m, stress_below(rng, 500000));
    case 2:
        return lc_try_recv(storm_rx, m);
    case 3: {
        int n = lc_try_recv_many(storm_rx, m, 1);
        return n == 1 ? LC_OK : n;
    }
    default: {
        atomic_store(&storm_woken, false);
        int rc = lc_poll_recv(storm_rx, m, &storm_waker);
        if (rc != LC_PENDING)
            return rc;
        stress_phase("storm: waiting for the waker after LC_PENDING");
        unsigned spins = 0;
        while (!atomic_load(&storm_woken)) {
            if (++spins < 1000)
                sched_yield();
            else
                stress_sleep_ns(50000);
        }
        stress_phase("storm: receiving");
        return LC_EMPTY;
    }
    }
}

static void storm(uint64_t round, uint64_t *totals)
{
    stress_rng rng = stress_rng_for(0, round);
    uint64_t n_ids = producers * messages;
    storm_round = round;
    storm_intrusive = stress_below(&rng, 3) == 0;
    static const uint64_t capacities[] = {0, 1, 3, 16};
    storm_capacity = capacities[stress_below(&rng, 4)];
    int end = stress_below(&rng, 2) ? END_EOS : stress_below(&rng, 2) ? END_CLOSE : END_DROP;
    uint64_t end_after = end == END_EOS ? UINT64_MAX : stress_below(&rng, n_ids * 3 / 4 + 1);
    memset(storm_status, NOT_SENT, n_ids);
    memset(storm_recvd, 0, n_ids);
    stress_tally_reset(&storm_drops);
    lc_config cfg = {.capacity = storm_capacity,
                     .allocator = &counting,
                     .drop = storm_intrusive ? stress_drop_item : stress_drop_msg,
                     .drop_ctx = &storm_drops};
    lc_tx *tx;
    CHECK_RC(stress_channel(storm_intrusive, &cfg, &tx, &storm_rx), LC_OK);
    storm_tx[0] = tx;
    for (uint64_t p = 1; p < producers; p++) {
        storm_tx[p] = lc_tx_clone(tx);
        CHECK(storm_tx[p] != NULL, "lc_tx_clone returned NULL");
    }
    uint64_t last[64];
    for (uint64_t p = 0; p < producers; p++)
        last[p] = UINT64_MAX;

    stress_phase("storm: receiving");
    pthread_barrier_wait(&storm_start);
    uint64_t got = 0;
    bool closed = false, saw_closed = false;
    for (;;) {
        if (got >= end_after && !closed) {
            if (end == END_DROP) {
                lc_rx_drop(storm_rx);
                storm_rx = NULL;
                break;
            }
            lc_rx_close(storm_rx);
            closed = true;
        }
        if (stress_below(&rng, 16) == 0)
            plan_stretch(&rng, 200000); /* our own re-push of the stub, if one comes */
        stress_msg m;
        int rc = storm_receive(&rng, &m);
        plan.kind = HOLD_NONE;
        if (storm_capacity)
            CHECK(lc_rx_len(storm_rx) <= storm_capacity,
                  "lc_rx_len %zu above the capacity %" PRIu64, lc_rx_len(storm_rx),
                  storm_capacity);
        if (rc == LC_CLOSED) {
            saw_closed = true;
            break;
        }
        if (rc != LC_OK) {
            CHECK(rc == LC_EMPTY || rc == LC_TIMEDOUT, "storm receive: %d (%s)", rc,
                  lc_strerror(rc));
            if (lc_rx_len(storm_rx) > 0)
                totals[5]++; /* nothing to take, yet something counted: mostly in flight */
            continue;
        }
        CHECK_MSG(m);
        CHECK(m.id < n_ids && m.aux == m.id / messages, "received id %" PRIu64 " aux %" PRIu64
              " that no producer sent", m.id, m.aux);
        stress_take_once_in_order(storm_recvd, last, m.id, m.aux);
        got++;
        stress_progress(round * 1000000 + got);
    }
    stress_phase("storm: waiting for the producers");
    pthread_barrier_wait(&storm_finish);

    uint64_t accepted = 0;
    for (uint64_t id = 0; id < n_ids; id++) {
        unsigned d = stress_tally_get(&storm_drops, id);
        if (storm_status[id] == LC_OK)
            accepted++;
        CHECK(storm_recvd[id] + d == (storm_status[id] == LC_OK),
              "id %" PRIu64 ": the send returned %d, received %u times, dropped %u times (%s)", id,
              storm_status[id], storm_recvd[id], d, end_names[end]);
    }
    if (saw_closed)
        CHECK(got == accepted,
              "LC_CLOSED after %" PRIu64 " of %" PRIu64 " accepted messages (%s): an in-flight "
              "message was taken for the end of stream",
              got, accepted, end_names[end]);
    if (storm_rx) {
        CHECK_EQ(lc_rx_len(storm_rx), 0);
        lc_rx_drop(storm_rx);
        storm_rx = NULL;
        CHECK_EQ(atomic_load(&storm_drops.total), 0);
    }
    check_nothing_live("after the storm round");
    totals[0] += accepted;
    totals[1] += got;
    totals[1 + 1 + (uint64_t)end]++;
}

static void hang_report(FILE *f)
{
    int_fast64_t bytes = atomic_load(&mem.live_bytes);
    fprintf(f, "  %" PRIdFAST64 " bytes live; storm channel %s, capacity %" PRIu64 "\n", bytes,
            storm_rx ? "open" : "not open", storm_capacity);
}

int main(int argc, char **argv)
{
    stress_opt opts[] = {
        {.name = "threads", .help = "storm producers (at most 64)", .num = &producers},
        {.name = "iterations", .help = "rounds (a scenario and a storm each)", .num = &rounds,
         .scaled_min = 2 * N_KINDS},
        {.name = "messages", .help = "storm: messages per producer and round", .num = &messages},
        {.name = "stretch", .help = "storm: one push in this many is stretched", .num = &stretch},
        {.name = "sleep-us", .help = "storm: the longest sleep inside a push", .num = &sleep_us},
    };
    stress_init(argc, argv, "stress_push_window",
                "Senders held between the swap and the link of their push: the in-flight "
                "message as documented.",
                opts, sizeof opts / sizeof opts[0]);
    if (producers == 0 || producers > 64 || messages == 0 || stretch == 0) {
        fprintf(stderr, "stress_push_window: need 1 <= --threads <= 64, --messages >= 1, "
                        "--stretch >= 1\n");
        return 2;
    }
    const char *env = getenv("LC_STRESS_SCALE");
    check_cpu = !(env && strtoul(env, NULL, 10) > 1);
    stress_hang_report = hang_report;
    thread_tag = TAG_MAIN;
    lc__test_push_window = push_window;

    uint64_t n_ids = producers * messages;
    storm_status = malloc(n_ids);
    storm_recvd = malloc(n_ids);
    storm_items = calloc(n_ids, sizeof *storm_items);
    CHECK(storm_status && storm_recvd && storm_items, "out of memory");
    stress_tally_init(&storm_drops, n_ids);
    pthread_barrier_init(&storm_start, NULL, (unsigned)producers + 1);
    pthread_barrier_init(&storm_finish, NULL, (unsigned)producers + 1);
    pthread_t threads[64];
    stress_spawn_each(threads, producers, storm_producer);

    uint64_t totals[6] = {0};
    uint64_t t0 = stress_now_ns();
    for (uint64_t r = 0; r < rounds; r++) {
        stress_progress(r * 1000000);
        scenario(r);
        storm(r, totals);
    }
    stress_end_rounds(&storm_start, &storm_round, threads, producers);
    lc__test_push_window = NULL;

    printf("ok: %" PRIu64 " rounds in %.3f s; scenarios:", rounds,
           (double)(stress_now_ns() - t0) / 1e9);
    for (int k = 0; k < N_KINDS; k++)
        printf(" %s %" PRIu64, kind_names[k], kind_runs[k]);
    printf("\n    storm: %" PRIu64 " accepted, %" PRIu64 " received; ends: %" PRIu64
           " last sender, %" PRIu64 " close, %" PRIu64 " drop; %" PRIu64 " receives found "
           "nothing with messages counted; %" PRIu64 " pushes held or stretched in all\n",
           totals[0], totals[1], totals[2], totals[3], totals[4], totals[5],
           (uint64_t)atomic_load(&stretched));
    pthread_barrier_destroy(&storm_start);
    pthread_barrier_destroy(&storm_finish);
    stress_tally_free(&storm_drops);
    free(storm_status);
    free(storm_recvd);
    free(storm_items);
    return 0;
}
