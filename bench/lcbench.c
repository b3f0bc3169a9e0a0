/*
 * lcbench: lazychan beside a mutex ring (the baseline), GLib's GAsyncQueue and userspace-rcu's
 * wfcqueue, in one run. Prints markdown tables: the median and the min-max of --runs runs, and
 * the ratio to the mutex ring (and to GAsyncQueue) as the median of the per-run ratios: each
 * run measures every implementation back to back, so a slow moment of the machine hits them
 * alike; and each timed measure waits for the rest of the machine to be quiet, and is redone if
 * it was not (see "the machine must be quiet"). --quick runs everything with tiny counts, as a
 * smoke test (it times nothing worth reading). Every message is checked: received once, in
 * order per producer, payload intact; the program exits 1 if a check failed.
 *
 *   lcbench [--runs N] [--quick] [--only LIST] [--impl LIST] [--tp LIST] [--tsv FILE]
 *           [--messages N] [--trips N] [--idle-ms N] [--iters N] [--channels N,N] [--no-guard]
 */
#include <errno.h>
#include <gnu/libc-version.h>
#include <inttypes.h>
#include <lazychan.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#ifndef BENCH_BUILD
#define BENCH_BUILD "unknown"
#endif
#ifndef BENCH_URCU_VERSION
#define BENCH_URCU_VERSION "?"
#endif

size_t bench_requested;
bool bench_requested_unknown;

#define MAX_RUNS 64

/* ---- what runs ---- */

typedef struct variant {
    const char *id;    /* for --impl and the TSV file */
    const char *label; /* for the tables */
    const bench_ops *ops;
    size_t capacity; /* 0: unbounded */
} variant;

/* Throughput, ping-pong and idle CPU. The first is the baseline of the ratio column. */
static const variant queue_variants[] = {
    {"ring", "mutex ring, cap 1024", &bench_ring_ops, 1024},
#ifdef BENCH_HAVE_GLIB
    {"glib", "GAsyncQueue", &bench_glib_ops, 0},
#endif
#ifdef BENCH_HAVE_URCU
    {"urcu", "urcu wfcq + condvar", &bench_urcu_ops, 0},
#endif
    {"lc-copy-1024", "lazychan copy, cap 1024", &bench_lc_copy_ops, 1024},
    {"lc-copy-unb", "lazychan copy, unbounded", &bench_lc_copy_ops, 0},
    {"lc-node", "lazychan intrusive", &bench_lc_node_ops, 0},
};

/* Create/destroy: capacity 1 where there is a capacity. */
static const variant create_variants[] = {
    {"ring", "mutex ring, cap 1", &bench_ring_ops, 1},
#ifdef BENCH_HAVE_GLIB
    {"glib", "GAsyncQueue", &bench_glib_ops, 0},
#endif
#ifdef BENCH_HAVE_URCU
    {"urcu", "urcu wfcq + condvar", &bench_urcu_ops, 0},
#endif
    {"lc-copy-1", "lazychan copy, cap 1", &bench_lc_copy_ops, 1},
    {"lc-node-1", "lazychan intrusive, cap 1", &bench_lc_node_ops, 1},
};

/* Idle memory: a ring reserves its capacity, so two capacities of it. */
static const variant memory_variants[] = {
    {"ring-16", "mutex ring, cap 16", &bench_ring_ops, 16},
    {"ring-1024", "mutex ring, cap 1024", &bench_ring_ops, 1024},
#ifdef BENCH_HAVE_GLIB
    {"glib", "GAsyncQueue", &bench_glib_ops, 0},
#endif
#ifdef BENCH_HAVE_URCU
    {"urcu", "urcu wfcq + condvar", &bench_urcu_ops, 0},
#endif
    {"lc-copy-16", "lazychan copy, cap 16", &bench_lc_copy_ops, 16},
    {"lc-copy-unb", "lazychan copy, unbounded", &bench_lc_copy_ops, 0},
    {"lc-node", "lazychan intrusive", &bench_lc_node_ops, 0},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static struct {
    int runs;
    bool quick;
    const char *only;  /* comma-separated sections, NULL: all */
    const char *impls; /* comma-separated variant ids, NULL: all */
    const char *tsv;
    const char *tp; /* throughput configs: comma-separated 1x8,1x128,2x8,2x128 */
    size_t messages;
    size_t trips;
    unsigned idle_ms;
    size_t iters;
    size_t channels[8];
    int nchannels;
} opt;

static FILE *tsv;
static int failures;

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("CHECK FAILED: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lcbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* true if name is one of the comma-separated words of list (NULL: everything is). */
static bool listed(const char *list, const char *name)
{
    if (list == NULL)
        return true;
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, name, n) == 0)
            return true;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return false;
}

static bool want(const variant *v) { return listed(opt.impls, v->id); }

/* ---- time ---- */

static uint64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- the machine must be quiet while we time ---- */

/*
 * Other work on a 2-core machine does not just slow a measure down: it changes its regime (two
 * threads on one core pass messages without cache misses; a busy core wakes a parked thread
 * sooner). So each timed measure waits until the rest of the machine uses less than
 * QUIET_CPUS of a CPU, and is redone (up to MAX_REDO times) if the rest of the machine used more
 * than that while it ran. The CPU time of the others is the machine's busy time (/proc/stat)
 * minus this process's (getrusage), so it is measured to about a clock tick (10 ms): measures
 * shorter than GUARD_MIN_S are not checked afterwards.
 */
#define QUIET_CPUS 0.25
#define QUIET_WAIT_S 300
#define MAX_REDO 4
#define GUARD_MIN_S 0.2

typedef struct guard {
    double busy_s; /* the machine's busy CPU seconds */
    double self_s; /* this process's CPU seconds */
    uint64_t t_ns;
} guard;

static struct {
    bool off;
    int redone;        /* measures redone because the machine was busy */
    int kept_busy;     /* measures kept although the machine was busy (MAX_REDO reached) */
    double waited_s;   /* time spent waiting for quiet */
    int never_quiet;   /* waits that gave up after QUIET_WAIT_S */
} guard_stats;

static void guard_mark(guard *g)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                            &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
        guard_stats.off = true; /* no /proc/stat: time without the guard */
    if (f)
        fclose(f);
    /* user nice system idle iowait irq softirq steal: busy is all but idle and iowait */
    double busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
    g->busy_s = busy / (double)sysconf(_SC_CLK_TCK);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    g->self_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    g->t_ns = now_ns();
}

/* CPUs' worth of time the rest of the machine used since g, and the seconds elapsed. */
static double others_since(const guard *g, double *elapsed)
{
    guard now;
    guard_mark(&now);
    *elapsed = (double)(now.t_ns - g->t_ns) / 1e9;
    double others = (now.busy_s - g->busy_s) - (now.self_s - g->self_s);
    return *elapsed > 0 ? others / *elapsed : 0;
}

/* Waits until the rest of the machine is quiet, then starts a measure. */
static void guard_begin(guard *g)
{
    if (opt.quick || guard_stats.off) {
        guard_mark(g);
        return;
    }
    uint64_t t0 = now_ns();
    for (;;) {
        guard w;
        double elapsed;
        guard_mark(&w);
        sleep_ms(200);
        if (others_since(&w, &elapsed) < QUIET_CPUS)
            break;
        if (now_ns() - t0 > (uint64_t)QUIET_WAIT_S * 1000000000u) {
            guard_stats.never_quiet++;
            break;
        }
    }
    guard_stats.waited_s += (double)(now_ns() - t0) / 1e9 - 0.2;
    guard_mark(g);
}

/* true: keep the measure that began at g (*attempt counts the redone ones). */
static bool guard_end(const guard *g, int *attempt)
{
    if (opt.quick || guard_stats.off)
        return true;
    double elapsed, others = others_since(g, &elapsed);
    if (elapsed < GUARD_MIN_S || others < QUIET_CPUS)
        return true;
    if (++*attempt > MAX_REDO) {
        guard_stats.kept_busy++;
        return true;
    }
    guard_stats.redone++;
    return false;
}

/* ---- statistics over runs ---- */

typedef struct series {
    double v[MAX_RUNS];
    int n;
} series;

static void add(series *s, double x)
{
    if (s->n < MAX_RUNS)
        s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double median(const series *s)
{
    if (s->n == 0)
        return 0;
    double tmp[MAX_RUNS];
    memcpy(tmp, s->v, (size_t)s->n * sizeof tmp[0]);
    qsort(tmp, (size_t)s->n, sizeof tmp[0], cmp_double);
    return s->n % 2 ? tmp[s->n / 2] : (tmp[s->n / 2 - 1] + tmp[s->n / 2]) / 2;
}

static double smin(const series *s)
{
    double m = s->n ? s->v[0] : 0;
    for (int i = 1; i < s->n; i++)
        m = s->v[i] < m ? s->v[i] : m;
    return m;
}

static double smax(const series *s)
{
    double m = s->n ? s->v[0] : 0;
    for (int i = 1; i < s->n; i++)
        m = s->v[i] > m ? s->v[i] : m;
    return m;
}

/* The per-run ratios a[i] / b[i]; empty if either is. */
static series ratios(const series *a, const series *b)
{
    series r = {.n = 0};
    for (int i = 0; i < a->n && i < b->n; i++)
        add(&r, b->v[i] > 0 ? a->v[i] / b->v[i] : 0);
    return r;
}

/* ---- tables ---- */

#define MAX_COLS 10
#define MAX_ROWS 64

typedef struct table {
    int ncols, nrows;
    const char *head[MAX_COLS];
    bool left[MAX_COLS];
    char *cell[MAX_ROWS][MAX_COLS];
} table;

static char *str(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        die("out of memory");
    va_end(ap);
    return s;
}

/* Columns from a '|'-separated list; a leading '<' aligns the column left. */
static void table_init(table *t, const char *heads)
{
    memset(t, 0, sizeof *t);
    char *copy = strdup(heads), *save = NULL;
    for (char *h = strtok_r(copy, "|", &save); h && t->ncols < MAX_COLS;
         h = strtok_r(NULL, "|", &save)) {
        t->left[t->ncols] = h[0] == '<';
        t->head[t->ncols++] = strdup(h[0] == '<' ? h + 1 : h);
    }
    free(copy);
}

/* Adds a row; takes ownership of the ncols strings (from str()). */
static void table_row(table *t, ...)
{
    if (t->nrows == MAX_ROWS)
        die("table too long");
    va_list ap;
    va_start(ap, t);
    for (int c = 0; c < t->ncols; c++)
        t->cell[t->nrows][c] = va_arg(ap, char *);
    va_end(ap);
    t->nrows++;
}

static void table_print(table *t)
{
    size_t width[MAX_COLS];
    for (int c = 0; c < t->ncols; c++) {
        width[c] = strlen(t->head[c]);
        for (int r = 0; r < t->nrows; r++)
            if (strlen(t->cell[r][c]) > width[c])
                width[c] = strlen(t->cell[r][c]);
    }
    for (int c = 0; c < t->ncols; c++)
        printf("| %-*s ", (int)width[c], t->head[c]);
    printf("|\n");
    for (int c = 0; c < t->ncols; c++) {
        printf("|%s", t->left[c] ? ":" : "-");
        for (size_t i = 0; i < width[c]; i++)
            putchar('-');
        printf("%s", t->left[c] ? "-" : ":");
    }
    printf("|\n");
    for (int r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            printf(t->left[c] ? "| %-*s " : "| %*s ", (int)width[c], t->cell[r][c]);
            free(t->cell[r][c]);
        }
        printf("|\n");
    }
    for (int c = 0; c < t->ncols; c++)
        free((char *)t->head[c]);
    printf("\n");
    fflush(stdout);
}

/* A figure with prec decimals; big figures get a thousands separator. */
static char *num(double x, int prec)
{
    if (x >= 10000 && prec == 0) {
        uint64_t v = (uint64_t)(x + 0.5);
        if (v >= 1000000)
            return str("%" PRIu64 ",%03" PRIu64 ",%03" PRIu64, v / 1000000, v / 1000 % 1000,
                       v % 1000);
        return str("%" PRIu64 ",%03" PRIu64, v / 1000, v % 1000);
    }
    return str("%.*f", prec, x);
}

/* Whole numbers without decimals, others with one. */
static char *num_bytes(double x)
{
    double whole = (double)(int64_t)(x + 0.5);
    return num(x, x - whole < 0.05 && whole - x < 0.05 ? 0 : 1);
}

static char *range(const series *s, int prec)
{
    char *lo = num(smin(s), prec), *hi = num(smax(s), prec);
    char *r = str("%s-%s", lo, hi);
    free(lo);
    free(hi);
    return r;
}

/* "1.23x", or "-" when there is no baseline. */
static char *ratio_cell(const series *a, const series *base)
{
    if (base == NULL || base->n == 0 || a->n == 0)
        return str("-");
    series r = ratios(a, base);
    return str("%.2fx", median(&r));
}

static void tsv_row(const char *section, const char *config, const variant *v,
                    const char *metric, const series *s, const series *base)
{
    if (tsv == NULL || s->n == 0)
        return;
    double ratio = 0;
    if (base && base->n) {
        series r = ratios(s, base);
        ratio = median(&r);
    }
    fprintf(tsv, "%s\t%s\t%s\t%s\t%s\t%.6g\t%.6g\t%.6g\t%.4f\n", section, config, v->id, v->label,
            metric, median(s), smin(s), smax(s), ratio);
}

/* The index of the variant with this id in an array, or -1. */
static int find(const variant *vs, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(vs[i].id, id) == 0 && want(&vs[i]))
            return (int)i;
    return -1;
}

/* ---- messages ---- */

/* The first 8 bytes (fewer if the message is shorter) carry the producer and its sequence
 * number; the last byte of a longer message is derived from them, to check the copy. */
static void stamp(unsigned char *msg, size_t size, int producer, uint64_t seq)
{
    uint64_t tag = ((uint64_t)producer << 48) | seq;
    memcpy(msg, &tag, size < 8 ? size : 8);
    if (size > 8)
        msg[size - 1] = (unsigned char)(seq * 31u + 7u);
}

static uint64_t tag_of(const unsigned char *msg, size_t size)
{
    uint64_t tag = 0;
    memcpy(&tag, msg, size < 8 ? size : 8);
    return tag;
}

static bool tail_ok(const unsigned char *msg, size_t size, uint64_t seq)
{
    return size <= 8 || msg[size - 1] == (unsigned char)(seq * 31u + 7u);
}

/* ---- throughput ---- */

typedef struct tp_shared {
    const bench_ops *ops;
    bq *q;
    size_t msg_size;
    size_t per_producer;
    pthread_barrier_t start;
} tp_shared;

typedef struct tp_producer {
    tp_shared *s;
    int index;
    pthread_t thread;
} tp_producer;

static void *tp_producer_main(void *arg)
{
    tp_producer *p = arg;
    tp_shared *s = p->s;
    unsigned char msg[BENCH_MSG_MAX];
    memset(msg, 0xa5, sizeof msg);
    pthread_barrier_wait(&s->start);
    for (uint64_t i = 0; i < s->per_producer; i++) {
        stamp(msg, s->msg_size, p->index, i);
        if (s->ops->send(s->q, p->index, msg) != 0)
            die("send failed");
    }
    return NULL;
}

/* Million messages per second, received by this thread from `producers` threads. */
static double run_throughput(const variant *v, int producers, size_t msg_size, size_t messages)
{
    tp_shared s = {.ops = v->ops, .msg_size = msg_size, .per_producer = messages / producers};
    size_t total = s.per_producer * (size_t)producers;
    s.q = v->ops->create(msg_size, v->capacity, producers, total);
    if (s.q == NULL)
        die("%s: create failed", v->id);
    pthread_barrier_init(&s.start, NULL, (unsigned)producers + 1);
    tp_producer prod[2];
    for (int i = 0; i < producers; i++) {
        prod[i] = (tp_producer){.s = &s, .index = i};
        if (pthread_create(&prod[i].thread, NULL, tp_producer_main, &prod[i]) != 0)
            die("pthread_create failed");
    }
    uint64_t expect[2] = {0, 0};
    unsigned char msg[BENCH_MSG_MAX];
    bool bad = false;
    pthread_barrier_wait(&s.start);
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < total; i++) {
        if (v->ops->recv(s.q, msg) != 0)
            die("%s: recv failed", v->id);
        uint64_t tag = tag_of(msg, msg_size);
        unsigned p = (unsigned)(tag >> 48);
        uint64_t seq = tag & 0xffffffffffffu;
        if (p >= (unsigned)producers || seq != expect[p] || !tail_ok(msg, msg_size, seq))
            bad = true;
        else
            expect[p]++;
    }
    uint64_t t1 = now_ns();
    for (int i = 0; i < producers; i++)
        pthread_join(prod[i].thread, NULL);
    pthread_barrier_destroy(&s.start);
    v->ops->destroy(s.q);
    if (bad)
        fail("%s: throughput %dP %zu B: a message was lost, repeated, reordered or corrupted",
             v->id, producers, msg_size);
    return (double)total / (double)(t1 - t0) * 1e3;
}

static void section_throughput(void)
{
    static const struct {
        int producers;
        size_t msg_size;
        const char *id; /* for --tp */
        const char *name;
    } configs[] = {
        {1, 8, "1x8", "1P->1C, 8 B"},
        {1, 128, "1x128", "1P->1C, 128 B"},
        {2, 8, "2x8", "2P->1C, 8 B"},
        {2, 128, "2x128", "2P->1C, 128 B"},
    };
    const size_t nv = COUNT(queue_variants);
    int glib = find(queue_variants, nv, "glib");
    int base = find(queue_variants, nv, "ring");
    table t;
    table_init(&t, "<config|<implementation|M msg/s|min-max|x ring|x GAsyncQueue");
    printf("### Throughput: %zu messages, blocking receive, million messages/s\n\n",
           opt.messages);
    for (size_t c = 0; c < COUNT(configs); c++) {
        if (!listed(opt.tp, configs[c].id))
            continue;
        series s[COUNT(queue_variants)] = {{.n = 0}};
        for (int r = 0; r < opt.runs; r++)
            for (size_t i = 0; i < nv; i++) {
                if (!want(&queue_variants[i]))
                    continue;
                double x;
                int attempt = 0;
                guard g;
                do {
                    guard_begin(&g);
                    x = run_throughput(&queue_variants[i], configs[c].producers,
                                       configs[c].msg_size, opt.messages);
                } while (!guard_end(&g, &attempt));
                add(&s[i], x);
            }
        for (size_t i = 0; i < nv; i++) {
            if (!want(&queue_variants[i]))
                continue;
            const series *b = base >= 0 ? &s[base] : NULL, *g = glib >= 0 ? &s[glib] : NULL;
            table_row(&t, str("%s", configs[c].name), str("%s", queue_variants[i].label),
                      num(median(&s[i]), 2), range(&s[i], 2), ratio_cell(&s[i], b),
                      ratio_cell(&s[i], g));
            tsv_row("throughput", configs[c].name, &queue_variants[i], "Mmsg/s", &s[i], b);
        }
    }
    table_print(&t);
}

/* ---- ping-pong ---- */

typedef struct pp_shared {
    const bench_ops *ops;
    bq *ab, *ba;
    size_t rounds;
    pthread_barrier_t start;
} pp_shared;

static void *pp_echo_main(void *arg)
{
    pp_shared *s = arg;
    unsigned char msg[8];
    pthread_barrier_wait(&s->start);
    for (size_t i = 0; i < s->rounds; i++)
        if (s->ops->recv(s->ab, msg) != 0 || s->ops->send(s->ba, 0, msg) != 0)
            die("ping-pong echo failed");
    return NULL;
}

/* p50, p90, p99 of the round trip, in microseconds. */
static void run_pingpong(const variant *v, size_t trips, double pct[3])
{
    size_t warm = trips / 100 < 100 ? 100 : trips / 100;
    pp_shared s = {.ops = v->ops, .rounds = warm + trips};
    s.ab = v->ops->create(8, v->capacity, 1, s.rounds);
    s.ba = v->ops->create(8, v->capacity, 1, s.rounds);
    uint64_t *lat = malloc(trips * sizeof *lat);
    if (s.ab == NULL || s.ba == NULL || lat == NULL)
        die("%s: create failed", v->id);
    pthread_barrier_init(&s.start, NULL, 2);
    pthread_t echo;
    if (pthread_create(&echo, NULL, pp_echo_main, &s) != 0)
        die("pthread_create failed");
    pthread_barrier_wait(&s.start);
    unsigned char msg[8];
    bool bad = false;
    for (size_t i = 0; i < s.rounds; i++) {
        stamp(msg, 8, 0, i);
        uint64_t t0 = now_ns();
        if (v->ops->send(s.ab, 0, msg) != 0 || v->ops->recv(s.ba, msg) != 0)
            die("%s: ping-pong failed", v->id);
        uint64_t t1 = now_ns();
        bad |= tag_of(msg, 8) != i;
        if (i >= warm)
            lat[i - warm] = t1 - t0;
    }
    pthread_join(echo, NULL);
    pthread_barrier_destroy(&s.start);
    v->ops->destroy(s.ab);
    v->ops->destroy(s.ba);
    if (bad)
        fail("%s: ping-pong: a wrong message came back", v->id);
    qsort(lat, trips, sizeof *lat, cmp_u64);
    static const unsigned rank[3] = {50, 90, 99};
    for (int k = 0; k < 3; k++) {
        size_t at = (trips * rank[k] + 99) / 100; /* nearest rank, 1-based */
        pct[k] = (double)lat[at ? at - 1 : 0] / 1e3;
    }
    free(lat);
}

static void section_pingpong(void)
{
    const size_t nv = COUNT(queue_variants);
    int base = find(queue_variants, nv, "ring");
    series s[COUNT(queue_variants)][3] = {{{.n = 0}}};
    for (int r = 0; r < opt.runs; r++)
        for (size_t i = 0; i < nv; i++) {
            if (!want(&queue_variants[i]))
                continue;
            double pct[3];
            int attempt = 0;
            guard g;
            do {
                guard_begin(&g);
                run_pingpong(&queue_variants[i], opt.trips, pct);
            } while (!guard_end(&g, &attempt));
            for (int k = 0; k < 3; k++)
                add(&s[i][k], pct[k]);
        }
    printf("### Ping-pong: two threads, two channels, %zu round trips of 8 bytes, microseconds"
           "\n\n",
           opt.trips);
    table t;
    table_init(&t, "<implementation|<percentile|us|min-max|x ring");
    static const char *metric[3] = {"p50", "p90", "p99"};
    for (size_t i = 0; i < nv; i++) {
        if (!want(&queue_variants[i]))
            continue;
        const series *b = base >= 0 ? s[base] : NULL;
        for (int k = 0; k < 3; k++) {
            table_row(&t, str("%s", queue_variants[i].label), str("%s", metric[k]),
                      num(median(&s[i][k]), 2), range(&s[i][k], 2),
                      ratio_cell(&s[i][k], b ? &b[k] : NULL));
            tsv_row("pingpong", metric[k], &queue_variants[i], "us", &s[i][k], b ? &b[k] : NULL);
        }
    }
    table_print(&t);
}

/* ---- CPU of a receiver blocked with nothing to do ---- */

typedef struct idle_rx {
    const bench_ops *ops;
    bq *q;
    uint64_t cpu_ns;
    int rc;
} idle_rx;

static void *idle_rx_main(void *arg)
{
    idle_rx *x = arg;
    unsigned char msg[8];
    uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    x->rc = x->ops->recv(x->q, msg);
    x->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
    return NULL;
}

/* Milliseconds of CPU that a receive uses while it waits idle_ms for one message. */
static double run_idle_cpu(const variant *v, unsigned idle_ms)
{
    idle_rx x = {.ops = v->ops, .q = v->ops->create(8, v->capacity, 1, 1)};
    if (x.q == NULL)
        die("%s: create failed", v->id);
    pthread_t t;
    if (pthread_create(&t, NULL, idle_rx_main, &x) != 0)
        die("pthread_create failed");
    sleep_ms(idle_ms);
    unsigned char msg[8] = {0};
    if (v->ops->send(x.q, 0, msg) != 0)
        die("%s: send failed", v->id);
    pthread_join(t, NULL);
    v->ops->destroy(x.q);
    if (x.rc != 0)
        fail("%s: idle receive failed", v->id);
    return (double)x.cpu_ns / 1e6;
}

static void section_idle_cpu(void)
{
    const size_t nv = COUNT(queue_variants);
    series s[COUNT(queue_variants)] = {{.n = 0}};
    for (int r = 0; r < opt.runs; r++)
        for (size_t i = 0; i < nv; i++) {
            if (!want(&queue_variants[i]))
                continue;
            double x;
            int attempt = 0;
            guard g;
            do {
                guard_begin(&g);
                x = run_idle_cpu(&queue_variants[i], opt.idle_ms);
            } while (!guard_end(&g, &attempt));
            add(&s[i], x);
        }
    printf("### CPU used by a receiver blocked %u ms with nothing to receive, milliseconds\n\n",
           opt.idle_ms);
    table t;
    table_init(&t, "<implementation|CPU ms|min-max");
    for (size_t i = 0; i < nv; i++) {
        if (!want(&queue_variants[i]))
            continue;
        table_row(&t, str("%s", queue_variants[i].label), num(median(&s[i]), 3),
                  range(&s[i], 3));
        tsv_row("idlecpu", "blocked", &queue_variants[i], "cpu ms", &s[i], NULL);
    }
    table_print(&t);
}

/* ---- create / destroy ---- */

static double time_per_iter(int (*fn)(size_t, size_t, size_t), const variant *v, size_t iters)
{
    double x;
    int attempt = 0;
    guard g;
    do {
        guard_begin(&g);
        uint64_t t0 = now_ns();
        if (fn(iters, BENCH_MSG_MAX, v->capacity) != 0)
            fail("%s: create/destroy loop failed", v->id);
        x = (double)(now_ns() - t0) / (double)iters;
    } while (!guard_end(&g, &attempt));
    return x;
}

static void section_create(void)
{
    const size_t nv = COUNT(create_variants);
    int base = find(create_variants, nv, "ring");
    series drop[COUNT(create_variants)] = {{.n = 0}}, cycle[COUNT(create_variants)] = {{.n = 0}};
    for (size_t i = 0; i < nv; i++) /* warm up the allocator and the caches */
        if (want(&create_variants[i])) {
            const variant *v = &create_variants[i];
            if (v->ops->create_drop(opt.iters / 10 + 1, BENCH_MSG_MAX, v->capacity) != 0 ||
                v->ops->create_cycle(opt.iters / 10 + 1, BENCH_MSG_MAX, v->capacity) != 0)
                fail("%s: create/destroy loop failed", v->id);
        }
    for (int r = 0; r < opt.runs; r++)
        for (size_t i = 0; i < nv; i++) {
            const variant *v = &create_variants[i];
            if (!want(v))
                continue;
            add(&drop[i], time_per_iter(v->ops->create_drop, v, opt.iters));
            add(&cycle[i], time_per_iter(v->ops->create_cycle, v, opt.iters));
        }
    printf("### Create/destroy: %zu iterations, %d-byte messages, ns per iteration\n\n",
           opt.iters, BENCH_MSG_MAX);
    table t;
    table_init(&t, "<implementation|<pattern|ns|min-max|x ring");
    for (size_t i = 0; i < nv; i++) {
        const variant *v = &create_variants[i];
        if (!want(v))
            continue;
        const series *bd = base >= 0 ? &drop[base] : NULL, *bc = base >= 0 ? &cycle[base] : NULL;
        table_row(&t, str("%s", v->label), str("create+drop"), num(median(&drop[i]), 1),
                  range(&drop[i], 1), ratio_cell(&drop[i], bd));
        table_row(&t, str("%s", v->label), str("create+send+recv+drop"),
                  num(median(&cycle[i]), 1), range(&cycle[i], 1), ratio_cell(&cycle[i], bc));
        tsv_row("create", "create+drop", v, "ns", &drop[i], bd);
        tsv_row("create", "create+send+recv+drop", v, "ns", &cycle[i], bc);
    }
    table_print(&t);
}

/* ---- idle memory ---- */

#define IDLE_MSG_SIZE 24

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f == NULL || fscanf(f, "%lu %lu", &size, &resident) != 2)
        die("cannot read /proc/self/statm");
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* In a fresh process (lcbench --idle-child ID N): makes N idle queues of variant ID and prints
 * the bytes requested (or -1), the heap growth and the RSS growth, in total. */
static int idle_child(const char *id, const char *count)
{
    int i = -1;
    for (size_t k = 0; k < COUNT(memory_variants); k++)
        if (strcmp(memory_variants[k].id, id) == 0)
            i = (int)k;
    size_t n = strtoull(count, NULL, 10);
    if (i < 0 || n == 0)
        die("--idle-child: unknown variant or count");
    const variant *v = &memory_variants[i];
    void **objs = calloc(2 * n + 2, sizeof *objs);
    if (objs == NULL)
        die("out of memory");
    memset(objs, 1, (2 * n + 2) * sizeof *objs); /* resident before the first measure */
    /* One queue first, outside the measure: a library's one-time set-up is not per channel. */
    objs[0] = v->ops->idle_new(IDLE_MSG_SIZE, v->capacity, &objs[1]);
    bench_requested = 0;
    bench_requested_unknown = false;
    size_t heap0 = heap_in_use(), rss0 = rss_bytes();
    for (size_t k = 1; k <= n; k++)
        if ((objs[2 * k] = v->ops->idle_new(IDLE_MSG_SIZE, v->capacity, &objs[2 * k + 1])) ==
            NULL)
            die("%s: idle_new failed", id);
    size_t heap1 = heap_in_use(), rss1 = rss_bytes();
    long long requested = bench_requested_unknown ? -1LL : (long long)bench_requested;
    /* Three messages through every queue and out again: the idle figure must come back. */
    long long after = -1;
    if (v->ops->idle_traffic) {
        for (size_t k = 1; k <= n; k++)
            if (v->ops->idle_traffic(objs[2 * k], objs[2 * k + 1], IDLE_MSG_SIZE, 3) != 0)
                die("%s: traffic through an idle queue failed", id);
        after = (long long)bench_requested;
    }
    printf("%lld %zd %zd %lld\n", requested, (ssize_t)(heap1 - heap0), (ssize_t)(rss1 - rss0),
           after);
    for (size_t k = 0; k <= n; k++)
        v->ops->idle_free(objs[2 * k], objs[2 * k + 1]);
    free(objs);
    return 0;
}

/* Runs an idle child and reads its four figures, per queue: requested, heap, RSS, requested
 * after traffic (requested and after: -1 if unknown); env_k=env_v is set in the child. */
static void run_idle_child(const variant *v, size_t n, const char *env_k, const char *env_v,
                           double out[4])
{
    int fd[2];
    if (pipe(fd) != 0)
        die("pipe failed");
    fflush(stdout);
    if (tsv)
        fflush(tsv);
    pid_t pid = fork();
    if (pid < 0)
        die("fork failed");
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], STDOUT_FILENO);
        close(fd[1]);
        if (env_k)
            setenv(env_k, env_v, 1);
        char count[32];
        snprintf(count, sizeof count, "%zu", n);
        char *argv[] = {"lcbench", "--idle-child", (char *)v->id, count, NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(fd[1]);
    char buf[256];
    size_t got = 0;
    ssize_t k;
    while (got < sizeof buf - 1 && (k = read(fd[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)k;
    buf[got] = 0;
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    long long req, heap, rss, after;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        sscanf(buf, "%lld %lld %lld %lld", &req, &heap, &rss, &after) != 4)
        die("%s: idle child failed", v->id);
    out[0] = req < 0 ? -1 : (double)req / (double)n;
    out[1] = (double)heap / (double)n;
    out[2] = (double)rss / (double)n;
    out[3] = after < 0 ? -1 : (double)after / (double)n;
    if (after >= 0 && after != req)
        fail("%s: %lld bytes requested by %zu idle channels, %lld after traffic and drain",
             v->id, req, n, after);
}

static void section_memory(void)
{
    const size_t nv = COUNT(memory_variants);
    int base = find(memory_variants, nv, "ring-16");
    bool glib_probe = false;
    for (int c = 0; c < opt.nchannels; c++) {
        size_t n = opt.channels[c];
        series s[COUNT(memory_variants)][4] = {{{.n = 0}}};
        for (int r = 0; r < opt.runs; r++)
            for (size_t i = 0; i < nv; i++) {
                if (!want(&memory_variants[i]))
                    continue;
                double f[4];
                run_idle_child(&memory_variants[i], n, NULL, NULL, f);
                for (int k = 0; k < 4; k++)
                    add(&s[i][k], f[k]);
            }
        char *nstr = num((double)n, 0);
        printf("### Idle memory: %s idle channels of %d-byte messages, bytes per channel\n\n",
               nstr, IDLE_MSG_SIZE);
        free(nstr);
        table t;
        table_init(&t, "<implementation|requested|drained|heap|RSS|RSS min-max|x ring 16");
        char config[32];
        snprintf(config, sizeof config, "%zu", n);
        for (size_t i = 0; i < nv; i++) {
            const variant *v = &memory_variants[i];
            if (!want(v))
                continue;
            char *req;
            if (median(&s[i][0]) >= 0) {
                req = num_bytes(median(&s[i][0]));
                tsv_row("memory", config, v, "requested", &s[i][0], NULL);
            } else {
                /* GAsyncQueue: what malloc gives the queue under G_SLICE=always-malloc. */
                double f[4];
                run_idle_child(v, n, "G_SLICE", "always-malloc", f);
                series probe = {.n = 0};
                add(&probe, f[0]);
                req = str("<= %.0f (a)", f[0]);
                tsv_row("memory", config, v, "requested", &probe, NULL);
                glib_probe = true;
            }
            char *after = median(&s[i][3]) >= 0 ? num_bytes(median(&s[i][3])) : str("-");
            if (median(&s[i][3]) >= 0)
                tsv_row("memory", config, v, "after drain", &s[i][3], NULL);
            const series *b = base >= 0 ? s[base] : NULL;
            table_row(&t, str("%s", v->label), req, after, num(median(&s[i][1]), 1),
                      num(median(&s[i][2]), 1), range(&s[i][2], 1),
                      ratio_cell(&s[i][2], b ? &b[2] : NULL));
            tsv_row("memory", config, v, "heap", &s[i][1], b ? &b[1] : NULL);
            tsv_row("memory", config, v, "rss", &s[i][2], b ? &b[2] : NULL);
        }
        table_print(&t);
    }
    printf("requested: what the implementation asked the allocator for, per channel (lazychan: "
           "counted\nthrough its lc_allocator hook; ring and urcu: counted by the adapter). "
           "drained: the same,\nonce 3 messages have gone through every channel and out "
           "again (checked equal). heap: growth\nof mallinfo2() in-use bytes. RSS: growth of "
           "the resident set (/proc/self/statm). Each figure\nis measured in a fresh process.\n");
    if (glib_probe)
        printf("(a) GLib does not say what it asks for: malloc_usable_size() of the queue, made "
               "under\nG_SLICE=always-malloc so that it surely comes from malloc; an upper bound "
               "of the request.\n");
    printf("\n");
}

/* ---- what this machine charges for the operations a channel is made of ---- */

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static _Alignas(64) _Atomic uint64_t line_word;
static _Alignas(64) _Atomic uint64_t line_turn;
static size_t line_trips;

/* The other side of the flag ping-pong: waits for each odd value and answers with the next. */
static void *line_echo(void *arg)
{
    (void)arg;
    for (uint64_t i = 1; i < 2 * line_trips; i += 2) {
        while (atomic_load_explicit(&line_turn, memory_order_acquire) != i)
            cpu_relax();
        atomic_store_explicit(&line_turn, i + 1, memory_order_release);
    }
    return NULL;
}

/* ns per operation: 0 uncontended lock xadd, 1 load + lock cmpxchg, 2 clock_gettime,
 * 3 one transfer of a cache line between two threads (half a flag round trip). */
static double machine_op(int op, size_t n)
{
    uint64_t t0 = now_ns();
    switch (op) {
    case 0:
        for (size_t i = 0; i < n; i++)
            atomic_fetch_add(&line_word, 1);
        break;
    case 1:
        for (size_t i = 0; i < n; i++) {
            uint64_t v = atomic_load_explicit(&line_word, memory_order_relaxed);
            atomic_compare_exchange_strong(&line_word, &v, v + 1);
        }
        break;
    case 2:
        for (size_t i = 0; i < n; i++)
            (void)now_ns();
        break;
    default: {
        pthread_t t;
        line_trips = n;
        atomic_store(&line_turn, 0);
        t0 = now_ns();
        if (pthread_create(&t, NULL, line_echo, NULL) != 0)
            die("pthread_create failed");
        for (uint64_t i = 0; i < 2 * n; i += 2) {
            while (atomic_load_explicit(&line_turn, memory_order_acquire) != i)
                cpu_relax();
            atomic_store_explicit(&line_turn, i + 1, memory_order_release);
        }
        pthread_join(t, NULL);
        return (double)(now_ns() - t0) / (double)(2 * n);
    }
    }
    return (double)(now_ns() - t0) / (double)n;
}

/* Not in the default run: lcbench --only machine. */
static void section_machine(void)
{
    static const char *names[4] = {
        "lock xadd, uncontended",
        "load + lock cmpxchg, uncontended",
        "clock_gettime(CLOCK_MONOTONIC)",
        "a cache line moving to the other thread",
    };
    size_t n = opt.quick ? 10000 : 2000000;
    series s[4] = {{.n = 0}};
    for (int r = 0; r < opt.runs; r++)
        for (int op = 0; op < 4; op++) {
            double x;
            int attempt = 0;
            guard g;
            do {
                guard_begin(&g);
                x = machine_op(op, op == 3 ? n / 4 : n);
            } while (!guard_end(&g, &attempt));
            add(&s[op], x);
        }
    printf("### What this machine charges, ns per operation\n\n");
    table t;
    table_init(&t, "<operation|ns|min-max");
    for (int op = 0; op < 4; op++)
        table_row(&t, str("%s", names[op]), num(median(&s[op]), 1), range(&s[op], 1));
    table_print(&t);
}

/* ---- main ---- */

/* The 1-minute load average: other work on the machine shows here. */
static double loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

static void print_machine(int argc, char **argv)
{
    struct utsname u;
    uname(&u);
    char model[128] = "?";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) {
                snprintf(model, sizeof model, "%s", p + 2);
                model[strcspn(model, "\n")] = 0;
            }
            break;
        }
    if (f)
        fclose(f);
    printf("## lcbench\n\n");
    printf("Command: `");
    for (int i = 0; i < argc; i++)
        printf(i ? " %s" : "%s", argv[i]);
    printf("`\n\n");
    printf("- machine: %ld online CPUs, %s; Linux %s (%s)\n", sysconf(_SC_NPROCESSORS_ONLN),
           model, u.release, u.machine);
    printf("- load average (1 min) at start: %.2f\n", loadavg());
    printf("- build: %s; compiler: gcc %s; glibc %s\n", BENCH_BUILD, __VERSION__,
           gnu_get_libc_version());
    unsigned lv = lc_version();
    printf("- lazychan %u.%u.%u", lv / 10000, lv / 100 % 100, lv % 100);
#ifdef BENCH_HAVE_GLIB
    printf("; GLib %s", bench_glib_version());
#else
    printf("; GLib not found (GAsyncQueue skipped)");
#endif
#ifdef BENCH_HAVE_URCU
    printf("; userspace-rcu %s", BENCH_URCU_VERSION);
#else
    printf("; userspace-rcu not found (wfcqueue skipped)");
#endif
    printf("\n- %d runs of each measure; tables give the median, the min-max and the median "
           "of the\n  per-run ratios to the baseline measured in the same run\n\n",
           opt.runs);
    fflush(stdout);
}

static void usage(int code)
{
    fputs("usage: lcbench [--runs N] [--quick] [--only SECTIONS] [--impl IDS] [--tp CONFIGS]\n"
          "               [--tsv FILE] [--messages N] [--trips N] [--idle-ms N] [--iters N]\n"
          "               [--channels N,N] [--no-guard]\n"
          "sections: throughput,pingpong,idlecpu,create,memory (default: all of them);\n"
          "          machine (what a locked instruction, clock_gettime, a line transfer cost)\n"
          "configs (producers x message bytes): 1x8,1x128,2x8,2x128\n"
          "ids: ring glib urcu lc-copy-1024 lc-copy-unb lc-node (queues); ring lc-copy-1 "
          "lc-node-1\n     (create); ring-16 ring-1024 lc-copy-16 lc-copy-unb lc-node "
          "(memory)\n",
          code ? stderr : stdout);
    exit(code);
}

static size_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v == 0)
        usage(2);
    return (size_t)v;
}

static void parse_channels(const char *s)
{
    opt.nchannels = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *w = strtok_r(copy, ",", &save); w && opt.nchannels < 8;
         w = strtok_r(NULL, ",", &save))
        opt.channels[opt.nchannels++] = parse_size(w);
    free(copy);
}

static void parse_args(int argc, char **argv)
{
    opt.runs = 5;
    opt.messages = 2000000;
    opt.trips = 100000;
    opt.idle_ms = 1000;
    opt.iters = 1000000;
    parse_channels("10000,100000");
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quick") == 0) {
            opt.quick = true;
            opt.runs = 2;
            opt.messages = 20000;
            opt.trips = 300;
            opt.idle_ms = 20;
            opt.iters = 2000;
            parse_channels("500,1000");
        }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0)
            continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            usage(0);
        if (strcmp(a, "--no-guard") == 0) {
            guard_stats.off = true;
            continue;
        }
        if (val == NULL)
            usage(2);
        i++;
        if (strcmp(a, "--runs") == 0) {
            size_t r = parse_size(val);
            opt.runs = r > MAX_RUNS ? MAX_RUNS : (int)r;
        } else if (strcmp(a, "--only") == 0) {
            opt.only = val;
        } else if (strcmp(a, "--impl") == 0) {
            opt.impls = val;
        } else if (strcmp(a, "--tp") == 0) {
            opt.tp = val;
        } else if (strcmp(a, "--tsv") == 0) {
            opt.tsv = val;
        } else if (strcmp(a, "--messages") == 0) {
            opt.messages = parse_size(val);
        } else if (strcmp(a, "--trips") == 0) {
            opt.trips = parse_size(val);
        } else if (strcmp(a, "--idle-ms") == 0) {
            opt.idle_ms = (unsigned)parse_size(val);
        } else if (strcmp(a, "--iters") == 0) {
            opt.iters = parse_size(val);
        } else if (strcmp(a, "--channels") == 0) {
            parse_channels(val);
        } else {
            usage(2);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--idle-child") == 0)
        return idle_child(argv[2], argv[3]);
    parse_args(argc, argv);
    if (opt.tsv) {
        tsv = fopen(opt.tsv, "w");
        if (tsv == NULL)
            die("cannot write %s", opt.tsv);
        fprintf(tsv, "section\tconfig\tid\tlabel\tmetric\tmedian\tmin\tmax\tx_ring\n");
    }
    print_machine(argc, argv);
    static const struct {
        const char *name;
        void (*fn)(void);
    } sections[] = {
        {"throughput", section_throughput}, {"pingpong", section_pingpong},
        {"idlecpu", section_idle_cpu},      {"create", section_create},
        {"memory", section_memory},         {"machine", section_machine},
    };
    uint64_t start = now_ns();
    for (size_t i = 0; i < COUNT(sections); i++) {
        if (opt.only ? !listed(opt.only, sections[i].name)
                     : strcmp(sections[i].name, "machine") == 0)
            continue;
        uint64_t t0 = now_ns();
        sections[i].fn();
        printf("(%s: %.1f s)\n\n", sections[i].name, (double)(now_ns() - t0) / 1e9);
        fflush(stdout);
    }
    if (!opt.quick)
        printf("Quiet guard %s: %d measure(s) redone because other work ran meanwhile,\n"
               "%d kept busy after %d tries, %.0f s spent waiting for quiet%s.\n",
               guard_stats.off ? "off" : "on", guard_stats.redone, guard_stats.kept_busy,
               MAX_REDO + 1, guard_stats.waited_s,
               guard_stats.never_quiet ? " (some waits gave up)" : "");
    printf("Total: %.1f s; load average (1 min) at the end: %.2f.\n",
           (double)(now_ns() - start) / 1e9, loadavg());
    if (opt.quick)
        printf("Quick mode: tiny counts, the figures mean nothing.\n");
    if (tsv)
        fclose(tsv);
    if (failures) {
        printf("%d check(s) FAILED\n", failures);
        return 1;
    }
    return 0;
}
