/*
 * fuzz_api: a libFuzzer target for the public API, on one thread.
 *
 * The input is a list of 3-byte operations {op, x, y}; each becomes one call (or a few) on up to
 * three channels and two muxes: create in copy mode (several msg_size and capacity values,
 * 0 = unbounded and 1 among them) or intrusive mode, send and receive in every form, clone and
 * drop handles, close, poll with counting wakers, lc_poll_send and lc_send_cancel, intrusive
 * nodes from a pool, lc_try_recv_many, the inspection calls, bad arguments, and lc_mux. Each
 * channel and mux has a counting allocator that the input can make fail (LC_NOMEM paths), and
 * a channel may have a drop callback.
 *
 * A reference model predicts every result from the contract in include/lazychan.h: per channel
 * a FIFO of message ids, the slots held by granted lc_poll_send waits, the sender count, the
 * closed flag, the senders waiting for room, and what the receiver's waker slot holds (nothing,
 * a waker, or a mux registration); per mux its ready queue and the receivers it reported last.
 * Every return code, every payload received, every waker and drop call, every allocation and
 * free is checked against it; a mismatch prints what differed and the last operations, then
 * aborts. At the end of each input everything is dropped, and no byte may be left allocated
 * and every message accepted must have been received or dropped exactly once.
 *
 * Where the header leaves a choice open, the model follows what src/ does and checks that:
 * wakers are never called spuriously (nothing runs concurrently here), a sender that gives back
 * an unused slot of a closed channel wakes the receiver, and lc_mux_wait reports ready receivers
 * in the order they became ready, re-arming the last ones it reported newest first.
 *
 * Calls that could block are made only when the model says they will not: the target is
 * single-threaded. FUZZ_TRACE=1 in the environment prints each operation as it runs.
 *
 * `fuzz_api --make-seeds DIR` writes the seed corpus (test/fuzz/corpus) and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "lazychan.h"

enum {
    NCHAN = 3,      /* channels alive at once */
    NMUX = 2,       /* muxes alive at once */
    NWAKER = 4,     /* counting wakers, for lc_poll_recv and lc_poll_send alike */
    NWAIT = 3,      /* lc_send_wait records */
    NITEM = 24,     /* intrusive messages */
    NENTRY = 32,    /* mux registrations allocated at once (removed ones linger in lists) */
    QMAX = 96,      /* the most messages the model lets an unbounded channel hold */
    MANY_MAX = 5,   /* the largest max of lc_try_recv_many */
    SENDERS_MAX = 64,
    MAX_OPS = 4096, /* operations decoded from one input */
    TRACE_LEN = 24, /* operations printed when a check fails */
};

#define CHAN_BYTES 64u      /* the header: an idle channel is 64 bytes ... */
#define CHAN_DROP_BYTES 80u /* ... 80 with a drop callback */
#define NODE_EXTRA_MAX 16u  /* a copy-mode node: a link word plus the payload */
#define MUX_ENTRY_BYTES 48u /* lc_mux_add's one allocation */
#define SHORT_TIMEOUT_NS 2000u

static const size_t msg_sizes[8] = {0, 1, 3, 4, 8, 13, 64, 200};
static const size_t capacities[8] = {0, 1, 1, 2, 3, 4, 7, 0};

/* ---- operations ---- */

enum op {
    OP_CREATE,        /* x: channel, mode bits; y: msg_size, capacity, NULL cfg */
    OP_TRY_SEND,      /* x: channel; y: bit 7 = NULL msg when msg_size is 0 */
    OP_SEND,          /* lc_send, only when it cannot block */
    OP_SEND_TIMEOUT,  /* y bit 6: a short timeout instead of 0 */
    OP_TRY_RECV,      /* y bit 7 = NULL out when msg_size is 0 */
    OP_RECV,          /* lc_recv, only when it cannot block */
    OP_RECV_TIMEOUT,  /* y bit 6: a short timeout instead of 0 */
    OP_RECV_MANY,     /* y: max - 1 (mod MANY_MAX) */
    OP_POLL_RECV,     /* y: waker */
    OP_CLONE,
    OP_TX_DROP,
    OP_RX_CLOSE,
    OP_RX_DROP,
    OP_POLL_SEND,     /* x: channel + NCHAN * wait; y: waker */
    OP_SEND_CANCEL,   /* x: channel + NCHAN * wait */
    OP_TRY_SEND_NODE, /* y: where to start looking for a free item */
    OP_SEND_NODE,
    OP_TRY_RECV_NODE,
    OP_RECV_NODE,
    OP_INSPECT,       /* lc_rx_len, lc_sender_count, lc_tx_is_closed */
    OP_FAIL_ALLOC,    /* x: allocator (channels, then muxes); its next alloc fails */
    OP_BAD,           /* y: which bad arguments */
    OP_MUX_NEW,       /* x: mux */
    OP_MUX_ADD,       /* x: mux + NMUX * channel */
    OP_MUX_REMOVE,    /* x: mux + NMUX * channel */
    OP_MUX_WAIT,      /* x: mux; y: max - 1 (mod 4), bit 6: a short timeout */
    OP_MUX_FD,
    OP_MUX_COUNT,
    OP_MUX_FREE,
    OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
    "create", "try_send", "send", "send_timeout", "try_recv", "recv", "recv_timeout",
    "recv_many", "poll_recv", "clone", "tx_drop", "rx_close", "rx_drop", "poll_send",
    "send_cancel", "try_send_node", "send_node", "try_recv_node", "recv_node", "inspect",
    "fail_alloc", "bad", "mux_new", "mux_add", "mux_remove", "mux_wait", "mux_fd", "mux_count",
    "mux_free",
};

/* ---- failure reports ---- */

static struct {
    uint8_t op, x, y;
} recent[TRACE_LEN];
static unsigned long n_ops;
static bool trace_all;

/* One operation as the decoder reads it (run_op), for a person turning it into a test. */
static void print_op(unsigned long index, uint8_t op, uint8_t x, uint8_t y)
{
    fprintf(stderr, "  #%lu %s", index, op_names[op % OP_COUNT]);
    switch (op % OP_COUNT) {
    case OP_CREATE: {
        unsigned mode = x / NCHAN;
        fprintf(stderr, " channel %d: %s, msg_size %zu, capacity %zu%s%s", x % NCHAN,
                (mode & 1) ? "intrusive" : "copy", (mode & 1) ? (size_t)0 : msg_sizes[y & 7],
                capacities[(y >> 3) & 7], (mode & 2) ? ", drop callback" : "",
                ((mode >> 2) & 7) == 7 ? ", malloc" : ", counting allocator");
        break;
    }
    case OP_POLL_RECV:
        fprintf(stderr, " channel %d, waker %d", x % NCHAN, y % NWAKER);
        break;
    case OP_POLL_SEND:
        fprintf(stderr, " channel %d, wait %d, waker %d", x % NCHAN, x / NCHAN % NWAIT, y % NWAKER);
        break;
    case OP_SEND_CANCEL:
        fprintf(stderr, " channel %d, wait %d", x % NCHAN, x / NCHAN % NWAIT);
        break;
    case OP_RECV_MANY:
        fprintf(stderr, " channel %d, max %d", x % NCHAN, 1 + y % MANY_MAX);
        break;
    case OP_FAIL_ALLOC:
        if (x % (NCHAN + NMUX) < NCHAN)
            fprintf(stderr, " channel %d", x % (NCHAN + NMUX));
        else
            fprintf(stderr, " mux %d", x % (NCHAN + NMUX) - NCHAN);
        break;
    case OP_BAD: fprintf(stderr, " channel %d, kind %d", x % NCHAN, y % 6); break;
    case OP_MUX_ADD:
    case OP_MUX_REMOVE: fprintf(stderr, " mux %d, channel %d", x % NMUX, x / NMUX % NCHAN); break;
    case OP_MUX_WAIT:
        fprintf(stderr, " mux %d, max %d%s", x % NMUX, 1 + y % 4, (y & 0x40) ? ", short" : "");
        break;
    case OP_MUX_NEW:
    case OP_MUX_FD:
    case OP_MUX_COUNT:
    case OP_MUX_FREE: fprintf(stderr, " mux %d", x % NMUX); break;
    case OP_SEND_TIMEOUT:
    case OP_RECV_TIMEOUT:
        fprintf(stderr, " channel %d, timeout %s", x % NCHAN, (y & 0x40) ? "short" : "0");
        break;
    default: fprintf(stderr, " channel %d", x % NCHAN); break;
    }
    fprintf(stderr, "  [%u %u %u]\n", op, x, y);
}

__attribute__((noreturn, format(printf, 2, 3))) static void fail(int line, const char *fmt, ...)
{
    fprintf(stderr, "\nfuzz_api.c:%d: check failed: ", line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nlast operations (the last one failed):\n");
    unsigned long first = n_ops > TRACE_LEN ? n_ops - TRACE_LEN : 0;
    for (unsigned long i = first; i < n_ops; i++)
        print_op(i, recent[i % TRACE_LEN].op, recent[i % TRACE_LEN].x, recent[i % TRACE_LEN].y);
    abort();
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail(__LINE__, __VA_ARGS__);                                                           \
    } while (0)

/* An LC_ code's description; counts (lc_try_recv_many, lc_mux_wait) are positive. */
static const char *rc_text(int rc) { return rc > 0 ? "a count" : lc_strerror(rc); }

#define CHECK_RC(got, want, what)                                                                  \
    do {                                                                                           \
        int got_ = (got), want_ = (want);                                                          \
        if (got_ != want_)                                                                         \
            fail(__LINE__, "%s returned %d (%s), the model expects %d (%s)", what, got_,           \
                 rc_text(got_), want_, rc_text(want_));                                            \
    } while (0)

/* ---- counting allocator ---- */

struct counting_alloc {
    lc_allocator iface; /* ctx points back to this struct */
    size_t calls;       /* alloc calls, failed ones included */
    size_t live_allocs;
    size_t live_bytes;
    size_t last_size; /* of the last successful allocation */
    bool fail_next;   /* the next alloc call returns NULL */
};

/* Each block starts with the size it was asked for, so a free with another size is caught. */
typedef union {
    struct {
        size_t size;
        size_t magic;
    } h;
    max_align_t align;
} block_header;

#define BLOCK_MAGIC ((size_t)0x6c617a79u)

static void *ca_alloc(void *ctx, size_t size)
{
    struct counting_alloc *a = ctx;
    a->calls++;
    if (a->fail_next) {
        a->fail_next = false;
        return NULL;
    }
    block_header *b = malloc(sizeof *b + size);
    CHECK(b != NULL, "out of memory in the fuzzer itself");
    b->h.size = size;
    b->h.magic = BLOCK_MAGIC;
    a->live_allocs++;
    a->live_bytes += size;
    a->last_size = size;
    return b + 1;
}

static void ca_free(void *ctx, void *ptr, size_t size)
{
    struct counting_alloc *a = ctx;
    CHECK(ptr != NULL, "the allocator's free got NULL");
    block_header *b = (block_header *)ptr - 1;
    CHECK(b->h.magic == BLOCK_MAGIC, "free of a block this allocator did not make (or twice)");
    CHECK(b->h.size == size, "free got size %zu for a block of %zu bytes", size, b->h.size);
    CHECK(a->live_allocs > 0 && a->live_bytes >= size, "more frees than allocations");
    b->h.magic = 0;
    a->live_allocs--;
    a->live_bytes -= size;
    free(b);
}

static void ca_init(struct counting_alloc *a)
{
    memset(a, 0, sizeof *a);
    a->iface.alloc = ca_alloc;
    a->iface.free = ca_free;
    a->iface.ctx = a;
}

/* ---- the world: what the library holds, and the model of it ---- */

enum slot_kind { SLOT_NONE, SLOT_WAKER, SLOT_ARMED, SLOT_FIRED };
enum wait_state { W_IDLE, W_WAITING, W_GRANTED, W_CLOSED };
enum id_state { ID_UNSENT, ID_QUEUED, ID_DONE };

struct chan_model {
    bool open; /* created, and not freed yet */
    bool intrusive, has_drop, counted;
    size_t msg_size;
    size_t capacity; /* 0: unbounded */
    lc_tx *tx;       /* usable while senders > 0 */
    lc_rx *rx;       /* NULL once lc_rx_drop ran */
    size_t senders;
    bool closed;
    uint32_t q[QMAX]; /* ids of the queued messages, oldest first */
    size_t qlen;
    size_t granted;       /* slots granted to lc_poll_send waits that have not sent yet */
    int waiting[NWAIT];   /* lc_poll_send waits in the list, oldest first */
    size_t nwaiting;
    enum slot_kind slot;  /* the receiver's waker slot */
    int slot_arg;         /* the waker, or the mux entry */
    struct counting_alloc mem;
    bool fail_armed;      /* the model's copy of mem.fail_next */
    size_t alloc_calls;   /* alloc calls the model expects so far */
    size_t node_bytes;    /* copy mode: the size of a node, once seen */
    bool drops_allowed;   /* inside a call that may call cfg->drop */
};

struct entry_model {
    bool allocated; /* the library holds a registration for it */
    int mux;
    int chan;       /* -1 once removed while reported (it lingers in a list) */
    bool eos_seen;  /* end of stream reported */
};

struct mux_model {
    lc_mux *mux; /* NULL: none */
    size_t mux_bytes; /* lc_mux_new's allocation */
    struct counting_alloc mem;
    bool fail_armed;
    size_t alloc_calls;
    int ready[NENTRY]; /* fired entries, oldest first */
    size_t nready;
    int reported[NENTRY]; /* entries the last lc_mux_wait took from ready; newest last */
    size_t nreported;
    size_t count; /* registered receivers */
    int fd;       /* lc_mux_fd's descriptor, or -1 */
    bool fd_armed;
    bool fd_readable;
};

struct waker_rec {
    lc_waker waker;
    unsigned calls;
    unsigned expected;
};

struct wait_model {
    enum wait_state state;
    int chan;  /* while not idle */
    int waker; /* while waiting */
};

/* An intrusive message: the node sits in the middle of the struct. */
struct item {
    uint32_t id;
    int chan; /* the channel that holds it, or -1: ours */
    char before[8];
    lc_node node;
    char after[8];
};

static struct world {
    struct chan_model chans[NCHAN];
    struct mux_model muxes[NMUX];
    struct entry_model entries[NENTRY];
    char tokens[NENTRY]; /* &tokens[e] is entry e's user_data */
    struct waker_rec wakers[NWAKER];
    lc_send_wait waits[NWAIT];
    struct wait_model wait_m[NWAIT];
    struct item items[NITEM];
    uint8_t id_state[MAX_OPS + 1];
    uint32_t next_id;
    size_t n_received, n_dropped;
} W;

static char sentinel;
#define TX_SENTINEL ((lc_tx *)(void *)&sentinel)
#define RX_SENTINEL ((lc_rx *)(void *)&sentinel)
#define MUX_SENTINEL ((lc_mux *)(void *)&sentinel)

static void count_wake(void *ctx) { ((struct waker_rec *)ctx)->calls++; }

static void reset_world(void)
{
    memset(&W, 0, sizeof W);
    for (int c = 0; c < NCHAN; c++)
        ca_init(&W.chans[c].mem);
    for (int m = 0; m < NMUX; m++) {
        ca_init(&W.muxes[m].mem);
        W.muxes[m].fd = -1;
    }
    for (int k = 0; k < NWAKER; k++) {
        W.wakers[k].waker.wake = count_wake;
        W.wakers[k].waker.ctx = &W.wakers[k];
    }
    for (int i = 0; i < NITEM; i++)
        W.items[i].chan = -1;
}

static int chan_index(const struct chan_model *m) { return (int)(m - W.chans); }

/* ---- payloads and message ids ---- */

static unsigned char pattern_byte(uint32_t id, size_t k)
{
    return k < 4 ? (unsigned char)(id >> (8 * k)) : (unsigned char)(id * 131u + k * 7u);
}

/* A buffer of exactly size bytes holding message id: ASan sees any access past it (for size 0,
 * any access at all). */
static unsigned char *payload_new(uint32_t id, size_t size)
{
    unsigned char *p = malloc(size);
    CHECK(p != NULL || size == 0, "out of memory in the fuzzer itself");
    for (size_t k = 0; k < size; k++)
        p[k] = pattern_byte(id, k);
    return p;
}

static bool payload_is(const unsigned char *p, size_t size, uint32_t id)
{
    for (size_t k = 0; k < size; k++)
        if (p[k] != pattern_byte(id, k))
            return false;
    return true;
}

/* The id the next accepted message gets. */
static uint32_t id_peek(void) { return W.next_id + 1; }

static uint32_t id_new(void)
{
    uint32_t id = ++W.next_id;
    CHECK(id <= MAX_OPS, "more messages than operations");
    W.id_state[id] = ID_QUEUED;
    return id;
}

static void id_done(uint32_t id, bool dropped)
{
    CHECK(id >= 1 && id <= W.next_id && W.id_state[id] == ID_QUEUED,
          "message %u handed out twice, or never sent", id);
    W.id_state[id] = ID_DONE;
    if (dropped)
        W.n_dropped++;
    else
        W.n_received++;
}

static struct item *item_of(void *node)
{
    uintptr_t base = (uintptr_t)&W.items[0].node;
    uintptr_t p = (uintptr_t)node;
    CHECK(p >= base && (p - base) % sizeof(struct item) == 0 &&
              (p - base) / sizeof(struct item) < NITEM,
          "a node that is not one of ours: %p", node);
    return &W.items[(p - base) / sizeof(struct item)];
}

/* An item not queued anywhere, searching from start; NULL if all are queued. */
static struct item *free_item(unsigned start)
{
    for (unsigned i = 0; i < NITEM; i++) {
        struct item *it = &W.items[(start + i) % NITEM];
        if (it->chan < 0)
            return it;
    }
    return NULL;
}

/* ---- the model's rules ---- */

static size_t m_count(const struct chan_model *m) { return m->qlen + m->granted; }

/* Drained, and no message can come: receives return LC_CLOSED. */
static bool m_at_end(const struct chan_model *m)
{
    return m_count(m) == 0 && (m->senders == 0 || m->closed);
}

/* A send would get a slot now (ignoring the close flag). */
static bool m_room(const struct chan_model *m)
{
    return (m->capacity == 0 || m_count(m) < m->capacity) && m->nwaiting == 0;
}

/* The model's own limit: an unbounded channel holds at most QMAX messages. */
static bool m_can_grow(const struct chan_model *m)
{
    return m->capacity != 0 || m_count(m) < QMAX;
}

static bool m_slot_is_mux(const struct chan_model *m)
{
    return m->slot == SLOT_ARMED || m->slot == SLOT_FIRED;
}

/* What a receive finds: LC_OK, LC_CLOSED or LC_EMPTY. */
static int m_pop_result(const struct chan_model *m)
{
    if (m->qlen > 0)
        return LC_OK;
    return m_at_end(m) ? LC_CLOSED : LC_EMPTY;
}

/* An allocation through a counting allocator: false when the input made it fail. */
static bool m_alloc(bool counted, bool *fail_armed, size_t *calls)
{
    if (!counted)
        return true;
    (*calls)++;
    if (*fail_armed) {
        *fail_armed = false;
        return false;
    }
    return true;
}

static bool m_chan_alloc(struct chan_model *m)
{
    return m_alloc(m->counted, &m->fail_armed, &m->alloc_calls);
}

/* A sender's wake of the receiver's slot reports a mux entry: onto the mux's ready queue. */
static void m_fire(int e)
{
    struct entry_model *en = &W.entries[e];
    struct mux_model *x = &W.muxes[en->mux];
    struct chan_model *m = &W.chans[en->chan];
    m->slot = SLOT_FIRED;
    CHECK(x->nready < NENTRY, "model: ready queue overflow");
    x->ready[x->nready++] = e;
    if (x->fd_armed) { /* the mux's waker was its descriptor's: signalled, and used up */
        x->fd_armed = false;
        x->fd_readable = true;
    }
}

/* The waker slot's wake: a registered waker is called once and forgotten; an armed mux
 * registration fires. */
static void m_wake_rx(struct chan_model *m)
{
    if (m->slot == SLOT_WAKER) {
        W.wakers[m->slot_arg].expected++;
        m->slot = SLOT_NONE;
    } else if (m->slot == SLOT_ARMED) {
        m_fire(m->slot_arg);
    }
}

/* The mux's own check of an armed entry: reported if its receiver is ready. */
static void m_check(int e)
{
    struct entry_model *en = &W.entries[e];
    struct chan_model *m = &W.chans[en->chan];
    CHECK(m->slot == SLOT_ARMED && m->slot_arg == e, "model: check of an entry not armed");
    if (m->qlen > 0 || (!en->eos_seen && m_at_end(m)))
        m_fire(e);
}

/* A slot given back (a message received, a grant not used): to the oldest waiting
 * lc_poll_send, whose waker is called, or to the count. */
static void m_release(struct chan_model *m)
{
    if (m->nwaiting == 0)
        return;
    int w = m->waiting[0];
    m->nwaiting--;
    memmove(m->waiting, m->waiting + 1, m->nwaiting * sizeof m->waiting[0]);
    W.wait_m[w].state = W_GRANTED;
    W.wakers[W.wait_m[w].waker].expected++;
    m->granted++;
}

/* A sender gives back a slot it took and cannot use: as m_release, and on a closed channel
 * the receiver is woken (that may have ended its stream). */
static void m_give_back(struct chan_model *m)
{
    m_release(m);
    if (m->closed)
        m_wake_rx(m);
}

/* The receiver closes: every waiting lc_poll_send is woken with LC_CLOSED. */
static void m_close(struct chan_model *m)
{
    if (m->closed)
        return;
    m->closed = true;
    for (size_t i = 0; i < m->nwaiting; i++) {
        struct wait_model *wm = &W.wait_m[m->waiting[i]];
        wm->state = W_CLOSED;
        W.wakers[wm->waker].expected++;
    }
    m->nwaiting = 0;
}

static void m_push(struct chan_model *m, uint32_t id)
{
    CHECK(m->qlen < QMAX, "model: queue overflow");
    m->q[m->qlen++] = id;
}

static uint32_t m_take_front(struct chan_model *m)
{
    uint32_t id = m->q[0];
    m->qlen--;
    memmove(m->q, m->q + 1, m->qlen * sizeof m->q[0]);
    return id;
}

/* A copy-mode send was accepted: the model queues it, checks the node's allocation and wakes
 * the receiver. */
static void m_sent_copy(struct chan_model *m)
{
    m_push(m, id_new());
    if (m->counted) {
        size_t size = m->mem.last_size;
        if (m->node_bytes == 0) {
            CHECK(size >= m->msg_size + sizeof(lc_node) && size <= m->msg_size + NODE_EXTRA_MAX,
                  "a node of %zu bytes for msg_size %zu", size, m->msg_size);
            m->node_bytes = size;
        }
        CHECK(size == m->node_bytes, "nodes of %zu and %zu bytes", size, m->node_bytes);
    }
    m_wake_rx(m);
}

/* Unregisters entry e from its receiver: freed now, unless it was reported and lingers in one
 * of the mux's lists. */
static void m_detach(int e)
{
    struct entry_model *en = &W.entries[e];
    struct chan_model *m = &W.chans[en->chan];
    if (m->slot == SLOT_FIRED)
        en->chan = -1;
    else
        en->allocated = false;
    m->slot = SLOT_NONE;
    W.muxes[en->mux].count--;
}

/* Messages still queued when a channel's receiver goes, or the channel is freed: each passed
 * to cfg->drop (which took it off the model's queue) or, without one, just forgotten. */
static void m_drop_queued(struct chan_model *m)
{
    if (m->has_drop) {
        CHECK(m->qlen == 0, "%zu queued messages were not passed to cfg->drop", m->qlen);
        return;
    }
    for (size_t i = 0; i < m->qlen; i++) {
        if (m->intrusive)
            for (int k = 0; k < NITEM; k++)
                if (W.items[k].chan == chan_index(m) && W.items[k].id == m->q[i])
                    W.items[k].chan = -1;
        id_done(m->q[i], true);
    }
    m->qlen = 0;
}

/* The last handle went: the channel must be gone, every byte with it. */
static void m_freed(struct chan_model *m)
{
    m_drop_queued(m);
    CHECK(m->granted == 0, "model: a channel freed with a granted wait");
    if (m->counted)
        CHECK(m->mem.live_allocs == 0 && m->mem.live_bytes == 0,
              "channel %d freed, but %zu allocations (%zu bytes) are left", chan_index(m),
              m->mem.live_allocs, m->mem.live_bytes);
    m->open = false;
    m->tx = NULL;
    m->rx = NULL;
    m->slot = SLOT_NONE;
}

static void on_drop(void *ctx, void *msg)
{
    struct chan_model *m = ctx;
    CHECK(m->drops_allowed, "cfg->drop called outside lc_rx_drop and the last lc_tx_drop");
    CHECK(msg != NULL, "cfg->drop got NULL");
    size_t j = 0;
    if (m->intrusive) {
        struct item *it = item_of(msg);
        CHECK(it->chan == chan_index(m), "cfg->drop got a node channel %d does not hold",
              chan_index(m));
        while (j < m->qlen && m->q[j] != it->id)
            j++;
        it->chan = -1;
    } else {
        CHECK((uintptr_t)msg % 8 == 0, "cfg->drop got a payload not aligned to 8 bytes");
        while (j < m->qlen && !payload_is(msg, m->msg_size, m->q[j]))
            j++;
    }
    CHECK(j < m->qlen, "cfg->drop got a message channel %d does not hold", chan_index(m));
    id_done(m->q[j], true);
    m->qlen--;
    memmove(m->q + j, m->q + j + 1, (m->qlen - j) * sizeof m->q[0]);
}

/* ---- checks after every operation ---- */

static bool fd_is_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, 0)) < 0 && errno == EINTR)
        continue; /* libFuzzer's -timeout alarm */
    CHECK(r >= 0, "poll on the mux descriptor: %s", strerror(errno));
    return r > 0 && (p.revents & POLLIN);
}

static void check_alloc(const struct counting_alloc *a, bool fail_armed, size_t calls,
                        const char *what, int index)
{
    CHECK(a->calls == calls, "%s %d: %zu alloc calls, the model expects %zu", what, index,
          a->calls, calls);
    CHECK(a->fail_next == fail_armed, "%s %d: an allocation the model did not expect", what,
          index);
}

static void check_world(void)
{
    for (int c = 0; c < NCHAN; c++) {
        struct chan_model *m = &W.chans[c];
        check_alloc(&m->mem, m->fail_armed, m->alloc_calls, "channel", c);
        if (!m->open || !m->counted) {
            CHECK(m->mem.live_allocs == 0, "channel %d: allocations left after it went", c);
            continue;
        }
        size_t nodes = m->intrusive ? 0 : m->qlen;
        CHECK(m->mem.live_allocs == 1 + nodes, "channel %d: %zu allocations live for %zu nodes",
              c, m->mem.live_allocs, nodes);
        if (nodes == 0 || m->node_bytes != 0) {
            size_t want = (m->has_drop ? CHAN_DROP_BYTES : CHAN_BYTES) + nodes * m->node_bytes;
            CHECK(m->mem.live_bytes == want, "channel %d: %zu bytes live, the model expects %zu",
                  c, m->mem.live_bytes, want);
        }
        /* The model's own invariants: exact capacity, waiters only when full and open. */
        CHECK(m->capacity == 0 || m_count(m) <= m->capacity, "model: over capacity");
        CHECK(m->nwaiting == 0 || (m_count(m) == m->capacity && !m->closed),
              "model: waiters while there is room");
    }
    for (int k = 0; k < NWAKER; k++)
        CHECK(W.wakers[k].calls == W.wakers[k].expected,
              "waker %d called %u times, the model expects %u", k, W.wakers[k].calls,
              W.wakers[k].expected);
    for (int x = 0; x < NMUX; x++) {
        struct mux_model *mx = &W.muxes[x];
        check_alloc(&mx->mem, mx->fail_armed, mx->alloc_calls, "mux", x);
        size_t entries = 0;
        for (int e = 0; e < NENTRY; e++)
            entries += W.entries[e].allocated && W.entries[e].mux == x;
        size_t live = (mx->mux ? 1 : 0) + entries;
        size_t bytes = (mx->mux ? mx->mux_bytes : 0) + entries * MUX_ENTRY_BYTES;
        CHECK(mx->mem.live_allocs == live && mx->mem.live_bytes == bytes,
              "mux %d: %zu allocations (%zu bytes) live, the model expects %zu (%zu bytes)", x,
              mx->mem.live_allocs, mx->mem.live_bytes, live, bytes);
        if (mx->mux && mx->fd >= 0)
            CHECK(fd_is_readable(mx->fd) == mx->fd_readable, "mux %d: descriptor %s readable", x,
                  mx->fd_readable ? "not" : "is");
    }
}

/* ---- channel operations ---- */

static void op_create(int c, unsigned x, unsigned y)
{
    struct chan_model *m = &W.chans[c];
    if (m->open)
        return;
    unsigned mode = x / NCHAN;
    bool intrusive = mode & 1;
    bool has_drop = (mode & 2) != 0;
    bool counted = ((mode >> 2) & 7) != 7;
    bool null_cfg = (y >> 6) == 3 && !has_drop && !counted;
    size_t msg_size = intrusive ? 0 : msg_sizes[y & 7];
    size_t capacity = null_cfg ? 0 : capacities[(y >> 3) & 7];

    lc_config cfg = {
        .capacity = capacity,
        .allocator = counted ? &m->mem.iface : NULL,
        .drop = has_drop ? on_drop : NULL,
        .drop_ctx = m,
    };
    lc_tx *tx = TX_SENTINEL;
    lc_rx *rx = RX_SENTINEL;
    int rc = intrusive ? lc_channel_intrusive(null_cfg ? NULL : &cfg, &tx, &rx)
                       : lc_channel(msg_size, null_cfg ? NULL : &cfg, &tx, &rx);

    m->counted = counted;
    if (!m_chan_alloc(m)) {
        CHECK_RC(rc, LC_NOMEM, "lc_channel");
        CHECK(tx == TX_SENTINEL && rx == RX_SENTINEL, "lc_channel failed but set *tx or *rx");
        return;
    }
    CHECK_RC(rc, LC_OK, "lc_channel");
    CHECK(tx != NULL && rx != NULL && tx != TX_SENTINEL && rx != RX_SENTINEL,
          "lc_channel: no handles");
    m->open = true;
    m->intrusive = intrusive;
    m->has_drop = has_drop;
    m->msg_size = msg_size;
    m->capacity = capacity;
    m->tx = tx;
    m->rx = rx;
    m->senders = 1;
    m->closed = false;
    m->qlen = 0;
    m->granted = 0;
    m->nwaiting = 0;
    m->slot = SLOT_NONE;
    m->node_bytes = 0;
}

enum send_kind { SEND_TRY, SEND_BLOCKING, SEND_TIMEOUT_0, SEND_TIMEOUT_SHORT };

static void op_send(int c, unsigned y, enum send_kind kind)
{
    struct chan_model *m = &W.chans[c];
    if (!m->open || m->senders == 0 || !m_can_grow(m))
        return;
    if (kind == SEND_BLOCKING && !m->intrusive && !m->closed && !m_room(m))
        return; /* it would wait for room forever */
    bool null_msg = m->msg_size == 0 && (y & 0x80);
    unsigned char *msg = payload_new(id_peek(), m->msg_size);
    const void *arg = null_msg ? NULL : msg;
    int rc;
    const char *what;
    switch (kind) {
    case SEND_TRY: rc = lc_try_send(m->tx, arg), what = "lc_try_send"; break;
    case SEND_BLOCKING: rc = lc_send(m->tx, arg), what = "lc_send"; break;
    case SEND_TIMEOUT_0: rc = lc_send_timeout(m->tx, arg, 0), what = "lc_send_timeout(0)"; break;
    default:
        rc = lc_send_timeout(m->tx, arg, SHORT_TIMEOUT_NS), what = "lc_send_timeout(short)";
        break;
    }
    free(msg);

    int want;
    if (m->intrusive)
        want = LC_INVALID;
    else if (m->closed)
        want = LC_CLOSED;
    else if (!m_room(m))
        want = kind == SEND_TRY ? LC_FULL : LC_TIMEDOUT;
    else if (!m_chan_alloc(m))
        want = LC_NOMEM; /* the slot it took went back; nothing else changed */
    else
        want = LC_OK;
    CHECK_RC(rc, want, what);
    if (want == LC_OK)
        m_sent_copy(m);
}

/* A copy-mode message received by the model: the payload must be the oldest queued. */
static void m_received_copy(struct chan_model *m, const unsigned char *out)
{
    uint32_t id = m_take_front(m);
    CHECK(out == NULL || payload_is(out, m->msg_size, id),
          "channel %d: received a payload that is not message %u", chan_index(m), id);
    id_done(id, false);
}

enum recv_kind { RECV_TRY, RECV_BLOCKING, RECV_TIMEOUT_0, RECV_TIMEOUT_SHORT, RECV_POLL };

static void op_recv(int c, unsigned y, enum recv_kind kind)
{
    struct chan_model *m = &W.chans[c];
    if (!m->open || !m->rx)
        return;
    bool uses_slot = kind != RECV_TRY;
    bool invalid = m->intrusive || (uses_slot && m_slot_is_mux(m));
    if (kind == RECV_BLOCKING && !invalid && m_pop_result(m) == LC_EMPTY)
        return; /* it would wait forever */
    bool null_out = m->msg_size == 0 && (y & 0x80);
    unsigned char *out = null_out ? NULL : malloc(m->msg_size);
    CHECK(out != NULL || m->msg_size == 0, "out of memory in the fuzzer itself");
    int k = (int)(y % NWAKER);
    int rc;
    const char *what;
    switch (kind) {
    case RECV_TRY: rc = lc_try_recv(m->rx, out), what = "lc_try_recv"; break;
    case RECV_BLOCKING: rc = lc_recv(m->rx, out), what = "lc_recv"; break;
    case RECV_TIMEOUT_0: rc = lc_recv_timeout(m->rx, out, 0), what = "lc_recv_timeout(0)"; break;
    case RECV_TIMEOUT_SHORT:
        rc = lc_recv_timeout(m->rx, out, SHORT_TIMEOUT_NS), what = "lc_recv_timeout(short)";
        break;
    default: rc = lc_poll_recv(m->rx, out, &W.wakers[k].waker), what = "lc_poll_recv"; break;
    }

    int found = invalid ? LC_INVALID : m_pop_result(m);
    int want = found;
    if (found == LC_EMPTY && kind != RECV_TRY)
        want = kind == RECV_POLL ? LC_PENDING : LC_TIMEDOUT;
    CHECK_RC(rc, want, what);
    if (found == LC_OK) {
        m_received_copy(m, out);
        m_release(m);
    }
    if (!invalid && uses_slot) {
        /* Blocking calls and a poll that is not pending leave no waker registered; a pending
         * poll replaces whatever waker was there, which is not called. */
        if (kind == RECV_POLL && found == LC_EMPTY) {
            m->slot = SLOT_WAKER;
            m->slot_arg = k;
        } else {
            m->slot = SLOT_NONE;
        }
    }
    free(out);
}

static void op_recv_many(int c, unsigned y)
{
    struct chan_model *m = &W.chans[c];
    if (!m->open || !m->rx)
        return;
    size_t max = 1 + y % MANY_MAX;
    bool null_out = m->msg_size == 0 && (y & 0x80);
    size_t bytes = max * m->msg_size;
    unsigned char *out = null_out ? NULL : malloc(bytes);
    CHECK(out != NULL || bytes == 0, "out of memory in the fuzzer itself");
    int rc = lc_try_recv_many(m->rx, out, max);
    if (m->intrusive) {
        free(out);
        CHECK_RC(rc, LC_INVALID, "lc_try_recv_many");
        return;
    }
    size_t got = m->qlen < max ? m->qlen : max;
    int want = got ? (int)got : m_pop_result(m);
    CHECK_RC(rc, want, "lc_try_recv_many");
    for (size_t i = 0; i < got; i++)
        m_received_copy(m, out ? out + i * m->msg_size : NULL);
    for (size_t i = 0; i < got; i++)
        m_release(m);
    free(out);
}

static void op_clone(int c)
{
    struct chan_model *m = &W.chans[c];
    if (!m->open || m->senders == 0 || m->senders >= SENDERS_MAX)
        return;
    lc_tx *tx = lc_tx_clone(m->tx);
    CHECK(tx == m->tx, "lc_tx_clone returned %p, not the handle %p", (void *)tx, (void *)m->tx);
    m->senders++;
}

static void do_cancel(int w, struct chan_model *m);

static void op_tx_drop(int c)
{
    struct chan_model *m = &W.chans[c];
    if (!m->open || m->senders == 0)
        return;
    if (m->senders == 1) /* a wait needs a sender handle to finish: withdraw them first */
        for (int w = 0; w < NWAIT; w++)
            if (W.wait_m[w].state != W_IDLE && W.wait_m[w].chan == c)
                do_cancel(w, m);
    m->drops_allowed = m->rx == NULL && m->senders == 1;
    lc_tx_drop(m->tx);
    m->drops_allowed = false;
    m->senders--;
    if (m->senders > 0)
        return;
    if (m->rx == NULL)
        m_freed(m);
    else
        m_wake_rx(m); /* the end of stream wakes the receiver */
}

static void op_rx_close(int c)
{
    struct chan_model *m = &W.chans[c];
    if (!m->open || !m->rx)
        return;
    lc_rx_close(m->rx);
    m_close(m);
    if (m->slot == SLOT_ARMED)
        m_check(m->slot_arg); /* the end of stream may be here: the mux reports it */
}

static void op_rx_drop(int c)
{
    struct chan_model *m = &W.chans[c];
    if (!m->open || !m->rx)
        return;
    m->drops_allowed = true;
    lc_rx_drop(m->rx);
    m->drops_allowed = false;
    if (m_slot_is_mux(m))
        m_detach(m->slot_arg);
    m_close(m);
    m->slot = SLOT_NONE; /* a registered waker is forgotten, not called */
    m_drop_queued(m);    /* and the queue drained; no sender waits after the close */
    m->rx = NULL;
    if (m->senders == 0)
        m_freed(m);
}

/* ---- lc_poll_send and lc_send_cancel ---- */

static void op_poll_send(int c, int w, unsigned y)
{
    struct wait_model *wm = &W.wait_m[w];
    if (wm->state != W_IDLE)
        c = wm->chan; /* a wait in use goes with its channel */
    struct chan_model *m = &W.chans[c];
    if (!m->open || m->senders == 0 || !m_can_grow(m))
        return;
    int k = (int)(y % NWAKER);
    bool null_msg = m->msg_size == 0 && (y & 0x80);
    unsigned char *msg = payload_new(id_peek(), m->msg_size);
    int rc = lc_poll_send(m->tx, null_msg ? NULL : msg, &W.waits[w], &W.wakers[k].waker);
    free(msg);

    int want;
    switch (wm->state) {
    case W_IDLE:
        if (m->intrusive) {
            want = LC_INVALID;
        } else if (m->closed) {
            want = LC_CLOSED;
        } else if (m_room(m)) {
            want = m_chan_alloc(m) ? LC_OK : LC_NOMEM;
        } else {
            want = LC_PENDING;
            wm->state = W_WAITING;
            wm->chan = c;
            wm->waker = k;
            m->waiting[m->nwaiting++] = w;
        }
        break;
    case W_WAITING: /* called again before the wake: the new waker replaces the old */
        want = LC_PENDING;
        wm->waker = k;
        break;
    case W_GRANTED: /* the slot is ours: send with it, unless the receiver is gone */
        wm->state = W_IDLE;
        m->granted--;
        if (!m_chan_alloc(m)) {
            want = LC_NOMEM;
            m_give_back(m);
        } else if (m->rx == NULL) { /* nothing outlives the receiver: the node is freed */
            want = LC_CLOSED;
            m_give_back(m);
        } else {
            want = LC_OK;
        }
        break;
    default:
        wm->state = W_IDLE;
        want = LC_CLOSED;
        break;
    }
    CHECK_RC(rc, want, "lc_poll_send");
    if (want == LC_OK)
        m_sent_copy(m);
}

/* Withdraws wait w of channel m (its own channel, unless idle). */
static void do_cancel(int w, struct chan_model *m)
{
    struct wait_model *wm = &W.wait_m[w];
    int rc = lc_send_cancel(m->tx, &W.waits[w]);
    switch (wm->state) {
    case W_WAITING:
        for (size_t i = 0; i < m->nwaiting; i++)
            if (m->waiting[i] == w) {
                m->nwaiting--;
                memmove(m->waiting + i, m->waiting + i + 1,
                        (m->nwaiting - i) * sizeof m->waiting[0]);
                break;
            }
        break;
    case W_GRANTED: /* the slot goes to the next waiter, or back to the count */
        m->granted--;
        m_give_back(m);
        break;
    default:
        break;
    }
    wm->state = W_IDLE;
    CHECK_RC(rc, LC_OK, "lc_send_cancel");
}

static void op_send_cancel(int c, int w)
{
    if (W.wait_m[w].state != W_IDLE)
        c = W.wait_m[w].chan;
    struct chan_model *m = &W.chans[c];
    if (!m->open || m->senders == 0)
        return;
    do_cancel(w, m);
}

/* ---- intrusive nodes ---- */

static void op_send_node(int c, unsigned y, bool blocking)
{
    struct chan_model *m = &W.chans[c];
    struct item *it = free_item(y);
    if (!m->open || m->senders == 0 || !m_can_grow(m) || it == NULL)
        return;
    if (blocking && m->intrusive && !m->closed && !m_room(m))
        return; /* it would wait for room forever */
    it->id = id_peek();
    int rc = blocking ? lc_send_node(m->tx, &it->node) : lc_try_send_node(m->tx, &it->node);
    int want;
    if (!m->intrusive)
        want = LC_INVALID;
    else if (m->closed)
        want = LC_CLOSED;
    else if (!m_room(m))
        want = LC_FULL;
    else
        want = LC_OK;
    CHECK_RC(rc, want, blocking ? "lc_send_node" : "lc_try_send_node");
    if (want != LC_OK)
        return;
    it->chan = c;
    m_push(m, id_new());
    m_wake_rx(m);
}

static void op_recv_node(int c, bool blocking)
{
    struct chan_model *m = &W.chans[c];
    if (!m->open || !m->rx)
        return;
    bool invalid = !m->intrusive || (blocking && m_slot_is_mux(m));
    if (blocking && !invalid && m_pop_result(m) == LC_EMPTY)
        return; /* it would wait forever */
    lc_node *node = NULL;
    int rc = blocking ? lc_recv_node(m->rx, &node) : lc_try_recv_node(m->rx, &node);
    int want = invalid ? LC_INVALID : m_pop_result(m);
    CHECK_RC(rc, want, blocking ? "lc_recv_node" : "lc_try_recv_node");
    if (blocking && !invalid)
        m->slot = SLOT_NONE;
    if (want != LC_OK)
        return;
    struct item *it = item_of(node);
    uint32_t id = m_take_front(m);
    CHECK(it->chan == c && it->id == id, "channel %d: received a node that is not message %u", c,
          id);
    it->chan = -1;
    id_done(id, false);
    m_release(m);
}

/* ---- inspection, allocation failures ---- */

static void op_inspect(int c)
{
    struct chan_model *m = &W.chans[c];
    if (!m->open)
        return;
    if (m->rx) {
        CHECK(lc_rx_len(m->rx) == m_count(m), "lc_rx_len is %zu, the model expects %zu",
              lc_rx_len(m->rx), m_count(m));
        CHECK(lc_sender_count(m->rx) == m->senders, "lc_sender_count is %zu, the model: %zu",
              lc_sender_count(m->rx), m->senders);
    }
    if (m->senders)
        CHECK(lc_tx_is_closed(m->tx) == m->closed, "lc_tx_is_closed is %d, the model expects %d",
              lc_tx_is_closed(m->tx), m->closed);
}

static void op_fail_alloc(unsigned x)
{
    unsigned target = x % (NCHAN + NMUX);
    if (target < NCHAN) {
        W.chans[target].mem.fail_next = true;
        W.chans[target].fail_armed = true;
    } else {
        W.muxes[target - NCHAN].mem.fail_next = true;
        W.muxes[target - NCHAN].fail_armed = true;
    }
}

/* ---- bad arguments: LC_INVALID (or the documented answer), and nothing changes ---- */

static void bad_create(struct chan_model *m)
{
    lc_tx *tx = TX_SENTINEL;
    lc_rx *rx = RX_SENTINEL;
    lc_config cfg = {0};
    CHECK_RC(lc_channel(8, NULL, NULL, &rx), LC_INVALID, "lc_channel(tx NULL)");
    CHECK_RC(lc_channel(8, NULL, &tx, NULL), LC_INVALID, "lc_channel(rx NULL)");
    CHECK_RC(lc_channel_intrusive(NULL, NULL, &rx), LC_INVALID, "lc_channel_intrusive(tx NULL)");
    CHECK_RC(lc_channel_intrusive(NULL, &tx, NULL), LC_INVALID, "lc_channel_intrusive(rx NULL)");
    CHECK_RC(lc_channel(LC_MSG_SIZE_MAX + 1, NULL, &tx, &rx), LC_INVALID,
             "lc_channel(msg_size too large)");
    CHECK_RC(lc_channel(SIZE_MAX, &cfg, &tx, &rx), LC_INVALID, "lc_channel(msg_size SIZE_MAX)");
#if SIZE_MAX > UINT32_MAX
    cfg.capacity = LC_CAPACITY_MAX + 1;
    CHECK_RC(lc_channel(8, &cfg, &tx, &rx), LC_INVALID, "lc_channel(capacity too large)");
    CHECK_RC(lc_channel_intrusive(&cfg, &tx, &rx), LC_INVALID,
             "lc_channel_intrusive(capacity too large)");
    cfg.capacity = 0;
#endif
    /* Allocators missing a function: refused before any call to the other one. */
    lc_allocator half = {.alloc = ca_alloc, .free = NULL, .ctx = &m->mem};
    cfg.allocator = &half;
    CHECK_RC(lc_channel(8, &cfg, &tx, &rx), LC_INVALID, "lc_channel(allocator without free)");
    half.alloc = NULL;
    half.free = ca_free;
    CHECK_RC(lc_channel_intrusive(&cfg, &tx, &rx), LC_INVALID,
             "lc_channel_intrusive(allocator without alloc)");
    CHECK(tx == TX_SENTINEL && rx == RX_SENTINEL, "a failed lc_channel set *tx or *rx");
}

static void bad_null_handles(void)
{
    unsigned char buf[8] = {0};
    lc_node node, *np = NULL;
    lc_send_wait wait = {{0}};
    lc_mux_event ev;
    CHECK_RC(lc_try_send(NULL, buf), LC_INVALID, "lc_try_send(NULL)");
    CHECK_RC(lc_send(NULL, buf), LC_INVALID, "lc_send(NULL)");
    CHECK_RC(lc_send_timeout(NULL, buf, 0), LC_INVALID, "lc_send_timeout(NULL)");
    CHECK_RC(lc_try_recv(NULL, buf), LC_INVALID, "lc_try_recv(NULL)");
    CHECK_RC(lc_recv(NULL, buf), LC_INVALID, "lc_recv(NULL)");
    CHECK_RC(lc_recv_timeout(NULL, buf, 0), LC_INVALID, "lc_recv_timeout(NULL)");
    CHECK_RC(lc_poll_recv(NULL, buf, &W.wakers[0].waker), LC_INVALID, "lc_poll_recv(NULL)");
    CHECK_RC(lc_try_recv_many(NULL, buf, 1), LC_INVALID, "lc_try_recv_many(NULL)");
    CHECK_RC(lc_try_send_node(NULL, &node), LC_INVALID, "lc_try_send_node(NULL)");
    CHECK_RC(lc_send_node(NULL, &node), LC_INVALID, "lc_send_node(NULL)");
    CHECK_RC(lc_try_recv_node(NULL, &np), LC_INVALID, "lc_try_recv_node(NULL)");
    CHECK_RC(lc_recv_node(NULL, &np), LC_INVALID, "lc_recv_node(NULL)");
    CHECK_RC(lc_poll_send(NULL, buf, &wait, &W.wakers[0].waker), LC_INVALID,
             "lc_poll_send(NULL)");
    CHECK_RC(lc_send_cancel(NULL, &wait), LC_INVALID, "lc_send_cancel(NULL)");
    CHECK(lc_tx_clone(NULL) == NULL, "lc_tx_clone(NULL) is not NULL");
    lc_tx_drop(NULL);
    lc_rx_close(NULL);
    lc_rx_drop(NULL);
    CHECK(lc_rx_len(NULL) == 0, "lc_rx_len(NULL) is not 0");
    CHECK(lc_sender_count(NULL) == 0, "lc_sender_count(NULL) is not 0");
    CHECK(lc_tx_is_closed(NULL), "lc_tx_is_closed(NULL) is false");
    CHECK_RC(lc_mux_new(NULL, NULL), LC_INVALID, "lc_mux_new(mux NULL)");
    CHECK_RC(lc_mux_add(NULL, NULL, NULL), LC_INVALID, "lc_mux_add(NULL)");
    CHECK_RC(lc_mux_remove(NULL, NULL), LC_INVALID, "lc_mux_remove(NULL)");
    CHECK_RC(lc_mux_wait(NULL, 0, &ev, 1), LC_INVALID, "lc_mux_wait(NULL)");
    CHECK_RC(lc_mux_fd(NULL), LC_INVALID, "lc_mux_fd(NULL)");
    CHECK(lc_mux_count(NULL) == 0, "lc_mux_count(NULL) is not 0");
    lc_mux_free(NULL);
    CHECK(np == NULL && wait.lc_private[0] == 0, "a call with a NULL handle wrote something");
}

/* Receiver calls with NULL out, NULL node, max 0, NULL or empty wakers. */
static void bad_rx_args(struct chan_model *m)
{
    if (!m->open || !m->rx)
        return;
    lc_waker empty = {.wake = NULL, .ctx = NULL};
    unsigned char buf[8];
    if (!m->intrusive) {
        if (m->msg_size > 0) {
            CHECK_RC(lc_try_recv(m->rx, NULL), LC_INVALID, "lc_try_recv(out NULL)");
            CHECK_RC(lc_recv(m->rx, NULL), LC_INVALID, "lc_recv(out NULL)");
            CHECK_RC(lc_recv_timeout(m->rx, NULL, 0), LC_INVALID, "lc_recv_timeout(out NULL)");
            CHECK_RC(lc_poll_recv(m->rx, NULL, &W.wakers[0].waker), LC_INVALID,
                     "lc_poll_recv(out NULL)");
            CHECK_RC(lc_try_recv_many(m->rx, NULL, 1), LC_INVALID, "lc_try_recv_many(out NULL)");
        }
        CHECK_RC(lc_try_recv_many(m->rx, buf, 0), LC_INVALID, "lc_try_recv_many(max 0)");
    }
    unsigned char *out = malloc(m->msg_size ? m->msg_size : 1);
    CHECK(out != NULL, "out of memory in the fuzzer itself");
    CHECK_RC(lc_poll_recv(m->rx, out, NULL), LC_INVALID, "lc_poll_recv(waker NULL)");
    CHECK_RC(lc_poll_recv(m->rx, out, &empty), LC_INVALID, "lc_poll_recv(wake NULL)");
    free(out);
    CHECK_RC(lc_try_recv_node(m->rx, NULL), LC_INVALID, "lc_try_recv_node(node NULL)");
    CHECK_RC(lc_recv_node(m->rx, NULL), LC_INVALID, "lc_recv_node(node NULL)");
}

/* Sender calls with NULL msg, NULL node, NULL or empty wakers, NULL waits. */
static void bad_tx_args(struct chan_model *m)
{
    if (!m->open || m->senders == 0)
        return;
    lc_waker empty = {.wake = NULL, .ctx = NULL};
    lc_send_wait wait = {{0}};
    if (!m->intrusive && m->msg_size > 0) {
        CHECK_RC(lc_try_send(m->tx, NULL), LC_INVALID, "lc_try_send(msg NULL)");
        CHECK_RC(lc_send(m->tx, NULL), LC_INVALID, "lc_send(msg NULL)");
        CHECK_RC(lc_send_timeout(m->tx, NULL, 0), LC_INVALID, "lc_send_timeout(msg NULL)");
        CHECK_RC(lc_poll_send(m->tx, NULL, &wait, &W.wakers[0].waker), LC_INVALID,
                 "lc_poll_send(msg NULL)");
    }
    unsigned char *msg = payload_new(0, m->msg_size);
    CHECK_RC(lc_poll_send(m->tx, msg, NULL, &W.wakers[0].waker), LC_INVALID,
             "lc_poll_send(wait NULL)");
    CHECK_RC(lc_poll_send(m->tx, msg, &wait, NULL), LC_INVALID, "lc_poll_send(waker NULL)");
    CHECK_RC(lc_poll_send(m->tx, msg, &wait, &empty), LC_INVALID, "lc_poll_send(wake NULL)");
    free(msg);
    CHECK_RC(lc_send_cancel(m->tx, NULL), LC_INVALID, "lc_send_cancel(wait NULL)");
    CHECK_RC(lc_try_send_node(m->tx, NULL), LC_INVALID, "lc_try_send_node(node NULL)");
    CHECK_RC(lc_send_node(m->tx, NULL), LC_INVALID, "lc_send_node(node NULL)");
}

static void bad_mux_args(struct mux_model *mx, struct chan_model *m)
{
    lc_allocator half = {.alloc = ca_alloc, .free = NULL, .ctx = &mx->mem};
    lc_mux *mux = MUX_SENTINEL;
    CHECK_RC(lc_mux_new(&half, &mux), LC_INVALID, "lc_mux_new(allocator without free)");
    CHECK(mux == MUX_SENTINEL, "a failed lc_mux_new set *mux");
    if (!mx->mux)
        return;
    lc_mux_event ev[1];
    CHECK_RC(lc_mux_wait(mx->mux, 0, NULL, 1), LC_INVALID, "lc_mux_wait(events NULL)");
    CHECK_RC(lc_mux_wait(mx->mux, 0, ev, 0), LC_INVALID, "lc_mux_wait(max 0)");
    CHECK_RC(lc_mux_add(mx->mux, NULL, NULL), LC_INVALID, "lc_mux_add(rx NULL)");
    CHECK_RC(lc_mux_remove(mx->mux, NULL), LC_INVALID, "lc_mux_remove(rx NULL)");
    if (m->open && m->rx)
        CHECK_RC(lc_mux_add(NULL, m->rx, NULL), LC_INVALID, "lc_mux_add(mux NULL)");
}

static void bad_strerror(void)
{
    static const int codes[] = {LC_OK,       LC_EMPTY, LC_FULL,    LC_CLOSED,
                                LC_TIMEDOUT, LC_NOMEM, LC_INVALID, LC_PENDING};
    const char *unknown = lc_strerror(1);
    CHECK(unknown != NULL && unknown[0] != '\0', "lc_strerror(1) is empty");
    CHECK(lc_strerror(-100) != NULL && strcmp(lc_strerror(-100), unknown) == 0,
          "unknown codes have different descriptions");
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = lc_strerror(codes[i]);
        CHECK(s != NULL && s[0] != '\0' && strcmp(s, unknown) != 0,
              "lc_strerror(%d) has no description of its own", codes[i]);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(s, lc_strerror(codes[j])) != 0, "codes %d and %d read the same",
                  codes[i], codes[j]);
    }
    CHECK(lc_version() == LC_VERSION, "lc_version() is %u", lc_version());
}

static void op_bad(int c, unsigned y)
{
    switch (y % 6) {
    case 0: bad_create(&W.chans[c]); break;
    case 1: bad_null_handles(); break;
    case 2: bad_rx_args(&W.chans[c]); break;
    case 3: bad_tx_args(&W.chans[c]); break;
    case 4: bad_mux_args(&W.muxes[y / 6 % NMUX], &W.chans[c]); break;
    default: bad_strerror(); break;
    }
}

/* ---- lc_mux ---- */

static void op_mux_new(int x)
{
    struct mux_model *mx = &W.muxes[x];
    if (mx->mux)
        return;
    lc_mux *mux = MUX_SENTINEL;
    int rc = lc_mux_new(&mx->mem.iface, &mux);
    if (!m_alloc(true, &mx->fail_armed, &mx->alloc_calls)) {
        CHECK_RC(rc, LC_NOMEM, "lc_mux_new");
        CHECK(mux == MUX_SENTINEL, "a failed lc_mux_new set *mux");
        return;
    }
    CHECK_RC(rc, LC_OK, "lc_mux_new");
    CHECK(mux != NULL && mux != MUX_SENTINEL, "lc_mux_new: no mux");
    mx->mux = mux;
    mx->mux_bytes = mx->mem.last_size;
    mx->nready = mx->nreported = mx->count = 0;
    mx->fd = -1;
    mx->fd_armed = mx->fd_readable = false;
}

static void op_mux_add(int x, int c)
{
    struct mux_model *mx = &W.muxes[x];
    struct chan_model *m = &W.chans[c];
    int e = 0;
    while (e < NENTRY && W.entries[e].allocated)
        e++;
    if (!mx->mux || !m->open || !m->rx || e == NENTRY)
        return;
    int rc = lc_mux_add(mx->mux, m->rx, &W.tokens[e]);
    if (m_slot_is_mux(m)) {
        CHECK_RC(rc, LC_INVALID, "lc_mux_add (registered already)");
        return;
    }
    if (!m_alloc(true, &mx->fail_armed, &mx->alloc_calls)) {
        CHECK_RC(rc, LC_NOMEM, "lc_mux_add");
        return;
    }
    CHECK_RC(rc, LC_OK, "lc_mux_add");
    W.entries[e] = (struct entry_model){.allocated = true, .mux = x, .chan = c};
    mx->count++;
    m->slot = SLOT_ARMED; /* a waker of lc_poll_recv is forgotten, not called */
    m->slot_arg = e;
    m_check(e);
}

static void op_mux_remove(int x, int c)
{
    struct mux_model *mx = &W.muxes[x];
    struct chan_model *m = &W.chans[c];
    if (!mx->mux || !m->open || !m->rx)
        return;
    int rc = lc_mux_remove(mx->mux, m->rx);
    if (!m_slot_is_mux(m) || W.entries[m->slot_arg].mux != x) {
        CHECK_RC(rc, LC_INVALID, "lc_mux_remove (not registered with this mux)");
        return;
    }
    CHECK_RC(rc, LC_OK, "lc_mux_remove");
    m_detach(m->slot_arg);
}

static void op_mux_wait(int x, unsigned y)
{
    struct mux_model *mx = &W.muxes[x];
    if (!mx->mux)
        return;
    size_t max = 1 + y % 4;
    uint64_t timeout = (y & 0x40) ? SHORT_TIMEOUT_NS : 0;
    lc_mux_event *ev = malloc(max * sizeof *ev);
    CHECK(ev != NULL, "out of memory in the fuzzer itself");
    int rc = lc_mux_wait(mx->mux, timeout, ev, max);

    /* The model: clear the descriptor, re-arm what was reported (newest first), collect. */
    if (mx->fd >= 0)
        mx->fd_armed = mx->fd_readable = false;
    while (mx->nreported > 0) {
        int e = mx->reported[--mx->nreported];
        if (W.entries[e].chan < 0) {
            W.entries[e].allocated = false; /* removed after it was reported */
            continue;
        }
        W.chans[W.entries[e].chan].slot = SLOT_ARMED;
        m_check(e);
    }
    int want[4];
    size_t n = 0;
    while (n < max && mx->nready > 0) {
        int e = mx->ready[0];
        mx->nready--;
        memmove(mx->ready, mx->ready + 1, mx->nready * sizeof mx->ready[0]);
        struct entry_model *en = &W.entries[e];
        if (en->chan < 0) {
            en->allocated = false; /* removed while it waited to be reported */
            continue;
        }
        mx->reported[mx->nreported++] = e;
        if (m_at_end(&W.chans[en->chan])) {
            if (en->eos_seen)
                continue; /* its end of stream was reported already */
            en->eos_seen = true;
        }
        want[n++] = e;
    }
    if (n == 0 && mx->fd >= 0)
        mx->fd_armed = true;

    CHECK_RC(rc, n ? (int)n : LC_TIMEDOUT, "lc_mux_wait");
    for (size_t i = 0; i < n; i++) {
        struct entry_model *en = &W.entries[want[i]];
        CHECK(ev[i].rx == W.chans[en->chan].rx && ev[i].user_data == &W.tokens[want[i]],
              "lc_mux_wait: event %zu is not channel %d's registration", i, en->chan);
    }
    free(ev);
}

static void op_mux_fd(int x)
{
    struct mux_model *mx = &W.muxes[x];
    if (!mx->mux)
        return;
    int fd = lc_mux_fd(mx->mux);
    if (mx->fd >= 0) {
        CHECK(fd == mx->fd, "lc_mux_fd returned %d, then %d", mx->fd, fd);
        return;
    }
    CHECK(fd >= 0, "lc_mux_fd failed: %d (%s)", fd, lc_strerror(fd));
    mx->fd = fd;
    mx->fd_armed = true;
    mx->fd_readable = mx->nready > 0; /* readable at once if something waits in ready */
}

static void op_mux_count(int x)
{
    struct mux_model *mx = &W.muxes[x];
    if (mx->mux)
        CHECK(lc_mux_count(mx->mux) == mx->count, "lc_mux_count is %zu, the model expects %zu",
              lc_mux_count(mx->mux), mx->count);
}

static void op_mux_free(int x)
{
    struct mux_model *mx = &W.muxes[x];
    if (!mx->mux)
        return;
    lc_mux_free(mx->mux);
    for (int e = 0; e < NENTRY; e++) {
        struct entry_model *en = &W.entries[e];
        if (!en->allocated || en->mux != x)
            continue;
        if (en->chan >= 0)
            W.chans[en->chan].slot = SLOT_NONE; /* the receiver stays usable */
        en->allocated = false;
    }
    CHECK(mx->mem.live_allocs == 0 && mx->mem.live_bytes == 0,
          "lc_mux_free left %zu allocations", mx->mem.live_allocs);
    if (mx->fd >= 0)
        CHECK(fcntl(mx->fd, F_GETFD) < 0 && errno == EBADF, "lc_mux_free left its fd open");
    mx->mux = NULL;
    mx->fd = -1;
    mx->nready = mx->nreported = mx->count = 0;
    mx->fd_armed = mx->fd_readable = false;
}

/* ---- the decoder ---- */

static void run_op(uint8_t op, uint8_t x, uint8_t y)
{
    int c = x % NCHAN;
    int mux = x % NMUX;
    switch (op % OP_COUNT) {
    case OP_CREATE: op_create(c, x, y); break;
    case OP_TRY_SEND: op_send(c, y, SEND_TRY); break;
    case OP_SEND: op_send(c, y, SEND_BLOCKING); break;
    case OP_SEND_TIMEOUT:
        op_send(c, y, (y & 0x40) ? SEND_TIMEOUT_SHORT : SEND_TIMEOUT_0);
        break;
    case OP_TRY_RECV: op_recv(c, y, RECV_TRY); break;
    case OP_RECV: op_recv(c, y, RECV_BLOCKING); break;
    case OP_RECV_TIMEOUT:
        op_recv(c, y, (y & 0x40) ? RECV_TIMEOUT_SHORT : RECV_TIMEOUT_0);
        break;
    case OP_RECV_MANY: op_recv_many(c, y); break;
    case OP_POLL_RECV: op_recv(c, y, RECV_POLL); break;
    case OP_CLONE: op_clone(c); break;
    case OP_TX_DROP: op_tx_drop(c); break;
    case OP_RX_CLOSE: op_rx_close(c); break;
    case OP_RX_DROP: op_rx_drop(c); break;
    case OP_POLL_SEND: op_poll_send(c, x / NCHAN % NWAIT, y); break;
    case OP_SEND_CANCEL: op_send_cancel(c, x / NCHAN % NWAIT); break;
    case OP_TRY_SEND_NODE: op_send_node(c, y, false); break;
    case OP_SEND_NODE: op_send_node(c, y, true); break;
    case OP_TRY_RECV_NODE: op_recv_node(c, false); break;
    case OP_RECV_NODE: op_recv_node(c, true); break;
    case OP_INSPECT: op_inspect(c); break;
    case OP_FAIL_ALLOC: op_fail_alloc(x); break;
    case OP_BAD: op_bad(c, y); break;
    case OP_MUX_NEW: op_mux_new(mux); break;
    case OP_MUX_ADD: op_mux_add(mux, x / NMUX % NCHAN); break;
    case OP_MUX_REMOVE: op_mux_remove(mux, x / NMUX % NCHAN); break;
    case OP_MUX_WAIT: op_mux_wait(mux, y); break;
    case OP_MUX_FD: op_mux_fd(mux); break;
    case OP_MUX_COUNT: op_mux_count(mux); break;
    default: op_mux_free(mux); break;
    }
}

static void step(uint8_t op, uint8_t x, uint8_t y)
{
    recent[n_ops % TRACE_LEN].op = op;
    recent[n_ops % TRACE_LEN].x = x;
    recent[n_ops % TRACE_LEN].y = y;
    if (trace_all)
        print_op(n_ops, op, x, y);
    n_ops++;
    run_op(op, x, y);
    check_world();
}

/* Drops everything the input left, through the API, checking as it goes; then nothing may be
 * left allocated, and every message accepted was received or dropped once. */
static void finish(void)
{
    if (trace_all)
        fprintf(stderr, "  (end of input: dropping everything)\n");
    for (int w = 0; w < NWAIT; w++)
        if (W.wait_m[w].state != W_IDLE)
            step(OP_SEND_CANCEL, (uint8_t)(W.wait_m[w].chan + NCHAN * w), 0);
    for (int x = 0; x < NMUX; x++)
        step(OP_MUX_FREE, (uint8_t)x, 0);
    for (int c = 0; c < NCHAN; c++) {
        struct chan_model *m = &W.chans[c];
        if (c % 2 == 0) /* the receiver first, or the senders first */
            step(OP_RX_DROP, (uint8_t)c, 0);
        while (m->open && m->senders > 0)
            step(OP_TX_DROP, (uint8_t)c, 0);
        step(OP_RX_DROP, (uint8_t)c, 0);
        CHECK(!m->open, "channel %d still open after its handles were dropped", c);
        CHECK(m->mem.live_allocs == 0 && m->mem.live_bytes == 0, "channel %d leaked", c);
    }
    for (int x = 0; x < NMUX; x++)
        CHECK(W.muxes[x].mem.live_allocs == 0, "mux %d leaked", x);
    for (uint32_t id = 1; id <= W.next_id; id++)
        CHECK(W.id_state[id] == ID_DONE, "message %u was neither received nor dropped", id);
    CHECK(W.n_received + W.n_dropped == W.next_id, "%zu received + %zu dropped != %u sent",
          W.n_received, W.n_dropped, W.next_id);
    for (int i = 0; i < NITEM; i++)
        CHECK(W.items[i].chan < 0, "item %d still queued", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reset_world();
    n_ops = 0;
    for (size_t i = 0; i + 3 <= size && n_ops < MAX_OPS; i += 3)
        step(data[i], data[i + 1], data[i + 2]);
    finish();
    return 0;
}

/* ---- the seed corpus ---- */

struct seed {
    uint8_t bytes[600];
    size_t len;
};

static void emit(struct seed *s, enum op op, unsigned x, unsigned y)
{
    if (s->len + 3 > sizeof s->bytes)
        return;
    s->bytes[s->len++] = (uint8_t)op;
    s->bytes[s->len++] = (uint8_t)x;
    s->bytes[s->len++] = (uint8_t)y;
}

/* The bytes of OP_CREATE for channel c. */
enum { MODE_INTRUSIVE = 1, MODE_DROP = 2, MODE_MALLOC = 28 };
static void emit_create(struct seed *s, int c, unsigned mode, unsigned size_i, unsigned cap_i)
{
    emit(s, OP_CREATE, (unsigned)c + NCHAN * mode, size_i | cap_i << 3);
}

/* Sends n, receives them in several ways, checks, drops. */
static void seed_basic(struct seed *s, int c, unsigned mode, unsigned size_i, unsigned cap_i)
{
    emit_create(s, c, mode, size_i, cap_i);
    for (int i = 0; i < 4; i++)
        emit(s, (mode & MODE_INTRUSIVE) ? OP_TRY_SEND_NODE : OP_TRY_SEND, (unsigned)c,
             (unsigned)i);
    emit(s, OP_INSPECT, (unsigned)c, 0);
    if (mode & MODE_INTRUSIVE) {
        emit(s, OP_TRY_RECV_NODE, (unsigned)c, 0);
        emit(s, OP_RECV_NODE, (unsigned)c, 0);
        emit(s, OP_SEND_NODE, (unsigned)c, 5);
    } else {
        emit(s, OP_TRY_RECV, (unsigned)c, 0);
        emit(s, OP_RECV, (unsigned)c, 0);
        emit(s, OP_SEND, (unsigned)c, 0);
        emit(s, OP_RECV_MANY, (unsigned)c, 2);
        emit(s, OP_SEND_TIMEOUT, (unsigned)c, 0);
        emit(s, OP_RECV_TIMEOUT, (unsigned)c, 0);
    }
    emit(s, OP_TRY_SEND, (unsigned)c, 0x80);
    emit(s, OP_CLONE, (unsigned)c, 0);
    emit(s, OP_TX_DROP, (unsigned)c, 0);
    emit(s, OP_INSPECT, (unsigned)c, 0);
    emit(s, OP_TX_DROP, (unsigned)c, 0);
    emit(s, OP_TRY_RECV, (unsigned)c, 0);
    emit(s, OP_TRY_RECV_NODE, (unsigned)c, 0);
}

/* A bounded channel full: lc_poll_send waits in line, is granted, sends; the receiver polls. */
static void seed_poll(struct seed *s, unsigned cap_i)
{
    emit_create(s, 0, MODE_DROP, 4, cap_i);
    emit(s, OP_POLL_RECV, 0, 0);
    emit(s, OP_POLL_RECV, 0, 1); /* replaces waker 0, which is never called */
    emit(s, OP_TRY_SEND, 0, 0);  /* wakes waker 1 */
    emit(s, OP_TRY_SEND, 0, 0);
    emit(s, OP_POLL_SEND, 0 + NCHAN * 0, 2);
    emit(s, OP_POLL_SEND, 0 + NCHAN * 1, 3);
    emit(s, OP_POLL_SEND, 0 + NCHAN * 1, 2); /* replaces waker 3 */
    emit(s, OP_SEND_TIMEOUT, 0, 0x40);
    emit(s, OP_INSPECT, 0, 0);
    emit(s, OP_POLL_RECV, 0, 0);
    emit(s, OP_POLL_SEND, 0 + NCHAN * 0, 2);
    emit(s, OP_RECV_MANY, 0, 4);
    emit(s, OP_SEND_CANCEL, 0 + NCHAN * 1, 0);
    emit(s, OP_POLL_SEND, 0 + NCHAN * 2, 1);
    emit(s, OP_POLL_RECV, 0, 0);
    emit(s, OP_POLL_RECV, 0, 0);
    emit(s, OP_POLL_SEND, 0 + NCHAN * 2, 1);
    emit(s, OP_RX_CLOSE, 0, 0);
    emit(s, OP_POLL_SEND, 0 + NCHAN * 2, 1);
    emit(s, OP_POLL_SEND, 0 + NCHAN * 0, 1);
    emit(s, OP_RX_DROP, 0, 0);
}

/* Nothing outlives the receiver: a wait granted a slot before lc_rx_drop, polled after it, gets
 * LC_CLOSED and sends nothing; a send that never waited too. */
static void seed_late_grant(struct seed *s)
{
    emit_create(s, 0, MODE_DROP, 4, 1);     /* capacity 1 */
    emit(s, OP_TRY_SEND, 0, 0);             /* full */
    emit(s, OP_POLL_SEND, 0 + NCHAN * 0, 2); /* LC_PENDING */
    emit(s, OP_TRY_RECV, 0, 0);             /* frees the slot: granted to wait 0 */
    emit(s, OP_RX_DROP, 0, 0);
    emit(s, OP_POLL_SEND, 0 + NCHAN * 0, 2); /* LC_CLOSED */
    emit(s, OP_TRY_SEND, 0, 0);
    emit(s, OP_INSPECT, 0, 0);
    emit(s, OP_TX_DROP, 0, 0);
}

/* Closing and dropping in every order, with messages queued and a drop callback. */
static void seed_close(struct seed *s, unsigned mode, bool rx_first)
{
    emit_create(s, 1, mode, 6, 0);
    emit(s, OP_CLONE, 1, 0);
    for (int i = 0; i < 3; i++)
        emit(s, (mode & MODE_INTRUSIVE) ? OP_TRY_SEND_NODE : OP_TRY_SEND, 1, (unsigned)i);
    emit(s, OP_POLL_RECV, 1, 2);
    emit(s, OP_RX_CLOSE, 1, 0);
    emit(s, OP_INSPECT, 1, 0);
    emit(s, OP_TRY_SEND, 1, 0);
    emit(s, OP_TRY_RECV, 1, 0);
    emit(s, OP_TRY_RECV_NODE, 1, 0);
    if (rx_first) {
        emit(s, OP_RX_DROP, 1, 0);
        emit(s, OP_INSPECT, 1, 0);
        emit(s, OP_TX_DROP, 1, 0);
        emit(s, OP_TX_DROP, 1, 0);
    } else {
        emit(s, OP_TX_DROP, 1, 0);
        emit(s, OP_TX_DROP, 1, 0);
        emit(s, OP_RECV, 1, 0);
        emit(s, OP_RECV_NODE, 1, 0);
        emit(s, OP_POLL_RECV, 1, 0);
        emit(s, OP_RX_DROP, 1, 0);
    }
}

/* Two channels in a mux, a third in another; reports, re-arms, end of stream, removal. */
static void seed_mux(struct seed *s, bool with_fd)
{
    emit(s, OP_MUX_NEW, 0, 0);
    emit(s, OP_MUX_NEW, 1, 0);
    if (with_fd)
        emit(s, OP_MUX_FD, 0, 0);
    emit_create(s, 0, 0, 4, 0);
    emit_create(s, 1, MODE_INTRUSIVE | MODE_DROP, 0, 2);
    emit_create(s, 2, MODE_DROP, 5, 1);
    emit(s, OP_POLL_RECV, 0, 0);
    emit(s, OP_MUX_ADD, 0 + NMUX * 0, 0);
    emit(s, OP_MUX_ADD, 0 + NMUX * 1, 0);
    emit(s, OP_MUX_ADD, 1 + NMUX * 2, 0);
    emit(s, OP_MUX_ADD, 1 + NMUX * 0, 0); /* registered already: LC_INVALID */
    emit(s, OP_MUX_COUNT, 0, 0);
    emit(s, OP_TRY_SEND, 0, 0);
    emit(s, OP_TRY_SEND, 0, 0);
    emit(s, OP_TRY_SEND_NODE, 1, 0);
    emit(s, OP_TRY_SEND, 2, 0);
    emit(s, OP_RECV, 0, 0); /* LC_INVALID while registered */
    emit(s, OP_MUX_WAIT, 0, 3);
    emit(s, OP_MUX_WAIT, 1, 0);
    emit(s, OP_TRY_RECV, 0, 0);
    emit(s, OP_MUX_WAIT, 0, 0);
    emit(s, OP_RECV_MANY, 0, 4);
    emit(s, OP_TRY_RECV_NODE, 1, 0);
    emit(s, OP_MUX_WAIT, 0, 0x43);
    emit(s, OP_TX_DROP, 0, 0); /* end of stream */
    emit(s, OP_MUX_WAIT, 0, 3);
    emit(s, OP_MUX_WAIT, 0, 3);
    emit(s, OP_RX_CLOSE, 1, 0);
    emit(s, OP_MUX_WAIT, 0, 3);
    emit(s, OP_TRY_SEND, 2, 0);
    emit(s, OP_MUX_REMOVE, 1 + NMUX * 2, 0);
    emit(s, OP_MUX_REMOVE, 1 + NMUX * 2, 0); /* not registered any more */
    emit(s, OP_MUX_WAIT, 1, 0);
    emit(s, OP_MUX_ADD, 1 + NMUX * 2, 0);
    emit(s, OP_MUX_WAIT, 1, 0);
    emit(s, OP_MUX_FD, 1, 0);
    emit(s, OP_RX_DROP, 2, 0);
    emit(s, OP_MUX_WAIT, 1, 0);
    emit(s, OP_MUX_COUNT, 1, 0);
    emit(s, OP_MUX_REMOVE, 0 + NMUX * 1, 0);
    emit(s, OP_MUX_FREE, 0, 0);
    emit(s, OP_POLL_RECV, 0, 1);
}

/* A poll that ends (LC_CLOSED, LC_OK) forgets the waker an earlier poll left: the end of
 * stream and later sends must not call it. */
static void seed_poll_ends(struct seed *s)
{
    emit_create(s, 0, 0, 4, 0);
    emit(s, OP_POLL_RECV, 0, 3);
    emit(s, OP_RX_CLOSE, 0, 0);
    emit(s, OP_POLL_RECV, 0, 0);
    emit(s, OP_TX_DROP, 0, 0);
    emit_create(s, 1, MODE_DROP, 4, 2);
    emit(s, OP_POLL_RECV, 1, 2);
    emit(s, OP_TRY_SEND, 1, 0);
    emit(s, OP_POLL_RECV, 1, 1);
    emit(s, OP_TRY_SEND, 1, 0);
    emit(s, OP_POLL_RECV, 1, 0);
    emit(s, OP_POLL_RECV, 1, 0);
    emit(s, OP_TRY_SEND, 1, 0);
}

/* End of stream is reported once: a receiver closed before it is added, then its last sender
 * goes. */
static void seed_mux_eos(struct seed *s)
{
    emit(s, OP_MUX_NEW, 0, 0);
    emit_create(s, 0, 0, 0, 0);
    emit(s, OP_RX_CLOSE, 0, 0);
    emit(s, OP_MUX_ADD, 0, 0);
    emit(s, OP_MUX_WAIT, 0, 0);
    emit(s, OP_MUX_WAIT, 0, 0);
    emit(s, OP_TX_DROP, 0, 0);
    emit(s, OP_MUX_WAIT, 0, 0);
    emit_create(s, 1, MODE_INTRUSIVE, 0, 0);
    emit(s, OP_MUX_ADD, 0 + NMUX * 1, 0);
    emit(s, OP_TRY_SEND_NODE, 1, 0);
    emit(s, OP_TX_DROP, 1, 0);
    emit(s, OP_MUX_WAIT, 0, 3);
    emit(s, OP_TRY_RECV_NODE, 1, 0);
    emit(s, OP_MUX_WAIT, 0, 3);
    emit(s, OP_MUX_WAIT, 0, 3);
    emit(s, OP_TRY_RECV_NODE, 1, 0);
    emit(s, OP_MUX_WAIT, 0, 3);
}

/* Every allocation failing once: creation, sends, a granted lc_poll_send, the mux. */
static void seed_nomem(struct seed *s)
{
    emit(s, OP_FAIL_ALLOC, 0, 0);
    emit_create(s, 0, MODE_DROP, 4, 1);
    emit_create(s, 0, MODE_DROP, 4, 1);
    emit(s, OP_FAIL_ALLOC, 0, 0);
    emit(s, OP_TRY_SEND, 0, 0);
    emit(s, OP_TRY_SEND, 0, 0);
    emit(s, OP_POLL_SEND, 0, 0);
    emit(s, OP_POLL_SEND, 0 + NCHAN, 1);
    emit(s, OP_TRY_RECV, 0, 0);
    emit(s, OP_FAIL_ALLOC, 0, 0);
    emit(s, OP_POLL_SEND, 0, 0); /* granted, but no memory: the slot goes to wait 1 */
    emit(s, OP_POLL_SEND, 0 + NCHAN, 1);
    emit(s, OP_FAIL_ALLOC, 3, 0);
    emit(s, OP_MUX_NEW, 0, 0);
    emit(s, OP_MUX_NEW, 0, 0);
    emit(s, OP_FAIL_ALLOC, 3, 0);
    emit(s, OP_MUX_ADD, 0, 0);
    emit(s, OP_MUX_ADD, 0, 0);
    emit(s, OP_MUX_WAIT, 0, 0);
    emit(s, OP_FAIL_ALLOC, 1, 0);
    emit_create(s, 1, MODE_INTRUSIVE, 0, 0);
    emit_create(s, 1, MODE_INTRUSIVE, 0, 0);
    emit(s, OP_TRY_SEND_NODE, 1, 0);
}

/* Bad arguments of every kind, on channels of both modes. */
static void seed_bad(struct seed *s)
{
    emit_create(s, 0, 0, 4, 2);
    emit_create(s, 1, MODE_INTRUSIVE, 0, 2);
    emit_create(s, 2, MODE_MALLOC, 0, 0);
    emit(s, OP_MUX_NEW, 0, 0);
    for (unsigned c = 0; c < NCHAN; c++)
        for (unsigned v = 0; v < 12; v++)
            emit(s, OP_BAD, c, v);
    /* Calls for the other mode. */
    emit(s, OP_TRY_SEND, 1, 0);
    emit(s, OP_TRY_RECV, 1, 0);
    emit(s, OP_RECV_MANY, 1, 0);
    emit(s, OP_POLL_RECV, 1, 0);
    emit(s, OP_POLL_SEND, 1, 0);
    emit(s, OP_SEND_TIMEOUT, 1, 0);
    emit(s, OP_TRY_SEND_NODE, 0, 0);
    emit(s, OP_SEND_NODE, 0, 0);
    emit(s, OP_TRY_RECV_NODE, 0, 0);
    emit(s, OP_RECV_NODE, 0, 0);
}

/* Short timeouts that expire: a full channel, an empty one, an idle mux. */
static void seed_timeouts(struct seed *s)
{
    emit_create(s, 0, 0, 4, 1);
    emit(s, OP_TRY_SEND, 0, 0);
    emit(s, OP_POLL_SEND, 0, 0);
    emit(s, OP_SEND_TIMEOUT, 0, 0x40);
    emit(s, OP_SEND_TIMEOUT, 0, 0);
    emit(s, OP_TRY_RECV, 0, 0);
    emit(s, OP_POLL_RECV, 0, 1);
    emit(s, OP_RECV_TIMEOUT, 0, 0x40);
    emit(s, OP_POLL_SEND, 0, 0);
    emit(s, OP_RECV_TIMEOUT, 0, 0x40);
    emit(s, OP_RECV_TIMEOUT, 0, 0x40);
    emit(s, OP_MUX_NEW, 1, 0);
    emit(s, OP_MUX_WAIT, 1, 0x40);
    emit(s, OP_MUX_ADD, 1, 0);
    emit(s, OP_MUX_WAIT, 1, 0x40);
}

/* A long unbounded run: many messages, batches, clones. */
static void seed_long(struct seed *s, unsigned size_i)
{
    emit_create(s, 2, MODE_DROP, size_i, 0);
    for (int i = 0; i < 40; i++) {
        emit(s, OP_TRY_SEND, 2, (unsigned)i);
        if (i % 3 == 0)
            emit(s, OP_CLONE, 2, 0);
        if (i % 5 == 4)
            emit(s, OP_RECV_MANY, 2, (unsigned)i);
    }
    emit(s, OP_INSPECT, 2, 0);
}

static void write_seed(const char *dir, const char *name, const struct seed *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(s->bytes, 1, s->len, f) != s->len || fclose(f) != 0) {
        fprintf(stderr, "fuzz_api: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

static void make_seeds(const char *dir)
{
    struct seed s;
    char name[64];
    int n = 0;
    /* Copy mode across message sizes and capacities, and intrusive mode. */
    static const unsigned copy_cases[][3] = {
        {0, 0, 0},         {MODE_DROP, 1, 1},   {0, 2, 3},          {MODE_DROP, 3, 4},
        {0, 4, 1},         {MODE_DROP, 4, 0},   {MODE_MALLOC, 5, 6}, {0, 6, 5},
        {MODE_DROP, 7, 3}, {MODE_MALLOC, 0, 1}, {MODE_DROP, 0, 2},
    };
    for (size_t i = 0; i < sizeof copy_cases / sizeof copy_cases[0]; i++) {
        s.len = 0;
        seed_basic(&s, (int)(i % NCHAN), copy_cases[i][0], copy_cases[i][1], copy_cases[i][2]);
        snprintf(name, sizeof name, "basic-copy-%02zu", i);
        write_seed(dir, name, &s);
        n++;
    }
    static const unsigned node_cases[][2] = {{MODE_INTRUSIVE, 0}, {MODE_INTRUSIVE | MODE_DROP, 1},
                                             {MODE_INTRUSIVE | MODE_DROP, 4},
                                             {MODE_INTRUSIVE | MODE_MALLOC, 2}};
    for (size_t i = 0; i < sizeof node_cases / sizeof node_cases[0]; i++) {
        s.len = 0;
        seed_basic(&s, (int)(i % NCHAN), node_cases[i][0], 0, node_cases[i][1]);
        snprintf(name, sizeof name, "basic-intrusive-%02zu", i);
        write_seed(dir, name, &s);
        n++;
    }
    for (unsigned cap_i = 1; cap_i <= 4; cap_i++) {
        s.len = 0;
        seed_poll(&s, cap_i);
        snprintf(name, sizeof name, "poll-cap%zu", capacities[cap_i]);
        if (cap_i == 2)
            continue; /* capacities[1] == capacities[2] */
        write_seed(dir, name, &s);
        n++;
    }
    static const unsigned close_modes[] = {MODE_DROP, 0, MODE_INTRUSIVE | MODE_DROP,
                                           MODE_INTRUSIVE};
    for (size_t i = 0; i < 4; i++)
        for (int rx_first = 0; rx_first < 2; rx_first++) {
            s.len = 0;
            seed_close(&s, close_modes[i], rx_first);
            snprintf(name, sizeof name, "close-%zu-%s", i, rx_first ? "rx-first" : "tx-first");
            write_seed(dir, name, &s);
            n++;
        }
    for (int fd = 0; fd < 2; fd++) {
        s.len = 0;
        seed_mux(&s, fd);
        write_seed(dir, fd ? "mux-fd" : "mux", &s);
        n++;
    }
    s.len = 0;
    seed_poll_ends(&s);
    write_seed(dir, "poll-ends", &s);
    s.len = 0;
    seed_mux_eos(&s);
    write_seed(dir, "mux-eos", &s);
    s.len = 0;
    seed_nomem(&s);
    write_seed(dir, "nomem", &s);
    s.len = 0;
    seed_bad(&s);
    write_seed(dir, "bad-arguments", &s);
    s.len = 0;
    seed_timeouts(&s);
    write_seed(dir, "timeouts", &s);
    s.len = 0;
    seed_late_grant(&s);
    write_seed(dir, "late-grant", &s);
    for (unsigned size_i = 0; size_i < 8; size_i += 3) {
        s.len = 0;
        seed_long(&s, size_i);
        snprintf(name, sizeof name, "long-size%zu", msg_sizes[size_i]);
        write_seed(dir, name, &s);
        n++;
    }
    fprintf(stderr, "fuzz_api: wrote %d seeds to %s\n", n + 6, dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (*argc >= 3 && strcmp((*argv)[1], "--make-seeds") == 0) {
        make_seeds((*argv)[2]);
        exit(0);
    }
    trace_all = getenv("FUZZ_TRACE") != NULL && strcmp(getenv("FUZZ_TRACE"), "0") != 0;
#ifdef __linux__
    /* Short timeouts expire at once rather than up to 50 us late: more runs per second. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif
    return 0;
}
