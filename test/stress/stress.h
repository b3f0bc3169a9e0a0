/*
 * Shared code of the stress programs: options, scaling, checks, a watchdog, a random generator,
 * a counting allocator and a drop callback that counts by message id.
 *
 * Every program is a plain pthread program (no Criterion: it crashes under ThreadSanitizer).
 * Include this header first: it selects the POSIX interfaces the programs use.
 *
 * Options are --name=VALUE or --name VALUE. Every program takes --seed (default: from the
 * clock; printed at start and in every failure) and --watchdog (seconds without progress before
 * the run is declared hung). Options marked "scaled" are divided by the scale: 10 under
 * ThreadSanitizer, 4 under AddressSanitizer, times the divisor in the environment variable
 * LC_STRESS_SCALE (for valgrind).
 *
 * Message convention: a copy-mode payload starts with a stress_msg (id first); an intrusive
 * message is a stress_item. The drop callbacks below find the id there and count it.
 */
#ifndef LC_TEST_STRESS_STRESS_H
#define LC_TEST_STRESS_STRESS_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lazychan.h"

/* ---- sanitizers ---- */

#if defined(__SANITIZE_THREAD__)
#define STRESS_TSAN 1
#elif defined(__SANITIZE_ADDRESS__)
#define STRESS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_TSAN 1
#elif __has_feature(address_sanitizer)
#define STRESS_ASAN 1
#endif
#endif

/* ThreadSanitizer slows these programs down about tenfold; AddressSanitizer about twofold. */
#if defined(STRESS_TSAN)
#define STRESS_SANITIZER "thread"
#define STRESS_SANITIZER_DIVISOR 10u
#elif defined(STRESS_ASAN)
#define STRESS_SANITIZER "address"
#define STRESS_SANITIZER_DIVISOR 4u
#else
#define STRESS_SANITIZER "none"
#define STRESS_SANITIZER_DIVISOR 1u
#endif

/* ---- failure reporting ---- */

/* What a failure message names besides the check: set by stress_init, progress by the program. */
static const char *stress_prog = "stress";
static uint64_t stress_seed_value;
static _Atomic uint64_t stress_round_value;     /* the round (or step) running now */
static _Atomic(const char *) stress_phase_value; /* what the program is doing, for the watchdog */

static inline void stress_progress(uint64_t round) { atomic_store(&stress_round_value, round); }
static inline void stress_phase(const char *what) { atomic_store(&stress_phase_value, what); }

#if defined(__GNUC__)
#define STRESS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define STRESS_NORETURN __attribute__((noreturn))
#else
#define STRESS_PRINTF(f, a)
#define STRESS_NORETURN
#endif

/* Prints the failure (only the first thread to fail does) and exits 1 at once: other threads are
 * still running, and the leak checker would only add noise. */
STRESS_PRINTF(4, 5) STRESS_NORETURN static inline void
stress_fail(const char *file, int line, const char *what, const char *fmt, ...)
{
    static atomic_flag failing = ATOMIC_FLAG_INIT;
    if (atomic_flag_test_and_set(&failing)) {
        for (;;) /* another thread is reporting and will exit */
            pause();
    }
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: FAILED at %s:%d (round %" PRIu64 ", seed %" PRIu64 ")\n  %s\n  ",
            stress_prog, file, line, atomic_load(&stress_round_value), stress_seed_value, what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _exit(1);
}

/* CHECK(cond, "expected ..., saw ...", args): fails with the message unless cond holds. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            stress_fail(__FILE__, __LINE__, "check: " #cond, __VA_ARGS__);                         \
    } while (0)

#define FAIL(...) stress_fail(__FILE__, __LINE__, "failure", __VA_ARGS__)

/* Two unsigned integers that must be equal. */
#define CHECK_EQ(seen, expected)                                                                   \
    do {                                                                                           \
        uint64_t seen_ = (uint64_t)(seen), expected_ = (uint64_t)(expected);                       \
        if (seen_ != expected_)                                                                    \
            stress_fail(__FILE__, __LINE__, "check: " #seen " == " #expected,                      \
                        "expected %" PRIu64 ", saw %" PRIu64, expected_, seen_);                  \
    } while (0)

/* A return code that must be the expected LC_ code. */
#define CHECK_RC(seen, expected)                                                                   \
    do {                                                                                           \
        int seen_ = (seen), expected_ = (expected);                                                \
        if (seen_ != expected_)                                                                    \
            stress_fail(__FILE__, __LINE__, "check: " #seen, "expected %d (%s), saw %d (%s)",      \
                        expected_, lc_strerror(expected_), seen_, lc_strerror(seen_));             \
    } while (0)

/* ---- options and scaling ---- */

typedef struct stress_opt {
    const char *name; /* --name */
    const char *help;
    uint64_t *num;             /* a number, or (with names) the index of a choice */
    const char *const *names;  /* NULL-terminated choices, or NULL for a number */
    uint64_t scaled_min;       /* nonzero: divided by the scale, but not below this */
    bool given;                /* set by stress_init when the option was on the command line */
} stress_opt;

static unsigned stress_scale_value = 1;

static inline unsigned stress_scale(void) { return stress_scale_value; }

static inline uint64_t stress_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void stress_usage(const char *about, const stress_opt *opts, size_t n, FILE *f)
{
    fprintf(f, "usage: %s [--option=VALUE ...]\n%s\n\n", stress_prog, about);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "  --%-14s %s", opts[i].name, opts[i].help);
        if (opts[i].names) {
            fprintf(f, " (");
            for (size_t k = 0; opts[i].names[k]; k++)
                fprintf(f, "%s%s", k ? "|" : "", opts[i].names[k]);
            fprintf(f, "; default %s)", opts[i].names[*opts[i].num]);
        } else {
            fprintf(f, " (default %" PRIu64 "%s)", *opts[i].num,
                    opts[i].scaled_min ? ", scaled" : "");
        }
        fputc('\n', f);
    }
    fprintf(f, "  --%-14s %s\n  --%-14s %s\n", "seed", "random seed (default: from the clock)",
            "watchdog", "seconds without progress that count as a hang (default 60)");
    fprintf(f, "Scaled values are divided by %u (sanitizer: %s) and by $LC_STRESS_SCALE.\n",
            STRESS_SANITIZER_DIVISOR, STRESS_SANITIZER);
}

static inline bool stress_set(stress_opt *o, const char *val)
{
    if (o->names) {
        for (uint64_t k = 0; o->names[k]; k++) {
            if (strcmp(o->names[k], val) == 0) {
                *o->num = k;
                return true;
            }
        }
        return false;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(val, &end, 0);
    if (errno || end == val || *end != '\0' || val[0] == '-')
        return false;
    *o->num = v;
    return true;
}

static unsigned stress_watchdog_seconds = 60;

static void *stress_watchdog_main(void *arg);

/*
 * Parses the command line into opts (which hold the defaults), applies the scale, prints the run
 * line, and starts the watchdog thread. Exits 2 on a bad option, 0 after --help.
 */
static inline void stress_init(int argc, char **argv, const char *prog, const char *about,
                               stress_opt *opts, size_t n)
{
    stress_prog = prog;
    uint64_t seed = stress_now_ns() ^ ((uint64_t)getpid() << 32);
    uint64_t watchdog = stress_watchdog_seconds;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            stress_usage(about, opts, n, stdout);
            exit(0);
        }
        if (strncmp(arg, "--", 2) != 0)
            goto bad;
        arg += 2;
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (val == NULL)
            goto bad;
        stress_opt seed_opt = {.name = "seed", .num = &seed};
        stress_opt dog_opt = {.name = "watchdog", .num = &watchdog};
        stress_opt *o = NULL;
        if (len == 4 && strncmp(arg, "seed", 4) == 0)
            o = &seed_opt;
        else if (len == 8 && strncmp(arg, "watchdog", 8) == 0)
            o = &dog_opt;
        for (size_t k = 0; o == NULL && k < n; k++)
            if (strlen(opts[k].name) == len && strncmp(opts[k].name, arg, len) == 0)
                o = &opts[k];
        if (o == NULL || !stress_set(o, val))
            goto bad;
        o->given = true;
        continue;
    bad:
        fprintf(stderr, "%s: bad argument '%s'\n", prog, argv[i]);
        stress_usage(about, opts, n, stderr);
        exit(2);
    }
    stress_seed_value = seed;
    stress_watchdog_seconds = watchdog ? (unsigned)watchdog : 1;

    unsigned scale = STRESS_SANITIZER_DIVISOR;
    const char *env = getenv("LC_STRESS_SCALE");
    if (env && *env) {
        unsigned long div = strtoul(env, NULL, 10);
        if (div > 1)
            scale *= (unsigned)div;
    }
    stress_scale_value = scale;

    /* The run line has the values as given, so that it reproduces the run in the same build. */
    printf("%s", prog);
    for (size_t i = 0; i < n; i++) {
        if (opts[i].names)
            printf(" --%s=%s", opts[i].name, opts[i].names[*opts[i].num]);
        else
            printf(" --%s=%" PRIu64, opts[i].name, *opts[i].num);
    }
    printf(" --seed=%" PRIu64 "\n", seed);
    if (scale > 1) {
        printf("scale: /%u (sanitizer: %s, LC_STRESS_SCALE=%s):", scale, STRESS_SANITIZER,
               env ? env : "");
        for (size_t i = 0; i < n; i++) {
            if (opts[i].scaled_min) {
                uint64_t v = *opts[i].num / scale;
                *opts[i].num = v < opts[i].scaled_min ? opts[i].scaled_min : v;
                printf(" %s=%" PRIu64, opts[i].name, *opts[i].num);
            }
        }
        printf("\n");
    }
    fflush(stdout);

    pthread_t dog;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&dog, &attr, stress_watchdog_main, NULL) != 0) {
        fprintf(stderr, "%s: cannot start the watchdog thread\n", prog);
        exit(2);
    }
    pthread_attr_destroy(&attr);
}

/* ---- watchdog ---- */

/* A program may print its own state when the watchdog fires (it runs on the watchdog thread,
 * while the other threads are stuck: read only what is safe to read racily). */
static void (*volatile stress_hang_report)(FILE *f);

/*
 * A thread, not alarm(): under ThreadSanitizer a signal meant for a thread stuck in a raw futex
 * system call may never be delivered. It watches stress_progress(); when the round has not
 * changed for --watchdog seconds it prints the round and phase and exits 1.
 */
static void *stress_watchdog_main(void *arg)
{
    (void)arg;
    uint64_t last = atomic_load(&stress_round_value);
    uint64_t since = stress_now_ns();
    for (;;) {
        struct timespec tick = {0, 100 * 1000 * 1000};
        nanosleep(&tick, NULL);
        uint64_t now_round = atomic_load(&stress_round_value);
        uint64_t now = stress_now_ns();
        if (now_round != last) {
            last = now_round;
            since = now;
            continue;
        }
        if (now - since < (uint64_t)stress_watchdog_seconds * 1000000000u)
            continue;
        const char *phase = atomic_load(&stress_phase_value);
        fflush(stdout);
        fprintf(stderr,
                "%s: FAILED: HANG: no progress for %u s at round %" PRIu64 " (phase: %s, seed %"
                PRIu64 ")\n",
                stress_prog, stress_watchdog_seconds, now_round, phase ? phase : "?",
                stress_seed_value);
        if (stress_hang_report)
            stress_hang_report(stderr);
        fflush(stderr);
        _exit(1);
    }
    return NULL;
}

/* ---- random numbers (splitmix64: one word of state, good enough to pick cases) ---- */

typedef struct stress_rng {
    uint64_t s;
} stress_rng;

static inline stress_rng stress_rng_for(uint64_t stream, uint64_t round)
{
    stress_rng r = {stress_seed_value ^ (stream * 0x9e3779b97f4a7c15u) ^
                    (round * 0xd1b54a32d192ed03u)};
    return r;
}

static inline uint64_t stress_next(stress_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform enough in [0, n); 0 when n is 0. */
static inline uint64_t stress_below(stress_rng *r, uint64_t n)
{
    return n ? stress_next(r) % n : 0;
}

/* ---- waiting ---- */

/* Busy-waits ns nanoseconds (sub-microsecond delays that a sleep cannot give). */
static inline void stress_spin_ns(uint64_t ns)
{
    if (ns == 0)
        return;
    uint64_t end = stress_now_ns() + ns;
    while (stress_now_ns() < end) {
    }
}

static inline void stress_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- threads ---- */

static inline pthread_t stress_spawn(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    int rc = pthread_create(&t, NULL, fn, arg);
    CHECK(rc == 0, "pthread_create failed: %s", strerror(rc));
    return t;
}

static inline void stress_join(pthread_t t)
{
    int rc = pthread_join(t, NULL);
    CHECK(rc == 0, "pthread_join failed: %s", strerror(rc));
}

/* ---- rounds run by threads of their own ---- */

/*
 * Most programs run in rounds: their threads wait at a start barrier (the main thread one of its
 * parties), then read the round number the main thread set before it. UINT64_MAX there ends the
 * run. A thread's loop: while (stress_round_begins(&start, &round_no)) { ... } return NULL;
 */
static inline bool stress_round_begins(pthread_barrier_t *start, const uint64_t *round)
{
    pthread_barrier_wait(start);
    return *round != UINT64_MAX;
}

/* Starts threads[0 .. n-1], thread i running fn((void *)i). */
static inline void stress_spawn_each(pthread_t *threads, uint64_t n, void *(*fn)(void *))
{
    for (uint64_t i = 0; i < n; i++)
        threads[i] = stress_spawn(fn, (void *)(uintptr_t)i);
}

/* The main thread ends the run: the threads' next stress_round_begins returns false, and the n
 * threads are joined. */
static inline void stress_end_rounds(pthread_barrier_t *start, uint64_t *round, pthread_t *threads,
                                     uint64_t n)
{
    *round = UINT64_MAX;
    pthread_barrier_wait(start);
    for (uint64_t i = 0; i < n; i++)
        stress_join(threads[i]);
}

/* ---- a counting allocator ---- */

/*
 * An lc_allocator (ctx: a stress_counting) that keeps a header in front of every block, so that a
 * free of a foreign pointer, a second free or a free with another size than the block's fails at
 * once, and counts the bytes and blocks live. With fail_every n it fails every n-th call
 * (LC_NOMEM). Give it to the library as STRESS_COUNTING_ALLOCATOR(&c).
 */
typedef struct stress_counting {
    atomic_int_fast64_t live_bytes, live_blocks;
    atomic_uint_fast64_t allocs, failures, calls;
    uint64_t fail_every;        /* 0: never fails */
    void (*on_free)(void *ptr); /* NULL, or called with every block the library frees */
} stress_counting;

#define STRESS_BLOCK_MAGIC 0x6c617a796368616eu /* "lazychan" */
#define STRESS_FREED_MAGIC 0x6672656564626c6bu

struct stress_block_header { /* 16 bytes keep the block aligned for any type */
    uint64_t magic;
    uint64_t size;
};

static inline void *stress_counting_alloc(void *ctx, size_t size)
{
    stress_counting *c = ctx;
    uint64_t n = atomic_fetch_add(&c->calls, 1) + 1;
    if (c->fail_every && n % c->fail_every == 0) {
        atomic_fetch_add(&c->failures, 1);
        return NULL;
    }
    struct stress_block_header *h = malloc(sizeof *h + size);
    CHECK(h != NULL, "out of memory for %zu bytes", size);
    h->magic = STRESS_BLOCK_MAGIC;
    h->size = size;
    atomic_fetch_add(&c->live_bytes, (int_fast64_t)size);
    atomic_fetch_add(&c->live_blocks, 1);
    atomic_fetch_add(&c->allocs, 1);
    return h + 1;
}

static inline void stress_counting_free(void *ctx, void *ptr, size_t size)
{
    stress_counting *c = ctx;
    CHECK(ptr != NULL, "free of NULL (size %zu)", size);
    struct stress_block_header *h = (struct stress_block_header *)ptr - 1;
    CHECK(h->magic == STRESS_BLOCK_MAGIC, "free of %p (size %zu): %s", ptr, size,
          h->magic == STRESS_FREED_MAGIC ? "freed twice" : "not a block of this allocator");
    CHECK(h->size == size, "free of %p with size %zu, but it was allocated with size %" PRIu64,
          ptr, size, h->size);
    if (c->on_free)
        c->on_free(ptr);
    h->magic = STRESS_FREED_MAGIC;
    atomic_fetch_sub(&c->live_bytes, (int_fast64_t)size);
    atomic_fetch_sub(&c->live_blocks, 1);
    free(h);
}

#define STRESS_COUNTING_ALLOCATOR(c) {stress_counting_alloc, stress_counting_free, (c)}

/* ---- messages and the counting drop callback ---- */

/* The copy-mode message: id first (the drop callback reads it), a check word last. */
typedef struct stress_msg {
    uint64_t id;
    uint64_t aux; /* program-specific: a producer, a round */
    uint64_t check;
} stress_msg;

/* The intrusive message. The node is not first, so the container arithmetic is exercised. */
typedef struct stress_item {
    uint64_t id;
    uint64_t aux;
    lc_node node;
    uint64_t check;
} stress_item;

#define STRESS_ITEM_OF(n) ((stress_item *)(void *)((char *)(n) - offsetof(stress_item, node)))

static inline uint64_t stress_check_word(uint64_t id, uint64_t aux)
{
    return (id * 0x9e3779b97f4a7c15u) ^ (aux + 0x632be59bd9b4e019u);
}

static inline stress_msg stress_make_msg(uint64_t id, uint64_t aux)
{
    stress_msg m = {id, aux, stress_check_word(id, aux)};
    return m;
}

static inline void stress_make_item(stress_item *it, uint64_t id, uint64_t aux)
{
    it->id = id;
    it->aux = aux;
    it->node.lc_private = 0;
    it->check = stress_check_word(id, aux);
}

/* Per-id counters, atomic so that drops may come from any thread (the last lc_tx_drop frees
 * the channel on the sender's thread). */
typedef struct stress_tally {
    atomic_uint *hits;
    size_t n;                   /* ids 0 .. n-1 */
    atomic_uint_fast64_t total; /* every hit */
} stress_tally;

static inline void stress_tally_init(stress_tally *t, size_t n)
{
    t->hits = malloc((n ? n : 1) * sizeof *t->hits);
    CHECK(t->hits != NULL, "out of memory for %zu counters", n);
    t->n = n;
    for (size_t i = 0; i < n; i++)
        atomic_init(&t->hits[i], 0);
    atomic_init(&t->total, 0);
}

static inline void stress_tally_reset(stress_tally *t)
{
    for (size_t i = 0; i < t->n; i++)
        atomic_store_explicit(&t->hits[i], 0, memory_order_relaxed);
    atomic_store(&t->total, 0);
}

static inline void stress_tally_free(stress_tally *t) { free(t->hits); }

static inline void stress_tally_hit(stress_tally *t, uint64_t id)
{
    CHECK(id < t->n, "message id %" PRIu64 " out of range (ids below %zu)", id, t->n);
    atomic_fetch_add_explicit(&t->hits[id], 1, memory_order_relaxed);
    atomic_fetch_add(&t->total, 1);
}

static inline unsigned stress_tally_get(stress_tally *t, uint64_t id)
{
    return atomic_load_explicit(&t->hits[id], memory_order_relaxed);
}

/* cfg->drop for copy mode: drop_ctx is a stress_tally; the payload starts with a stress_msg. */
static inline void stress_drop_msg(void *ctx, void *msg)
{
    stress_msg m;
    memcpy(&m, msg, sizeof m);
    CHECK(m.check == stress_check_word(m.id, m.aux),
          "dropped message id %" PRIu64 " is corrupt: check word %#" PRIx64 ", expected %#" PRIx64,
          m.id, m.check, stress_check_word(m.id, m.aux));
    stress_tally_hit(ctx, m.id);
}

/* cfg->drop for intrusive mode: the lc_node of a stress_item. */
static inline void stress_drop_item(void *ctx, void *node)
{
    stress_item *it = STRESS_ITEM_OF(node);
    CHECK(it->check == stress_check_word(it->id, it->aux),
          "dropped item id %" PRIu64 " is corrupt: check word %#" PRIx64 ", expected %#" PRIx64,
          it->id, it->check, stress_check_word(it->id, it->aux));
    stress_tally_hit(ctx, it->id);
}

/* Makes a channel of the messages above: of stress_item nodes (intrusive) or stress_msg copies. */
static inline int stress_channel(bool intrusive, const lc_config *cfg, lc_tx **tx, lc_rx **rx)
{
    return intrusive ? lc_channel_intrusive(cfg, tx, rx)
                     : lc_channel(sizeof(stress_msg), cfg, tx, rx);
}

/*
 * Sends message id (aux) by a call picked at random. A node (it, intrusive mode): lc_send_node or
 * lc_try_send_node; a copy (it NULL): lc_send, lc_try_send or lc_send_timeout with a timeout below
 * timeout_below ns. Unless may_block, only the try calls, and no random number is drawn.
 */
static inline int stress_send_any(lc_tx *tx, stress_rng *rng, stress_item *it, uint64_t id,
                                  uint64_t aux, bool may_block, uint64_t timeout_below)
{
    if (it) {
        stress_make_item(it, id, aux);
        return may_block && stress_below(rng, 2) ? lc_send_node(tx, &it->node)
                                                 : lc_try_send_node(tx, &it->node);
    }
    stress_msg m = stress_make_msg(id, aux);
    switch (may_block ? stress_below(rng, 3) : 1) {
    case 0:
        return lc_send(tx, &m);
    case 1:
        return lc_try_send(tx, &m);
    default:
        return lc_send_timeout(tx, &m, stress_below(rng, timeout_below));
    }
}

/* The receiver's record of what it took: received[id] (each id once) and last[p], the last id of
 * producer p (UINT64_MAX: none yet), which the producer's ids must follow in rising order. */
static inline void stress_take_once_in_order(unsigned char *received, uint64_t *last, uint64_t id,
                                             uint64_t p)
{
    CHECK(!received[id], "id %" PRIu64 " received twice", id);
    received[id] = 1;
    CHECK(last[p] == UINT64_MAX || id > last[p],
          "producer %" PRIu64 ": id %" PRIu64 " received after id %" PRIu64, p, id, last[p]);
    last[p] = id;
}

/* A received copy-mode message must be intact. */
#define CHECK_MSG(m)                                                                               \
    CHECK((m).check == stress_check_word((m).id, (m).aux),                                         \
          "message id %" PRIu64 " aux %" PRIu64 " is corrupt: check word %#" PRIx64                \
          ", expected %#" PRIx64,                                                                  \
          (m).id, (m).aux, (m).check, stress_check_word((m).id, (m).aux))

#endif /* LC_TEST_STRESS_STRESS_H */
