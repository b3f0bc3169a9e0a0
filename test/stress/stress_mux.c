/*
 * stress_mux: P producers send to many channels (1,000 by default) whose receivers are all
 * registered with one lc_mux; the main thread consumes them through lc_mux_wait (blocking, with
 * timeouts, or by poll(2) on lc_mux_fd) and lc_try_recv / lc_try_recv_many, draining a report
 * fully or only in part. Producers send with lc_send, lc_try_send and lc_send_timeout, half of
 * the time to a few hot channels that stay full. The run is cut into rounds; a control channel,
 * registered like the others, tells the consumer when every producer has finished one. Each
 * round ends with a tail: lc_try_send calls while the consumer, instead of receiving, removes
 * and re-adds reported receivers; then a check at rest. At the end the producers drop their
 * senders, some right after a last message.
 *
 * Options add churn while messages flow: --remove takes receivers out with lc_mux_remove and
 * re-adds them a few waits later (after receiving from them directly, or leaving an lc_poll_recv
 * waker on them); --churn drops receivers (lc_rx_drop) or closes them (lc_rx_close, then
 * dropped at their end of stream) and replaces them with new channels, whose senders reach the
 * producers through a locked slot table; --early-drop makes some channels lose all their
 * senders mid-run (without churn).
 *
 * Invariants:
 *  - every send that returned LC_OK is received exactly once or passed to cfg->drop exactly
 *    once; no failed send (LC_CLOSED, LC_FULL, LC_TIMEDOUT) is either; messages are intact and
 *    arrive on the channel they were sent to;
 *  - per producer and channel, messages arrive in the order sent (seq up by exactly one);
 *  - the mux reports only registered receivers, with their user_data, each at most once per
 *    lc_mux_wait call; lc_mux_count is the number registered; registered receivers refuse
 *    blocking and poll receives (LC_INVALID) and a second lc_mux_add;
 *  - at the end of each round, once no send is running, lc_mux_wait(0) called until LC_TIMEDOUT
 *    reports every receiver that holds a message, including receivers just removed and re-added,
 *    and every receiver closed (lc_rx_close) and drained: afterwards every lc_rx_len is 0, no
 *    closed receiver is left unreported, and received + dropped = accepted;
 *  - end of stream: once the last sender of a channel is gone, the mux reports it and
 *    lc_try_recv returns LC_CLOSED with every message of every producer received; after the
 *    consumer has seen LC_CLOSED the mux reports that receiver at most once more;
 *  - a waker lc_poll_recv left on a removed receiver is not called after lc_mux_add returns;
 *  - after lc_mux_free the receivers are unregistered and still usable;
 *  - no hang: a lost wake-up of the mux or of its descriptor stops progress (the watchdog).
 */
#include "stress.h"

#include <poll.h>

static const char *const wait_names[] = {"block", "timed", "fd", "mixed", NULL};
enum { WAIT_BLOCK, WAIT_TIMED, WAIT_FD, WAIT_MIXED };

enum { MAX_PRODUCERS = 64, MAX_EVENTS = 64, BATCH = 16, HOT_SLOTS = 8 };
enum { NOT_SENT = 1 };

static uint64_t producers = 4;
static uint64_t n_slots = 1000;
static uint64_t capacity = 4;
static uint64_t total = 400000; /* messages in all, shared out among producers and rounds */
static uint64_t rounds = 8;
static uint64_t wait_opt = WAIT_BLOCK;
static uint64_t churn_pm;  /* per mille of reports: drop or close a receiver, then replace it */
static uint64_t remove_pm; /* per mille of reports: lc_mux_remove a receiver, re-add it later */
static uint64_t early_pm;  /* per mille of channels whose senders all go mid-run (no churn) */

/* The payload: a stress_msg (id unique over the run, aux the seq on this channel instance),
 * then where it was sent, under a second check word. */
typedef struct mux_msg {
    stress_msg base;
    uint64_t serial; /* the channel instance */
    uint32_t slot, producer;
    uint64_t check;
} mux_msg;

static uint64_t where_check(uint64_t serial, uint32_t slot, uint32_t producer)
{
    return stress_check_word(serial, ((uint64_t)slot << 8) ^ producer);
}

/* ---- the channels: one slot per registered receiver ---- */

enum { REGISTERED, PARKED };
#define NOT_PARKED SIZE_MAX

struct slot {
    /* Churn: the current instance, shared with the producers under lock. */
    pthread_mutex_t lock;
    lc_tx *master; /* the consumer's sender handle, which producers clone (churn only) */
    uint64_t serial;
    /* The consumer's. */
    lc_rx *rx;
    int where;
    size_t parked_pos;    /* index in parked[], or NOT_PARKED */
    uint64_t due;         /* parked: re-add at this lc_mux_wait call */
    bool closing;         /* lc_rx_close'd: replaced once its end of stream is seen */
    bool eos;             /* the consumer has seen LC_CLOSED on this instance */
    unsigned after_eos;   /* reports since */
    uint64_t last_report; /* the lc_mux_wait call that reported it last */
    uint64_t *next_seq;   /* per producer: the seq expected next on this instance */
    lc_waker poll_waker;  /* what an lc_poll_recv may leave registered while parked */
    atomic_bool poll_armed;
};

/* A producer's view of a slot. */
struct pslot {
    lc_tx *tx;       /* NULL: none (dropped early, or not cloned yet) */
    uint64_t serial; /* the instance tx belongs to */
    uint64_t seq;    /* sends that returned LC_OK on that instance */
    uint64_t drop_round; /* --early-drop: drop tx at the start of this round */
};

struct producer {
    uint64_t id;
    struct pslot *slots;
    lc_tx *control;
};

static struct slot *slots;
static struct producer *prods;
static size_t *parked;
static size_t n_parked;
static lc_mux *mux;
static int mux_fd = -1;
static int control_tag; /* user_data of the control channel */
static lc_rx *control_rx;
static lc_config chan_cfg;
static stress_tally drops;

static uint64_t per_producer, per_round, n_ids;
static uint64_t tail_len;  /* of each producer's sends per round, the last are the tail */
static uint64_t final_len; /* each producer's last messages, sent as it drops its senders */
static int8_t *status;     /* per id: what its send returned, NOT_SENT if none */
static unsigned char *got; /* per id: received (consumer) */
static uint64_t round_no;  /* written by the consumer before the step barrier */
static uint64_t serials;   /* the last instance serial handed out */
static bool churning, final_phase;
static bool in_tail; /* the consumer's copy of tail_started; closed channels wait for quiesce() */
static pthread_barrier_t step, sent_all;
/* Set by the producers once no blocking send is running, and read by the consumer, under
 * tail_lock: from then on the consumer replaces no instance, so none that a tail send may
 * reach dies with the message in flight (it would stay undropped until the next round). */
static pthread_mutex_t tail_lock = PTHREAD_MUTEX_INITIALIZER;
static bool tail_started;

static atomic_uint_fast64_t accepted;
static atomic_uint_fast64_t failed[8]; /* per -code: sends that failed */
static atomic_uint_fast64_t poll_wakes;

/* Consumer counters. */
static uint64_t received, wait_no, done_count, eos_count, steps;
static bool control_eos;
static uint64_t n_reports, n_spurious, n_after_eos, n_parks, n_readds, n_direct, n_polls;
static uint64_t n_replaced, n_closed, n_swept, n_fd_polls, n_fd_empty, n_timeouts;
static uint64_t n_ignored, n_raced;

static void progress(void) { stress_progress(++steps); }

static size_t slot_index(const struct slot *sl) { return (size_t)(sl - slots); }

static void poll_wake(void *ctx)
{
    struct slot *sl = ctx;
    CHECK(atomic_load(&sl->poll_armed),
          "slot %zu: the lc_poll_recv waker was called after lc_mux_add (which must forget it) "
          "or after lc_poll_recv returned without keeping it",
          slot_index(sl));
    atomic_fetch_add(&poll_wakes, 1);
}

/* A new channel in sl (under its lock when producers may look). */
static void new_instance(struct slot *sl)
{
    lc_tx *tx;
    lc_rx *rx;
    CHECK_RC(lc_channel(sizeof(mux_msg), &chan_cfg, &tx, &rx), LC_OK);
    sl->master = tx;
    sl->rx = rx;
    sl->serial = ++serials;
    sl->closing = false;
    sl->eos = false;
    sl->after_eos = 0;
    memset(sl->next_seq, 0, producers * sizeof *sl->next_seq);
}

static void add(struct slot *sl)
{
    CHECK_RC(lc_mux_add(mux, sl->rx, sl), LC_OK);
    atomic_store(&sl->poll_armed, false); /* forgotten: a call from now on is a failure */
    sl->where = REGISTERED;
}

static void unlist_parked(struct slot *sl)
{
    if (sl->parked_pos == NOT_PARKED)
        return;
    size_t last = parked[--n_parked];
    parked[sl->parked_pos] = last;
    slots[last].parked_pos = sl->parked_pos;
    sl->parked_pos = NOT_PARKED;
}

/* Churn: drops the receiver (registered or parked) and puts a new channel in its place. */
static void replace(struct slot *sl)
{
    unlist_parked(sl);
    if (sl->eos)
        eos_count--; /* it counts the current instances */
    lc_rx_drop(sl->rx); /* removes it from the mux first, if registered */
    atomic_store(&sl->poll_armed, false);
    pthread_mutex_lock(&sl->lock);
    lc_tx_drop(sl->master);
    new_instance(sl);
    pthread_mutex_unlock(&sl->lock);
    add(sl);
    n_replaced++;
}

static void check_count(void)
{
    CHECK_EQ(lc_mux_count(mux), n_slots - n_parked + 1);
}

/* ---- the consumer's receive side ---- */

static void process(struct slot *sl, const mux_msg *m)
{
    CHECK_MSG(m->base);
    CHECK(m->check == where_check(m->serial, m->slot, m->producer),
          "message id %" PRIu64 " has a corrupt address (slot %u, instance %" PRIu64 ")",
          m->base.id, m->slot, m->serial);
    CHECK(m->base.id < n_ids, "message id %" PRIu64 " out of range", m->base.id);
    CHECK(!got[m->base.id], "message id %" PRIu64 " received twice", m->base.id);
    got[m->base.id] = 1;
    received++;
    size_t s = slot_index(sl);
    CHECK(m->slot == s && m->serial == sl->serial,
          "message id %" PRIu64 " was sent to slot %u instance %" PRIu64
          " but arrived on slot %zu instance %" PRIu64,
          m->base.id, m->slot, m->serial, s, sl->serial);
    CHECK(m->producer == m->base.id / per_producer, "message id %" PRIu64 " names producer %u",
          m->base.id, m->producer);
    CHECK(m->base.aux == sl->next_seq[m->producer],
          "slot %zu instance %" PRIu64 ", producer %u: expected seq %" PRIu64 ", saw %" PRIu64
          " (a lost, duplicated or reordered message)",
          s, sl->serial, m->producer, sl->next_seq[m->producer], m->base.aux);
    sl->next_seq[m->producer]++;
    if (capacity) {
        size_t len = lc_rx_len(sl->rx);
        CHECK(len <= capacity, "slot %zu: lc_rx_len %zu above capacity %" PRIu64, s, len,
              capacity);
    }
    progress();
}

/* Every message each producer sent on sl's instance has arrived: it is at end of stream and
 * every producer is done with it (the caller knows). */
static void check_all_arrived(struct slot *sl)
{
    for (uint64_t p = 0; p < producers; p++) {
        const struct pslot *ps = &prods[p].slots[slot_index(sl)];
        uint64_t sent = ps->serial == sl->serial ? ps->seq : 0;
        CHECK(sl->next_seq[p] == sent,
              "slot %zu instance %" PRIu64 " at end of stream: producer %" PRIu64 " sent %" PRIu64
              " messages, %" PRIu64 " arrived",
              slot_index(sl), sl->serial, p, sent, sl->next_seq[p]);
    }
}

/* LC_CLOSED from a receive on sl. Returns true if sl now holds a new instance. */
static bool on_closed(struct slot *sl)
{
    if (sl->eos)
        return false;
    size_t s = slot_index(sl);
    CHECK(lc_rx_len(sl->rx) == 0, "slot %zu: LC_CLOSED with lc_rx_len %zu", s,
          lc_rx_len(sl->rx));
    CHECK(sl->closing || lc_sender_count(sl->rx) == 0,
          "slot %zu: LC_CLOSED with %zu senders on a channel that was not closed", s,
          lc_sender_count(sl->rx));
    if (sl->closing && !final_phase && !in_tail) {
        replace(sl);
        return true;
    }
    /* Fixed set: every producer dropped its sender (and wrote nothing after);
     * final phase: the producers are past the last round. */
    if (!churning || final_phase)
        check_all_arrived(sl);
    sl->eos = true;
    sl->after_eos = 0;
    eos_count++;
    return false;
}

/* Receives from sl: all of it, or only part (the rest must be reported again). */
static void drain(struct slot *sl, stress_rng *rng)
{
    mux_msg buf[BATCH];
    int rc;
    uint64_t before = received;
    switch (stress_below(rng, 4)) {
    case 0: /* everything, one by one */
        while ((rc = lc_try_recv(sl->rx, &buf[0])) == LC_OK)
            process(sl, &buf[0]);
        break;
    case 1: /* everything, in batches */
        while ((rc = lc_try_recv_many(sl->rx, buf, 1 + stress_below(rng, BATCH))) > 0)
            for (int i = 0; i < rc; i++)
                process(sl, &buf[i]);
        break;
    case 2: { /* a few, one by one */
        uint64_t k = 1 + stress_below(rng, 3);
        while (k-- > 0 && (rc = lc_try_recv(sl->rx, &buf[0])) == LC_OK)
            process(sl, &buf[0]);
        break;
    }
    default: /* one batch */
        rc = lc_try_recv_many(sl->rx, buf, 1 + stress_below(rng, BATCH));
        for (int i = 0; i < rc; i++)
            process(sl, &buf[i]);
        break;
    }
    CHECK(rc >= 0 || rc == LC_EMPTY || rc == LC_CLOSED,
          "slot %zu: receive returned %d (%s)", slot_index(sl), rc, lc_strerror(rc));
    if (rc == LC_CLOSED) {
        on_closed(sl);
    } else if (received == before && rc == LC_EMPTY) {
        n_spurious++; /* nothing linked: a sender's late wake, or a message still in flight */
    }
}

static void drain_control(void)
{
    mux_msg m;
    int rc;
    while ((rc = lc_try_recv(control_rx, &m)) == LC_OK) {
        CHECK_MSG(m.base);
        CHECK(m.base.id < producers && m.base.aux == round_no,
              "control message from producer %" PRIu64 " for round %" PRIu64 " in round %" PRIu64,
              m.base.id, m.base.aux, round_no);
        done_count++;
        progress();
    }
    CHECK(rc == LC_EMPTY || rc == LC_CLOSED, "control channel: %d (%s)", rc, lc_strerror(rc));
    if (rc == LC_CLOSED) {
        CHECK(final_phase, "control channel closed before the producers finished");
        control_eos = true;
    }
}

/* One report; in the tail of a round the consumer only checks it (and may remove and re-add the
 * receiver, racing the tail's sends) without receiving. */
static void handle(const lc_mux_event *ev, stress_rng *rng, bool tail)
{
    n_reports++;
    if (ev->user_data == &control_tag) {
        CHECK(ev->rx == control_rx, "control channel reported with rx %p, expected %p",
              (void *)ev->rx, (void *)control_rx);
        drain_control();
        return;
    }
    struct slot *sl = ev->user_data;
    CHECK(sl >= slots && sl < slots + n_slots, "reported user_data %p is no slot",
          ev->user_data);
    size_t s = slot_index(sl);
    CHECK(sl->where == REGISTERED, "slot %zu reported while removed from the mux", s);
    CHECK(ev->rx == sl->rx, "slot %zu reported with rx %p, but it holds rx %p (a stale receiver)",
          s, (void *)ev->rx, (void *)sl->rx);
    CHECK(sl->last_report != wait_no, "slot %zu reported twice by one lc_mux_wait", s);
    sl->last_report = wait_no;
    if (sl->eos) {
        n_after_eos++;
        CHECK(++sl->after_eos <= 1,
              "slot %zu reported %u times after the consumer saw LC_CLOSED on it (at most once "
              "more: end of stream is reported once)",
              s, sl->after_eos);
    }
    /* An end of stream is reported once: a report that may be one is never left for later.
     * (If it was one when lc_mux_wait collected it, it still is: both only ever become true.) */
    if (tail && !(lc_rx_len(sl->rx) == 0 && (lc_sender_count(sl->rx) == 0 || sl->closing))) {
        n_ignored++;
        if (stress_below(rng, 4) == 0) {
            CHECK_RC(lc_mux_remove(mux, sl->rx), LC_OK);
            add(sl);
            n_raced++;
        }
        return;
    }
    if (stress_below(rng, 64) == 0) { /* the slot is the mux's: these must refuse */
        mux_msg m;
        CHECK_RC(lc_recv_timeout(sl->rx, &m, 0), LC_INVALID);
        CHECK_RC(lc_poll_recv(sl->rx, &m, &sl->poll_waker), LC_INVALID);
        CHECK_RC(lc_mux_add(mux, sl->rx, sl), LC_INVALID);
    }
    drain(sl, rng);
}

/* ---- removing and re-adding ---- */

static void park(struct slot *sl, stress_rng *rng)
{
    CHECK_RC(lc_mux_remove(mux, sl->rx), LC_OK);
    CHECK_RC(lc_mux_remove(mux, sl->rx), LC_INVALID);
    sl->where = PARKED;
    sl->due = wait_no + 1 + stress_below(rng, 48);
    sl->parked_pos = n_parked;
    parked[n_parked++] = slot_index(sl);
    n_parks++;
}

/* Re-adds a parked slot, sometimes (if receive) after receiving from it directly. */
static void unpark(struct slot *sl, stress_rng *rng, bool receive)
{
    unlist_parked(sl);
    mux_msg buf[BATCH];
    int rc = LC_EMPTY;
    switch (receive ? stress_below(rng, 4) : 3) {
    case 0:
        rc = lc_try_recv_many(sl->rx, buf, 1 + stress_below(rng, BATCH));
        for (int i = 0; i < rc; i++)
            process(sl, &buf[i]);
        n_direct++;
        break;
    case 1: /* the slot is free again: a timed receive is allowed */
        rc = lc_recv_timeout(sl->rx, &buf[0], stress_below(rng, 2) ? 0 : 1000);
        if (rc == LC_OK)
            process(sl, &buf[0]);
        n_direct++;
        break;
    case 2: /* leave a waker registered: lc_mux_add must forget it */
        atomic_store(&sl->poll_armed, true);
        rc = lc_poll_recv(sl->rx, &buf[0], &sl->poll_waker);
        if (rc != LC_PENDING)
            atomic_store(&sl->poll_armed, false);
        if (rc == LC_OK)
            process(sl, &buf[0]);
        n_polls++;
        break;
    default:
        break;
    }
    CHECK(rc >= 0 || rc == LC_EMPTY || rc == LC_TIMEDOUT || rc == LC_PENDING || rc == LC_CLOSED,
          "slot %zu, removed: receive returned %d (%s)", slot_index(sl), rc, lc_strerror(rc));
    if (rc == LC_CLOSED && on_closed(sl))
        return; /* replaced, and the new instance added */
    add(sl);
    n_readds++;
}

static void unpark_due(stress_rng *rng, bool receive)
{
    for (size_t i = 0; i < n_parked;) {
        struct slot *sl = &slots[parked[i]];
        if (sl->due <= wait_no)
            unpark(sl, rng, receive); /* moves the last entry to i */
        else
            i++;
    }
}

static void unpark_all(stress_rng *rng)
{
    while (n_parked > 0)
        unpark(&slots[parked[0]], rng, true);
}

/* A random slot, a hot one half the time. */
static struct slot *pick_slot(stress_rng *rng)
{
    uint64_t hot = n_slots < HOT_SLOTS ? n_slots : HOT_SLOTS;
    return &slots[stress_below(rng, 2) ? stress_below(rng, hot) : stress_below(rng, n_slots)];
}

/* After a batch: churn and removals, per report handled. */
static void shake(int reports, stress_rng *rng)
{
    for (int i = 0; i < reports; i++) {
        if (churning && stress_below(rng, 1000) < churn_pm) {
            struct slot *sl = pick_slot(rng);
            if (stress_below(rng, 2) || sl->closing) {
                replace(sl);
            } else {
                lc_rx_close(sl->rx);
                sl->closing = true;
                n_closed++;
            }
        }
        if (stress_below(rng, 1000) < remove_pm) {
            struct slot *sl = pick_slot(rng);
            if (sl->where == REGISTERED && !sl->eos)
                park(sl, rng);
        }
    }
}

/* ---- waiting ---- */

static bool fd_armed; /* the last lc_mux_wait returned LC_TIMEDOUT: the descriptor may be polled */

/* One lc_mux_wait; bounded: return soon even if nothing comes (parked receivers wait for us). */
static int wait_events(lc_mux_event *ev, stress_rng *rng, bool bounded)
{
    static const uint64_t timeouts[] = {0, 1000, 20000, 100000};
    uint64_t how = wait_opt == WAIT_MIXED ? stress_below(rng, 3) : wait_opt;
    uint64_t timeout;
    bool readable = false;
    if (how == WAIT_BLOCK) {
        timeout = bounded ? 50000 : LC_FOREVER;
    } else if (how == WAIT_TIMED) {
        timeout = timeouts[stress_below(rng, 4)];
    } else {
        /* The descriptor protocol: only after an LC_TIMEDOUT, then lc_mux_wait(0). */
        if (fd_armed) {
            struct pollfd pfd = {.fd = mux_fd, .events = POLLIN};
            int r = poll(&pfd, 1, bounded ? 1 : -1);
            CHECK(r >= 0 || errno == EINTR, "poll: %s", strerror(errno));
            CHECK(r <= 0 || (pfd.revents & POLLIN), "poll: revents %#x", (unsigned)pfd.revents);
            readable = r > 0;
            n_fd_polls++;
        }
        timeout = 0;
    }
    wait_no++;
    size_t max = stress_below(rng, 4) ? MAX_EVENTS : 1 + stress_below(rng, 4);
    int n = lc_mux_wait(mux, timeout, ev, max);
    CHECK(n == LC_TIMEDOUT || (n >= 1 && (size_t)n <= max),
          "lc_mux_wait(max %zu) returned %d (%s)", max, n, n < 0 ? lc_strerror(n) : "events");
    CHECK(n != LC_TIMEDOUT || timeout != LC_FOREVER, "lc_mux_wait(LC_FOREVER) timed out");
    if (n == LC_TIMEDOUT) {
        n_timeouts++;
        if (readable)
            n_fd_empty++; /* readable, and nothing to report: an entry removed meanwhile */
    }
    fd_armed = n == LC_TIMEDOUT;
    progress();
    return n;
}

/* ---- producers ---- */

/* The producer's sender for a random slot (cloning the current instance under churn), or NULL
 * if it found none in a few tries. */
static struct pslot *producer_pick(struct producer *pr, stress_rng *rng, uint64_t *slot_out)
{
    for (int tries = 0; tries < 16; tries++) {
        uint64_t s = slot_index(pick_slot(rng));
        struct pslot *ps = &pr->slots[s];
        if (churning) {
            struct slot *sl = &slots[s];
            pthread_mutex_lock(&sl->lock);
            if (ps->serial != sl->serial) {
                lc_tx_drop(ps->tx);
                ps->tx = lc_tx_clone(sl->master);
                CHECK(ps->tx != NULL, "lc_tx_clone returned NULL");
                ps->serial = sl->serial;
                ps->seq = 0;
            }
            pthread_mutex_unlock(&sl->lock);
        }
        if (ps->tx) {
            *slot_out = s;
            return ps;
        }
    }
    return NULL;
}

static int produce(lc_tx *tx, const mux_msg *m, stress_rng *rng)
{
    int rc;
    switch (stress_below(rng, 8)) {
    case 0:
        rc = lc_try_send(tx, m);
        CHECK(rc == LC_OK || rc == LC_FULL || rc == LC_CLOSED, "lc_try_send: %d (%s)", rc,
              lc_strerror(rc));
        break;
    case 1:
        rc = lc_send_timeout(tx, m, stress_below(rng, 50000));
        CHECK(rc == LC_OK || rc == LC_TIMEDOUT || rc == LC_CLOSED, "lc_send_timeout: %d (%s)", rc,
              lc_strerror(rc));
        break;
    default:
        rc = lc_send(tx, m);
        CHECK(rc == LC_OK || rc == LC_CLOSED, "lc_send: %d (%s)", rc, lc_strerror(rc));
        break;
    }
    CHECK(rc != LC_CLOSED || churning, "send on a channel that nobody closed: LC_CLOSED");
    CHECK(rc != LC_FULL || capacity, "unbounded channel: LC_FULL");
    return rc;
}

/* Churn: drops the producer's senders of replaced instances. */
static void drop_stale(struct producer *pr)
{
    for (uint64_t s = 0; churning && s < n_slots; s++) {
        struct pslot *ps = &pr->slots[s];
        pthread_mutex_lock(&slots[s].lock);
        if (ps->tx && ps->serial != slots[s].serial) {
            lc_tx_drop(ps->tx);
            ps->tx = NULL;
        }
        pthread_mutex_unlock(&slots[s].lock);
    }
}

static void *producer_main(void *arg)
{
    struct producer *pr = arg;
    uint64_t p = pr->id;
    for (uint64_t r = 0;; r++) {
        pthread_barrier_wait(&step);
        if (round_no == rounds)
            break;
        stress_rng rng = stress_rng_for(p + 1, r);
        bool tail = false;
        for (uint64_t s = 0; s < n_slots; s++) {
            struct pslot *ps = &pr->slots[s];
            if (ps->drop_round == r && ps->tx) {
                lc_tx_drop(ps->tx); /* every producer does this: end of stream mid-run */
                ps->tx = NULL;
            }
        }
        for (uint64_t k = 0; k < per_round; k++) {
            uint64_t id = p * per_producer + r * per_round + k;
            if (k == per_round - tail_len) {
                /* No blocking send is running after this barrier: the tail's lc_try_send calls
                 * may find channels full, and the consumer stops receiving. Under churn, drop
                 * the senders of replaced instances: a message that was in flight when its
                 * receiver was dropped is passed to cfg->drop when the last sender goes, and
                 * only then counted. */
                pthread_barrier_wait(&sent_all);
                pthread_mutex_lock(&tail_lock);
                tail_started = true;
                pthread_mutex_unlock(&tail_lock);
                drop_stale(pr);
                tail = true;
            }
            uint64_t s;
            struct pslot *ps = producer_pick(pr, &rng, &s);
            if (ps == NULL)
                continue; /* NOT_SENT */
            mux_msg m = {.base = stress_make_msg(id, ps->seq), .serial = ps->serial,
                         .slot = (uint32_t)s, .producer = (uint32_t)p};
            m.check = where_check(m.serial, m.slot, m.producer);
            int rc = tail ? lc_try_send(ps->tx, &m) : produce(ps->tx, &m, &rng);
            CHECK(!tail || rc == LC_OK || rc == LC_FULL || (rc == LC_CLOSED && churning),
                  "producer %" PRIu64 " id %" PRIu64 ": lc_try_send: %d (%s)", p, id, rc,
                  lc_strerror(rc));
            status[id] = (int8_t)rc;
            if (rc == LC_OK) {
                ps->seq++;
                atomic_fetch_add(&accepted, 1);
            } else {
                atomic_fetch_add(&failed[-rc & 7], 1);
            }
            if (stress_below(&rng, 64) == 0)
                stress_spin_ns(stress_below(&rng, 20000));
        }
        if (!tail) { /* no tail this round */
            pthread_barrier_wait(&sent_all);
            drop_stale(pr);
        }
        mux_msg done = {.base = stress_make_msg(p, r)};
        int rc = lc_send(pr->control, &done);
        CHECK(rc == LC_OK, "control send: %d (%s)", rc, lc_strerror(rc));
    }
    /* The end: drop every sender, starting at a random slot, some just after a last message,
     * so that end of stream comes with messages queued. A pslot is not written after its
     * sender is dropped: the consumer reads it at that channel's end of stream. */
    stress_rng rng = stress_rng_for(p + 1, rounds);
    uint64_t first = stress_below(&rng, n_slots), last_words = 0;
    for (uint64_t i = 0; i < n_slots; i++) {
        uint64_t s = (first + i) % n_slots;
        struct pslot *ps = &pr->slots[s];
        if (ps->tx == NULL)
            continue;
        if (last_words < final_len && stress_below(&rng, 4) == 0) {
            uint64_t id = p * per_producer + rounds * per_round + last_words++;
            mux_msg m = {.base = stress_make_msg(id, ps->seq), .serial = ps->serial,
                         .slot = (uint32_t)s, .producer = (uint32_t)p};
            m.check = where_check(m.serial, m.slot, m.producer);
            int rc = produce(ps->tx, &m, &rng);
            status[id] = (int8_t)rc;
            if (rc == LC_OK) {
                ps->seq++;
                atomic_fetch_add(&accepted, 1);
            } else {
                atomic_fetch_add(&failed[-rc & 7], 1);
            }
        }
        lc_tx_drop(ps->tx);
        if (stress_below(&rng, 256) == 0)
            stress_spin_ns(stress_below(&rng, 50000));
    }
    lc_tx_drop(pr->control);
    return NULL;
}

/* ---- the consumer's phases ---- */

static void hang_report(FILE *f)
{
    fprintf(f,
            "  round %" PRIu64 ", done %" PRIu64 " of %" PRIu64 ", received %" PRIu64
            ", accepted %" PRIu64 ", dropped %" PRIu64 ", parked %zu, end of stream %" PRIu64
            " of %" PRIu64 ", lc_mux_wait calls %" PRIu64 "\n",
            round_no, done_count, producers, received, (uint64_t)atomic_load(&accepted),
            (uint64_t)atomic_load(&drops.total), n_parked, eos_count, n_slots, wait_no);
    unsigned shown = 0;
    for (uint64_t s = 0; s < n_slots && shown < 10; s++) {
        struct slot *sl = &slots[s];
        size_t len = lc_rx_len(sl->rx);
        if (len > 0 || (final_phase && !sl->eos)) {
            fprintf(f,
                    "  slot %" PRIu64 ": %s, lc_rx_len %zu, senders %zu, eos %d, closing %d, "
                    "last reported by lc_mux_wait call %" PRIu64 "\n",
                    s, sl->where == REGISTERED ? "registered" : "removed", len,
                    lc_sender_count(sl->rx), sl->eos, sl->closing, sl->last_report);
            shown++;
        }
    }
}

/* Receives until every producer has reported the round done. */
static void receive_round(stress_rng *rng)
{
    lc_mux_event ev[MAX_EVENTS];
    while (done_count < producers) {
        int n = wait_events(ev, rng, n_parked > 0);
        /* In the tail (every blocking send has returned), reports are only checked, and some
         * receivers removed and re-added, racing lc_try_send: quiesce() must find it all. */
        pthread_mutex_lock(&tail_lock);
        bool tail = in_tail = tail_started;
        if (n == LC_TIMEDOUT && n_parked > 0) /* idle: producers may wait for a removed one */
            unpark(&slots[parked[0]], rng, !tail);
        for (int i = 0; i < n; i++)
            handle(&ev[i], rng, tail);
        if (!tail)
            shake(n, rng);
        unpark_due(rng, !tail);
        pthread_mutex_unlock(&tail_lock);
        check_count();
        if (tail)
            sched_yield(); /* the same reports come back at once: let the tail run */
    }
}

/* No send is running: whatever is queued must be reported by lc_mux_wait(0) now, including on
 * receivers removed and re-added just before. */
static void quiesce(stress_rng *rng)
{
    lc_mux_event ev[MAX_EVENTS];
    in_tail = false;
    unpark_all(rng);
    for (uint64_t s = 0; s < n_slots; s++) {
        struct slot *sl = &slots[s];
        if (sl->closing && sl->eos) { /* reached its end of stream in the tail */
            replace(sl);
            continue;
        }
        if (lc_rx_len(sl->rx) > 0 && stress_below(rng, 2)) {
            CHECK_RC(lc_mux_remove(mux, sl->rx), LC_OK);
            add(sl);
            n_swept++;
        }
    }
    check_count();
    int n;
    while ((n = wait_events(ev, rng, true)) != LC_TIMEDOUT || n_parked > 0) {
        for (int i = 0; i < n; i++)
            handle(&ev[i], rng, false);
        unpark_all(rng);
    }
    /* wait_events may have waited on the descriptor or timed out early: end with a loop of
     * lc_mux_wait(0), which looks at the ready list itself, until it finds nothing. */
    while ((n = lc_mux_wait(mux, 0, ev, MAX_EVENTS)) != LC_TIMEDOUT) {
        wait_no++;
        CHECK(n >= 1, "lc_mux_wait(0): %d (%s)", n, lc_strerror(n));
        for (int i = 0; i < n; i++)
            handle(&ev[i], rng, false);
    }
    wait_no++;
    fd_armed = true;
    for (uint64_t s = 0; s < n_slots; s++) {
        /* lc_rx_close of an idle registered receiver leaves it at end of stream: reported. */
        CHECK(!slots[s].closing,
              "round %" PRIu64 " over: slot %" PRIu64 " was closed with lc_rx_close and "
              "drained, but lc_mux_wait(0) never reported its end of stream",
              round_no, s);
        size_t len = lc_rx_len(slots[s].rx);
        CHECK(len == 0,
              "round %" PRIu64 " over, no send running: slot %" PRIu64 " (instance %" PRIu64
              ") holds %zu messages that lc_mux_wait(0) did not report",
              round_no, s, slots[s].serial, len);
    }
    CHECK_EQ(lc_rx_len(control_rx), 0);
    uint64_t ok = atomic_load(&accepted), dropped = atomic_load(&drops.total);
    CHECK(received + dropped == ok,
          "round %" PRIu64 " over: %" PRIu64 " received + %" PRIu64 " dropped, but %" PRIu64
          " sends returned LC_OK",
          round_no, received, dropped, ok);
}

/* The producers drop every sender: each channel must reach end of stream, reported once. */
static void finish(stress_rng *rng, pthread_t *threads)
{
    lc_mux_event ev[MAX_EVENTS];
    final_phase = true;
    stress_phase("end of stream: waiting for LC_CLOSED on every channel");
    for (uint64_t s = 0; churning && s < n_slots; s++) {
        pthread_mutex_lock(&slots[s].lock);
        lc_tx_drop(slots[s].master);
        slots[s].master = NULL;
        pthread_mutex_unlock(&slots[s].lock);
    }
    round_no = rounds;
    pthread_barrier_wait(&step); /* the producers drop their senders and return */
    while (eos_count < n_slots || !control_eos) {
        int n = wait_events(ev, rng, false);
        for (int i = 0; i < n; i++)
            handle(&ev[i], rng, false);
    }
    stress_phase("joining producers");
    for (uint64_t p = 0; p < producers; p++)
        stress_join(threads[p]);
    /* Receivers that saw LC_CLOSED while draining a message's report get one more report. */
    stress_phase("after end of stream");
    int n;
    while ((n = lc_mux_wait(mux, 0, ev, MAX_EVENTS)) != LC_TIMEDOUT) {
        wait_no++;
        CHECK(n >= 1, "lc_mux_wait(0): %d (%s)", n, lc_strerror(n));
        for (int i = 0; i < n; i++)
            handle(&ev[i], rng, false);
    }
    wait_no++;
    CHECK_RC(lc_mux_wait(mux, 0, ev, MAX_EVENTS), LC_TIMEDOUT);
    CHECK_RC(lc_mux_wait(mux, 1000, ev, 1), LC_TIMEDOUT);
    check_count();
}

/* Every id: received or dropped exactly once if its send returned LC_OK, else neither. */
static void check_ids(void)
{
    uint64_t ok = 0, not_sent = 0;
    for (uint64_t id = 0; id < n_ids; id++) {
        unsigned seen = got[id] + stress_tally_get(&drops, id);
        if (status[id] == LC_OK)
            ok++;
        if (status[id] == NOT_SENT)
            not_sent++;
        CHECK(seen == (status[id] == LC_OK),
              "id %" PRIu64 ": the send returned %d (%s), but it was received %u and dropped %u "
              "times",
              id, status[id], status[id] <= 0 ? lc_strerror(status[id]) : "not sent", got[id],
              stress_tally_get(&drops, id));
    }
    CHECK_EQ(ok, atomic_load(&accepted));
    uint64_t fails = 0;
    for (int i = 0; i < 8; i++)
        fails += atomic_load(&failed[i]);
    CHECK_EQ(ok + fails + not_sent, n_ids);
}

int main(int argc, char **argv)
{
    stress_opt opts[] = {
        {.name = "threads", .help = "producers (at most 64)", .num = &producers},
        {.name = "channels", .help = "channels registered with the mux", .num = &n_slots},
        {.name = "capacity", .help = "of every channel; 0: unbounded", .num = &capacity},
        {.name = "iterations", .help = "messages in all", .num = &total, .scaled_min = 2000},
        {.name = "rounds", .help = "rounds, each ending with a check at rest", .num = &rounds},
        {.name = "wait", .help = "how the consumer waits", .num = &wait_opt,
         .names = wait_names},
        {.name = "churn", .help = "per mille of reports: drop or close and replace a receiver",
         .num = &churn_pm},
        {.name = "remove", .help = "per mille of reports: remove a receiver, re-add it later",
         .num = &remove_pm},
        {.name = "early-drop", .help = "per mille of channels losing their senders mid-run",
         .num = &early_pm},
    };
    stress_init(argc, argv, "stress_mux",
                "Producers send over many channels into one lc_mux: exactly once, FIFO, end of "
                "stream reported once.",
                opts, sizeof opts / sizeof opts[0]);
    if (producers == 0 || producers > MAX_PRODUCERS || n_slots == 0 || n_slots > UINT32_MAX ||
        rounds == 0 || (churn_pm && early_pm)) {
        fprintf(stderr, "stress_mux: need 1 <= --threads <= 64, --channels >= 1, --rounds >= 1, "
                        "and not both --churn and --early-drop\n");
        return 2;
    }
    churning = churn_pm > 0;
    per_round = total / producers / rounds ? total / producers / rounds : 1;
    tail_len = per_round / 4 < 64 ? per_round / 4 : 64;
    final_len = n_slots / 8 < 64 ? n_slots / 8 : 64;
    per_producer = per_round * rounds + final_len;
    n_ids = per_producer * producers;
    stress_hang_report = hang_report;

    status = malloc(n_ids);
    got = calloc(n_ids, 1);
    slots = calloc(n_slots, sizeof *slots);
    parked = calloc(n_slots, sizeof *parked);
    prods = calloc(producers, sizeof *prods);
    pthread_t *threads = calloc(producers, sizeof *threads);
    CHECK(status && got && slots && parked && prods && threads, "out of memory");
    memset(status, NOT_SENT, n_ids);
    stress_tally_init(&drops, n_ids);
    chan_cfg = (lc_config){.capacity = capacity, .drop = stress_drop_msg, .drop_ctx = &drops};

    CHECK_RC(lc_mux_new(NULL, &mux), LC_OK);
    if (wait_opt == WAIT_FD || wait_opt == WAIT_MIXED) {
        mux_fd = lc_mux_fd(mux);
        CHECK(mux_fd >= 0, "lc_mux_fd: %d (%s)", mux_fd, lc_strerror(mux_fd));
        CHECK_EQ(lc_mux_fd(mux), mux_fd);
        fd_armed = true;
    }
    stress_rng rng = stress_rng_for(0, 0);
    for (uint64_t s = 0; s < n_slots; s++) {
        struct slot *sl = &slots[s];
        pthread_mutex_init(&sl->lock, NULL);
        sl->next_seq = calloc(producers, sizeof *sl->next_seq);
        CHECK(sl->next_seq != NULL, "out of memory");
        sl->parked_pos = NOT_PARKED;
        sl->last_report = UINT64_MAX;
        sl->poll_waker = (lc_waker){poll_wake, sl};
        atomic_init(&sl->poll_armed, false);
        new_instance(sl);
        add(sl);
    }
    lc_tx *control_tx;
    CHECK_RC(lc_channel(sizeof(mux_msg), NULL, &control_tx, &control_rx), LC_OK);
    CHECK_RC(lc_mux_add(mux, control_rx, &control_tag), LC_OK);
    check_count();

    uint64_t early = 0;
    for (uint64_t p = 0; p < producers; p++) {
        struct producer *pr = &prods[p];
        pr->id = p;
        pr->slots = calloc(n_slots, sizeof *pr->slots);
        CHECK(pr->slots != NULL, "out of memory");
        pr->control = lc_tx_clone(control_tx);
        CHECK(pr->control != NULL, "lc_tx_clone returned NULL");
        for (uint64_t s = 0; s < n_slots; s++)
            pr->slots[s].drop_round = UINT64_MAX;
    }
    if (!churning) {
        /* A fixed set: each producer holds a sender of every channel from the start; channels
         * picked for --early-drop lose them at random rounds. */
        for (uint64_t s = 0; s < n_slots; s++) {
            bool dies = stress_below(&rng, 1000) < early_pm;
            early += dies;
            for (uint64_t p = 0; p < producers; p++) {
                struct pslot *ps = &prods[p].slots[s];
                ps->tx = lc_tx_clone(slots[s].master);
                CHECK(ps->tx != NULL, "lc_tx_clone returned NULL");
                ps->serial = slots[s].serial;
                if (dies)
                    ps->drop_round = stress_below(&rng, rounds);
            }
            lc_tx_drop(slots[s].master);
            slots[s].master = NULL;
        }
    }
    lc_tx_drop(control_tx);

    pthread_barrier_init(&step, NULL, (unsigned)producers + 1);
    pthread_barrier_init(&sent_all, NULL, (unsigned)producers);
    for (uint64_t p = 0; p < producers; p++)
        threads[p] = stress_spawn(producer_main, &prods[p]);

    uint64_t start_ns = stress_now_ns();
    for (round_no = 0; round_no < rounds; round_no++) {
        stress_rng round_rng = stress_rng_for(0, round_no + 1);
        done_count = 0;
        tail_started = false; /* the producers wait at the step barrier */
        stress_phase("receiving a round");
        pthread_barrier_wait(&step);
        receive_round(&round_rng);
        stress_phase("round over: everything queued must be reported");
        quiesce(&round_rng);
    }
    stress_rng end_rng = stress_rng_for(0, rounds + 1);
    finish(&end_rng, threads);
    uint64_t elapsed = stress_now_ns() - start_ns;
    check_ids();

    /* lc_mux_free unregisters: the receivers work alone again. */
    lc_mux_free(mux);
    for (uint64_t s = 0; s < n_slots; s++) {
        mux_msg m;
        CHECK_RC(lc_try_recv(slots[s].rx, &m), LC_CLOSED);
        CHECK_RC(lc_recv_timeout(slots[s].rx, &m, 0), LC_CLOSED);
        lc_rx_drop(slots[s].rx);
        pthread_mutex_destroy(&slots[s].lock);
        free(slots[s].next_seq);
    }
    mux_msg m;
    CHECK_RC(lc_recv(control_rx, &m), LC_CLOSED);
    lc_rx_drop(control_rx);

    printf("ok: %" PRIu64 " messages accepted (%" PRIu64 " received, %" PRIu64
           " dropped), failed sends: %" PRIu64 " full, %" PRIu64 " timed out, %" PRIu64
           " closed; %.3f s\n",
           (uint64_t)atomic_load(&accepted), received, (uint64_t)atomic_load(&drops.total),
           (uint64_t)atomic_load(&failed[-LC_FULL]), (uint64_t)atomic_load(&failed[-LC_TIMEDOUT]),
           (uint64_t)atomic_load(&failed[-LC_CLOSED]), (double)elapsed / 1e9);
    printf("    %" PRIu64 " lc_mux_wait calls (%" PRIu64 " timed out), %" PRIu64
           " reports (%" PRIu64 " found nothing, %" PRIu64 " after end of stream); %" PRIu64
           " descriptor polls (%" PRIu64 " found nothing)\n",
           wait_no, n_timeouts, n_reports, n_spurious, n_after_eos, n_fd_polls, n_fd_empty);
    printf("    tails: %" PRIu64 " reports left for later, %" PRIu64
           " of them removed and re-added at once\n",
           n_ignored, n_raced);
    printf("    %" PRIu64 " removed and %" PRIu64 " re-added (%" PRIu64 " received from directly, "
           "%" PRIu64 " polled, %" PRIu64 " poll wakes), %" PRIu64 " swept at rest; %" PRIu64
           " replaced, %" PRIu64 " closed; %" PRIu64 " channels lost their senders mid-run\n",
           n_parks, n_readds, n_direct, n_polls, (uint64_t)atomic_load(&poll_wakes), n_swept,
           n_replaced, n_closed, early);
    pthread_barrier_destroy(&step);
    pthread_barrier_destroy(&sent_all);
    for (uint64_t p = 0; p < producers; p++)
        free(prods[p].slots);
    stress_tally_free(&drops);
    free(status);
    free(got);
    free(slots);
    free(parked);
    free(prods);
    free(threads);
    return 0;
}
