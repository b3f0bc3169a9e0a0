/*
 * stress_wakeup: the lost-wake-up window. Each round the receiver announces itself and waits for
 * one message from each producer; each producer waits for the announcement, then a random delay,
 * and sends. The delays are chosen from times measured at start (how long a receive takes to
 * reach its sleep, how long a poll takes, how long a message takes from the announcement to the
 * receiver), and the receiver too waits a random time before a poll, so that sends land before,
 * during and after the receiver's register / re-check / sleep. After the last round the
 * producers drop their handles 2 ms after the announcement, when the receiver surely waits for
 * LC_CLOSED.
 *
 * Modes: lc_recv; lc_recv_timeout with a 5 s timeout; lc_poll_recv with a waker that posts a
 * semaphore (poll-sem) or sets a flag under a mutex and signals a condition variable (poll-cond).
 *
 * Invariant: every round completes with the round's messages, intact and exactly once; a hang is
 * the failure (the watchdog prints the round), and so is an lc_recv_timeout(5 s) that returns at
 * its deadline, whatever its code (its last look finds what a lost wake-up left). Poll modes:
 * each waker registration (a record per call, alternating) is called at most once, never after
 * lc_poll_recv returned without keeping it or after it was called, and after LC_PENDING it is
 * called exactly once; after the producers drop their handles the waker is called and the next
 * poll returns LC_CLOSED.
 */
#include "stress.h"

#include <semaphore.h>

static const char *const mode_names[] = {"mixed", "recv", "timeout", "poll-sem", "poll-cond", NULL};
enum { MIXED, RECV, TIMEOUT, POLL_SEM, POLL_COND, RECV_TRY_SPIN /* calibration */ };

static uint64_t producers = 1;
static uint64_t rounds = 200000;
static uint64_t mode = MIXED;

static lc_rx *rx;
static atomic_uint_fast64_t go; /* round + 1: the receiver is about to receive round `round` */
static uint64_t delay_max_ns;   /* producers wait up to this long after the announcement */
static uint64_t window_ns;      /* the measured time a receive takes to reach its sleep */
static uint64_t cal_rounds;     /* the first rounds measure the hand-off: no delays */

struct producer {
    uint64_t id;
    lc_tx *tx;
};

static void *producer_main(void *arg)
{
    struct producer *p = arg;
    stress_rng rng = stress_rng_for(p->id + 1, 0);
    /* Round `rounds` is the end of stream: the drop instead of a send. */
    for (uint64_t r = 0; r <= rounds; r++) {
        unsigned spins = 0;
        while (atomic_load_explicit(&go, memory_order_acquire) < r + 1) {
            if (++spins > 1000)
                sched_yield();
        }
        /* Mostly within the window; one round in sixteen long after it, so that the receiver
         * is asleep in the kernel. */
        if (r >= cal_rounds) /* delay_max_ns is set once the calibration rounds are over */
            stress_spin_ns(stress_below(&rng, 16) ? stress_below(&rng, delay_max_ns + 1)
                                                  : stress_below(&rng, 20 * window_ns + 1));
        if (r == rounds) {
            stress_sleep_ns(2000000); /* the receiver is surely waiting: the drop must wake it */
            break;
        }
        stress_msg m = stress_make_msg(p->id, r);
        int rc = lc_send(p->tx, &m);
        CHECK(rc == LC_OK, "producer %" PRIu64 " round %" PRIu64 ": saw %d (%s)", p->id, r, rc,
              lc_strerror(rc));
    }
    lc_tx_drop(p->tx);
    return NULL;
}

/* ---- poll mode: one record per lc_poll_recv call, alternating between two ---- */

enum { IDLE, ARMED, FIRED };

struct record {
    lc_waker waker; /* registered by lc_poll_recv: must stay valid while registered */
    atomic_int state;
    atomic_uint_fast64_t calls;
    sem_t sem;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool flag; /* under mutex */
};

static struct record records[2];
static uint64_t wake_kind; /* POLL_SEM or POLL_COND */

static void wake_record(void *ctx)
{
    struct record *rec = ctx;
    int expected = ARMED;
    if (!atomic_compare_exchange_strong(&rec->state, &expected, FIRED))
        FAIL("waker %d called while %s: expected a call only for a live registration",
             (int)(rec - records),
             expected == FIRED ? "already called once (called twice)"
                               : "not registered (replaced, or lc_poll_recv returned without it)");
    atomic_fetch_add(&rec->calls, 1);
    if (wake_kind == POLL_SEM) {
        sem_post(&rec->sem);
    } else {
        pthread_mutex_lock(&rec->mutex);
        rec->flag = true;
        pthread_cond_signal(&rec->cond);
        pthread_mutex_unlock(&rec->mutex);
    }
}

static void record_wait(struct record *rec)
{
    if (wake_kind == POLL_SEM) {
        while (sem_wait(&rec->sem) != 0)
            CHECK(errno == EINTR, "sem_wait: %s", strerror(errno));
    } else {
        pthread_mutex_lock(&rec->mutex);
        while (!rec->flag)
            pthread_cond_wait(&rec->cond, &rec->mutex);
        rec->flag = false;
        pthread_mutex_unlock(&rec->mutex);
    }
}

/* After lc_poll_recv let go of rec: forget a wake that came (spuriously) before the return. */
static void record_release(struct record *rec)
{
    atomic_store(&rec->state, IDLE);
    if (wake_kind == POLL_SEM) {
        while (sem_trywait(&rec->sem) == 0) {
        }
    } else {
        pthread_mutex_lock(&rec->mutex);
        rec->flag = false;
        pthread_mutex_unlock(&rec->mutex);
    }
}

static uint64_t polls, pendings;

/* Polls until a message or LC_CLOSED, waiting for the waker after each LC_PENDING. */
static int poll_receive(stress_msg *m)
{
    static unsigned next_record;
    for (;;) {
        struct record *rec = &records[next_record++ & 1];
        atomic_store(&rec->state, ARMED);
        polls++;
        int rc = lc_poll_recv(rx, m, &rec->waker);
        if (rc != LC_PENDING) {
            record_release(rec);
            return rc;
        }
        pendings++;
        stress_phase("poll: waiting for the waker after LC_PENDING");
        record_wait(rec);
        CHECK(atomic_load(&rec->state) == FIRED, "woken, but the waker was not called");
        record_release(rec);
    }
}

/* ---- the receiver ---- */

static int receive(int how, stress_msg *m)
{
    int rc;
    switch (how) {
    case RECV_TRY_SPIN: {
        /* A yield now and then: under valgrind a thread that never makes a system call can
         * keep the producer from running. */
        unsigned tries = 0;
        while ((rc = lc_try_recv(rx, m)) == LC_EMPTY) {
            if (++tries % 256 == 0)
                sched_yield();
        }
        return rc;
    }
    case RECV:
        return lc_recv(rx, m);
    case TIMEOUT: {
        /* A lost wake-up shows as a return at the deadline: LC_TIMEDOUT, or the message (or
         * LC_CLOSED) found by the last look after the deadline. Producers act within
         * milliseconds of the announcement. */
        uint64_t t0 = stress_now_ns();
        rc = lc_recv_timeout(rx, m, 5ull * 1000000000u);
        uint64_t took = stress_now_ns() - t0;
        CHECK(rc != LC_TIMEDOUT && took < 4ull * 1000000000u,
              "lc_recv_timeout(5 s) returned %d (%s) after %.3f s although the producers act "
              "within milliseconds: a lost wake-up",
              rc, lc_strerror(rc), (double)took / 1e9);
        return rc;
    }
    default:
        return poll_receive(m);
    }
}

static void hang_report(FILE *f)
{
    fprintf(f, "  announced round %" PRIu64 "; lc_rx_len %zu, senders %zu\n",
            (uint64_t)atomic_load(&go) - 1, lc_rx_len(rx), lc_sender_count(rx));
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void never_called(void *ctx)
{
    (void)ctx;
    FAIL("the calibration waker was called, but nothing was sent");
}

int main(int argc, char **argv)
{
    stress_opt opts[] = {
        {.name = "threads", .help = "producers (one message each per round)", .num = &producers},
        {.name = "iterations", .help = "rounds", .num = &rounds, .scaled_min = 1000},
        {.name = "mode", .help = "how the receiver waits", .num = &mode, .names = mode_names},
    };
    stress_watchdog_seconds = 20;
    stress_init(argc, argv, "stress_wakeup",
                "One message per producer and round, sent as the receiver goes to sleep.", opts,
                sizeof opts / sizeof opts[0]);
    if (producers == 0 || producers > 64) {
        fprintf(stderr, "stress_wakeup: need 1 <= --threads <= 64\n");
        return 2;
    }
    stress_hang_report = hang_report;
    wake_kind = mode == POLL_COND ? POLL_COND : POLL_SEM;
    for (int i = 0; i < 2; i++) {
        records[i].waker.wake = wake_record;
        records[i].waker.ctx = &records[i];
        atomic_init(&records[i].state, IDLE);
        atomic_init(&records[i].calls, 0);
        CHECK(sem_init(&records[i].sem, 0, 0) == 0, "sem_init: %s", strerror(errno));
        pthread_mutex_init(&records[i].mutex, NULL);
        pthread_cond_init(&records[i].cond, NULL);
        records[i].flag = false;
    }

    lc_tx *tx;
    CHECK_RC(lc_channel(sizeof(stress_msg), NULL, &tx, &rx), LC_OK);

    /* Calibrate on the empty channel: how long a receive takes to reach its sleep. */
    stress_msg m;
    enum { CAL = 2000 };
    uint64_t t0 = stress_now_ns();
    for (int i = 0; i < CAL; i++)
        CHECK_RC(lc_recv_timeout(rx, &m, 1), LC_TIMEDOUT);
    uint64_t park_ns = (stress_now_ns() - t0) / CAL;
    const lc_waker cal_waker = {never_called, NULL};
    t0 = stress_now_ns();
    for (int i = 0; i < CAL; i++)
        CHECK_RC(lc_poll_recv(rx, &m, &cal_waker), LC_PENDING);
    uint64_t poll_ns = (stress_now_ns() - t0) / CAL;
    /* Replace the calibration waker before it could be called: a receive that times out. */
    CHECK_RC(lc_recv_timeout(rx, &m, 1), LC_TIMEDOUT);
    bool polling = mode == POLL_SEM || mode == POLL_COND;
    window_ns = polling ? poll_ns : park_ns;
    cal_rounds = rounds / 4 < 1000 ? rounds / 4 : 1000;

    struct producer ps[64];
    pthread_t threads[64];
    for (uint64_t p = 0; p < producers; p++) {
        ps[p].id = p;
        ps[p].tx = lc_tx_clone(tx);
        CHECK(ps[p].tx != NULL, "lc_tx_clone returned NULL");
        threads[p] = stress_spawn(producer_main, &ps[p]);
    }
    lc_tx_drop(tx);

    stress_rng rng = stress_rng_for(0, 0);
    uint64_t slow = 0, per_mode[6] = {0}, handoff_ns = 0, *samples = NULL;
    if (cal_rounds) {
        samples = malloc(cal_rounds * sizeof *samples);
        CHECK(samples != NULL, "out of memory");
    }
    bool seen[64];
    for (uint64_t r = 0; r <= rounds; r++) {
        stress_progress(r);
        bool calibrating = r < cal_rounds;
        int how = calibrating ? RECV_TRY_SPIN
                  : mode == MIXED ? RECV + (int)stress_below(&rng, 2)
                                  : (int)mode;
        if (r == cal_rounds) {
            /* The hand-off: from the announcement to the message, without delays (median). */
            qsort(samples, cal_rounds, sizeof *samples, compare_u64);
            handoff_ns = cal_rounds ? samples[cal_rounds / 2] : 0;
            /* Senders are aimed at the receiver's window; the announcement reaching them, and
             * their message reaching the receiver, take the hand-off time on top. */
            delay_max_ns = 2 * window_ns + (polling ? 0 : handoff_ns);
            printf("calibration: a receive reaches its sleep after ~%" PRIu64 " ns, a pending poll "
                   "takes ~%" PRIu64 " ns, a message arrives ~%" PRIu64 " ns after the "
                   "announcement; producer delays 0..%" PRIu64 " ns%s\n",
                   park_ns, poll_ns, handoff_ns, delay_max_ns,
                   polling ? ", receiver delays before each poll 0..2x the hand-off" : "");
            fflush(stdout);
        }
        per_mode[how]++;
        memset(seen, 0, sizeof seen);
        stress_phase(r == rounds ? "waiting for LC_CLOSED" : "receiving");
        atomic_store_explicit(&go, r + 1, memory_order_release);
        uint64_t t = stress_now_ns();
        if (how == POLL_SEM || how == POLL_COND)
            stress_spin_ns(stress_below(&rng, 2 * handoff_ns + 1));
        if (r == rounds) {
            /* End of stream: the last drop must wake whatever waits. */
            how = mode == MIXED ? RECV : (int)mode;
            CHECK_RC(receive(how, &m), LC_CLOSED);
            CHECK_RC(receive(how, &m), LC_CLOSED);
            break;
        }
        for (uint64_t k = 0; k < producers; k++) {
            int rc = receive(how, &m);
            uint64_t took = stress_now_ns() - t;
            if (calibrating && k == 0)
                samples[r] = took;
            if (took > 2 * window_ns)
                slow++;
            CHECK(rc == LC_OK,
                  "round %" PRIu64 ", message %" PRIu64 ": expected LC_OK, saw %d (%s)", r, k, rc,
                  lc_strerror(rc));
            CHECK_MSG(m);
            CHECK(m.aux == r && m.id < producers && !seen[m.id],
                  "round %" PRIu64 ": expected one message from each producer for this round, "
                  "saw producer %" PRIu64 " round %" PRIu64 "%s",
                  r, m.id, m.aux, m.id < producers && seen[m.id] ? " (twice)" : "");
            seen[m.id] = true;
            t = stress_now_ns();
        }
    }
    free(samples);
    for (uint64_t p = 0; p < producers; p++)
        stress_join(threads[p]);
    lc_rx_drop(rx);

    if (polling) {
        uint64_t calls = atomic_load(&records[0].calls) + atomic_load(&records[1].calls);
        CHECK(calls >= pendings && calls <= polls,
              "waker calls %" PRIu64 ": expected one per LC_PENDING (%" PRIu64
              ") plus at most one spurious per other poll (%" PRIu64 " polls)",
              calls, pendings, polls);
        printf("ok: %" PRIu64 " rounds, %" PRIu64 " producer(s), %s: %" PRIu64 " polls, %" PRIu64
               " LC_PENDING, %" PRIu64 " waker calls\n",
               rounds, producers, mode_names[mode], polls, pendings, calls);
    } else {
        printf("ok: %" PRIu64 " rounds, %" PRIu64 " producer(s) (lc_recv %" PRIu64
               ", lc_recv_timeout %" PRIu64 "); %.1f%% of receives waited past the spin\n",
               rounds, producers, per_mode[RECV], per_mode[TIMEOUT],
               100.0 * (double)slow / (double)(rounds * producers));
    }
    for (int i = 0; i < 2; i++) {
        sem_destroy(&records[i].sem);
        pthread_mutex_destroy(&records[i].mutex);
        pthread_cond_destroy(&records[i].cond);
    }
    return 0;
}
