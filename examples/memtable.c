/* memtable: counts the heap bytes a channel holds through a counting allocator, and checks them. */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazychan.h"

#define UNBOUNDED_FILL 1024 /* messages queued in an unbounded channel: its "full" */
#define MAX_MSG_SIZE 65536  /* the largest msg_size measured */
#define NODE_OVERHEAD 16    /* the header's bound: one node is at most msg_size + 16 bytes */
#define IDLE_PLAIN 64       /* the header's size of a channel, with or without an allocator */
#define IDLE_WITH_DROP 96   /* the most a channel with a drop callback may take */

/* ---- a counting allocator ---- */

/*
 * Counts the bytes the channel asks for (not malloc's own overhead). Not thread-safe, which is
 * fine here: this program has one thread. A channel used from several threads calls its
 * allocator from all of them, and its counters would have to be atomic.
 * Each block starts with a hidden header holding the requested size, so that free can check
 * that it gets back the size that was asked for, as lc_allocator promises.
 */
struct counter {
    size_t live_bytes;  /* requested and not yet freed */
    size_t live_allocs; /* blocks not yet freed */
    size_t allocs;      /* alloc calls so far */
    size_t largest;     /* the largest request since it was last reset */
    size_t bad_frees;   /* frees given a size other than the one requested */
};

union block_header { /* its size keeps the caller's block aligned for any type */
    max_align_t align;
    size_t size;
};

static void *count_alloc(void *ctx, size_t size)
{
    struct counter *c = ctx;
    union block_header *h = malloc(sizeof *h + size);
    if (h == NULL)
        return NULL;
    h->size = size;
    c->live_bytes += size;
    c->live_allocs++;
    c->allocs++;
    if (size > c->largest)
        c->largest = size;
    return h + 1;
}

static void count_free(void *ctx, void *ptr, size_t size)
{
    struct counter *c = ctx;
    union block_header *h = (union block_header *)ptr - 1;
    if (h->size != size)
        c->bad_frees++;
    c->live_bytes -= h->size;
    c->live_allocs--;
    free(h);
}

/* Live bytes and live allocations at one moment. */
struct snap {
    size_t bytes, allocs;
};

static struct snap snap(const struct counter *c)
{
    return (struct snap){c->live_bytes, c->live_allocs};
}

static bool same(struct snap a, struct snap b)
{
    return a.bytes == b.bytes && a.allocs == b.allocs;
}

/* ---- the drop callback: records which messages it was given ---- */

struct drop_log {
    bool tagged;                        /* messages carry their number (msg_size >= 4) */
    size_t calls;                       /* calls of the callback */
    size_t bad_tags;                    /* numbers out of range */
    unsigned char seen[UNBOUNDED_FILL]; /* calls for each message number */
};

static void record_drop(struct drop_log *log, uint32_t tag)
{
    log->calls++;
    if (!log->tagged)
        return;
    if (tag >= UNBOUNDED_FILL)
        log->bad_tags++;
    else if (log->seen[tag] < UCHAR_MAX)
        log->seen[tag]++;
}

/* Copy mode: msg points to the payload, whose first bytes hold the message number. */
static void drop_payload(void *ctx, void *msg)
{
    uint32_t tag = 0;
    struct drop_log *log = ctx;
    if (log->tagged)
        memcpy(&tag, msg, sizeof tag);
    record_drop(log, tag);
}

/* Intrusive mode: msg is the lc_node embedded in an item. */
struct item {
    uint32_t tag;
    lc_node node;
};

static struct item *item_of(lc_node *n)
{
    return (struct item *)(void *)((char *)n - offsetof(struct item, node));
}

static void drop_item(void *ctx, void *msg) { record_drop(ctx, item_of(msg)->tag); }

/* true if messages 0 .. n-1 were each dropped exactly once, and nothing else was. */
static bool dropped_each_once(const struct drop_log *log, size_t n)
{
    if (log->calls != n || log->bad_tags != 0)
        return false;
    for (size_t i = 0; log->tagged && i < UNBOUNDED_FILL; i++)
        if (log->seen[i] != (i < n))
            return false;
    return true;
}

/* ---- checks: a failed one is reported and makes the exit status 1 ---- */

static int checks, failures;

static void check(bool ok, const char *fmt, ...)
{
    checks++;
    if (ok)
        return;
    failures++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "memtable: CHECK FAILED: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- one channel, measured ---- */

struct row {
    bool intrusive;
    bool drop;                 /* made with a drop callback */
    size_t msg_size, capacity; /* capacity 0: unbounded */
    size_t queued;             /* messages that fill it */
    struct snap created, full, drained, dropped;
    size_t per_message; /* bytes each queued message added */
    size_t alloc_calls; /* over the whole run of the row */
};

static unsigned char msg_buf[MAX_MSG_SIZE], out_buf[MAX_MSG_SIZE];
static struct item items[UNBOUNDED_FILL];
static struct drop_log drops;

/* "msg_size 8, capacity 16": names the row in failure messages. */
static const char *label(const struct row *r)
{
    static char buf[64];
    if (r->intrusive)
        snprintf(buf, sizeof buf, "intrusive, capacity %zu", r->capacity);
    else
        snprintf(buf, sizeof buf, "msg_size %zu, capacity %zu", r->msg_size, r->capacity);
    return buf;
}

/* Reports a call that returned rc where want was expected. */
static bool call_ok(int rc, int want, const char *call, size_t i, const struct row *r)
{
    if (rc != want)
        check(false, "%s: %s #%zu returned %s, expected %s", label(r), call, i, lc_strerror(rc),
              lc_strerror(want));
    return rc == want;
}

/* Sends messages 0 .. n-1, then (bounded) checks that one more does not fit. */
static bool fill(lc_tx *tx, const struct row *r)
{
    for (uint32_t i = 0; i < r->queued; i++) {
        int rc;
        if (r->intrusive) {
            items[i].tag = i;
            rc = lc_try_send_node(tx, &items[i].node);
        } else {
            if (r->msg_size >= sizeof i)
                memcpy(msg_buf, &i, sizeof i);
            rc = lc_try_send(tx, msg_buf);
        }
        if (!call_ok(rc, LC_OK, "send", i, r))
            return false;
    }
    if (r->capacity == 0 || r->intrusive)
        return true;
    return call_ok(lc_try_send(tx, msg_buf), LC_FULL, "send when full", r->queued, r);
}

/* Receives messages 0 .. n-1 in order, then checks that the channel is empty. */
static bool drain(lc_rx *rx, const struct row *r)
{
    bool in_order = true;
    for (uint32_t i = 0; i < r->queued; i++) {
        uint32_t tag = i;
        int rc;
        if (r->intrusive) {
            lc_node *n = NULL;
            rc = lc_try_recv_node(rx, &n);
            if (rc == LC_OK)
                tag = item_of(n)->tag;
        } else {
            rc = lc_try_recv(rx, out_buf);
            if (rc == LC_OK && r->msg_size >= sizeof tag)
                memcpy(&tag, out_buf, sizeof tag);
        }
        if (!call_ok(rc, LC_OK, "receive", i, r))
            return false;
        in_order = in_order && tag == i;
    }
    check(in_order, "%s: messages came out of order", label(r));
    int rc = r->intrusive ? lc_try_recv_node(rx, &(lc_node *){NULL}) : lc_try_recv(rx, out_buf);
    return call_ok(rc, LC_EMPTY, "receive when drained", r->queued, r);
}

/* Creates the channel, fills it, drains it, fills it again and drops both handles. */
static bool measure(struct row *r)
{
    struct counter cnt = {0};
    const lc_allocator counting = {count_alloc, count_free, &cnt};
    memset(&drops, 0, sizeof drops);
    drops.tagged = r->intrusive || r->msg_size >= sizeof(uint32_t);
    lc_config cfg = {
        .capacity = r->capacity,
        .allocator = &counting,
        .drop = !r->drop ? NULL : r->intrusive ? drop_item : drop_payload,
        .drop_ctx = &drops,
    };
    r->queued = r->capacity != 0 ? r->capacity : UNBOUNDED_FILL;

    lc_tx *tx;
    lc_rx *rx;
    int rc = r->intrusive ? lc_channel_intrusive(&cfg, &tx, &rx)
                          : lc_channel(r->msg_size, &cfg, &tx, &rx);
    if (!call_ok(rc, LC_OK, "create", 0, r))
        return false;
    r->created = snap(&cnt);

    cnt.largest = 0;
    bool ok = fill(tx, r);
    r->full = snap(&cnt);
    size_t largest_node = cnt.largest;
    ok = ok && drain(rx, r);
    r->drained = snap(&cnt);
    ok = ok && fill(tx, r);

    lc_tx_drop(tx);
    lc_rx_drop(rx); /* the channel goes now, giving its r->queued messages to the drop callback */
    r->dropped = snap(&cnt);
    r->alloc_calls = cnt.allocs;
    if (!ok)
        return false;

    const char *l = label(r);
    size_t node_allocs = r->intrusive ? 0 : r->queued; /* copy mode: one node per message */
    size_t node_limit = r->intrusive ? 0 : r->msg_size + NODE_OVERHEAD;
    check(r->created.allocs == 1, "%s: %zu allocations at creation, expected 1", l,
          r->created.allocs);
    size_t idle_limit = r->drop ? IDLE_WITH_DROP : IDLE_PLAIN;
    check(r->created.bytes <= idle_limit, "%s: %zu bytes at creation, at most %zu expected", l,
          r->created.bytes, idle_limit);
    check(r->full.allocs - r->created.allocs == node_allocs,
          "%s: %zu allocations for %zu queued messages, expected %zu", l,
          r->full.allocs - r->created.allocs, r->queued, node_allocs);
    r->per_message = (r->full.bytes - r->created.bytes) / r->queued;
    check(r->per_message * r->queued == r->full.bytes - r->created.bytes,
          "%s: the queued messages do not all take the same bytes", l);
    check(largest_node <= node_limit, "%s: a %zu-byte node, the header says at most %zu", l,
          largest_node, node_limit);
    check(same(r->drained, r->created),
          "%s: %zu bytes (%zu allocations) after draining, %zu (%zu) at creation", l,
          r->drained.bytes, r->drained.allocs, r->created.bytes, r->created.allocs);
    check(r->dropped.bytes == 0 && r->dropped.allocs == 0,
          "%s: %zu bytes (%zu allocations) left after dropping every handle", l, r->dropped.bytes,
          r->dropped.allocs);
    check(!r->drop || dropped_each_once(&drops, r->queued),
          "%s: the drop callback did not see each of %zu undelivered messages exactly once "
          "(%zu calls)", l, r->queued, drops.calls);
    check(cnt.bad_frees == 0, "%s: %zu frees given the wrong size", l, cnt.bad_frees);
    return true;
}

/* ---- the tables ---- */

static const char *cell(char *buf, size_t len, struct snap s)
{
    snprintf(buf, len, "%zu B (%zu)", s.bytes, s.allocs);
    return buf;
}

static const char *capacity_text(char *buf, size_t len, size_t capacity)
{
    if (capacity == 0)
        return "unbounded";
    snprintf(buf, len, "%zu", capacity);
    return buf;
}

int main(void)
{
    static const size_t msg_sizes[] = {0, 8, 24, 128, 1024, 65536};
    static const size_t capacities[] = {0, 1, 16, 1024};
    char a[32], b[32], c[32], d[32], e[32], f[32];
    size_t idle = 0; /* bytes at creation of the first channel: every other must match */

    printf("Heap bytes one channel holds, counted through a counting lc_allocator (bytes "
           "requested; live allocations in parentheses). Each row creates a copy-mode channel, "
           "fills it (%d messages when unbounded), drains it, fills it again and drops both "
           "handles with those messages queued. The same row is run with a drop callback too, "
           "whose channel stores it. Every figure below is checked; the program exits with "
           "status 1 if a check fails.\n\n", UNBOUNDED_FILL);
    printf("| msg_size | capacity  | at creation | with drop callback | when full          | "
           "per message | after draining | after drop, queued |\n");
    printf("|---------:|----------:|------------:|-------------------:|-------------------:|"
           "------------:|---------------:|-------------------:|\n");
    for (size_t i = 0; i < sizeof msg_sizes / sizeof msg_sizes[0]; i++) {
        for (size_t j = 0; j < sizeof capacities / sizeof capacities[0]; j++) {
            struct row r = {.msg_size = msg_sizes[i], .capacity = capacities[j]};
            struct row rd = {.msg_size = msg_sizes[i], .capacity = capacities[j], .drop = true};
            if (!measure(&r) || !measure(&rd))
                continue;
            if (idle == 0)
                idle = r.created.bytes;
            check(r.created.bytes == idle, "%s: %zu bytes at creation, %zu for the first row",
                  label(&r), r.created.bytes, idle);
            check(rd.per_message == r.per_message && same(rd.dropped, r.dropped),
                  "%s: a drop callback changed the per-message figures", label(&r));
            printf("| %8zu | %9s | %11s | %18s | %18s | %9zu B | %14s | %18s |\n", r.msg_size,
                   capacity_text(a, sizeof a, r.capacity), cell(b, sizeof b, r.created),
                   cell(f, sizeof f, rd.created), cell(c, sizeof c, r.full), r.per_message,
                   cell(d, sizeof d, r.drained), cell(e, sizeof e, r.dropped));
        }
    }
    printf("\nA channel made with cfg = NULL is the same %zu-byte struct, taken from malloc.\n\n",
           idle);

    printf("Intrusive mode, with a drop callback: the caller's structs embed the lc_node, so the "
           "channel allocates nothing per message.\n\n");
    printf("| capacity  | at creation | %d nodes queued | after draining | after drop, queued |\n",
           UNBOUNDED_FILL);
    printf("|----------:|------------:|------------------:|---------------:|"
           "-------------------:|\n");
    for (size_t j = 0; j < 2; j++) {
        struct row r = {.intrusive = true, .drop = true,
                        .capacity = j == 0 ? 0 : UNBOUNDED_FILL};
        if (!measure(&r))
            continue;
        printf("| %9s | %11s | %17s | %14s | %18s |\n", capacity_text(a, sizeof a, r.capacity),
               cell(b, sizeof b, r.created), cell(c, sizeof c, r.full),
               cell(d, sizeof d, r.drained), cell(e, sizeof e, r.dropped));
    }

    if (failures != 0) {
        fprintf(stderr, "memtable: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("\nAll %d checks passed.\n", checks);
    return 0;
}
