/*
 * stress_eos: end of stream. Several senders send a random number of messages and drop their
 * handles at random moments (some after a pause long enough for the receiver to park, some all
 * at once after a barrier) while the receiver waits in lc_recv, lc_recv_timeout or lc_poll_recv.
 *
 * Invariant: the receiver gets every message (per sender in order, exactly once) and then
 * LC_CLOSED, and LC_CLOSED again from every receive call; when it first sees LC_CLOSED no sender
 * reference is left and lc_rx_len is 0; nothing reaches the drop callback. A receiver that never
 * wakes after the last drop is a hang, reported by the watchdog.
 */
#include "stress.h"

#include <semaphore.h>

static const char *const recv_names[] = {"mixed", "recv", "timeout", "poll", NULL};
enum { RECV_MIXED, RECV_BLOCK, RECV_TIMEOUT, RECV_POLL };

static uint64_t senders = 4;
static uint64_t rounds = 8000;
static uint64_t max_messages = 16; /* per sender and round */
static uint64_t recv_opt = RECV_MIXED;

static lc_tx *round_tx[64];
static lc_rx *rx;
static uint64_t round_no;
static uint64_t sent_count[64]; /* what each sender sent this round; read after the join */
static bool together;           /* this round every sender drops right after one barrier */
static pthread_barrier_t start, finish, drop_together;

static void *sender_main(void *arg)
{
    uint64_t s = (uint64_t)(uintptr_t)arg;
    while (stress_round_begins(&start, &round_no)) {
        stress_rng rng = stress_rng_for(s + 1, round_no);
        uint64_t n = stress_below(&rng, max_messages + 1);
        for (uint64_t k = 0; k < n; k++) {
            stress_msg m = stress_make_msg(s, k);
            int rc = lc_send(round_tx[s], &m);
            CHECK(rc == LC_OK, "sender %" PRIu64 " message %" PRIu64 ": saw %d (%s)", s, k, rc,
                  lc_strerror(rc));
            if (stress_below(&rng, 8) == 0)
                stress_spin_ns(stress_below(&rng, 20000));
        }
        sent_count[s] = n;
        if (together) {
            pthread_barrier_wait(&drop_together);
        } else {
            /* 0: drop at once; 1: after a spin; 2: after a sleep, so the receiver has parked. */
            switch (stress_below(&rng, 3)) {
            case 1:
                stress_spin_ns(stress_below(&rng, 50000));
                break;
            case 2:
                stress_sleep_ns(stress_below(&rng, 200000));
                break;
            default:
                break;
            }
        }
        lc_tx_drop(round_tx[s]);
        pthread_barrier_wait(&finish);
    }
    return NULL;
}

/* The poll receiver's waker: a semaphore. */
static sem_t woken;
static atomic_uint_fast64_t wakes;

static void wake_sem(void *ctx)
{
    atomic_fetch_add(&wakes, 1);
    sem_post(ctx);
}

static const lc_waker waker = {wake_sem, &woken};

static int receive(int how, stress_msg *m)
{
    switch (how) {
    case RECV_BLOCK:
        return lc_recv(rx, m);
    case RECV_TIMEOUT: {
        /* A lost wake-up shows as a return at the deadline, even with the right code (the last
         * look after the deadline finds the message or the end of stream). */
        uint64_t t0 = stress_now_ns();
        int rc = lc_recv_timeout(rx, m, 10ull * 1000000000u);
        uint64_t took = stress_now_ns() - t0;
        CHECK(rc != LC_TIMEDOUT && took < 8ull * 1000000000u,
              "lc_recv_timeout(10 s) returned %d (%s) after %.3f s: a lost wake-up", rc,
              lc_strerror(rc), (double)took / 1e9);
        return rc;
    }
    default:
        for (;;) {
            int rc = lc_poll_recv(rx, m, &waker);
            if (rc != LC_PENDING)
                return rc;
            while (sem_wait(&woken) != 0)
                CHECK(errno == EINTR, "sem_wait: %s", strerror(errno));
        }
    }
}

static void hang_report(FILE *f)
{
    fprintf(f, "  lc_rx_len %zu, senders %zu, poll wakes %" PRIu64 "\n", lc_rx_len(rx),
            lc_sender_count(rx), (uint64_t)atomic_load(&wakes));
}

int main(int argc, char **argv)
{
    stress_opt opts[] = {
        {.name = "threads", .help = "senders (at most 64)", .num = &senders},
        {.name = "iterations", .help = "rounds", .num = &rounds, .scaled_min = 100},
        {.name = "messages", .help = "most messages per sender and round", .num = &max_messages},
        {.name = "recv", .help = "how the receiver waits", .num = &recv_opt, .names = recv_names},
    };
    stress_init(argc, argv, "stress_eos",
                "The last sender drops while the receiver waits: all messages, then LC_CLOSED.",
                opts, sizeof opts / sizeof opts[0]);
    if (senders == 0 || senders > 64) {
        fprintf(stderr, "stress_eos: need 1 <= --threads <= 64\n");
        return 2;
    }
    stress_hang_report = hang_report;
    CHECK(sem_init(&woken, 0, 0) == 0, "sem_init: %s", strerror(errno));
    pthread_barrier_init(&start, NULL, (unsigned)senders + 1);
    pthread_barrier_init(&finish, NULL, (unsigned)senders + 1);
    pthread_barrier_init(&drop_together, NULL, (unsigned)senders);
    pthread_t threads[64];
    stress_spawn_each(threads, senders, sender_main);

    stress_tally drops;
    stress_tally_init(&drops, senders);
    uint64_t next[64];
    uint64_t total = 0, by_mode[4] = {0};
    for (round_no = 0; round_no < rounds; round_no++) {
        stress_progress(round_no);
        stress_rng rng = stress_rng_for(0, round_no);
        int how = recv_opt == RECV_MIXED ? 1 + (int)stress_below(&rng, 3) : (int)recv_opt;
        by_mode[how]++;
        together = stress_below(&rng, 4) == 0;
        lc_config cfg = {.capacity = stress_below(&rng, 2) ? 0 : 1 + stress_below(&rng, 4),
                         .drop = stress_drop_msg,
                         .drop_ctx = &drops};
        lc_tx *tx;
        CHECK_RC(lc_channel(sizeof(stress_msg), &cfg, &tx, &rx), LC_OK);
        round_tx[0] = tx;
        for (uint64_t s = 1; s < senders; s++) {
            round_tx[s] = lc_tx_clone(tx);
            CHECK(round_tx[s] != NULL, "lc_tx_clone returned NULL");
        }
        memset(next, 0, sizeof next);
        uint64_t got = 0;

        stress_phase("receiving until LC_CLOSED");
        pthread_barrier_wait(&start);
        stress_msg m;
        int rc;
        while ((rc = receive(how, &m)) == LC_OK) {
            CHECK_MSG(m);
            CHECK(m.id < senders, "sender id %" PRIu64 " out of range", m.id);
            CHECK(m.aux == next[m.id],
                  "sender %" PRIu64 ": expected message %" PRIu64 ", saw %" PRIu64, m.id,
                  next[m.id], m.aux);
            next[m.id]++;
            got++;
        }
        CHECK_RC(rc, LC_CLOSED);
        /* LC_CLOSED means every sender is gone and everything they sent was received. */
        CHECK_EQ(lc_sender_count(rx), 0);
        CHECK_EQ(lc_rx_len(rx), 0);
        CHECK_RC(receive(how, &m), LC_CLOSED);
        CHECK_RC(lc_recv(rx, &m), LC_CLOSED);
        CHECK_RC(lc_try_recv(rx, &m), LC_CLOSED);
        CHECK_RC(lc_recv_timeout(rx, &m, 1000), LC_CLOSED);
        CHECK_RC(lc_poll_recv(rx, &m, &waker), LC_CLOSED);

        stress_phase("joining senders");
        pthread_barrier_wait(&finish);
        for (uint64_t s = 0; s < senders; s++) {
            CHECK(next[s] == sent_count[s],
                  "sender %" PRIu64 " sent %" PRIu64 " messages but %" PRIu64
                  " arrived before LC_CLOSED",
                  s, sent_count[s], next[s]);
        }
        lc_rx_drop(rx);
        CHECK_EQ(atomic_load(&drops.total), 0);
        total += got;
        /* A wake still counted in the semaphore (a spurious one) must not carry over. */
        while (sem_trywait(&woken) == 0) {
        }
    }
    stress_end_rounds(&start, &round_no, threads, senders);

    printf("ok: %" PRIu64 " rounds (recv %" PRIu64 ", timeout %" PRIu64 ", poll %" PRIu64
           "), %" PRIu64 " messages, %" PRIu64 " poll wakes\n",
           rounds, by_mode[RECV_BLOCK], by_mode[RECV_TIMEOUT], by_mode[RECV_POLL], total,
           (uint64_t)atomic_load(&wakes));
    sem_destroy(&woken);
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&finish);
    pthread_barrier_destroy(&drop_together);
    stress_tally_free(&drops);
    return 0;
}
