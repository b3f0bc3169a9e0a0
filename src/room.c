/*
 * Capacity: the count in the state word, and the FIFO list of senders waiting for room.
 *
 * A sender waiting for room puts a wait record, on its own stack, into a circular list whose
 * newest element is in chan->waiters, guarded by the lock bit of that same word (lock.h). It
 * sets LC__S_WAITERS in the same step as it sees the channel full (a CAS that expects
 * count == capacity). While LC__S_WAITERS is set, a freed slot is not given back to the count
 * but handed to the oldest waiter, whose count share it keeps: this is what makes waiters FIFO
 * and keeps lc_try_send from overtaking them. Because the receiver's decrement is a CAS that
 * expects LC__S_WAITERS clear, a slot freed while a sender is joining the list either makes
 * that sender's CAS fail (it then sees room) or goes to that sender.
 */
#include "chan.h"
#include "lock.h"
#include "parker.h"

enum { WAITING, GRANTED, CLOSED };

struct lc__wait {
    struct lc__wait *next, *prev; /* circular: the newest's next is the oldest */
    lc__parker parker;
    volatile unsigned status; /* WAITING until the granter or the closer changes it */
};

static struct lc__wait *lock_list(struct lc_chan *c) { return lc__ptrlock_acquire(&c->waiters); }

static void unlock_list(struct lc_chan *c, struct lc__wait *newest)
{
    lc__ptrlock_release(&c->waiters, newest);
}

static struct lc__wait *list_append(struct lc__wait *newest, struct lc__wait *w)
{
    if (newest == NULL) {
        w->next = w->prev = w;
    } else {
        w->next = newest->next;
        w->prev = newest;
        newest->next->prev = w;
        newest->next = w;
    }
    return w;
}

/* Returns the new newest element (NULL when w was the last). */
static struct lc__wait *list_remove(struct lc__wait *newest, struct lc__wait *w)
{
    if (w->next == w)
        return NULL;
    w->prev->next = w->next;
    w->next->prev = w->prev;
    return newest == w ? w->prev : newest;
}

/* Under the lock, once the list is empty: clears LC__S_WAITERS. */
static void clear_waiters_flag(struct lc_chan *c)
{
    lc__word s = lc__load_relaxed(&c->state);
    /* full: like every state change, so that all threads see them in one order. */
    while ((s & LC__S_WAITERS) && !lc__cas_full(&c->state, s, s & ~LC__S_WAITERS))
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
         * change is a full CAS so that all threads see them in one order. */
        if (lc__cas_full(&c->state, s, s + 1))
            return LC_OK;
        s = lc__load_relaxed(&c->state);
    }
}

/* Under the lock: takes a slot (LC_OK), fails (LC_CLOSED), or joins the list (LC_PENDING). */
static int reserve_or_join(struct lc_chan *c, struct lc__wait **newest, struct lc__wait *w)
{
    lc__word s = lc__load_relaxed(&c->state);
    for (;;) {
        if (s & LC__S_CLOSED)
            return LC_CLOSED;
        if (lc__count(s) < c->capacity && !(s & LC__S_WAITERS)) {
            if (lc__cas_full(&c->state, s, s + 1))
                return LC_OK;
        } else if (lc__cas_full(&c->state, s, s | LC__S_WAITERS)) {
            *newest = list_append(*newest, w);
            return LC_PENDING;
        }
        s = lc__load_relaxed(&c->state);
    }
}

/* The wait ran out. Returns LC_TIMEDOUT, or LC_CLOSED if the closer got there first. */
static int give_up(struct lc_chan *c, struct lc__wait *w)
{
    struct lc__wait *newest = lock_list(c);
    /* acquire: pairs with finish_waiter's release store. */
    unsigned status = lc__load_u32_acquire(&w->status);
    if (status == WAITING) {
        newest = list_remove(newest, w);
        if (newest == NULL)
            clear_waiters_flag(c);
    }
    unlock_list(c, newest);
    if (status == GRANTED)
        lc__room_release(c); /* granted just as it gave up: pass the slot on */
    return status == CLOSED ? LC_CLOSED : LC_TIMEDOUT;
}

int lc__room_wait(struct lc_chan *c, uint64_t deadline_ns)
{
    int rc = lc__room_reserve(c);
    if (rc != LC_FULL)
        return rc;

    struct lc__wait w;
    w.status = WAITING;
    lc__parker_init(&w.parker);

    struct lc__wait *newest = lock_list(c);
    rc = reserve_or_join(c, &newest, &w);
    unlock_list(c, newest);

    while (rc == LC_PENDING) {
        unsigned seen = lc__parker_seq(&w.parker);
        /* acquire: pairs with finish_waiter's release store. */
        unsigned status = lc__load_u32_acquire(&w.status);
        if (status != WAITING) {
            /* The granter or closer may still be inside finish_waiter, under the lock: taking
             * the lock once waits for it to be done with our record. */
            unlock_list(c, lock_list(c));
            rc = status == GRANTED ? LC_OK : LC_CLOSED;
        } else if (!lc__parker_wait(&w.parker, seen, deadline_ns)) {
            rc = give_up(c, &w);
        }
    }
    lc__parker_destroy(&w.parker);
    return rc;
}

/* Hands a slot to the oldest waiter. false if the list turned out to be empty. */
static bool grant_oldest(struct lc_chan *c)
{
    struct lc__wait *newest = lock_list(c);
    struct lc__wait *oldest = newest ? newest->next : NULL;
    if (oldest != NULL) {
        newest = list_remove(newest, oldest);
        if (newest == NULL)
            clear_waiters_flag(c);
        finish_waiter(oldest, GRANTED);
    }
    unlock_list(c, newest);
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
    struct lc__wait *newest = lock_list(c);
    while (newest != NULL) {
        struct lc__wait *oldest = newest->next;
        newest = list_remove(newest, oldest);
        finish_waiter(oldest, CLOSED);
    }
    clear_waiters_flag(c);
    unlock_list(c, NULL);
}
