/*
 * Capacity: the count in the state word, and the FIFO list of senders waiting for room.
 *
 * A sender waiting for room puts a wait record, on its own stack, into a circular list guarded
 * by the channel lock, and sets LC__S_WAITERS in the same step as it sees the channel full (a
 * CAS that expects count == capacity). While LC__S_WAITERS is set, a freed slot is not given
 * back to the count but handed to the oldest waiter, whose count share it keeps: this is what
 * makes waiters FIFO and prevents try_send from overtaking them. Because the receiver's
 * decrement is a CAS that expects LC__S_WAITERS clear, a slot freed while a sender is joining
 * the list either makes that sender's CAS fail (it then sees room) or goes to that sender.
 */
#include "chan.h"
#include "lock.h"
#include "parker.h"

enum { WAITING, GRANTED, CLOSED };

struct lc__wait {
    struct lc__wait *next, *prev; /* circular; chan->waiters is the newest, its next the oldest */
    lc__parker parker;
    volatile unsigned status; /* WAITING until the granter or the closer changes it */
};

static void list_append(struct lc_chan *c, struct lc__wait *w)
{
    struct lc__wait *newest = c->waiters;
    if (newest == NULL) {
        w->next = w->prev = w;
    } else {
        w->next = newest->next;
        w->prev = newest;
        newest->next->prev = w;
        newest->next = w;
    }
    c->waiters = w;
}

static void list_remove(struct lc_chan *c, struct lc__wait *w)
{
    if (w->next == w) {
        c->waiters = NULL;
        return;
    }
    w->prev->next = w->next;
    w->next->prev = w->prev;
    if (c->waiters == w)
        c->waiters = w->prev;
}

/* Under the lock: clears LC__S_WAITERS once the list is empty. */
static void clear_waiters_flag_if_empty(struct lc_chan *c)
{
    if (c->waiters != NULL)
        return;
    lc__word s = lc__load_relaxed(&c->state);
    /* full: another bit of the word may change meanwhile (count, senders); the flag change is
     * ordered with them like every other state change. */
    while (!lc__cas_full(&c->state, s, s & ~LC__S_WAITERS))
        s = lc__load_relaxed(&c->state);
}

/* Under the lock: tells w its outcome and wakes it. The waiter does not return before taking
 * the lock once more, so w stays valid until the lock is released. */
static void finish_waiter(struct lc__wait *w, unsigned status)
{
    /* release: pairs with the waiter's acquire load of status. */
    lc__store_u32_release(&w->status, status);
    lc__parker_wake(&w->parker);
}

int lc__room_reserve(struct lc_chan *c)
{
    lc__word s = lc__load_relaxed(&c->state);
    for (;;) {
        if (s & LC__S_CLOSED)
            return LC_CLOSED;
        if (lc__count(s) >= c->capacity || (s & LC__S_WAITERS))
            return LC_FULL;
        /* full: the count is what tells the receiver that a message is on its way; every state
         * change is a full CAS so all threads see them in one order. */
        if (lc__cas_full(&c->state, s, s + 1))
            return LC_OK;
        s = lc__load_relaxed(&c->state);
    }
}

/* Under the lock: takes a slot, or joins the list. LC_OK, LC_CLOSED, or LC_PENDING (joined). */
static int reserve_or_join(struct lc_chan *c, struct lc__wait *w)
{
    lc__word s = lc__load_relaxed(&c->state);
    for (;;) {
        if (s & LC__S_CLOSED)
            return LC_CLOSED;
        if (lc__count(s) < c->capacity && !(s & LC__S_WAITERS)) {
            if (lc__cas_full(&c->state, s, s + 1))
                return LC_OK;
        } else if (lc__cas_full(&c->state, s, s | LC__S_WAITERS)) {
            list_append(c, w);
            return LC_PENDING;
        }
        s = lc__load_relaxed(&c->state);
    }
}

int lc__room_wait(struct lc_chan *c, uint64_t deadline_ns)
{
    int rc = lc__room_reserve(c);
    if (rc != LC_FULL)
        return rc;

    struct lc__wait w;
    w.status = WAITING;
    lc__parker_init(&w.parker);

    lc__lock(&c->lock);
    rc = reserve_or_join(c, &w);
    lc__unlock(&c->lock);

    unsigned status = WAITING;
    while (rc == LC_PENDING) {
        unsigned seen = lc__parker_seq(&w.parker);
        /* acquire: pairs with finish_waiter's release store. */
        status = lc__load_u32_acquire(&w.status);
        if (status != WAITING)
            break;
        if (!lc__parker_wait(&w.parker, seen, deadline_ns)) {
            lc__lock(&c->lock);
            status = lc__load_u32_acquire(&w.status);
            if (status == WAITING) {
                list_remove(c, &w);
                clear_waiters_flag_if_empty(c);
                rc = LC_TIMEDOUT;
            }
            lc__unlock(&c->lock);
            if (status == GRANTED) {
                /* Granted just as it gave up: pass the slot on, or no one would use it. */
                lc__room_release(c);
                rc = LC_TIMEDOUT;
            }
            break;
        }
    }
    if (rc == LC_PENDING) {
        /* Woken: the granter or closer may still be inside finish_waiter, which runs under the
         * lock. Taking the lock once waits for it to leave our record. */
        lc__lock(&c->lock);
        lc__unlock(&c->lock);
        rc = status == GRANTED ? LC_OK : LC_CLOSED;
    }
    lc__parker_destroy(&w.parker);
    return rc;
}

/* Hands a slot to the oldest waiter. false if the list turned out empty. */
static bool grant_oldest(struct lc_chan *c)
{
    lc__lock(&c->lock);
    struct lc__wait *oldest = c->waiters ? c->waiters->next : NULL;
    if (oldest != NULL) {
        list_remove(c, oldest);
        clear_waiters_flag_if_empty(c);
        finish_waiter(oldest, GRANTED);
    }
    lc__unlock(&c->lock);
    return oldest != NULL;
}

void lc__room_release(struct lc_chan *c)
{
    lc__word s = lc__load_relaxed(&c->state);
    for (;;) {
        if (s & LC__S_WAITERS) {
            if (grant_oldest(c))
                return;
        } else if (lc__cas_full(&c->state, s, s - 1)) {
            return;
        }
        s = lc__load_relaxed(&c->state);
    }
}

void lc__room_close_waiters(struct lc_chan *c)
{
    lc__lock(&c->lock);
    while (c->waiters != NULL) {
        struct lc__wait *oldest = c->waiters->next;
        list_remove(c, oldest);
        finish_waiter(oldest, CLOSED);
    }
    clear_waiters_flag_if_empty(c);
    lc__unlock(&c->lock);
}
