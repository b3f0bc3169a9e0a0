/*
 * Shared pieces of the unit tests: a counting allocator that can fail on demand, a drop-callback
 * log, a counting waker, message patterns, and a worker thread that runs one blocking call and
 * can be observed while it sleeps inside it.
 *
 * Criterion assertions abort the test with a longjmp, so they are only made on the test's own
 * thread: workers record what they saw and the test checks it after worker_join.
 */
#ifndef TEST_UNIT_HELPERS_H
#define TEST_UNIT_HELPERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lazychan.h"

/* The header: "An idle channel is one small allocation (64 bytes, 80 with a drop callback),
 * whatever the message size and capacity". An allocator costs nothing extra. */
#define CHAN_BYTES 64u
#define CHAN_DROP_BYTES 80u
/* The documented bound on a copy-mode node: a link word plus the payload, at most this much more. */
#define NODE_OVERHEAD_MAX 16u

/* ---- counting allocator ---- */

/* Counts what the library allocates through it. Thread-safe. Each block carries a hidden header
 * with the size asked for, so free() can check that it gets back that same size. */
struct counter {
    lc_allocator allocator; /* pass &c->allocator in lc_config; its ctx is the counter */
    atomic_size_t attempts; /* alloc calls, including failed ones */
    atomic_size_t allocs;   /* successful allocations */
    atomic_size_t frees;
    atomic_size_t live_allocs;
    atomic_size_t live_bytes;
    atomic_size_t max_size; /* largest successful allocation since counter_reset_max */
    atomic_size_t last_size;
    atomic_size_t failures;  /* alloc calls answered with NULL */
    atomic_size_t bad_frees; /* free of NULL, of an unknown block, or with a different size */
    atomic_size_t fail_at;   /* 0: never; n: the n-th alloc call (counting attempts) fails */
    size_t fail_above;       /* requests larger than this fail (SIZE_MAX: none) */
};

void counter_init(struct counter *c);
/* The next alloc call fails (only that one). */
void counter_fail_next(struct counter *c);
void counter_reset_max(struct counter *c);
size_t counter_live_bytes(struct counter *c);
size_t counter_live_allocs(struct counter *c);

/* ---- message patterns ---- */

/* Fills size bytes from seq: the first 8 bytes hold seq (when size >= 8), the rest a pattern. */
void msg_fill(void *buf, size_t size, uint64_t seq);
/* true if buf holds exactly what msg_fill(buf, size, seq) wrote. */
bool msg_check(const void *buf, size_t size, uint64_t seq);

/* ---- drop callback log ---- */

#define DROP_LOG_MAX 4096

/* A user struct carrying an intrusive node somewhere in the middle. */
struct item {
    uint64_t seq;
    char before[24];
    lc_node node;
    char after[8];
};

#define ITEM_OF(n) ((struct item *)(void *)((char *)(n) - offsetof(struct item, node)))

struct drop_log {
    size_t msg_size;       /* copy mode: the payload bytes checked with msg_check */
    atomic_size_t calls;
    atomic_size_t bad;     /* payloads that did not match their pattern, seq out of range */
    atomic_uint seen[DROP_LOG_MAX]; /* calls per seq */
};

void drop_log_init(struct drop_log *log, size_t msg_size);
/* lc_config.drop for copy mode (msg_size >= 8): ctx is a struct drop_log. */
void drop_copy(void *ctx, void *msg);
/* lc_config.drop for intrusive mode: the node of a struct item. */
void drop_node(void *ctx, void *node);

/* ---- counting waker ---- */

struct wake_count {
    lc_waker waker; /* pass &w->waker to lc_poll_recv */
    atomic_int calls;
};

void wake_count_init(struct wake_count *w);
int wake_calls(struct wake_count *w);

/* ---- threads ---- */

/* worker.rc before fn returned: no lazychan call returns a positive code. */
#define RC_NOT_RUN 1

struct worker {
    pthread_t thread;
    int (*fn)(struct worker *);
    lc_tx *tx;
    lc_rx *rx;
    uint64_t value;      /* worker_send*: the message sent; worker_recv: the message received */
    uint64_t timeout_ns; /* worker_send_timeout */
    lc_node *node;       /* worker_send_node: the node; worker_recv_node: the node received */
    int rc;              /* what fn returned; read after worker_join */
    atomic_int tid;
    atomic_bool started; /* set just before fn runs */
    atomic_bool done;    /* set just after fn returned */
};

/* Runs fn(w) on a new thread. */
void worker_start(struct worker *w, int (*fn)(struct worker *));
/* Waits for the thread and returns fn's result. */
int worker_join(struct worker *w);
/* Waits until the worker sleeps in the kernel inside fn (parked in a blocking call): true; false
 * if fn returned first. Linux reads the thread state from /proc; elsewhere it just waits 50 ms. */
bool worker_wait_blocked(struct worker *w);

/* Calls for worker_start. Messages are uint64_t (channels of msg_size 8). */
int worker_send(struct worker *w);         /* lc_send(tx, &value) */
int worker_send_timeout(struct worker *w); /* lc_send_timeout(tx, &value, timeout_ns) */
int worker_recv(struct worker *w);         /* lc_recv(rx, &value) */
int worker_send_node(struct worker *w);    /* lc_send_node(tx, node) */
int worker_recv_node(struct worker *w);    /* lc_recv_node(rx, &node) */

void sleep_ms(unsigned ms);

/* The calling thread's kernel id, for thread_wait_sleeping (0 where unknown). */
int thread_id(void);
/* Waits until thread tid of this process sleeps in the kernel (seen twice, 2 ms apart), for
 * instance parked inside a blocking call: true; false after about 8 s. Without /proc it just
 * waits 50 ms and returns true. Tests may use it to make a path likelier, never to decide. */
bool thread_wait_sleeping(int tid);

#endif /* TEST_UNIT_HELPERS_H */
