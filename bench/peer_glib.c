/*
 * Adapter: GLib's GAsyncQueue, used as a user would for fixed-size messages: the sender mallocs
 * a payload and copies the message into it, the receiver copies it out and frees it. The queue
 * is unbounded and has no capacity; g_async_queue_pop parks at once when the queue is empty.
 */
#include <glib.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct gq {
    GAsyncQueue *q;
    size_t msg_size;
};

const char *bench_glib_version(void)
{
    static char buf[32];
    g_snprintf(buf, sizeof buf, "%u.%u.%u", glib_major_version, glib_minor_version,
               glib_micro_version);
    return buf;
}

static bq *create(size_t msg_size, size_t capacity, int producers, size_t messages)
{
    (void)capacity;
    (void)producers;
    (void)messages;
    struct gq *g = malloc(sizeof *g);
    if (g == NULL)
        return NULL;
    g->q = g_async_queue_new();
    g->msg_size = msg_size;
    return (bq *)g;
}

/* A payload of at least one byte: GAsyncQueue refuses NULL. */
static inline int push_copy(GAsyncQueue *q, const void *msg, size_t msg_size)
{
    void *p = malloc(msg_size ? msg_size : 1);
    if (p == NULL)
        return -1;
    memcpy(p, msg, msg_size);
    g_async_queue_push(q, p);
    return 0;
}

static inline void pop_copy(GAsyncQueue *q, void *out, size_t msg_size)
{
    void *p = g_async_queue_pop(q);
    memcpy(out, p, msg_size);
    free(p);
}

static int send(bq *q, int producer, const void *msg)
{
    (void)producer;
    struct gq *g = (struct gq *)q;
    return push_copy(g->q, msg, g->msg_size);
}

static int recv(bq *q, void *out)
{
    struct gq *g = (struct gq *)q;
    pop_copy(g->q, out, g->msg_size);
    return 0;
}

static void destroy(bq *q)
{
    struct gq *g = (struct gq *)q;
    void *p;
    while ((p = g_async_queue_try_pop(g->q)) != NULL)
        free(p);
    g_async_queue_unref(g->q);
    free(g);
}

static int create_drop(size_t n, size_t msg_size, size_t capacity)
{
    (void)msg_size;
    (void)capacity;
    for (size_t i = 0; i < n; i++)
        g_async_queue_unref(g_async_queue_new());
    return 0;
}

static int create_cycle(size_t n, size_t msg_size, size_t capacity)
{
    (void)capacity;
    unsigned char msg[BENCH_MSG_MAX] = {1}, out[BENCH_MSG_MAX];
    for (size_t i = 0; i < n; i++) {
        GAsyncQueue *q = g_async_queue_new();
        if (push_copy(q, msg, msg_size) != 0)
            return -1;
        pop_copy(q, out, msg_size);
        g_async_queue_unref(q);
        if (out[0] != 1)
            return -1;
    }
    return 0;
}

/*
 * GLib does not say what it asks the allocator for: the queue struct comes from g_slice, which
 * is a slab allocator of its own in some GLib versions and plain malloc in others. Under
 * G_SLICE=always-malloc it surely comes from malloc, and malloc_usable_size gives an upper bound
 * of the request (by less than 16 bytes): lcbench runs one such probe for the "requested"
 * column, and measures heap and RSS without it.
 */
static void *idle_new(size_t msg_size, size_t capacity, void **aux)
{
    *aux = NULL;
    (void)msg_size;
    (void)capacity;
    static int always_malloc = -1;
    if (always_malloc < 0) {
        const char *env = getenv("G_SLICE");
        always_malloc = env != NULL && strstr(env, "always-malloc") != NULL;
    }
    GAsyncQueue *q = g_async_queue_new();
    if (always_malloc)
        bench_requested += malloc_usable_size(q);
    else
        bench_requested_unknown = true;
    return q;
}

static void idle_free(void *obj, void *aux)
{
    (void)aux;
    g_async_queue_unref(obj);
}

const bench_ops bench_glib_ops = {
    .create = create,
    .send = send,
    .recv = recv,
    .destroy = destroy,
    .create_drop = create_drop,
    .create_cycle = create_cycle,
    .idle_new = idle_new,
    .idle_free = idle_free,
};
