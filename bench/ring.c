#include "ring.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ring {
    pthread_mutex_t lock;
    pthread_cond_t not_empty; /* the receiver waits here */
    pthread_cond_t not_full;  /* senders wait here */
    size_t head;              /* index of the oldest message */
    size_t count;
    size_t capacity;
    size_t msg_size;
    unsigned char slots[]; /* capacity * msg_size bytes */
};

size_t ring_alloc_size(size_t msg_size, size_t capacity)
{
    if (msg_size && capacity > (SIZE_MAX - sizeof(struct ring)) / msg_size)
        return 0;
    return sizeof(struct ring) + capacity * msg_size;
}

ring *ring_new(size_t msg_size, size_t capacity)
{
    size_t size = ring_alloc_size(msg_size, capacity);
    if (capacity == 0 || size == 0)
        return NULL;
    ring *r = malloc(size);
    if (r == NULL)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->not_empty, NULL);
    pthread_cond_init(&r->not_full, NULL);
    r->head = 0;
    r->count = 0;
    r->capacity = capacity;
    r->msg_size = msg_size;
    return r;
}

void ring_free(ring *r)
{
    if (r == NULL)
        return;
    pthread_cond_destroy(&r->not_full);
    pthread_cond_destroy(&r->not_empty);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void ring_send(ring *r, const void *msg)
{
    pthread_mutex_lock(&r->lock);
    while (r->count == r->capacity)
        pthread_cond_wait(&r->not_full, &r->lock);
    size_t tail = r->head + r->count;
    if (tail >= r->capacity)
        tail -= r->capacity;
    memcpy(r->slots + tail * r->msg_size, msg, r->msg_size);
    r->count++;
    pthread_cond_signal(&r->not_empty);
    pthread_mutex_unlock(&r->lock);
}

void ring_recv(ring *r, void *out)
{
    pthread_mutex_lock(&r->lock);
    while (r->count == 0)
        pthread_cond_wait(&r->not_empty, &r->lock);
    memcpy(out, r->slots + r->head * r->msg_size, r->msg_size);
    if (++r->head == r->capacity)
        r->head = 0;
    r->count--;
    pthread_cond_signal(&r->not_full);
    pthread_mutex_unlock(&r->lock);
}
