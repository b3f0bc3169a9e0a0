/*
 * lcbench: lazychan beside the C queues a user would pick instead, measured in one run.
 *
 * Every queue under test is reached through one table of functions (bench_ops), so that the
 * throughput, ping-pong and idle-CPU loops in lcbench.c are the same code for all of them; each
 * message costs every implementation the same two indirect calls. The create/destroy loops and
 * the idle objects are written per implementation, in its adapter, without indirection.
 */
#ifndef LC_BENCH_BENCH_H
#define LC_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest message the benchmarks send. */
#define BENCH_MSG_MAX 128

/* A queue under test: an adapter's own struct. */
typedef struct bq bq;

typedef struct bench_ops {
    /*
     * A queue for messages of msg_size bytes with room for capacity messages (0: unbounded;
     * ignored by queues that are always unbounded), fed by `producers` threads numbered from 0,
     * for at most `messages` messages in all (intrusive mode takes its nodes from a pool of that
     * many, allocated and touched here). NULL on failure.
     */
    bq *(*create)(size_t msg_size, size_t capacity, int producers, size_t messages);
    /* Blocking send, from producer thread `producer`, and blocking receive: 0 or -1. */
    int (*send)(bq *q, int producer, const void *msg);
    int (*recv)(bq *q, void *out);
    void (*destroy)(bq *q);

    /* n times: create a queue and drop it (create_drop), or create it, send one message,
     * receive it and drop the queue (create_cycle). 0, or -1 on an error. */
    int (*create_drop)(size_t n, size_t msg_size, size_t capacity);
    int (*create_cycle)(size_t n, size_t msg_size, size_t capacity);

    /* One idle queue, made and freed by the memory benchmark, which keeps the two words
     * idle_new returns (the result and *aux) in an array of its own. idle_new adds what it asked
     * the allocator for to bench_requested, or sets bench_requested_unknown. */
    void *(*idle_new)(size_t msg_size, size_t capacity, void **aux);
    void (*idle_free)(void *obj, void *aux);
    /* Optional (lazychan only): sends `messages` (at most 8) through an idle queue from this
     * thread and receives them all, so that the memory benchmark can check that the idle
     * figure comes back, to the byte. 0, or -1 on an error. */
    int (*idle_traffic)(void *obj, void *aux, size_t msg_size, int messages);
} bench_ops;

/* The adapters present in this build (the peers only when their library was found). */
extern const bench_ops bench_ring_ops;
extern const bench_ops bench_lc_copy_ops;
extern const bench_ops bench_lc_node_ops;
#ifdef BENCH_HAVE_GLIB
extern const bench_ops bench_glib_ops;
const char *bench_glib_version(void);
#endif
#ifdef BENCH_HAVE_URCU
extern const bench_ops bench_urcu_ops;
#endif

/* Bytes that idle_new calls asked for and that are still allocated, as far as the adapter can
 * tell (lazychan's counting allocator also subtracts what it frees); the memory benchmark runs
 * on one thread. */
extern size_t bench_requested;
extern bool bench_requested_unknown;

#endif /* LC_BENCH_BENCH_H */
