/*
 * lc_mux: one thread waiting on many receivers, through their waker slots (waker.h).
 *
 * Each registered receiver has an entry, and its waker slot holds the entry's address, tagged
 * ARMED. A sender that makes the receiver ready takes the slot (WAKING), pushes the entry onto
 * the mux's ready queue (the same intrusive MPSC queue as a channel's, queue.h), wakes the mux's
 * thread through the mux's own waker slot, and leaves the slot tagged FIRED. Later senders skip
 * a FIRED slot: a burst of sends makes one report. lc_mux_wait pops entries and reports them;
 * the next lc_mux_wait re-arms them (FIRED -> ARMED) and re-checks the receiver, pushing the
 * entry itself if the receiver is still ready. So the work per report is O(1), and an entry is
 * always in exactly one place:
 *
 *  | slot          | entry is                                      |
 *  |---------------|-----------------------------------------------|
 *  | entry|ARMED   | nowhere but in the slot                       |
 *  | WAKING        | being pushed by the sender that took the slot |
 *  | entry|FIRED   | in the ready queue, or in mux->reported       |
 *
 * Removing a FIRED entry cannot free it (a list still holds it): it clears the entry's chan, and
 * whichever list meets it next frees it.
 */
#include <errno.h>
#include <limits.h>

#ifdef __linux__
#include <sys/eventfd.h>
#include <unistd.h>
#endif

#include "chan.h"
#include "parker.h"
#include "waker.h"

#define EOS_SEEN ((uintptr_t)1) /* in entry->owner: reported at end of stream already */

struct lc__mux_entry {
    lc_node link;                      /* in the ready queue; then in mux->reported */
    uintptr_t owner;                   /* the lc_mux, and EOS_SEEN */
    struct lc_chan *chan;              /* NULL once removed while FIRED */
    void *user_data;
    struct lc__mux_entry *prev, *next; /* every registered entry, for lc_mux_free */
};

_Static_assert(sizeof(struct lc__mux_entry) == 48, "a registration is 48 bytes");

struct lc_mux {
    lc__queue ready;                 /* fired entries; senders push, the owner pops */
    volatile lc__word waker;         /* the owner's wake-up: a parker, or fd_waker */
    struct lc__mux_entry *reported;  /* reported by the last lc_mux_wait, through link */
    struct lc__mux_entry *all;       /* registered entries, through prev and next */
    size_t count;                    /* registered entries */
    const lc_allocator *allocator;   /* NULL: malloc/free */
    int fd;                          /* the eventfd of lc_mux_fd, or -1 */
    lc_waker fd_waker;               /* writes to fd */
};

static struct lc_mux *owner(const struct lc__mux_entry *e)
{
    return (struct lc_mux *)(e->owner & ~EOS_SEEN);
}

static struct lc__mux_entry *entry_of(lc_node *link)
{
    return (struct lc__mux_entry *)(void *)link; /* link is the first member */
}

static void free_entry(struct lc_mux *m, struct lc__mux_entry *e)
{
    lc__mem_free(m->allocator, e, sizeof *e);
}

/* Drained, and no message can come any more: the receiver's next receive is LC_CLOSED. */
static bool at_end(struct lc_chan *c)
{
    lc__word s = lc__load_acquire(&c->state);
    return lc__count(s) == 0 && (lc__senders(s) == 0 || (s & LC__S_CLOSED));
}

/* Something for the owner to see: a message, or an end of stream not reported yet. With the
 * slot armed: if there is no message, the queue is marked, so that the next one fires it. */
static bool is_ready(struct lc__mux_entry *e)
{
    return !lc__queue_mark(&e->chan->q) || (!(e->owner & EOS_SEEN) && at_end(e->chan));
}

void lc__mux_fire(struct lc__mux_entry *e)
{
    struct lc_mux *m = owner(e);
    /* The mux's own queue is never marked (its owner registers its waker and then looks at
     * the queue): always wake. The full load is ordered after the link CAS. */
    (void)lc__queue_push(&m->ready, &e->link);
    lc__waker_wake(&m->waker);
}

/* Owner: the entry's slot holds entry|ARMED; reports the entry if its receiver is ready. */
static void check(struct lc__mux_entry *e)
{
    lc__word armed = (lc__word)e | LC__SLOT_ARMED;
    if (!is_ready(e))
        return;
    /* Fire it ourselves, unless a sender has just taken the slot to do it. */
    if (lc__cas_full(&e->chan->waker, armed, armed | LC__SLOT_FIRED))
        lc__mux_fire(e);
}

/* Owner: FIRED -> ARMED, then the re-check that no message linked meanwhile is missed. */
static void arm(struct lc__mux_entry *e)
{
    lc__word fired = (lc__word)e | LC__SLOT_FIRED;
    lc__word armed = (lc__word)e | LC__SLOT_ARMED;
    unsigned round = 0;
    /* full: orders this store before check()'s loads, against the full load of a sender that
     * linked a message (waker.h). It fails only while the sender that fired the entry is still
     * inside its wake. */
    while (!lc__cas_full(&e->chan->waker, fired, armed))
        lc__backoff(&round);
    check(e);
}

static void list_insert(struct lc_mux *m, struct lc__mux_entry *e)
{
    e->prev = NULL;
    e->next = m->all;
    if (m->all)
        m->all->prev = e;
    m->all = e;
    m->count++;
}

static void list_unlink(struct lc_mux *m, struct lc__mux_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        m->all = e->next;
    if (e->next)
        e->next->prev = e->prev;
    m->count--;
}

/* Owner: empties e's slot (waiting for a sender inside its wake) and returns what it held. */
static lc__word take_slot(struct lc__mux_entry *e)
{
    volatile lc__word *slot = &e->chan->waker;
    for (;;) {
        lc__word v = lc__waker_settled(slot);
        /* acquire: a sender that fired e before is done with it. */
        if (lc__cas_acquire(slot, v, 0))
            return v;
    }
}

/* Owner: unregisters e; frees it now, or marks it for whichever list holds it. */
static void detach(struct lc_mux *m, struct lc__mux_entry *e)
{
    lc__word v = take_slot(e);
    list_unlink(m, e);
    if ((v & LC__SLOT_TAGS) == LC__SLOT_FIRED)
        e->chan = NULL;
    else
        free_entry(m, e);
}

void lc__mux_detach_rx(struct lc_chan *c)
{
    lc__word v = lc__waker_settled(&c->waker);
    if (lc__slot_is_mux(v)) {
        struct lc__mux_entry *e = lc__slot_entry(v);
        detach(owner(e), e);
    }
}

void lc__mux_recheck_rx(struct lc_chan *c)
{
    lc__word v = lc__waker_settled(&c->waker);
    if ((v & LC__SLOT_TAGS) == LC__SLOT_ARMED)
        check(lc__slot_entry(v)); /* FIRED: the next lc_mux_wait re-checks it anyway */
}

/* ---- public API ---- */

int lc_mux_new(const lc_allocator *allocator, lc_mux **mux)
{
    if (mux == NULL || !lc__allocator_ok(allocator))
        return LC_INVALID;
    struct lc_mux *m = lc__mem_alloc(allocator, sizeof *m);
    if (m == NULL)
        return LC_NOMEM;
    lc__queue_init(&m->ready);
    m->waker = 0;
    m->reported = NULL;
    m->all = NULL;
    m->count = 0;
    m->allocator = allocator;
    m->fd = -1;
    m->fd_waker.wake = NULL;
    m->fd_waker.ctx = m;
    *mux = m;
    return LC_OK;
}

int lc_mux_add(lc_mux *mux, lc_rx *rx, void *user_data)
{
    if (mux == NULL || rx == NULL)
        return LC_INVALID;
    struct lc_chan *c = lc__chan_rx(rx);
    if (lc__slot_is_mux(lc__waker_settled(&c->waker)))
        return LC_INVALID;
    struct lc__mux_entry *e = lc__mem_alloc(mux->allocator, sizeof *e);
    if (e == NULL)
        return LC_NOMEM;
    e->owner = (uintptr_t)mux;
    e->chan = c;
    e->user_data = user_data;
    list_insert(mux, e);
    lc__waker_clear(&c->waker); /* forget a waker of lc_poll_recv */
    lc__rx_note_waker(c);
    /* full: as in arm(). It cannot fail: senders change only a slot that holds a waker. */
    lc__cas_full(&c->waker, 0, (lc__word)e | LC__SLOT_ARMED);
    check(e);
    return LC_OK;
}

int lc_mux_remove(lc_mux *mux, lc_rx *rx)
{
    if (mux == NULL || rx == NULL)
        return LC_INVALID;
    lc__word v = lc__waker_settled(&lc__chan_rx(rx)->waker);
    if (!lc__slot_is_mux(v) || owner(lc__slot_entry(v)) != mux)
        return LC_INVALID;
    detach(mux, lc__slot_entry(v));
    return LC_OK;
}

size_t lc_mux_count(const lc_mux *mux) { return mux ? mux->count : 0; }

/* Pops ready entries into events, up to max; returns how many. */
static size_t collect(struct lc_mux *m, lc_mux_event *events, size_t max)
{
    size_t n = 0;
    lc_node *link;
    while (n < max && (link = lc__queue_pop(&m->ready)) != NULL) {
        struct lc__mux_entry *e = entry_of(link);
        if (e->chan == NULL) {
            free_entry(m, e); /* removed while it waited here */
            continue;
        }
        e->link.lc_private = (uintptr_t)m->reported; /* re-armed by the next lc_mux_wait */
        m->reported = e;
        if (at_end(e->chan)) {
            if (e->owner & EOS_SEEN)
                continue; /* a late wake (a close, then the last sender): reported already */
            e->owner |= EOS_SEEN;
        }
        events[n].rx = (lc_rx *)(void *)e->chan;
        events[n].user_data = e->user_data;
        n++;
    }
    return n;
}

static void rearm_reported(struct lc_mux *m)
{
    struct lc__mux_entry *e;
    while ((e = m->reported) != NULL) {
        m->reported = (struct lc__mux_entry *)e->link.lc_private;
        if (e->chan == NULL)
            free_entry(m, e); /* removed after it was reported */
        else
            arm(e);
    }
}

/* Parks until an entry is ready or the deadline; returns what collect() found. */
static size_t park(struct lc_mux *m, lc_mux_event *events, size_t max, uint64_t timeout_ns)
{
    uint64_t deadline = lc__deadline_after(timeout_ns);
    lc__parker parker;
    lc__parker_init(&parker);
    const lc_waker waker = {lc__parker_wake_fn, &parker};
    size_t n;
    for (;;) {
        unsigned seen = lc__parker_seq(&parker);
        lc__waker_register(&m->waker, &waker);
        n = collect(m, events, max);
        if (n > 0)
            break;
        if (!lc__parker_wait(&parker, seen, deadline)) {
            n = collect(m, events, max);
            break;
        }
    }
    lc__waker_clear(&m->waker); /* returns once no sender is calling it: parker is ours */
    lc__parker_destroy(&parker);
    return n;
}

#ifdef __linux__
/* read, write and close are cancellation points: each runs with cancellation off. */
static void drain_fd(struct lc_mux *m)
{
    uint64_t value;
    int cancel = lc__cancel_off();
    while (read(m->fd, &value, sizeof value) < 0 && errno == EINTR)
        continue; /* EAGAIN: it was not readable */
    lc__cancel_restore(cancel);
}

static void signal_fd(void *ctx)
{
    struct lc_mux *m = ctx;
    uint64_t one = 1;
    int cancel = lc__cancel_off();
    while (write(m->fd, &one, sizeof one) < 0 && errno == EINTR)
        continue; /* EAGAIN: the counter is saturated, so it is readable anyway */
    lc__cancel_restore(cancel);
}
#endif

/* With a descriptor: arms it, so that the next ready entry makes it readable. */
static size_t arm_fd(struct lc_mux *m, lc_mux_event *events, size_t max)
{
    lc__waker_register(&m->waker, &m->fd_waker);
    return collect(m, events, max); /* the re-check: an entry pushed before the registration */
}

int lc_mux_wait(lc_mux *mux, uint64_t timeout_ns, lc_mux_event *events, size_t max)
{
    if (mux == NULL || events == NULL || max == 0)
        return LC_INVALID;
    if (max > INT_MAX)
        max = INT_MAX;
    bool has_fd = mux->fd >= 0;
    if (has_fd) {
        lc__waker_clear(&mux->waker); /* our own re-arms need not signal the descriptor */
#ifdef __linux__
        drain_fd(mux);
#endif
    }
    rearm_reported(mux);
    size_t n = collect(mux, events, max);
    for (int i = 0; n == 0 && timeout_ns > 0 && i < LC__SPINS_BEFORE_PARK; i++) {
        lc__cpu_relax();
        n = collect(mux, events, max);
    }
    if (n == 0 && timeout_ns > 0)
        n = park(mux, events, max, timeout_ns);
    if (n == 0 && has_fd)
        n = arm_fd(mux, events, max);
    return n > 0 ? (int)n : LC_TIMEDOUT;
}

int lc_mux_fd(lc_mux *mux)
{
#ifdef __linux__
    if (mux == NULL)
        return LC_INVALID;
    if (mux->fd >= 0)
        return mux->fd;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
        return LC_NOMEM;
    mux->fd = fd;
    mux->fd_waker.wake = signal_fd;
    /* Armed from the start; readable now if something is ready already. */
    lc__waker_register(&mux->waker, &mux->fd_waker);
    if (lc__queue_peek(&mux->ready))
        signal_fd(mux);
    return fd;
#else
    (void)mux;
    return LC_INVALID;
#endif
}

void lc_mux_free(lc_mux *mux)
{
    if (mux == NULL)
        return;
    /* First empty every slot: then no sender can reach the mux, and no push is in flight. */
    for (struct lc__mux_entry *e = mux->all; e != NULL; e = e->next)
        (void)take_slot(e);
    /* Entries removed while FIRED (chan NULL) are in one of the two lists; the others are in
     * mux->all as well, and freed from there. */
    lc_node *link;
    while ((link = lc__queue_pop(&mux->ready)) != NULL)
        if (entry_of(link)->chan == NULL)
            free_entry(mux, entry_of(link));
    for (struct lc__mux_entry *e = mux->reported, *next; e != NULL; e = next) {
        next = (struct lc__mux_entry *)e->link.lc_private;
        if (e->chan == NULL)
            free_entry(mux, e);
    }
    for (struct lc__mux_entry *e = mux->all, *next; e != NULL; e = next) {
        next = e->next;
        free_entry(mux, e);
    }
#ifdef __linux__
    if (mux->fd >= 0) {
        int cancel = lc__cancel_off();
        close(mux->fd);
        lc__cancel_restore(cancel);
    }
#endif
    lc__mem_free(mux->allocator, mux, sizeof *mux);
}
