/*
 * Capacity: the count in the state word, and the FIFO list of senders waiting for room.
 *
 * A sender waiting for room puts a wait record (lc_send_wait: on a blocking sender's stack, or
 * owned by the caller of lc_poll_send) into a circular list whose newest element is in
 * chan->waiters, guarded by the lock bit of that same word (lock.h). It sets LC__S_WAITERS in
 * the same step as it sees the channel full (a CAS that expects count == capacity). While
 * LC__S_WAITERS is set, a freed slot is not given back to the count but handed to the oldest
 * waiter, whose count share it keeps: this is what makes waiters FIFO and keeps lc_try_send from
 * overtaking them. Because the receiver's decrement is a CAS that expects LC__S_WAITERS clear, a
 * slot freed while a sender is joining the list either makes that sender's CAS fail (it then
 * sees room) or goes to that sender.
 *
 * A record's state, in its STATE word:
 *
 *  | state      | meaning                                  | set by                          |
 *  |------------|------------------------------------------|---------------------------------|
 *  | IDLE       | in no list; the caller's                 | the caller                      |
 *  | WAITING    | in the list                              | the caller, under the lock      |
 *  | GRANTING   | removed, a slot is its; waker being called| the granter, under the lock    |
 *  | CLOSING    | removed, channel closed; waker being called| the closer, under the lock    |
 *  | GRANTED    | done: a slot is its                      | the granter, after the call     |
 *  | CLOSED     | done: the channel was closed             | the closer, after the call      |
 *
 * Wakers are called outside the lock, so a wake function may take as long as it likes without
 * holding up other senders; the owner of a record in GRANTING or CLOSING waits for the final
 * state before it reuses the record, because the granter still reads it.
 */
#include "chan.h"
#include "lock.h"
#include "parker.h"
#include "waker.h"

enum { IDLE, WAITING, GRANTING, CLOSING, GRANTED, CLOSED };

/* The words of a record: the list links, the waker, the state. */
typedef lc_send_wait wait_rec;
enum { NEXT, PREV, WAKER, STATE };

static wait_rec *next_of(const wait_rec *w) { return (wait_rec *)w->lc_private[NEXT]; }
static wait_rec *prev_of(const wait_rec *w) { return (wait_rec *)w->lc_private[PREV]; }
static void set_next(wait_rec *w, wait_rec *n) { w->lc_private[NEXT] = (uintptr_t)n; }
static void set_prev(wait_rec *w, wait_rec *p) { w->lc_private[PREV] = (uintptr_t)p; }
static const lc_waker *waker_of(const wait_rec *w)
{
    return (const lc_waker *)w->lc_private[WAKER];
}
static void set_waker(wait_rec *w, const lc_waker *k) { w->lc_private[WAKER] = (uintptr_t)k; }

static unsigned load_state(wait_rec *w)
{
    /* acquire: pairs with notify's release store, so the notifier is done with the record. */
    return (unsigned)lc__load_acquire(&w->lc_private[STATE]);
}

static void set_state(wait_rec *w, unsigned state)
{
    /* release: for GRANTED and CLOSED, the notifier's last use of the record happens before
     * the owner sees the final state. */
    lc__store_release(&w->lc_private[STATE], state);
}

/* The owner: the state once no notifier is using the record (never GRANTING or CLOSING). */
static unsigned settled_state(wait_rec *w)
{
    unsigned round = 0;
    unsigned state;
    while ((state = load_state(w)) == GRANTING || state == CLOSING)
        lc__backoff(&round);
    return state;
}

static wait_rec *lock_list(struct lc_chan *c) { return lc__ptrlock_acquire(&c->waiters); }

static void unlock_list(struct lc_chan *c, wait_rec *newest)
{
    lc__ptrlock_release(&c->waiters, newest);
}

static wait_rec *list_append(wait_rec *newest, wait_rec *w)
{
    if (newest == NULL) {
        set_next(w, w);
        set_prev(w, w);
    } else {
        set_next(w, next_of(newest));
        set_prev(w, newest);
        set_prev(next_of(newest), w);
        set_next(newest, w);
    }
    return w;
}

/* Returns the new newest element (NULL when w was the last). */
static wait_rec *list_remove(wait_rec *newest, wait_rec *w)
{
    if (next_of(w) == w)
        return NULL;
    set_next(prev_of(w), next_of(w));
    set_prev(next_of(w), prev_of(w));
    return newest == w ? prev_of(w) : newest;
}

/* Under the lock, once the list is empty: clears LC__S_WAITERS. */
static void clear_waiters_flag(struct lc_chan *c)
{
    lc__word s = lc__load_relaxed(&c->state);
    /* full: like every state change, so that all threads see them in one order. */
    while ((s & LC__S_WAITERS) && !lc__cas_full(&c->state, s, s & ~LC__S_WAITERS))
        s = lc__load_relaxed(&c->state);
}

/* Outside the lock, for a record removed in GRANTING or CLOSING: calls its waker, then tells
 * the owner the outcome. The record is the owner's again after the store. */
static void notify(wait_rec *w, const lc_waker *waker, unsigned outcome)
{
    waker->wake(waker->ctx);
    set_state(w, outcome);
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

/* Takes a slot (LC_OK), fails (LC_CLOSED), or puts idle record w in the list (LC_PENDING). */
static int reserve_or_join(struct lc_chan *c, wait_rec *w, const lc_waker *waker)
{
    wait_rec *newest = lock_list(c);
    lc__word s = lc__load_relaxed(&c->state);
    int rc;
    for (;;) {
        if (s & LC__S_CLOSED) {
            rc = LC_CLOSED;
            break;
        }
        if (lc__count(s) < c->capacity && !(s & LC__S_WAITERS)) {
            if (lc__cas_full(&c->state, s, s + 1)) {
                rc = LC_OK;
                break;
            }
        } else if (lc__cas_full(&c->state, s, s | LC__S_WAITERS)) {
            set_waker(w, waker);
            set_state(w, WAITING);
            newest = list_append(newest, w);
            rc = LC_PENDING;
            break;
        }
        s = lc__load_relaxed(&c->state);
    }
    unlock_list(c, newest);
    return rc;
}

/* Takes w out of the list if it is still waiting. Returns its settled state, IDLE if it was
 * taken out; w is idle when this returns. */
static unsigned withdraw(struct lc_chan *c, wait_rec *w)
{
    wait_rec *newest = lock_list(c);
    unsigned state = load_state(w);
    if (state == WAITING) {
        newest = list_remove(newest, w);
        if (newest == NULL)
            clear_waiters_flag(c);
        state = IDLE;
    }
    unlock_list(c, newest);
    state = state == IDLE ? IDLE : settled_state(w);
    set_state(w, IDLE);
    return state;
}

int lc__room_wait(struct lc_chan *c, uint64_t timeout_ns)
{
    int rc = lc__room_reserve(c);
    if (rc != LC_FULL)
        return rc;
    uint64_t deadline_ns = lc__deadline_after(timeout_ns); /* read the clock only when full */

    wait_rec w = {0};
    lc__parker parker;
    lc__parker_init(&parker);
    const lc_waker waker = {lc__parker_wake_fn, &parker};

    unsigned seen = lc__parker_seq(&parker);
    rc = reserve_or_join(c, &w, &waker);
    while (rc == LC_PENDING) {
        unsigned state = load_state(&w);
        if (state == WAITING) {
            if (lc__parker_wait(&parker, seen, deadline_ns)) {
                seen = lc__parker_seq(&parker);
                continue;
            }
            state = withdraw(c, &w); /* timed out, unless granted or closed meanwhile */
        } else {
            state = settled_state(&w);
        }
        rc = state == GRANTED ? LC_OK : state == CLOSED ? LC_CLOSED : LC_TIMEDOUT;
    }
    lc__parker_destroy(&parker);
    return rc;
}

int lc__room_poll(struct lc_chan *c, lc_send_wait *w, const lc_waker *waker)
{
    unsigned state = settled_state(w);
    if (state == WAITING) {
        wait_rec *newest = lock_list(c);
        state = load_state(w);
        if (state == WAITING)
            set_waker(w, waker); /* the granter reads it under the lock */
        unlock_list(c, newest);
        if (state == WAITING)
            return LC_PENDING;
        state = settled_state(w);
    }
    if (state == GRANTED || state == CLOSED) {
        set_state(w, IDLE);
        return state == GRANTED ? LC_OK : LC_CLOSED;
    }
    int rc = lc__room_reserve(c);
    return rc == LC_FULL ? reserve_or_join(c, w, waker) : rc;
}

void lc__room_cancel(struct lc_chan *c, lc_send_wait *w)
{
    if (withdraw(c, w) == GRANTED)
        lc__room_give_back(c); /* pass the slot on: the next waiter needed this wake-up */
}

/* Hands a slot to the oldest waiter. false if the list turned out to be empty. */
static bool grant_oldest(struct lc_chan *c)
{
    wait_rec *newest = lock_list(c);
    wait_rec *oldest = newest ? next_of(newest) : NULL;
    const lc_waker *waker = NULL;
    if (oldest != NULL) {
        newest = list_remove(newest, oldest);
        if (newest == NULL)
            clear_waiters_flag(c);
        waker = waker_of(oldest);
        set_state(oldest, GRANTING);
    }
    unlock_list(c, newest);
    if (oldest != NULL)
        notify(oldest, waker, GRANTED);
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

void lc__room_give_back(struct lc_chan *c)
{
    lc__room_release(c);
    /* A closed channel whose count this made 0 is at its end of stream, and no message will
     * come to wake the receiver: wake it as the last lc_tx_drop would. The release's full CAS
     * is ordered before the waker slot's full load (waker.h). */
    if (lc__load_relaxed(&c->state) & LC__S_CLOSED)
        lc__waker_wake(&c->waker);
}

void lc__room_release_many(struct lc_chan *c, lc__word n)
{
    lc__word s = lc__load_relaxed(&c->state);
    while (n > 0) {
        if (s & LC__S_WAITERS) {
            lc__room_release(c);
            n--;
        } else if (lc__cas_full(&c->state, s, s - n)) {
            return;
        }
        s = lc__load_relaxed(&c->state);
    }
}

void lc__room_close_waiters(struct lc_chan *c)
{
    /* Take every waiter out under the lock, chained through NEXT; notify them after. */
    wait_rec *newest = lock_list(c);
    wait_rec *chain = NULL;
    while (newest != NULL) {
        wait_rec *oldest = next_of(newest);
        newest = list_remove(newest, oldest);
        set_state(oldest, CLOSING);
        set_next(oldest, chain);
        chain = oldest;
    }
    clear_waiters_flag(c);
    unlock_list(c, NULL);
    while (chain != NULL) {
        wait_rec *w = chain;
        chain = next_of(w); /* read before notify: then the record is no longer ours */
        notify(w, waker_of(w), CLOSED);
    }
}
