/*
 * Adapters: lazychan in copy mode (lc_send / lc_recv: a node allocated by each send, freed by
 * each receive) and in intrusive mode (lc_send_node / lc_recv_node: the caller's own nodes).
 *
 * Intrusive mode needs nodes from somewhere. Here each producer takes its nodes in order from
 * its slice of a pool allocated and touched before the clock starts, each node used once: the
 * channel allocates nothing, and neither does the benchmark while it is timed. The producer
 * writes the message into the node, the receiver copies it out, as in copy mode.
 */
#include <lazychan.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---- copy mode ---- */

struct lq {
    lc_tx *tx; /* one reference per producer (lc_tx_clone gives the same pointer) */
    lc_rx *rx;
    int producers;
};

static bq *copy_create(size_t msg_size, size_t capacity, int producers, size_t messages)
{
    (void)messages;
    struct lq *l = malloc(sizeof *l);
    if (l == NULL)
        return NULL;
    lc_config cfg = {.capacity = capacity};
    if (lc_channel(msg_size, &cfg, &l->tx, &l->rx) != LC_OK) {
        free(l);
        return NULL;
    }
    for (int i = 1; i < producers; i++)
        if (lc_tx_clone(l->tx) == NULL)
            abort();
    l->producers = producers;
    return (bq *)l;
}

static int copy_send(bq *q, int producer, const void *msg)
{
    (void)producer;
    return lc_send(((struct lq *)q)->tx, msg) == LC_OK ? 0 : -1;
}

static int copy_recv(bq *q, void *out)
{
    return lc_recv(((struct lq *)q)->rx, out) == LC_OK ? 0 : -1;
}

static void lq_destroy(bq *q)
{
    struct lq *l = (struct lq *)q;
    for (int i = 0; i < l->producers; i++)
        lc_tx_drop(l->tx);
    lc_rx_drop(l->rx);
    free(l);
}

static int copy_create_drop(size_t n, size_t msg_size, size_t capacity)
{
    lc_config cfg = {.capacity = capacity};
    for (size_t i = 0; i < n; i++) {
        lc_tx *tx;
        lc_rx *rx;
        if (lc_channel(msg_size, &cfg, &tx, &rx) != LC_OK)
            return -1;
        lc_tx_drop(tx);
        lc_rx_drop(rx);
    }
    return 0;
}

static int copy_create_cycle(size_t n, size_t msg_size, size_t capacity)
{
    unsigned char msg[BENCH_MSG_MAX] = {1}, out[BENCH_MSG_MAX];
    lc_config cfg = {.capacity = capacity};
    for (size_t i = 0; i < n; i++) {
        lc_tx *tx;
        lc_rx *rx;
        if (lc_channel(msg_size, &cfg, &tx, &rx) != LC_OK)
            return -1;
        int rc = lc_send(tx, msg);
        if (rc == LC_OK)
            rc = lc_recv(rx, out);
        lc_tx_drop(tx);
        lc_rx_drop(rx);
        if (rc != LC_OK || out[0] != 1)
            return -1;
    }
    return 0;
}

/* The memory benchmark counts lazychan's requests exactly, through its allocator hook. */
static void *count_alloc(void *ctx, size_t size)
{
    (void)ctx;
    void *p = malloc(size);
    if (p != NULL)
        bench_requested += size;
    return p;
}

static void count_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    bench_requested -= size;
    free(ptr);
}

static const lc_allocator counting = {count_alloc, count_free, NULL};

static void *idle_open(size_t msg_size, size_t capacity, bool intrusive, void **aux)
{
    lc_config cfg = {.capacity = capacity, .allocator = &counting};
    lc_tx *tx;
    lc_rx *rx;
    int rc = intrusive ? lc_channel_intrusive(&cfg, &tx, &rx)
                       : lc_channel(msg_size, &cfg, &tx, &rx);
    if (rc != LC_OK)
        return NULL;
    *aux = tx;
    return rx;
}

static void *copy_idle_new(size_t msg_size, size_t capacity, void **aux)
{
    return idle_open(msg_size, capacity, false, aux);
}

static void idle_close(void *obj, void *aux)
{
    lc_tx_drop(aux);
    lc_rx_drop(obj);
}

static int copy_idle_traffic(void *obj, void *aux, size_t msg_size, int messages)
{
    unsigned char msg[BENCH_MSG_MAX] = {0}, out[BENCH_MSG_MAX];
    if (msg_size > BENCH_MSG_MAX)
        return -1;
    for (int i = 0; i < messages; i++) {
        msg[0] = (unsigned char)i;
        if (lc_try_send(aux, msg) != LC_OK)
            return -1;
    }
    for (int i = 0; i < messages; i++)
        if (lc_try_recv(obj, out) != LC_OK || out[0] != (unsigned char)i)
            return -1;
    return 0;
}

const bench_ops bench_lc_copy_ops = {
    .create = copy_create,
    .send = copy_send,
    .recv = copy_recv,
    .destroy = lq_destroy,
    .create_drop = copy_create_drop,
    .create_cycle = copy_create_cycle,
    .idle_new = copy_idle_new,
    .idle_free = idle_close,
    .idle_traffic = copy_idle_traffic,
};

/* ---- intrusive mode ---- */

struct msg_node {
    lc_node link;
    unsigned char payload[]; /* msg_size bytes */
};

/* Where each producer takes its next node; one cache line each, as producers run in parallel. */
struct cursor {
    _Alignas(64) size_t next;
    size_t end;
};

struct lnq {
    struct lq base;
    size_t msg_size;
    size_t stride; /* bytes per node in the pool */
    unsigned char *pool;
    struct cursor *cursors; /* one per producer */
};

static bq *node_create(size_t msg_size, size_t capacity, int producers, size_t messages)
{
    struct lnq *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    lc_config cfg = {.capacity = capacity};
    if (lc_channel_intrusive(&cfg, &l->base.tx, &l->base.rx) != LC_OK) {
        free(l);
        return NULL;
    }
    for (int i = 1; i < producers; i++)
        if (lc_tx_clone(l->base.tx) == NULL)
            abort();
    l->base.producers = producers;
    l->msg_size = msg_size;
    l->stride = (sizeof(struct msg_node) + msg_size + 7) & ~(size_t)7;
    size_t per = (messages + (size_t)producers - 1) / (size_t)producers;
    l->pool = malloc(per * (size_t)producers * l->stride);
    l->cursors = aligned_alloc(64, (size_t)producers * sizeof *l->cursors);
    if (l->pool == NULL || l->cursors == NULL) {
        free(l->pool);
        free(l->cursors);
        lq_destroy((bq *)l);
        return NULL;
    }
    memset(l->pool, 0, per * (size_t)producers * l->stride); /* touched before the clock */
    for (int i = 0; i < producers; i++) {
        l->cursors[i].next = (size_t)i * per;
        l->cursors[i].end = (size_t)(i + 1) * per;
    }
    return (bq *)l;
}

static int node_send(bq *q, int producer, const void *msg)
{
    struct lnq *l = (struct lnq *)q;
    struct cursor *c = &l->cursors[producer];
    if (c->next == c->end)
        return -1; /* more messages than create was told */
    struct msg_node *n = (struct msg_node *)(l->pool + c->next++ * l->stride);
    memcpy(n->payload, msg, l->msg_size);
    return lc_send_node(l->base.tx, &n->link) == LC_OK ? 0 : -1;
}

static int node_recv(bq *q, void *out)
{
    struct lnq *l = (struct lnq *)q;
    lc_node *link;
    if (lc_recv_node(l->base.rx, &link) != LC_OK)
        return -1;
    struct msg_node *n = (struct msg_node *)link; /* link is the first member */
    memcpy(out, n->payload, l->msg_size);
    return 0;
}

static void node_destroy(bq *q)
{
    struct lnq *l = (struct lnq *)q;
    unsigned char *pool = l->pool;
    struct cursor *cursors = l->cursors;
    lq_destroy(q); /* frees l; queued nodes are the pool's, not freed one by one */
    free(pool);
    free(cursors);
}

static int node_create_drop(size_t n, size_t msg_size, size_t capacity)
{
    (void)msg_size;
    lc_config cfg = {.capacity = capacity};
    for (size_t i = 0; i < n; i++) {
        lc_tx *tx;
        lc_rx *rx;
        if (lc_channel_intrusive(&cfg, &tx, &rx) != LC_OK)
            return -1;
        lc_tx_drop(tx);
        lc_rx_drop(rx);
    }
    return 0;
}

static int node_create_cycle(size_t n, size_t msg_size, size_t capacity)
{
    _Alignas(lc_node) unsigned char buf[sizeof(struct msg_node) + BENCH_MSG_MAX];
    struct msg_node *node = (struct msg_node *)buf;
    unsigned char msg[BENCH_MSG_MAX] = {1}, out[BENCH_MSG_MAX];
    lc_config cfg = {.capacity = capacity};
    for (size_t i = 0; i < n; i++) {
        lc_tx *tx;
        lc_rx *rx;
        lc_node *got = NULL;
        if (lc_channel_intrusive(&cfg, &tx, &rx) != LC_OK)
            return -1;
        memcpy(node->payload, msg, msg_size);
        int rc = lc_send_node(tx, &node->link);
        if (rc == LC_OK)
            rc = lc_recv_node(rx, &got);
        if (rc == LC_OK)
            memcpy(out, ((struct msg_node *)got)->payload, msg_size);
        lc_tx_drop(tx);
        lc_rx_drop(rx);
        if (rc != LC_OK || out[0] != 1)
            return -1;
    }
    return 0;
}

static void *node_idle_new(size_t msg_size, size_t capacity, void **aux)
{
    return idle_open(msg_size, capacity, true, aux);
}

static int node_idle_traffic(void *obj, void *aux, size_t msg_size, int messages)
{
    (void)msg_size;
    lc_node nodes[8];
    if (messages > 8)
        return -1;
    for (int i = 0; i < messages; i++)
        if (lc_try_send_node(aux, &nodes[i]) != LC_OK)
            return -1;
    for (int i = 0; i < messages; i++) {
        lc_node *got;
        if (lc_try_recv_node(obj, &got) != LC_OK || got != &nodes[i])
            return -1;
    }
    return 0;
}

const bench_ops bench_lc_node_ops = {
    .create = node_create,
    .send = node_send,
    .recv = node_recv,
    .destroy = node_destroy,
    .create_drop = node_create_drop,
    .create_cycle = node_create_cycle,
    .idle_new = node_idle_new,
    .idle_free = idle_close,
    .idle_traffic = node_idle_traffic,
};
