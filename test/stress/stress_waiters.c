/*
 * stress_waiters: senders waiting for room, observed one at a time. Each round fills a channel of
 * capacity C, then starts waiting senders one after the other, each only once the one before is
 * known to wait: a blocking sender (lc_send, lc_send_timeout with a long timeout, lc_send_node)
 * once its thread sleeps in the kernel (its /proc state, seen several times in a row: nothing
 * else in a send sleeps before the sender joins the waiting list), an lc_poll_send wait once it
 * returned LC_PENDING. Some waits leave the list before any slot is freed: a short
 * lc_send_timeout that expires, an lc_send_cancel. Then the receiver frees slots, one at a time
 * or several with one lc_try_recv_many, and waits for the senders it expects to be granted
 * (their send returns LC_OK, or their waker is called) before it frees the next. The round ends
 * with every waiter served and the channel drained, or with lc_rx_close or lc_rx_drop while the
 * rest still wait.
 *
 * Invariants, exactly:
 *  - FIFO among waiters: the k-th freed slot goes to the k-th sender that started to wait (of
 *    those still waiting), whatever its kind; after a batch of n slots, exactly the next n
 *    waiters are served (poll waits woken in list order);
 *  - one waiter per freed slot: no other waiter returns or is woken, lc_rx_len stays C, and
 *    lc_try_send and lc_send_timeout(0) fail while the channel is full (no overtaking);
 *  - a waiter that gave up (timeout, cancel) is never served, never received, never woken;
 *  - the receiver gets the fillers and then the served waiters' messages, in order of service;
 *  - close while senders wait: after lc_rx_close or lc_rx_drop every waiter still in the list
 *    returns LC_CLOSED (a poll wait: its waker called exactly once, then lc_poll_send returns
 *    LC_CLOSED), none hangs, none of their messages is ever received or dropped; after
 *    lc_rx_close the receiver gets exactly what was queued, then LC_CLOSED; after lc_rx_drop
 *    exactly what was queued reaches cfg->drop, once each;
 *  - at the end of a drained round the capacity is exact again: C lc_try_send calls succeed,
 *    the next gets LC_FULL.
 */
#include "stress.h"

#include <fcntl.h>

enum { MAX_THREADS = 32, MAX_POLLS = 4, MAX_WAITERS = MAX_THREADS + MAX_POLLS, MAX_CAP = 8 };
enum { MAX_IDS = MAX_CAP + MAX_WAITERS + 1, PROBE_ID = MAX_IDS - 1 };

static uint64_t n_threads = 6;
static uint64_t rounds = 300;
static uint64_t capacity_opt = 0; /* 0: rounds cycle through 1, 2, 3, 4 */

/* ---- a thread's state in /proc ---- */

/* 'R', 'S', 'D', ... for thread tid of this process; 0 when /proc cannot tell. */
static char thread_state(const char *tid)
{
    char path[96], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%s/stat", tid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *paren = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    return paren && paren[1] == ' ' ? paren[2] : 0;
}

/* The calling thread's kernel id, as text, from the /proc/thread-self link ("PID/task/TID"). */
static void own_tid(char *out, size_t size)
{
    char link[48];
    ssize_t n = readlink("/proc/thread-self", link, sizeof link - 1);
    out[0] = '\0';
    if (n <= 0)
        return;
    link[n] = '\0';
    const char *slash = strrchr(link, '/');
    snprintf(out, size, "%s", slash ? slash + 1 : link);
}

/* ---- waiting senders on their own threads ---- */

enum { W_SEND, W_SEND_TIMEOUT, W_NODE, W_GIVE_UP, W_POLL, W_CANCEL };
static const char *const kind_names[] = {"lc_send", "lc_send_timeout(10 s)", "lc_send_node",
                                         "lc_send_timeout (expiring)", "lc_poll_send",
                                         "lc_poll_send (cancelled)"};

struct worker {
    pthread_t thread;
    char tid[64];
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool has_job, quit;     /* under mutex */
    int kind;               /* the job: a send of id through tx */
    uint64_t id, timeout_ns;
    lc_tx *tx;
    atomic_bool calling;    /* inside the send call */
    atomic_bool done;       /* the send returned: rc and took_ns are set */
    int rc;
    uint64_t took_ns;
};

static struct worker workers[MAX_THREADS];
static stress_item items[MAX_IDS];

static int send_id(lc_tx *tx, int kind, uint64_t id, uint64_t timeout_ns)
{
    if (kind == W_NODE) {
        stress_make_item(&items[id], id, 0);
        return lc_send_node(tx, &items[id].node);
    }
    stress_msg m = stress_make_msg(id, 0);
    switch (kind) {
    case W_SEND:
        return lc_send(tx, &m);
    default:
        return lc_send_timeout(tx, &m, timeout_ns);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    own_tid(w->tid, sizeof w->tid);
    pthread_mutex_lock(&w->mutex);
    for (;;) {
        while (!w->has_job && !w->quit)
            pthread_cond_wait(&w->cond, &w->mutex);
        if (w->quit)
            break;
        w->has_job = false;
        pthread_mutex_unlock(&w->mutex);
        atomic_store(&w->calling, true);
        uint64_t t0 = stress_now_ns();
        int rc = send_id(w->tx, w->kind, w->id, w->timeout_ns);
        w->took_ns = stress_now_ns() - t0;
        w->rc = rc;
        atomic_store(&w->done, true);
        pthread_mutex_lock(&w->mutex);
    }
    pthread_mutex_unlock(&w->mutex);
    return NULL;
}

static void worker_post(struct worker *w, int kind, lc_tx *tx, uint64_t id, uint64_t timeout_ns)
{
    atomic_store(&w->calling, false);
    atomic_store(&w->done, false);
    w->rc = 1;
    pthread_mutex_lock(&w->mutex);
    w->kind = kind;
    w->tx = tx;
    w->id = id;
    w->timeout_ns = timeout_ns;
    w->has_job = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mutex);
}

static uint64_t asleep_gap_ns; /* between two looks at a waiter's state */

/* Waits until w sleeps inside its send: true; false if the send returned first. */
static bool worker_wait_asleep(struct worker *w)
{
    while (!atomic_load(&w->calling))
        sched_yield();
    int seen = 0;
    for (;;) {
        char state = thread_state(w->tid);
        if (atomic_load(&w->done))
            return false;
        if (state == 0) { /* no /proc: give it time */
            stress_sleep_ns(20000000);
            return !atomic_load(&w->done);
        }
        seen = state == 'S' ? seen + 1 : 0;
        if (seen == 3)
            return true;
        stress_sleep_ns(seen ? asleep_gap_ns : 50000);
    }
}

static void worker_wait_done(struct worker *w)
{
    unsigned spins = 0;
    while (!atomic_load(&w->done)) {
        if (++spins < 100)
            sched_yield();
        else
            stress_sleep_ns(20000);
    }
}

/* ---- poll waits ---- */

struct poll_rec {
    lc_waker waker;
    atomic_uint calls;
    atomic_uint_fast64_t stamp; /* the order of its (last) call among all calls */
};

static atomic_uint_fast64_t stamps;

static void poll_wake(void *ctx)
{
    struct poll_rec *p = ctx;
    atomic_store(&p->stamp, atomic_fetch_add(&stamps, 1) + 1);
    atomic_fetch_add(&p->calls, 1);
}

/* ---- one round ---- */

struct waiter {
    int kind;
    uint64_t id;
    struct worker *worker; /* blocking kinds */
    lc_send_wait wait;     /* poll kinds */
    struct poll_rec rec;
    bool served, left;     /* granted a slot; or gave up, or closed out */
};

static stress_tally drops;
static lc_rx *rx;
static bool intrusive;

/* The queue as the receiver expects it: ids in order, in groups whose members may come in any
 * order (senders served by one batch link their messages concurrently). */
struct expect {
    uint64_t id[MAX_IDS];
    unsigned group[MAX_IDS];
    unsigned head, tail, groups;
};

static void expect_push(struct expect *e, uint64_t id, bool new_group)
{
    if (new_group || e->tail == e->head)
        e->groups++;
    e->group[e->tail] = e->groups;
    e->id[e->tail++] = id;
}

static void expect_take(struct expect *e, uint64_t id, const char *how)
{
    CHECK(e->head < e->tail, "%s: received id %" PRIu64 " with nothing expected", how, id);
    unsigned g = e->group[e->head];
    for (unsigned i = e->head; i < e->tail && e->group[i] == g; i++) {
        if (e->id[i] == id) {
            e->id[i] = e->id[e->head];
            e->id[e->head] = id;
            e->head++;
            return;
        }
    }
    FAIL("%s: received id %" PRIu64 ", expected id %" PRIu64 "%s: the queue is not in the order "
         "in which the waiting senders were served",
         how, id, e->id[e->head], e->group[e->head + 1] == g ? " or its batch" : "");
}

/* Receives n messages (n > 1: one lc_try_recv_many) and checks them against the queue. */
static void receive_some(struct expect *e, unsigned n, stress_rng *rng)
{
    if (intrusive) {
        for (unsigned i = 0; i < n; i++) {
            lc_node *node;
            int rc = stress_below(rng, 2) ? lc_try_recv_node(rx, &node) : lc_recv_node(rx, &node);
            CHECK_RC(rc, LC_OK);
            stress_item *it = STRESS_ITEM_OF(node);
            CHECK(it->id < MAX_IDS && it == &items[it->id] &&
                      it->check == stress_check_word(it->id, it->aux),
                  "received a node that is not ours or corrupt");
            expect_take(e, it->id, "lc_recv_node");
        }
        return;
    }
    stress_msg buf[MAX_CAP];
    if (n > 1) {
        int got = lc_try_recv_many(rx, buf, n);
        CHECK(got == (int)n, "lc_try_recv_many(%u) with %u queued returned %d", n, n, got);
    } else {
        int rc;
        switch (stress_below(rng, 3)) {
        case 0:
            rc = lc_try_recv(rx, &buf[0]);
            break;
        case 1:
            rc = lc_recv(rx, &buf[0]);
            break;
        default:
            rc = lc_recv_timeout(rx, &buf[0], 1000000000u);
            break;
        }
        CHECK_RC(rc, LC_OK);
    }
    for (unsigned i = 0; i < n; i++) {
        CHECK_MSG(buf[i]);
        expect_take(e, buf[i].id, n > 1 ? "lc_try_recv_many" : "receive");
    }
}

/* While waiters remain, nothing overtakes them and nothing more is queued. */
static void check_full(lc_tx *tx, uint64_t capacity, const char *when)
{
    CHECK(lc_rx_len(rx) == capacity, "%s: lc_rx_len %zu, expected the capacity %" PRIu64, when,
          lc_rx_len(rx), capacity);
    int rc;
    if (intrusive) {
        stress_make_item(&items[PROBE_ID], PROBE_ID, 0);
        rc = lc_try_send_node(tx, &items[PROBE_ID].node);
        CHECK(rc == LC_FULL, "%s: lc_try_send_node returned %d (%s), expected LC_FULL", when, rc,
              lc_strerror(rc));
        return;
    }
    stress_msg m = stress_make_msg(PROBE_ID, 0);
    rc = lc_try_send(tx, &m);
    CHECK(rc == LC_FULL, "%s: lc_try_send returned %d (%s), expected LC_FULL", when, rc,
          lc_strerror(rc));
    rc = lc_send_timeout(tx, &m, 0);
    CHECK(rc == LC_TIMEDOUT, "%s: lc_send_timeout(0) returned %d (%s), expected LC_TIMEDOUT",
          when, rc, lc_strerror(rc));
}

/* No sign that waiter w was served or woken: it still waits. */
static void check_still_waiting(struct waiter *w, const char *when)
{
    if (w->worker)
        CHECK(!atomic_load(&w->worker->done),
              "%s: waiter id %" PRIu64 " (%s) returned %d (%s) although it was not its turn", when,
              w->id, kind_names[w->kind], w->worker->rc, lc_strerror(w->worker->rc));
    else
        CHECK(atomic_load(&w->rec.calls) == 0,
              "%s: waiter id %" PRIu64 " (%s) was woken although it was not its turn", when, w->id,
              kind_names[w->kind]);
}

/* Sends filler id (aux 0) without waiting, in the round's mode. */
static int try_send_filler(lc_tx *tx, uint64_t id)
{
    if (intrusive) {
        stress_make_item(&items[id], id, 0);
        return lc_try_send_node(tx, &items[id].node);
    }
    stress_msg m = stress_make_msg(id, 0);
    return lc_try_send(tx, &m);
}

enum { END_DRAIN, END_CLOSE, END_DROP };
static uint64_t totals[8]; /* served, closed out, gave up, batches, rounds by end (3) */

static void round_run(uint64_t round)
{
    stress_rng rng = stress_rng_for(0, round);
    uint64_t capacity = capacity_opt ? capacity_opt : 1 + round % 4;
    intrusive = stress_below(&rng, 5) == 0;
    int end = (int)stress_below(&rng, 3);
    stress_tally_reset(&drops);
    lc_config cfg = {.capacity = capacity,
                     .drop = intrusive ? stress_drop_item : stress_drop_msg,
                     .drop_ctx = &drops};
    lc_tx *tx;
    CHECK_RC(stress_channel(intrusive, &cfg, &tx, &rx), LC_OK);

    /* Fill it. */
    struct expect e = {0};
    for (uint64_t id = 0; id < capacity; id++) {
        CHECK_RC(try_send_filler(tx, id), LC_OK);
        expect_push(&e, id, false);
    }
    check_full(tx, capacity, "filled");

    /* Start the waiters one at a time, each once the one before waits. */
    struct waiter ws[MAX_WAITERS];
    unsigned n = 0, threads_used = 0, polls_used = 0;
    unsigned want = 1 + (unsigned)stress_below(&rng, n_threads + (intrusive ? 0 : 3));
    stress_phase("starting the waiting senders one at a time");
    while (n < want) {
        struct waiter *w = &ws[n];
        memset(w, 0, sizeof *w);
        w->id = capacity + n;
        bool poll = !intrusive && polls_used < MAX_POLLS &&
                    (threads_used == n_threads || stress_below(&rng, 4) == 0);
        if (!poll && threads_used == n_threads)
            break;
        if (poll) {
            w->kind = stress_below(&rng, 5) == 0 ? W_CANCEL : W_POLL;
            w->rec.waker = (lc_waker){poll_wake, &w->rec};
            atomic_init(&w->rec.calls, 0);
            atomic_init(&w->rec.stamp, 0);
            stress_msg m = stress_make_msg(w->id, 0);
            CHECK_RC(lc_poll_send(tx, &m, &w->wait, &w->rec.waker), LC_PENDING);
            polls_used++;
        } else {
            w->kind = intrusive ? W_NODE : (int)stress_below(&rng, 5) == 0 ? W_GIVE_UP
                                           : stress_below(&rng, 2)          ? W_SEND
                                                                            : W_SEND_TIMEOUT;
            w->worker = &workers[threads_used++];
            uint64_t timeout = w->kind == W_GIVE_UP ? 2000000 + stress_below(&rng, 6000000)
                                                    : 10000000000u;
            worker_post(w->worker, w->kind, tx, w->id, timeout);
            if (!worker_wait_asleep(w->worker))
                CHECK(w->kind == W_GIVE_UP,
                      "waiter id %" PRIu64 " (%s) returned %d (%s) on a full channel that nobody "
                      "drained",
                      w->id, kind_names[w->kind], w->worker->rc, lc_strerror(w->worker->rc));
        }
        n++;
    }

    /* Those that give up leave the list before any slot is freed. */
    stress_phase("waiting for the expiring timeouts; cancelling");
    for (unsigned i = 0; i < n; i++) {
        struct waiter *w = &ws[i];
        if (w->kind == W_GIVE_UP) {
            worker_wait_done(w->worker);
            CHECK(w->worker->rc == LC_TIMEDOUT && w->worker->took_ns >= w->worker->timeout_ns,
                  "waiter id %" PRIu64 " (%s, %" PRIu64 " ns): expected LC_TIMEDOUT after its "
                  "timeout, saw %d (%s) after %" PRIu64 " ns",
                  w->id, kind_names[w->kind], w->worker->timeout_ns, w->worker->rc,
                  lc_strerror(w->worker->rc), w->worker->took_ns);
            w->left = true;
            totals[2]++;
        } else if (w->kind == W_CANCEL) {
            CHECK_RC(lc_send_cancel(tx, &w->wait), LC_OK);
            CHECK(atomic_load(&w->rec.calls) == 0, "a cancelled wait's waker was called");
            w->left = true;
            totals[2]++;
        }
    }
    check_full(tx, capacity, "with senders waiting");

    /* The order they must be served in. */
    struct waiter *order[MAX_WAITERS];
    unsigned waiting = 0;
    for (unsigned i = 0; i < n; i++)
        if (!ws[i].left)
            order[waiting++] = &ws[i];
    unsigned serve = end == END_DRAIN ? waiting : (unsigned)stress_below(&rng, waiting + 1);

    /* Free slots, one at a time or in a batch, and see the next waiters served. */
    unsigned next = 0;
    while (next < serve) {
        unsigned left = serve - next;
        unsigned batch = !intrusive && left > 1 && capacity > 1 && stress_below(&rng, 3) == 0
                             ? 2 + (unsigned)stress_below(&rng, (left < capacity ? left
                                                                                 : capacity) - 1)
                             : 1;
        stress_phase("freeing slots and waiting for the oldest waiters");
        receive_some(&e, batch, &rng);
        if (batch > 1)
            totals[3]++;
        /* Until the due waiters show it, no later one may. */
        for (unsigned spins = 0;; spins++) {
            bool all = true;
            for (unsigned b = 0; b < batch; b++) {
                struct waiter *w = order[next + b];
                all = all && (w->worker ? atomic_load(&w->worker->done)
                                        : atomic_load(&w->rec.calls) != 0);
            }
            for (unsigned i = next + batch; i < waiting; i++)
                check_still_waiting(order[i], "a freed slot went to a younger waiter");
            if (all)
                break;
            if (spins < 100)
                sched_yield();
            else
                stress_sleep_ns(20000);
        }
        uint64_t last_stamp = 0;
        for (unsigned b = 0; b < batch; b++) {
            struct waiter *w = order[next + b];
            if (w->worker) {
                CHECK(w->worker->rc == LC_OK,
                      "waiter id %" PRIu64 " (%s) was due a freed slot, but returned %d (%s)",
                      w->id, kind_names[w->kind], w->worker->rc, lc_strerror(w->worker->rc));
            } else {
                uint64_t stamp = atomic_load(&w->rec.stamp);
                CHECK(stamp > last_stamp, "poll waits served out of order within a batch");
                last_stamp = stamp;
            }
        }
        for (unsigned b = 0; b < batch; b++) {
            struct waiter *w = order[next + b];
            if (!w->worker) {
                stress_msg m = stress_make_msg(w->id, 0);
                CHECK_RC(lc_poll_send(tx, &m, &w->wait, &w->rec.waker), LC_OK);
                CHECK_EQ(atomic_load(&w->rec.calls), 1);
            }
            w->served = true;
            expect_push(&e, w->id, b == 0);
            totals[0]++;
        }
        next += batch;
        for (unsigned i = next; i < waiting; i++)
            check_still_waiting(order[i], "after a freed slot went to an older waiter");
        check_full(tx, capacity, "after the oldest waiters were served");
    }

    if (end == END_DRAIN) {
        stress_phase("draining");
        for (uint64_t k = 0; k < capacity; k++)
            receive_some(&e, 1, &rng);
        CHECK_EQ(lc_rx_len(rx), 0);
        /* The capacity is exact again (the fillers' ids, received long ago, serve again). */
        for (uint64_t id = 0; id < capacity; id++) {
            int rc = try_send_filler(tx, id);
            CHECK(rc == LC_OK, "after the round, send %" PRIu64 " of capacity %" PRIu64
                  " failed: %d (%s)", id + 1, capacity, rc, lc_strerror(rc));
        }
        check_full(tx, capacity, "refilled after the round");
        lc_tx_drop(tx);
        lc_rx_drop(rx); /* drops the probes */
        CHECK_EQ(atomic_load(&drops.total), capacity);
        totals[4]++;
        return;
    }

    /* Close or drop while the rest still wait: each of them gets LC_CLOSED. */
    stress_phase(end == END_CLOSE ? "lc_rx_close while senders wait" :
                 "lc_rx_drop while senders wait");
    if (end == END_CLOSE)
        lc_rx_close(rx);
    else
        lc_rx_drop(rx);
    stress_phase("waiting for every waiter to see LC_CLOSED");
    for (unsigned i = next; i < waiting; i++) {
        struct waiter *w = order[i];
        if (w->worker) {
            worker_wait_done(w->worker);
            CHECK(w->worker->rc == LC_CLOSED,
                  "waiter id %" PRIu64 " (%s), waiting when the receiver %s, returned %d (%s)",
                  w->id, kind_names[w->kind], end == END_CLOSE ? "closed" : "dropped",
                  w->worker->rc, lc_strerror(w->worker->rc));
        } else {
            while (atomic_load(&w->rec.calls) == 0)
                sched_yield();
            stress_msg m = stress_make_msg(w->id, 0);
            int rc = lc_poll_send(tx, &m, &w->wait, &w->rec.waker);
            CHECK(rc == LC_CLOSED,
                  "poll wait id %" PRIu64 ", waiting when the receiver %s: woken, then "
                  "lc_poll_send returned %d (%s)",
                  w->id, end == END_CLOSE ? "closed" : "dropped", rc, lc_strerror(rc));
            CHECK_EQ(atomic_load(&w->rec.calls), 1);
        }
        totals[1]++;
    }
    if (end == END_CLOSE) {
        stress_phase("draining after lc_rx_close");
        for (uint64_t k = 0; k < capacity; k++)
            receive_some(&e, 1, &rng);
        stress_msg m;
        lc_node *node;
        CHECK_RC(intrusive ? lc_recv_node(rx, &node) : lc_recv(rx, &m), LC_CLOSED);
        lc_tx_drop(tx);
        lc_rx_drop(rx);
        CHECK_EQ(atomic_load(&drops.total), 0);
        totals[5]++;
    } else {
        /* Exactly what was queued went to cfg->drop. */
        lc_tx_drop(tx);
        CHECK_EQ(atomic_load(&drops.total), capacity);
        for (unsigned i = e.head; i < e.tail; i++)
            CHECK(stress_tally_get(&drops, e.id[i]) == 1,
                  "id %" PRIu64 " was queued at lc_rx_drop but dropped %u times", e.id[i],
                  stress_tally_get(&drops, e.id[i]));
        totals[6]++;
    }
    for (unsigned i = 0; i < n; i++)
        if (!ws[i].served)
            CHECK(stress_tally_get(&drops, ws[i].id) == 0,
                  "id %" PRIu64 ", whose send failed, reached cfg->drop", ws[i].id);
}

static void hang_report(FILE *f)
{
    fprintf(f, "  lc_rx_len %zu\n", rx ? lc_rx_len(rx) : (size_t)0);
    for (uint64_t i = 0; i < n_threads; i++)
        fprintf(f, "  thread %" PRIu64 " (tid %s): calling %d, done %d, state %c\n", i,
                workers[i].tid, (int)atomic_load(&workers[i].calling),
                (int)atomic_load(&workers[i].done), thread_state(workers[i].tid));
}

int main(int argc, char **argv)
{
    stress_opt opts[] = {
        {.name = "threads", .help = "blocking waiters at most, one thread each (at most 32)",
         .num = &n_threads},
        {.name = "iterations", .help = "rounds", .num = &rounds, .scaled_min = 30},
        {.name = "capacity", .help = "1 to 8; 0: rounds cycle through 1, 2, 3, 4",
         .num = &capacity_opt},
    };
    stress_init(argc, argv, "stress_waiters",
                "Senders waiting for room, started one at a time: FIFO, one per freed slot, "
                "LC_CLOSED for all at a close.",
                opts, sizeof opts / sizeof opts[0]);
    if (n_threads == 0 || n_threads > MAX_THREADS || capacity_opt > MAX_CAP) {
        fprintf(stderr, "stress_waiters: need 1 <= --threads <= 32 and --capacity <= 8\n");
        return 2;
    }
    stress_hang_report = hang_report;
    /* Under a sanitizer or valgrind a thread may sleep for a while before it runs again (on
     * valgrind's lock): look at it over a longer time. */
    asleep_gap_ns = stress_scale() > 1 ? 5000000 : 500000;
    stress_tally_init(&drops, MAX_IDS);
    for (uint64_t i = 0; i < n_threads; i++) {
        pthread_mutex_init(&workers[i].mutex, NULL);
        pthread_cond_init(&workers[i].cond, NULL);
        atomic_init(&workers[i].calling, false);
        atomic_init(&workers[i].done, false);
        workers[i].thread = stress_spawn(worker_main, &workers[i]);
    }
    for (uint64_t r = 0; r < rounds; r++) {
        stress_progress(r);
        round_run(r);
    }
    for (uint64_t i = 0; i < n_threads; i++) {
        pthread_mutex_lock(&workers[i].mutex);
        workers[i].quit = true;
        pthread_cond_signal(&workers[i].cond);
        pthread_mutex_unlock(&workers[i].mutex);
        stress_join(workers[i].thread);
        pthread_mutex_destroy(&workers[i].mutex);
        pthread_cond_destroy(&workers[i].cond);
    }
    stress_tally_free(&drops);
    printf("ok: %" PRIu64 " rounds (%" PRIu64 " drained, %" PRIu64 " closed, %" PRIu64
           " dropped): %" PRIu64 " waiting senders served in order (%" PRIu64
           " batches), %" PRIu64 " closed out, %" PRIu64 " gave up first\n",
           rounds, totals[4], totals[5], totals[6], totals[0], totals[3], totals[1], totals[2]);
    return 0;
}
