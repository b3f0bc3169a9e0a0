/*
 * Adapter: userspace-rcu's wait-free concurrent queue (cds_wfcq) as a channel, the way a user
 * would build one: a malloc'd node per message (the link, then the payload), and a mutex +
 * condition variable on which the receiver parks at once when the queue is empty.
 *
 * Parking without a lost wake-up: the receiver checks for emptiness under the mutex and waits on
 * the condition variable; a sender whose enqueue found the queue empty (cds_wfcq_enqueue returns
 * false) signals under the same mutex. An enqueue that found it non-empty needs no signal: the
 * receiver cannot see the queue empty until it has dequeued the node that was there, and the
 * dequeue of a last node either moves the tail back to the head before the enqueue's exchange
 * (the enqueue then sees it empty and signals) or sees the enqueued node.
 *
 * Layout: urcu's header advises keeping head and tail on different cache lines when enqueue and
 * dequeue run on different CPUs. The mutex and condition variable between them put the tail
 * 96 bytes after the head, so the two never share a line, with plain malloc alignment.
 * The static inline (LGPL) versions of the queue calls are used, as a user after speed would.
 */
#define _LGPL_SOURCE
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/wfcqueue.h>

#include "bench.h"

struct uq {
    struct __cds_wfcq_head head; /* consumer end; one receiver, so no dequeue lock */
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    size_t msg_size;
    struct cds_wfcq_tail tail; /* producers' end */
};

_Static_assert(offsetof(struct uq, tail) >= 64 + sizeof(struct __cds_wfcq_head),
               "head and tail on different cache lines");

struct unode {
    struct cds_wfcq_node link;
    unsigned char payload[];
};

static struct uq *uq_new(size_t msg_size)
{
    struct uq *u = malloc(sizeof *u);
    if (u == NULL)
        return NULL;
    __cds_wfcq_init(&u->head, &u->tail);
    pthread_mutex_init(&u->lock, NULL);
    pthread_cond_init(&u->nonempty, NULL);
    u->msg_size = msg_size;
    return u;
}

static void uq_free(struct uq *u)
{
    struct cds_wfcq_node *n;
    while ((n = __cds_wfcq_dequeue_blocking(&u->head, &u->tail)) != NULL)
        free(n);
    pthread_cond_destroy(&u->nonempty);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

static inline int uq_send(struct uq *u, const void *msg)
{
    struct unode *n = malloc(sizeof *n + u->msg_size);
    if (n == NULL)
        return -1;
    memcpy(n->payload, msg, u->msg_size);
    cds_wfcq_node_init(&n->link);
    if (!cds_wfcq_enqueue(&u->head, &u->tail, &n->link)) { /* it was empty: wake */
        pthread_mutex_lock(&u->lock);
        pthread_cond_signal(&u->nonempty);
        pthread_mutex_unlock(&u->lock);
    }
    return 0;
}

static inline void uq_recv(struct uq *u, void *out)
{
    struct cds_wfcq_node *link;
    while ((link = __cds_wfcq_dequeue_blocking(&u->head, &u->tail)) == NULL) {
        pthread_mutex_lock(&u->lock);
        while (cds_wfcq_empty(&u->head, &u->tail))
            pthread_cond_wait(&u->nonempty, &u->lock);
        pthread_mutex_unlock(&u->lock);
    }
    struct unode *n = caa_container_of(link, struct unode, link);
    memcpy(out, n->payload, u->msg_size);
    free(n);
}

static bq *create(size_t msg_size, size_t capacity, int producers, size_t messages)
{
    (void)capacity;
    (void)producers;
    (void)messages;
    return (bq *)uq_new(msg_size);
}

static int send(bq *q, int producer, const void *msg)
{
    (void)producer;
    return uq_send((struct uq *)q, msg);
}

static int recv(bq *q, void *out)
{
    uq_recv((struct uq *)q, out);
    return 0;
}

static void destroy(bq *q) { uq_free((struct uq *)q); }

static int create_drop(size_t n, size_t msg_size, size_t capacity)
{
    (void)capacity;
    for (size_t i = 0; i < n; i++) {
        struct uq *u = uq_new(msg_size);
        if (u == NULL)
            return -1;
        uq_free(u);
    }
    return 0;
}

static int create_cycle(size_t n, size_t msg_size, size_t capacity)
{
    (void)capacity;
    unsigned char msg[BENCH_MSG_MAX] = {1}, out[BENCH_MSG_MAX];
    for (size_t i = 0; i < n; i++) {
        struct uq *u = uq_new(msg_size);
        if (u == NULL || uq_send(u, msg) != 0)
            return -1;
        uq_recv(u, out);
        uq_free(u);
        if (out[0] != 1)
            return -1;
    }
    return 0;
}

static void *idle_new(size_t msg_size, size_t capacity, void **aux)
{
    *aux = NULL;
    (void)capacity;
    struct uq *u = uq_new(msg_size);
    if (u != NULL)
        bench_requested += sizeof *u;
    return u;
}

static void idle_free(void *obj, void *aux)
{
    (void)aux;
    uq_free(obj);
}

const bench_ops bench_urcu_ops = {
    .create = create,
    .send = send,
    .recv = recv,
    .destroy = destroy,
    .create_drop = create_drop,
    .create_cycle = create_cycle,
    .idle_new = idle_new,
    .idle_free = idle_free,
};
