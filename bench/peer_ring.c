/* Adapter: the mutex ring baseline (ring.c). Unbounded is not a thing for a ring: capacity 0
 * is taken as 1024. */
#include <string.h>

#include "bench.h"
#include "ring.h"

#define DEFAULT_CAPACITY 1024

static size_t cap_or_default(size_t capacity) { return capacity ? capacity : DEFAULT_CAPACITY; }

static bq *create(size_t msg_size, size_t capacity, int producers, size_t messages)
{
    (void)producers;
    (void)messages;
    return (bq *)ring_new(msg_size, cap_or_default(capacity));
}

static int send(bq *q, int producer, const void *msg)
{
    (void)producer;
    ring_send((ring *)q, msg);
    return 0;
}

static int recv(bq *q, void *out)
{
    ring_recv((ring *)q, out);
    return 0;
}

static void destroy(bq *q) { ring_free((ring *)q); }

static int create_drop(size_t n, size_t msg_size, size_t capacity)
{
    capacity = cap_or_default(capacity);
    for (size_t i = 0; i < n; i++) {
        ring *r = ring_new(msg_size, capacity);
        if (r == NULL)
            return -1;
        ring_free(r);
    }
    return 0;
}

static int create_cycle(size_t n, size_t msg_size, size_t capacity)
{
    unsigned char msg[BENCH_MSG_MAX] = {1}, out[BENCH_MSG_MAX];
    capacity = cap_or_default(capacity);
    for (size_t i = 0; i < n; i++) {
        ring *r = ring_new(msg_size, capacity);
        if (r == NULL)
            return -1;
        ring_send(r, msg);
        ring_recv(r, out);
        ring_free(r);
        if (out[0] != 1)
            return -1;
    }
    return 0;
}

static void *idle_new(size_t msg_size, size_t capacity, void **aux)
{
    *aux = NULL;
    capacity = cap_or_default(capacity);
    ring *r = ring_new(msg_size, capacity);
    if (r != NULL)
        bench_requested += ring_alloc_size(msg_size, capacity);
    return r;
}

static void idle_free(void *obj, void *aux)
{
    (void)aux;
    ring_free(obj);
}

const bench_ops bench_ring_ops = {
    .create = create,
    .send = send,
    .recv = recv,
    .destroy = destroy,
    .create_drop = create_drop,
    .create_cycle = create_cycle,
    .idle_new = idle_new,
    .idle_free = idle_free,
};
