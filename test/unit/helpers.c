#define _GNU_SOURCE /* syscall(SYS_gettid), nanosleep */

#include "helpers.h"

#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* ---- counting allocator ---- */

#define BLOCK_MAGIC 0x6c617a7963686e31ull
/* The hidden header in front of each block; keeps the block aligned for any type. */
#define BLOCK_HEADER (alignof(max_align_t) > 16 ? alignof(max_align_t) : 16)

struct block_header {
    size_t size;
    uint64_t magic;
};

static void *counter_alloc(void *ctx, size_t size)
{
    struct counter *c = ctx;
    size_t n = atomic_fetch_add(&c->attempts, 1) + 1;
    if (n == atomic_load(&c->fail_at) || size > c->fail_above || size > SIZE_MAX - BLOCK_HEADER) {
        atomic_fetch_add(&c->failures, 1);
        return NULL;
    }
    unsigned char *p = malloc(BLOCK_HEADER + size);
    if (p == NULL) {
        atomic_fetch_add(&c->failures, 1);
        return NULL;
    }
    struct block_header h = {size, BLOCK_MAGIC};
    memcpy(p, &h, sizeof h);
    atomic_fetch_add(&c->allocs, 1);
    atomic_fetch_add(&c->live_allocs, 1);
    atomic_fetch_add(&c->live_bytes, size);
    atomic_store(&c->last_size, size);
    size_t max = atomic_load(&c->max_size);
    while (size > max && !atomic_compare_exchange_weak(&c->max_size, &max, size)) {
    }
    return p + BLOCK_HEADER;
}

static void counter_free(void *ctx, void *ptr, size_t size)
{
    struct counter *c = ctx;
    if (ptr == NULL) {
        atomic_fetch_add(&c->bad_frees, 1);
        return;
    }
    unsigned char *p = (unsigned char *)ptr - BLOCK_HEADER;
    struct block_header h;
    memcpy(&h, p, sizeof h);
    if (h.magic != BLOCK_MAGIC || h.size != size) {
        atomic_fetch_add(&c->bad_frees, 1);
        if (h.magic != BLOCK_MAGIC)
            return; /* not ours: leave it alone */
    }
    h.magic = 0; /* a second free of this block is caught (until malloc reuses it) */
    memcpy(p, &h, sizeof h);
    atomic_fetch_add(&c->frees, 1);
    atomic_fetch_sub(&c->live_allocs, 1);
    atomic_fetch_sub(&c->live_bytes, h.size);
    free(p);
}

void counter_init(struct counter *c)
{
    c->allocator.alloc = counter_alloc;
    c->allocator.free = counter_free;
    c->allocator.ctx = c;
    atomic_init(&c->attempts, 0);
    atomic_init(&c->allocs, 0);
    atomic_init(&c->frees, 0);
    atomic_init(&c->live_allocs, 0);
    atomic_init(&c->live_bytes, 0);
    atomic_init(&c->max_size, 0);
    atomic_init(&c->last_size, 0);
    atomic_init(&c->failures, 0);
    atomic_init(&c->bad_frees, 0);
    atomic_init(&c->fail_at, 0);
    c->fail_above = SIZE_MAX;
}

void counter_fail_next(struct counter *c) { atomic_store(&c->fail_at, atomic_load(&c->attempts) + 1); }
void counter_reset_max(struct counter *c) { atomic_store(&c->max_size, 0); }
size_t counter_live_bytes(struct counter *c) { return atomic_load(&c->live_bytes); }
size_t counter_live_allocs(struct counter *c) { return atomic_load(&c->live_allocs); }

/* ---- message patterns ---- */

static unsigned char pattern_byte(uint64_t seq, size_t i)
{
    return (unsigned char)((seq * 131u + i * 7u + 1u) & 0xffu);
}

void msg_fill(void *buf, size_t size, uint64_t seq)
{
    unsigned char *b = buf;
    size_t i = 0;
    if (size >= sizeof seq) {
        memcpy(b, &seq, sizeof seq);
        i = sizeof seq;
    }
    for (; i < size; i++)
        b[i] = pattern_byte(seq, i);
}

bool msg_check(const void *buf, size_t size, uint64_t seq)
{
    const unsigned char *b = buf;
    size_t i = 0;
    if (size >= sizeof seq) {
        uint64_t got;
        memcpy(&got, b, sizeof got);
        if (got != seq)
            return false;
        i = sizeof seq;
    }
    for (; i < size; i++)
        if (b[i] != pattern_byte(seq, i))
            return false;
    return true;
}

/* ---- drop callback log ---- */

void drop_log_init(struct drop_log *log, size_t msg_size)
{
    log->msg_size = msg_size;
    atomic_init(&log->calls, 0);
    atomic_init(&log->bad, 0);
    for (size_t i = 0; i < DROP_LOG_MAX; i++)
        atomic_init(&log->seen[i], 0);
}

static void drop_log_seq(struct drop_log *log, uint64_t seq, bool ok)
{
    atomic_fetch_add(&log->calls, 1);
    if (!ok || seq >= DROP_LOG_MAX) {
        atomic_fetch_add(&log->bad, 1);
        return;
    }
    atomic_fetch_add(&log->seen[seq], 1);
}

void drop_copy(void *ctx, void *msg)
{
    struct drop_log *log = ctx;
    uint64_t seq = UINT64_MAX;
    if (msg != NULL && log->msg_size >= sizeof seq)
        memcpy(&seq, msg, sizeof seq);
    drop_log_seq(log, seq, msg != NULL && msg_check(msg, log->msg_size, seq));
}

void drop_node(void *ctx, void *node)
{
    struct drop_log *log = ctx;
    if (node == NULL) {
        drop_log_seq(log, UINT64_MAX, false);
        return;
    }
    drop_log_seq(log, ITEM_OF(node)->seq, true);
}

/* ---- counting waker ---- */

static void wake_count_fn(void *ctx)
{
    struct wake_count *w = ctx;
    atomic_fetch_add(&w->calls, 1);
}

void wake_count_init(struct wake_count *w)
{
    w->waker.wake = wake_count_fn;
    w->waker.ctx = w;
    atomic_init(&w->calls, 0);
}

int wake_calls(struct wake_count *w) { return atomic_load(&w->calls); }

/* ---- threads ---- */

void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
#ifdef __linux__
    atomic_store(&w->tid, (int)syscall(SYS_gettid));
#endif
    atomic_store(&w->started, true);
    w->rc = w->fn(w);
    atomic_store(&w->done, true);
    return NULL;
}

void worker_start(struct worker *w, int (*fn)(struct worker *))
{
    w->fn = fn;
    w->rc = RC_NOT_RUN;
    atomic_init(&w->tid, 0);
    atomic_init(&w->started, false);
    atomic_init(&w->done, false);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        abort();
}

int worker_join(struct worker *w)
{
    if (pthread_join(w->thread, NULL) != 0)
        abort();
    return w->rc;
}

/* The scheduler state of one of our threads ('R', 'S', 'D', ...), or 0 if unknown. */
static char thread_state(int tid)
{
#ifdef __linux__
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *paren = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    if (paren == NULL || paren[1] != ' ')
        return 0;
    return paren[2];
#else
    (void)tid;
    return 0;
#endif
}

bool worker_wait_blocked(struct worker *w)
{
    /* Sleeping twice in a row, 2 ms apart, while inside fn: parked in the blocking call. The
     * bound only turns a hang into a failure before Criterion's timeout would. */
    int asleep = 0;
    for (int i = 0; i < 4000; i++) {
        if (atomic_load(&w->done))
            return false;
        if (atomic_load(&w->started)) {
            char state = thread_state(atomic_load(&w->tid));
            if (state == 0) { /* no /proc: give it time */
                sleep_ms(50);
                return !atomic_load(&w->done);
            }
            asleep = state == 'S' ? asleep + 1 : 0;
            if (asleep == 2)
                return !atomic_load(&w->done);
        }
        sleep_ms(2);
    }
    return false;
}

int thread_id(void)
{
#ifdef __linux__
    return (int)syscall(SYS_gettid);
#else
    return 0;
#endif
}

bool thread_wait_sleeping(int tid)
{
    int asleep = 0;
    for (int i = 0; i < 4000; i++) {
        char state = thread_state(tid);
        if (state == 0) { /* no /proc: give it time */
            sleep_ms(50);
            return true;
        }
        asleep = state == 'S' ? asleep + 1 : 0;
        if (asleep == 2)
            return true;
        sleep_ms(2);
    }
    return false;
}

int worker_send(struct worker *w) { return lc_send(w->tx, &w->value); }
int worker_send_timeout(struct worker *w) { return lc_send_timeout(w->tx, &w->value, w->timeout_ns); }
int worker_recv(struct worker *w) { return lc_recv(w->rx, &w->value); }
int worker_send_node(struct worker *w) { return lc_send_node(w->tx, w->node); }
int worker_recv_node(struct worker *w) { return lc_recv_node(w->rx, &w->node); }
