/*
 * lineprobe: what the layout of a channel's shared words costs, apart from everything else.
 *
 * One producer thread pushes preallocated nodes into a bare Vyukov queue; the main thread pops
 * them, spinning while the queue is empty. No allocation, no parking, no library: only the
 * shared words and the atomic operations that a channel protocol makes on them per message.
 * Each build of this file is one variant, chosen at compile time so that the loops carry no
 * branch for it (bench/meson.build builds them all as lineprobe-NAME):
 *
 *   LAYOUT_TWO    producer words (tail, sent count) on one 64-byte line, consumer words (head,
 *                 stub, received count) on the next; else all of them in one line, as in
 *                 lazychan's struct lc_chan
 *   COUNT_SHARED  one count: the producer adds 1 with a CAS before the push, the consumer
 *                 takes 1 off with a CAS after the pop (lazychan's reserve and release)
 *   COUNT_SPLIT   two counts: the producer adds to its own with a CAS, the consumer stores its
 *                 own with a plain store
 *   WAKE_LOAD     after the push, a full-barrier load (lock xadd 0) of a waker word, as every
 *                 lazychan send made before the waker change
 *   LINK_CAS      the link made with a CAS (lock cmpxchg) instead of a store, as lazychan's
 *                 sends make it now
 *
 * Usage: lineprobe [MESSAGES [RUNS]] (2000000 and 5 by default). Prints each run's rate and
 * the median, in million messages per second. C11 atomics: this is a measuring tool, not the
 * library.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef VARIANT
#define VARIANT "unnamed"
#endif

typedef struct node {
    _Atomic(struct node *) next;
    uint64_t seq;
} node;

#ifdef LAYOUT_TWO
struct probe {
    _Alignas(64) _Atomic(node *) tail; /* producer line */
    _Atomic uint64_t sent;
    _Atomic uint64_t waker;
    _Alignas(64) node *head;           /* consumer line */
    node stub;
    _Atomic uint64_t received;
};
#else
struct probe {
    _Alignas(64) _Atomic(node *) tail; /* one line, in lazychan's order */
    node *head;
    node stub;
    _Atomic uint64_t sent; /* the state word; COUNT_SPLIT also uses received */
    _Atomic uint64_t waker;
    _Atomic uint64_t received;
};
#endif

static struct probe q;
static node *nodes;
static uint64_t messages = 2000000;

static void push(node *n)
{
    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    node *prev = atomic_exchange(&q.tail, n);
#ifdef LINK_CAS
    node *expected = NULL;
    if (!atomic_compare_exchange_strong(&prev->next, &expected, n))
        abort(); /* nothing else writes a link here */
#else
    atomic_store_explicit(&prev->next, n, memory_order_release);
#endif
}

/* The oldest linked node, or NULL (empty, or a push in flight). */
static node *pop(void)
{
    node *head = q.head;
    node *next = atomic_load_explicit(&head->next, memory_order_acquire);
    if (head == &q.stub) {
        if (next == NULL)
            return NULL;
        q.head = head = next;
        next = atomic_load_explicit(&head->next, memory_order_acquire);
    }
    if (next != NULL) {
        q.head = next;
        return head;
    }
    atomic_store_explicit(&q.stub.next, NULL, memory_order_relaxed);
    node *expected = head;
    if (atomic_compare_exchange_strong(&q.tail, &expected, &q.stub)) {
        q.head = &q.stub;
        return head;
    }
    next = atomic_load_explicit(&head->next, memory_order_acquire);
    if (next == NULL)
        return NULL;
    q.head = next;
    return head;
}

static inline void add_cas(_Atomic uint64_t *word, int64_t delta)
{
    uint64_t v = atomic_load_explicit(word, memory_order_relaxed);
    while (!atomic_compare_exchange_weak(word, &v, v + (uint64_t)delta))
        ;
}

static void *producer(void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < messages; i++) {
        node *n = &nodes[i];
        n->seq = i;
#if defined(COUNT_SHARED) || defined(COUNT_SPLIT)
        add_cas(&q.sent, 1);
#endif
        push(n);
#ifdef WAKE_LOAD
        if (atomic_fetch_add(&q.waker, 0) != 0)
            abort(); /* nobody registers a waker here */
#endif
    }
    return NULL;
}

static void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One run: returns million messages per second, or a negative value if a message was lost,
 * repeated or out of order. */
static double run(void)
{
    memset(nodes, 0, messages * sizeof *nodes);
    q.stub.next = NULL;
    q.head = &q.stub;
    q.tail = &q.stub;
    q.sent = q.received = q.waker = 0;
    pthread_t thread;
    double start = now();
    if (pthread_create(&thread, NULL, producer, NULL) != 0)
        return -1;
    uint64_t expect = 0;
    while (expect < messages) {
        node *n = pop();
        if (n == NULL) {
            relax();
            continue;
        }
        if (n->seq != expect)
            break;
        expect++;
#if defined(COUNT_SHARED)
        add_cas(&q.sent, -1);
#elif defined(COUNT_SPLIT)
        atomic_store_explicit(&q.received, expect, memory_order_release);
#endif
    }
    pthread_join(thread, NULL);
    double seconds = now() - start;
    return expect == messages ? (double)messages / seconds / 1e6 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int runs = 5;
    if (argc > 1)
        messages = strtoull(argv[1], NULL, 10);
    if (argc > 2)
        runs = atoi(argv[2]);
    if (messages == 0 || runs < 1 || runs > 99) {
        fprintf(stderr, "usage: %s [MESSAGES [RUNS]]\n", argv[0]);
        return 2;
    }
    nodes = calloc(messages, sizeof *nodes);
    if (nodes == NULL)
        return 1;
    double rates[99];
    printf("%-24s", VARIANT);
    for (int i = 0; i < runs; i++) {
        rates[i] = run();
        if (rates[i] < 0) {
            fprintf(stderr, "%s: a message was lost or reordered\n", VARIANT);
            return 1;
        }
        printf(" %6.2f", rates[i]);
    }
    qsort(rates, (size_t)runs, sizeof rates[0], cmp_double);
    printf("   median %6.2f M msg/s\n", rates[runs / 2]);
    free(nodes);
    return 0;
}
