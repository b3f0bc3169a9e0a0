/*
 * A Promela model of lazychan's concurrency protocol, checked exhaustively with spin by
 * src/model.sh (the meson suite 'model').
 *
 * Two producers send NMSG numbered messages each with lc_send (with -DPOLL_SEND, producer 1
 * with lc_poll_send), then drop their handle (lc_tx_drop); one consumer receives with lc_recv
 * (with -DRECV_POLL: lc_poll_recv and an event loop) until LC_CLOSED, then calls lc_rx_drop.
 * The channel has capacity CAP. The shared words of the C code are the global variables:
 *
 *   state         struct lc_chan.state (chan.h): the count, the sender count and the flags
 *                 WAITERS, CLOSED, RX_GONE, EOS_WAKE and RX_WAKER in one word, changed as a
 *                 whole
 *   tail, next[]  the Vyukov queue (queue.h): node 1 is the embedded stub, nodes 2.. carry the
 *                 messages (producer p's k-th is NODE(p, k)), 0 is NULL, MARK the consumer's
 *                 mark (lc__queue_mark: the producer that links there wakes the receiver);
 *                 TAIL_CLOSED in tail is the bit of lc__queue_close (lc_rx_drop, destroy)
 *   head          the consumer end; only the thread that pops touches it
 *   slot          struct lc_chan.waker (waker.h): NULL, WAKING or the receiver's waker
 *   rx_seq        the futex word of the receiver's parker (parker.h), counted from the value
 *                 the receiver read last (`seen`): a wake adds 1, the receiver's read of the
 *                 word sets it to 0 again, and a wait returns once it is not 0. Only the
 *                 difference matters to the C code, so this relabelling loses nothing and
 *                 keeps runs that differ only in the number of past wakes in one state. With
 *                 -DRECV_POLL: the event counter that the event loop's waker bumps
 *   wlock, wl[]   the lock bit of struct lc_chan.waiters and the FIFO list it guards (room.c)
 *   wstate[p]     the STATE word of producer p's wait record (room.c), on p's stack
 *   wseq[p]       the futex word of producer p's parker, counted from `seen` as rx_seq; with
 *                 -DPOLL_SEND, producer 1's event counter, which its waker bumps
 *
 * Each inline follows the C function named in its comment. One atomic step is one access to a
 * shared word, with these exact reductions (no behaviour is lost by them):
 *   - a compare-and-swap loop whose body reads no other shared word is one step: it takes
 *     effect at its successful CAS, or, when it gives up, at the load it decided on (the
 *     failed rounds change nothing). So are the full load and the CAS of lc__waker_wake,
 *     whose CAS succeeds exactly when the slot still holds what was loaded;
 *   - a critical section of the wait-list lock is folded around its accesses to words the lock
 *     does not guard: taking the lock joins the first such access, releasing it the last
 *     (Lipton's reduction: the list itself is only touched by the lock holder);
 *   - writes to words nobody else can read yet (a wait record before it joins the list, a
 *     parker before its waker is published, the stub's link while the stub is out of the
 *     queue) join the next step, and bookkeeping for the assertions joins the step it
 *     describes.
 * Waits for another thread (the lock, a slot in WAKING, a record in GRANTING or CLOSING, a
 * parker) are blocking guards, not loops, so a thread that would wait forever is a stuck
 * process at the end. A parker wait returns once its word differs from the value read before
 * the waker was published, which is what the futex (or mutex and condition variable) gives;
 * with -DSPURIOUS it may also return without a wake, with -DTIMEOUT time out. lc_rx_drop's
 * bounded wait for a push in flight is a guard that it may abandon at any time.
 *
 * Memory model: sequential consistency. The model checks the protocol's logic, the order of
 * its steps; whether the C code's memory orders (the full CAS and full loads of waker.h and
 * room.c, the release/acquire pairs of queue.h) give that order on real hardware is for the
 * comments in atomic.h, queue.h and waker.h, ThreadSanitizer and the stress tests to cover.
 *
 * Not modelled: lc_mux (lc_mux_add sets RX_WAKER before it arms the slot, and its arming
 * marks the queue, as lc_poll_recv does before and after it registers), lc_try_recv_many,
 * lc_try_send (a failed reservation changes nothing), intrusive mode, lc_tx_clone (the channel
 * starts with NPROD sender references), payloads (a node's number stands for its payload), and
 * the identity of wakers: the receiver has one waker value, so a mark made for one waker and
 * used for the next is covered by the order of steps here, and by the slot's read-modify-writes
 * on real hardware (see lc__queue_mark).
 *
 * Checked (assertions, and spin's end-state and cycle checks, see src/model.sh):
 *   - every process reaches its end: nobody parks or waits forever, so no wake-up is lost;
 *     and the state graph has no cycle (pan -l with no progress labels), so every run ends;
 *   - every accepted message is received exactly once (or, after lc_rx_drop, dropped exactly
 *     once), in order per producer; the stub is never handed out; a message whose send
 *     returned LC_CLOSED or LC_NOMEM was not accepted, and its slot was given back;
 *   - the count never exceeds CAP; slots held by senders and by queued messages never exceed
 *     the count; WAITERS is set only while the count is CAP;
 *   - LC_CLOSED comes only after every accepted message, no slot is taken after it, and it
 *     stays;
 *   - once a close has returned, no send gets a slot: a sender waiting for room then returns
 *     LC_CLOSED, unless its grant was decided before the close (see grant_oldest);
 *   - nothing outlives the receiver: once lc_rx_drop has returned, no send whose swap of tail
 *     came after lc_rx_drop's close of the tail returns LC_OK (such a send returns LC_CLOSED,
 *     gives its slot back and keeps its message); what lc_rx_drop left in flight was in flight
 *     before the close, and the last sender's destroy drops it, finding no push in flight;
 *   - nothing touches the channel after it is freed, a node after it was received or dropped,
 *     a waker, parker or wait record after its owner returned; the channel is freed once.
 *
 * Switches (spin -D...):
 *   CAP=n       capacity (default 1)
 *   NMSG=n      messages per producer (default 2)
 *   RECV_POLL   the consumer uses lc_poll_recv and an event loop instead of lc_recv
 *   RX_CLOSE    the consumer may call lc_rx_close once, between any two receives
 *   RX_DROP     the consumer may stop and call lc_rx_drop at any point before the end of stream,
 *               with senders holding slots: the configuration in which a push can find the tail
 *               closed (every configuration ends with lc_rx_drop, the others only once no send
 *               holds a slot)
 *   NOMEM       each producer's node allocation may fail once (fill_slot gives the slot back
 *               with lc__room_give_back); the producer then sends the same message again
 *   TIMEOUT     each thread's parker wait may time out once (lc_send_timeout and
 *               lc_recv_timeout); the thread then tries again
 *   SPURIOUS    each thread's parker wait may return once without a wake (a signal interrupts
 *               the futex wait)
 *   POLL_SEND   producer 1 sends with lc_poll_send from an event loop (lc__room_poll), and
 *               may once give up a pending send with lc_send_cancel (lc__room_cancel) and
 *               send the message again
 *   KEEP_HANDLES the producers keep their handles until the consumer has stopped, and the
 *               consumer stops once it has every message: no end-of-stream wake-up can stand
 *               in for a message's missed one
 * Mutations, each of which the check must catch:
 *   BUG_NO_RECHECK        recv_park parks right after registering its waker, trusting the
 *                         check of recv_spin, without checking the queue again
 *   BUG_RELEASE_NO_GRANT  lc__room_release gives the slot back to the count even when a sender
 *                         waits for room
 *   BUG_WAKE_BEFORE_LINK  a sender wakes the receiver between the swap of tail and the link
 *                         store of lc__queue_push, inside the in-flight window
 *   BUG_EOS_NO_WAKE       the last lc_tx_drop does not wake the receiver
 *   BUG_NO_EOS_FLAG       the last lc_tx_drop does not set EOS_WAKE while it wakes the receiver
 *                         (one that set RX_WAKER)
 *   BUG_NO_NOTE_WAKER     recv_park and lc_poll_recv register their waker without setting
 *                         RX_WAKER first (lc__rx_note_waker), so the last lc_tx_drop does not
 *                         wake them
 *   BUG_DROP_NO_EOS_CHECK lc_rx_drop frees the channel at once when no sender is left, even
 *                         while the last one (EOS_WAKE) is still waking the receiver
 *   BUG_WAKE_NO_WAKING    lc__waker_wake empties the slot before calling the waker, instead of
 *                         holding it in WAKING during the call
 *   BUG_NOTIFY_STATE_FIRST notify (room.c) publishes GRANTED or CLOSED before calling the
 *                         waiting sender's waker
 *   BUG_CLOSE_NO_WAITERS  closing does not wake the senders waiting for room
 *   BUG_GIVEBACK_NO_WAKE  lc__room_give_back does not wake the receiver of a closed channel
 *   BUG_POP_NO_CAS        lc__queue_pop puts the stub in place of the last linked node with a
 *                         plain store of tail instead of the CAS, losing a push in flight after
 *                         that node
 *   BUG_EOS_IGNORES_COUNT pop reports LC_CLOSED for a closed channel whose count is not 0 (a
 *                         message still in flight)
 *   BUG_CANCEL_KEEPS_GRANT lc__room_cancel drops a slot granted to the cancelled wait instead of
 *                         passing it on
 *   BUG_NO_MARK           the receiver parks (or returns LC_PENDING) without marking the queue
 *   BUG_MARK_COMPLETE     lc__queue_mark marks the link of a last node that can be handed out
 *                         (tail is that node), instead of reporting it
 *   BUG_PUSH_STORE_LINK   lc__queue_push loads the link to see the mark, then links with a plain
 *                         store, instead of one CAS: a mark made in between is lost
 *   BUG_NO_TAIL_CLOSE     lc_rx_drop does not close the queue's tail: a send that took its slot
 *                         before the close pushes after it, and returns LC_OK after lc_rx_drop
 *                         (needs RX_DROP)
 *   BUG_CLOSED_PUSH_KEEPS_SLOT a push that finds the tail closed returns LC_CLOSED without
 *                         giving its slot back (lc__room_give_back) (needs RX_DROP)
 *   BUG_POP_CLOSED_NO_CHECK lc__queue_pop_closed hands out the last linked node without checking
 *                         that tail is that node and closed: a push in flight after it links a
 *                         node that was handed out (needs RX_DROP and CAP=2: at capacity 1 no
 *                         push can follow a queued node)
 *   (BUG_WAKE_BEFORE_LINK now looks at the mark, and wakes, inside the in-flight window.)
 */

#ifndef CAP
#define CAP 1
#endif
#ifndef NMSG
#define NMSG 2
#endif
#define NPROD 2

#define NIL 0
#define STUB 1
#define MARK 255 /* LC__LINK_MARK in a link: the consumer waits for the node linked there */
#define LINK(x) (next[x] == MARK -> NIL : next[x]) /* lc__link: a mark reads as NULL */
#define TAIL_CLOSED 128 /* LC__TAIL_CLOSED in tail: the queue is closed (lc__queue_close) */
#define NNODE (2 + NPROD * NMSG)
#define NODE(p, k) (2 + (p) * NMSG + (k))
#define NODE_PROD(nd) (((nd) - 2) / NMSG)
#define NODE_SEQ(nd) (((nd) - 2) % NMSG)

/* Results (the values need not match lazychan.h). */
#define LC_OK 0
#define LC_EMPTY 1
#define LC_FULL 2
#define LC_CLOSED 3
#define LC_TIMEDOUT 4
#define LC_NOMEM 5
#define LC_PENDING 6

/* The state word (LC__S_* in chan.h), narrowed: the count in bits 0-3, senders in bits 4-7. */
#define S_COUNT_MASK 15
#define S_SENDER_SHIFT 4
#define S_SENDER_ONE 16
#define S_WAITERS 256
#define S_CLOSED 512
#define S_RX_GONE 1024
#define S_EOS_WAKE 2048
#define S_RX_WAKER 4096
#define COUNT(x) ((x) & S_COUNT_MASK)
#define SENDERS(x) (((x) >> S_SENDER_SHIFT) & 15)

/* The waker slot. */
#define SLOT_NULL 0
#define WAKING 1
#define RX_WAKER 2

/* Wait record states (room.c); RETRY is the model's "continue" in lc__room_wait. */
#define IDLE 0
#define WAITING 1
#define GRANTING 2
#define CLOSING 3
#define GRANTED 4
#define CLOSED 5
#define RETRY 6

/* Who pops: the receiver (the message is received) or a drop (lc_rx_drop, destroy). */
#define TAKE 1
#define DROP 2

/* ---- shared words ---- */
short state = NPROD * S_SENDER_ONE; /* lc_channel, then one lc_tx_clone */
byte tail = STUB;
byte head = STUB;
byte next[NNODE];                   /* all NULL */
byte slot = SLOT_NULL;
byte rx_seq;
bit wlock;
byte wl[NPROD];                     /* oldest first */
byte wlen;
byte wstate[NPROD];
byte wseq[NPROD];

/* ---- bookkeeping for the assertions (not in the C state) ---- */
bit freed;          /* destroy freed the channel */
bit done[NNODE];    /* the node was received or dropped (and freed) */
bit rx_live;        /* the receiver's waker and parker exist */
bit wlive[NPROD];   /* producer p's wait record is published: in the list, or being notified */
bit eos_seen;       /* the consumer got LC_CLOSED */
bit closed_done;    /* a call of set_closed (lc_rx_close, lc_rx_drop) has returned */
bit rx_done;        /* the consumer stopped receiving */
bit rx_closing;     /* lc_rx_drop has closed the queue's tail (or, with BUG_NO_TAIL_CLOSE, has
                       passed the point where it would have) */
bit rx_dropped;     /* lc_rx_drop has returned */
byte held;          /* slots held: taken by a sender and not yet received, dropped or given back */
byte taken[NPROD];  /* messages accepted from producer p */
byte got[NPROD];    /* messages of producer p received */
byte dropped[NPROD];
#ifdef NOMEM
byte nomem_left[NPROD] = 1;
#endif
#ifdef TIMEOUT
byte timeouts_left[NPROD + 1] = 1; /* [NPROD] is the consumer */
#endif
#ifdef SPURIOUS
byte spurious_left[NPROD + 1] = 1;
#endif
#ifdef POLL_SEND
byte cancels_left = 1;
#define POLLER(q) ((q) == 1) /* producer 1 sends with lc_poll_send */
#else
#define POLLER(q) 0
#endif

/* Every thread's locals; the inlines use these names. */
#define LOCALS                                                                                   \
    short s, sn;                                                                                 \
    byte n, h, hn, ph, prev, w, st, rc, k, nch;                                                 \
    byte chain[NPROD];                                                                           \
    bool ok, mk

/* The channel struct is still allocated. */
#define LIVE assert(!freed)
/* Capacity, checked after every change of the count or of held. */
#define INV                                                                                      \
    assert(COUNT(state) <= CAP && held <= COUNT(state) &&                                        \
           (!(state & S_WAITERS) || COUNT(state) == CAP))
/* Sender q owns a slot now (a reservation, or a grant): never after the end of stream. */
#define GOT_SLOT(q)                                                                              \
    assert(!eos_seen);                                                                           \
    taken[q]++;                                                                                  \
    held++;                                                                                      \
    INV
/* Node n leaves the queue: to the receiver (TAKE) or to cfg->drop (DROP). */
#define HANDED_OUT(mode)                                                                         \
    assert(n != STUB && n != NIL && !done[n]);                                                   \
    assert(NODE_SEQ(n) == got[NODE_PROD(n)] + dropped[NODE_PROD(n)]); /* FIFO per producer */    \
    done[n] = 1;                                                                                 \
    held--;                                                                                      \
    if                                                                                           \
    :: mode == TAKE -> assert(!eos_seen); got[NODE_PROD(n)]++                                    \
    :: else -> dropped[NODE_PROD(n)]++                                                           \
    fi

/* ================= queue.h ================= */

/* lc__queue_push(q, nd) by a producer: the swap of tail (a CAS loop that gives up on a closed
 * tail: one step) with the store of nd's NULL link before it (nd is not reachable yet); then,
 * after the in-flight window, the link CAS that makes nd reachable from the previous node (the
 * stub only while the consumer end is at it: lc__queue_pop's store to the stub's link cannot
 * race with this one). rc: LC_CLOSED if the tail was closed (LC__PUSH_CLOSED: nothing linked),
 * else left at LC_OK; mk: the link held the consumer's mark, and the caller wakes the receiver
 * (enqueue). late: the swap came after lc_rx_drop's close. */
inline queue_push(nd)
{
    atomic {
        LIVE;
        if
        :: (tail & TAIL_CLOSED) -> rc = LC_CLOSED
        :: else -> next[nd] = NIL; prev = tail; tail = nd; late = rx_closing
        fi
    }
    if
    :: rc == LC_CLOSED
    :: queue_link(nd) /* its first step is guarded by rc != LC_CLOSED */
    fi
}

/* The link step: after it the send returns LC_OK, whatever the wake that may follow does. So
 * this is where nothing outlives the receiver is checked: if lc_rx_drop has returned, the swap
 * came before its close. (lc_rx_drop may give up its wait at any time, so for a push that
 * swapped after the close it may also return just before this step: no such send is missed.) */
#define LINKED(nd)                                                                               \
    assert(prev == STUB && head == STUB || prev != STUB && !done[prev]);                         \
    assert(!late || !rx_dropped);                                                                \
    next[prev] = nd; prev = 0; late = 0

/* The second step of lc__queue_push: the link of prev to nd. */
inline queue_link(nd)
{
#if defined(BUG_WAKE_BEFORE_LINK)
    /* the mark looked at, and the receiver woken, before the link */
    atomic { rc != LC_CLOSED -> LIVE; mk = (next[prev] == MARK) }
    if
    :: mk -> waker_wake()
    :: else -> skip
    fi;
    atomic { LIVE; LINKED(nd); mk = false }
#elif defined(BUG_PUSH_STORE_LINK)
    /* a load of the link, then a plain store: a mark made in between is overwritten */
    atomic { rc != LC_CLOSED -> LIVE; mk = (next[prev] == MARK) }
    atomic { LIVE; LINKED(nd) }
#else
    atomic {
        rc != LC_CLOSED -> LIVE; assert(next[prev] == NIL || next[prev] == MARK);
        mk = (next[prev] == MARK); LINKED(nd)
    }
#endif
}

/* lc__queue_pop(q): n is the node handed out, or NIL. ph is the phase: 1 after skipping the
 * stub, 2 when head is the last linked node, 3 once the CAS of tail failed; 0 when done. */
inline queue_pop(mode)
{
    atomic {
        LIVE; h = head; assert(h == STUB || !done[h]); hn = LINK(h); n = NIL;
        if
        :: h == STUB && hn == NIL -> ph = 0
        :: h == STUB && hn != NIL -> head = hn; h = hn; ph = 1 /* skip the stub */
        :: h != STUB && hn != NIL -> head = hn; n = h; HANDED_OUT(mode); ph = 0
        :: h != STUB && hn == NIL -> ph = 2
        fi
    }
    if
    :: ph == 1 ->
       atomic {
           hn = LINK(h);
           if
           :: hn != NIL -> head = hn; n = h; HANDED_OUT(mode); ph = 0
           :: else -> ph = 2
           fi
       }
    :: else -> skip
    fi;
    if
    :: ph == 2 ->
       /* hand head out only with the stub standing in for it at the producer end: the store of
        * the stub's NULL link (the stub is out of the queue), then the CAS of tail from head to
        * the stub, and q->head = stub if it succeeds */
       atomic {
           LIVE;
           assert(tail != STUB); /* so no producer can reach the stub's link */
           next[STUB] = NIL;
           if
           :: tail == h -> tail = STUB; head = STUB; n = h; HANDED_OUT(mode); ph = 0
#ifndef BUG_POP_NO_CAS
           :: else -> ph = 3 /* a producer swapped in after head */
#else
           :: else -> tail = STUB; head = STUB; n = h; HANDED_OUT(mode); ph = 0
#endif
           fi
       }
    :: else -> skip
    fi;
    if
    :: ph == 3 ->
       atomic {
           hn = LINK(h);
           if
           :: hn == NIL -> skip /* in flight */
           :: else -> head = hn; n = h; HANDED_OUT(mode)
           fi;
           ph = 0
       }
    :: else -> skip
    fi;
    h = 0;
    hn = 0
}

/* The last step of lc__queue_pop_closed, with h the consumer end (the stub only when nothing
 * is linked after it) and hn its link just read: hands out h if it is linked to a node, or if
 * it is the last node (tail is h and closed: no push can come), with the stub put back at both
 * ends; else nothing (empty, or a push that swapped before the close is in flight). Nobody
 * else writes tail after the close, so its read joins the link's step (with BUG_NO_TAIL_CLOSE
 * pushes still swap it, but it never equals a node with the bit, whenever it is read). */
#ifndef BUG_POP_CLOSED_NO_CHECK
#define POP_CLOSED_IS_LAST (tail == (h | TAIL_CLOSED))
#else
#define POP_CLOSED_IS_LAST true /* hands out the last linked node, in flight after it or not */
#endif
#define POP_CLOSED_LAST(mode)                                                                    \
    if                                                                                           \
    :: h == STUB -> skip /* empty, or in flight */                                               \
    :: h != STUB && hn != NIL -> head = hn; n = h; HANDED_OUT(mode)                              \
    :: h != STUB && hn == NIL && POP_CLOSED_IS_LAST ->                                           \
       next[STUB] = NIL; head = STUB; tail = STUB | TAIL_CLOSED; n = h; HANDED_OUT(mode)         \
    :: else -> skip /* in flight */                                                              \
    fi;                                                                                          \
    ok = (n == NIL && tail != (head | TAIL_CLOSED));                                             \
    ph = 0

/* lc__queue_pop_closed(q), after lc__queue_close: n is the node handed out, or NIL. When it is
 * NIL, ok is what lc__queue_closed_pending answers after it: true while a push that swapped
 * before the close has not linked its node (which is then the answer at any later time too:
 * tail stays, and a link after head means tail is not head). */
inline queue_pop_closed(mode)
{
    atomic {
        LIVE; h = head; assert(h == STUB || !done[h]); hn = LINK(h); n = NIL;
        if
        :: h == STUB && hn != NIL -> head = hn; h = hn; ph = 1 /* skip the stub */
        :: else -> POP_CLOSED_LAST(mode)
        fi
    }
    if
    :: ph == 1 -> atomic { hn = LINK(h); POP_CLOSED_LAST(mode) }
    :: else -> skip
    fi;
    h = 0;
    hn = 0
}

/* lc__queue_close(q): sets the closed bit of tail (a CAS loop, one step). */
#define QUEUE_CLOSE                                                                              \
    LIVE;                                                                                        \
    tail = tail | TAIL_CLOSED

/* lc__queue_mark(q) (lc__queue_last, then the CAS): ok is true if the link the next push sets
 * holds the mark now (nothing to pop), false if there is a node to pop. Only reads, then at
 * most one CAS of that link. */
inline queue_mark()
{
    atomic { LIVE; h = head; hn = LINK(h) }
    if
    :: h == STUB && hn != NIL -> atomic { h = hn; hn = LINK(h) }
    :: else -> skip
    fi;
    if
    :: hn != NIL -> ok = false /* a node after head: head (or the one after the stub) pops */
    :: hn == NIL && h == STUB -> ok = true /* empty: the next push links the stub */
#ifndef BUG_MARK_COMPLETE
    :: hn == NIL && h != STUB -> atomic { ok = (tail != h) } /* else head is complete */
#else
    :: hn == NIL && h != STUB -> ok = true
#endif
    fi;
    if
    :: ok ->
       atomic {
           LIVE;
           if
           :: next[h] == NIL -> next[h] = MARK
           :: next[h] == MARK -> skip
           :: else -> ok = false /* a producer linked meanwhile */
           fi
       }
    :: else -> skip
    fi;
    h = 0;
    hn = 0
}

/* ================= waker.h ================= */

/* lc__waker_register(slot, wv): waits (lc__backoff) while a sender is in a wake call, then
 * stores wv; under SC "it is wv already" and "CAS to wv" end the same. */
inline waker_register(wv)
{
    atomic { slot != WAKING -> LIVE; slot = wv }
}

/* lc__waker_clear(slot): waits while a sender is in a wake call, then empties the slot. */
inline waker_clear()
{
    atomic { slot != WAKING -> LIVE; slot = SLOT_NULL }
}

/* The registered waker's wake function: lc__parker_wake_fn on the receiver's parker, or the
 * event loop's. Either counts one wake; it must not run once the receiver has moved on. */
#define CALL_RX_WAKER atomic { assert(rx_live); rx_seq++ }

/* lc__waker_wake(slot): takes the waker (slot -> WAKING), calls it, empties the slot. */
inline waker_wake()
{
    atomic {
        LIVE;
        if
        :: slot != SLOT_NULL && slot != WAKING ->
#ifdef BUG_WAKE_NO_WAKING
           slot = SLOT_NULL;
#else
           slot = WAKING;
#endif
           ok = true
        :: else -> ok = false
        fi
    }
    if
    :: ok ->
       CALL_RX_WAKER;
#ifndef BUG_WAKE_NO_WAKING
       atomic { LIVE; assert(slot == WAKING); slot = SLOT_NULL }
#endif
       ;
       ok = false
    :: else -> skip
    fi
}

/* ================= room.c ================= */

/* list_remove of the oldest record, into w; the lock holder's private work (NPROD is 2). */
#define LIST_TAKE_OLDEST                                                                         \
    w = wl[0];                                                                                   \
    wl[0] = wl[1];                                                                               \
    wl[1] = 0;                                                                                   \
    wlen--

/* clear_waiters_flag(c): a CAS loop, one step. */
#define CLEAR_WAITERS_FLAG                                                                       \
    LIVE;                                                                                        \
    state = state & ~S_WAITERS;                                                                  \
    INV

/* settled_state(&w) by producer p, once no notifier uses the record; the record and the
 * parker then go out of scope (w = {0} again for the next wait). */
#define SETTLE                                                                                   \
    wstate[p] != GRANTING && wstate[p] != CLOSING ->                                             \
    st = wstate[p];                                                                              \
    wstate[p] = IDLE;                                                                            \
    wlive[p] = 0;                                                                                \
    PARKER_GONE
/* A blocking sender's parker goes with its stack frame; a poll sender's waker stays. */
#define PARKER_GONE                                                                              \
    if                                                                                           \
    :: !POLLER(p) -> wseq[p] = 0                                                                 \
    :: else -> skip                                                                              \
    fi

/* notify(rec, waker, outcome): calls the record's waker (lc__parker_wake on its owner's
 * parker), then publishes the outcome; the record is its owner's again after that. */
inline notify(rec, outcome)
{
#ifndef BUG_NOTIFY_STATE_FIRST
    atomic { assert(wlive[rec]); wseq[rec]++ }
    atomic { assert(wlive[rec]); wstate[rec] = outcome }
#else
    atomic { assert(wlive[rec]); wstate[rec] = outcome }
    atomic { assert(wlive[rec]); wseq[rec]++ }
#endif
}

/* lc__room_reserve(c) by producer p: rc is LC_OK, LC_FULL or LC_CLOSED (one step). */
inline room_reserve()
{
    atomic {
        LIVE;
        if
        :: (state & S_CLOSED) -> rc = LC_CLOSED
        :: !(state & S_CLOSED) && (COUNT(state) >= CAP || (state & S_WAITERS)) -> rc = LC_FULL
        :: else -> state++; GOT_SLOT(p); assert(!closed_done); rc = LC_OK
        fi
    }
}

/* reserve_or_join(c, w, waker) by producer p, with lc__room_wait's set-up before it (wait
 * record, lc__parker_init, seen = lc__parker_seq): LC_OK, LC_CLOSED, or LC_PENDING with w in
 * the list. lock_list, the CAS loop, the list work and unlock_list: one step. A poll sender's
 * waker is its event loop's, whose count this leaves alone. */
inline reserve_or_join()
{
    atomic {
        wlock == 0 -> LIVE;
        PARKER_GONE; /* lc__parker_init (blocking senders) */
        if
        :: (state & S_CLOSED) -> rc = LC_CLOSED
        :: !(state & S_CLOSED) && COUNT(state) < CAP && !(state & S_WAITERS) ->
           state++; GOT_SLOT(p); assert(!closed_done); rc = LC_OK
        :: else ->
           state = state | S_WAITERS; INV;
           /* set_waker, set_state(w, WAITING), list_append */
           wstate[p] = WAITING; wl[wlen] = p; wlen++; wlive[p] = 1;
           rc = LC_PENDING
        fi
    }
}

/* withdraw(c, w) by producer p: st is the record's settled state, IDLE if it took the record
 * out of the list itself. lock, load_state, list_remove, clear_waiters_flag, unlock: one step. */
inline withdraw()
{
    atomic {
        wlock == 0 -> LIVE;
        st = wstate[p];
        if
        :: st == WAITING ->
           if
           :: wl[0] == p -> wl[0] = wl[1]
           :: else -> assert(wl[1] == p)
           fi;
           wl[1] = 0;
           wlen--;
           if
           :: wlen == 0 -> CLEAR_WAITERS_FLAG
           :: else -> skip
           fi;
           st = IDLE; wstate[p] = IDLE; wlive[p] = 0; PARKER_GONE
        :: else -> skip
        fi
    }
    if
    :: st != IDLE -> atomic { SETTLE }
    :: else -> skip
    fi
}

/* lc__room_wait(c, timeout) by producer p: LC_OK, LC_CLOSED or LC_TIMEDOUT. */
inline room_wait()
{
    room_reserve();
    if
    :: rc == LC_FULL ->
       reserve_or_join();
       do
       :: rc != LC_PENDING -> break
       :: rc == LC_PENDING ->
          atomic { st = wstate[p] } /* load_state */
          if
          :: st == WAITING ->
             /* lc__parker_wait(&parker, seen, deadline), then seen = lc__parker_seq */
             if
             :: atomic { wseq[p] != 0 -> wseq[p] = 0; st = RETRY } /* woken */
#ifdef SPURIOUS
             :: atomic { spurious_left[p] > 0 -> spurious_left[p]-- }
                atomic { wseq[p] = 0; st = RETRY }
#endif
#ifdef TIMEOUT
             :: atomic { timeouts_left[p] > 0 -> timeouts_left[p]-- }
                withdraw() /* timed out, unless granted or closed meanwhile */
#endif
             fi
          :: else -> atomic { SETTLE }
          fi;
          if
          :: st == RETRY -> skip
          :: else ->
             rc = (st == GRANTED -> LC_OK : (st == CLOSED -> LC_CLOSED : LC_TIMEDOUT))
          fi;
          st = 0
       od
    :: else -> skip
    fi
}

/* grant_oldest(c): ok is false if the list turned out to be empty. */
inline grant_oldest()
{
    atomic {
        wlock == 0 -> LIVE;
        if
        :: wlen > 0 ->
           wlock = 1; /* held until the record is in GRANTING */
           LIST_TAKE_OLDEST;
           /* The grant is decided here: a close that returned before must have taken the
            * record out of the list itself (lc_rx_close may return before the record is in
            * GRANTING, and the sender's lc_send then returns LC_OK after it: its send took
            * effect before the close). */
           assert(!closed_done);
           if
           :: wlen == 0 -> CLEAR_WAITERS_FLAG
           :: else -> skip
           fi;
           ok = true
        :: else -> ok = false
        fi
    }
    if
    :: ok ->
       /* waker_of(oldest), set_state(oldest, GRANTING), unlock_list: the slot is its now */
       atomic { assert(wlive[w]); wstate[w] = GRANTING; GOT_SLOT(w); wlock = 0 }
       notify(w, GRANTED);
       w = 0
    :: else -> skip
    fi
}

/* lc__room_release(c): a load that sees WAITERS leads to grant_oldest; one that does not, to
 * the CAS that decrements the count (one step with it). */
inline room_release()
{
    do
    :: atomic {
           LIVE;
#ifndef BUG_RELEASE_NO_GRANT
           if
           :: (state & S_WAITERS) -> ok = false
           :: else -> state--; INV; ok = true
           fi
#else
           state--; INV; ok = true
#endif
       }
       if
       :: ok -> break
       :: else ->
          grant_oldest();
          if
          :: ok -> break
          :: else -> skip
          fi
       fi
    od;
    ok = false
}

/* lc__room_give_back(c) by producer p, for a slot it took and cannot use. */
inline room_give_back()
{
    atomic { taken[p]--; held-- }
    room_release();
#ifndef BUG_GIVEBACK_NO_WAKE
    atomic { LIVE; ok = ((state & S_CLOSED) != 0) }
    if
    :: ok -> waker_wake()
    :: else -> skip
    fi
#endif
}

/* lc__room_close_waiters(c): takes every record out under the lock (the lock joins the first
 * CLOSING store), clears WAITERS and unlocks, then notifies them, newest first. */
inline close_waiters()
{
    nch = 0;
    atomic {
        wlock == 0 -> LIVE; wlock = 1;
        if
        :: wlen > 0 ->
           LIST_TAKE_OLDEST; assert(wlive[w]); wstate[w] = CLOSING; chain[nch] = w; nch++
        :: else -> skip
        fi
    }
    do
    :: atomic {
           wlen > 0 ->
           LIST_TAKE_OLDEST; assert(wlive[w]); wstate[w] = CLOSING; chain[nch] = w; nch++
       }
    :: atomic { wlen == 0 -> CLEAR_WAITERS_FLAG; wlock = 0 }
       break
    od;
    do
    :: nch > 0 -> nch--; w = chain[nch]; chain[nch] = 0; notify(w, CLOSED)
    :: else -> break
    od;
    w = 0
}

#ifdef POLL_SEND
/* lc__room_poll(c, w, waker) by producer p, whose record w outlives the call: LC_OK,
 * LC_CLOSED or LC_PENDING. The settled_state that finds GRANTED or CLOSED and the
 * set_state(w, IDLE) after it are one step: nobody else uses the record by then. */
inline room_poll()
{
    atomic {
        wstate[p] != GRANTING && wstate[p] != CLOSING -> st = wstate[p];
        if
        :: st == GRANTED || st == CLOSED -> wstate[p] = IDLE; wlive[p] = 0
        :: else -> skip
        fi
    }
    if
    :: st == WAITING ->
       /* lock_list, load_state, set_waker (the same waker here), unlock_list */
       atomic { wlock == 0 -> LIVE; st = wstate[p] }
       if
       :: st == WAITING -> rc = LC_PENDING
       :: else -> atomic { SETTLE }
       fi
    :: else -> skip
    fi;
    if
    :: st == WAITING -> skip
    :: st == GRANTED -> rc = LC_OK
    :: st == CLOSED -> rc = LC_CLOSED
    :: st == IDLE ->
       room_reserve();
       if
       :: rc == LC_FULL -> reserve_or_join()
       :: else -> skip
       fi
    fi;
    st = 0
}

/* lc__room_cancel(c, w) by producer p (lc_send_cancel) */
inline room_cancel()
{
    withdraw();
#ifndef BUG_CANCEL_KEEPS_GRANT
    if
    :: st == GRANTED -> room_give_back() /* pass the slot on */
    :: else -> skip
    fi;
#endif
    st = 0
}

/* lc_poll_send(tx, msg, &w, &waker) by producer p, from an event loop that polls again each
 * time its waker is called, or (once) gives up with lc_send_cancel: LC_OK, LC_CLOSED, or
 * LC_TIMEDOUT after a cancel (the loop then sends the message again). */
inline poll_send()
{
    do
    :: room_poll();
       if
       :: rc == LC_PENDING ->
          if
          :: atomic { wseq[p] != 0 -> wseq[p] = 0 } /* the waker was called */
          :: atomic { cancels_left > 0 -> cancels_left-- }
             room_cancel();
             rc = LC_TIMEDOUT;
             break
          fi
       :: else -> break
       fi
    od
}
#endif

/* ================= channel.c ================= */

/* destroy(c), by whichever handle goes last: closes the queue, drops what is still queued
 * (lc__queue_pop_closed), frees the channel. No push is in flight any more: the queue is
 * empty then, with the stub at both ends. */
inline destroy()
{
    atomic { QUEUE_CLOSE }
    do
    :: queue_pop_closed(DROP);
       if
       :: n == NIL -> break
       :: else -> skip
       fi
    od;
    atomic { LIVE; assert(head == STUB && tail == (STUB | TAIL_CLOSED)); freed = 1; ok = false }
}

/* The last lc_tx_drop calls the waker when its CAS set EOS_WAKE (the receiver had set
 * RX_WAKER); with BUG_NO_EOS_FLAG, when it would have set it. */
#ifndef BUG_NO_EOS_FLAG
#define EOS_WAKES(x) ((x) & S_EOS_WAKE)
#else
#define EOS_WAKES(x) ((x) & S_RX_WAKER)
#endif

/* lc_tx_drop(tx) */
inline tx_drop()
{
    atomic {
        LIVE; sn = state - S_SENDER_ONE;
#ifndef BUG_NO_EOS_FLAG
        if
        :: SENDERS(sn) == 0 && (state & S_RX_WAKER) && !(state & S_RX_GONE) ->
           sn = sn | S_EOS_WAKE
        :: else -> skip
        fi;
#endif
        state = sn; INV
    }
    /* ok: this thread is the last user of the channel and destroys it (one call site) */
    if
    :: SENDERS(sn) != 0 -> ok = false
    :: SENDERS(sn) == 0 && (sn & S_RX_GONE) -> ok = true
    :: SENDERS(sn) == 0 && !(sn & S_RX_GONE) && !EOS_WAKES(sn) ->
       ok = false /* no waker to call: the receiver sees the end when it next looks */
    :: SENDERS(sn) == 0 && !(sn & S_RX_GONE) && EOS_WAKES(sn) ->
#ifndef BUG_EOS_NO_WAKE
       waker_wake();
#endif
#ifndef BUG_NO_EOS_FLAG
       atomic {
           LIVE; s = state; state = s & ~S_EOS_WAKE; INV;
           ok = ((s & S_RX_GONE) != 0) /* the receiver went while we were waking it */
       }
#else
       ok = false
#endif
    fi;
    if
    :: ok -> destroy()
    :: else -> skip
    fi;
    ok = false;
    s = 0;
    sn = 0
}

/* set_closed(c), for lc_rx_close and lc_rx_drop */
inline set_closed()
{
    atomic {
        LIVE; s = state;
        if
        :: !(s & S_CLOSED) -> state = s | S_CLOSED; INV
        :: else -> skip
        fi
    }
#ifndef BUG_CLOSE_NO_WAITERS
    if
    :: !(s & S_CLOSED) && (s & S_WAITERS) -> close_waiters()
    :: else -> skip
    fi;
#endif
    atomic { closed_done = 1; s = 0 }
}

/* lc_rx_drop(rx): with no sender left and none still waking the receiver (the load), it
 * frees the channel at once; else it closes the channel (set_closed) and the queue's tail
 * (lc__queue_close), drops what is linked, and sets RX_GONE. While a push that swapped before
 * the close is in flight (lc__queue_closed_pending), it waits for its link, DROP_WAIT_ROUNDS
 * of lc__backoff at most: here for any time, and it may give up at any time; what is still in
 * flight then is the last sender's to drop (destroy). */
inline rx_drop()
{
    atomic {
        LIVE; s = state;
#ifndef BUG_DROP_NO_EOS_CHECK
        ok = (SENDERS(s) == 0 && !(s & S_EOS_WAKE))
#else
        ok = (SENDERS(s) == 0)
#endif
    }
    if
    :: ok -> ok = false; destroy()
    :: else ->
       set_closed();
#ifndef BUG_NO_TAIL_CLOSE
       atomic { QUEUE_CLOSE; rx_closing = 1 }
#else
       rx_closing = 1; /* where the close would be */
#endif
       waker_clear();
       do
       :: queue_pop_closed(DROP);
          if
          :: n != NIL -> room_release()
          :: n == NIL && !ok -> break /* nothing queued, nothing in flight */
          :: n == NIL && ok ->
             /* a push in flight: wait until it links (then pop again), or give up */
             ok = false;
             if
             :: true -> break
             :: LINK(head) != NIL -> skip
             fi
          fi
       od;
       ok = false;
       /* lc_rx_drop returns after this step (rx_dropped), or frees the channel when no sender
        * is left */
       atomic { LIVE; s = state; state = s | S_RX_GONE; INV; rx_dropped = 1 }
       if
       :: SENDERS(s) == 0 && !(s & S_EOS_WAKE) -> destroy()
       :: else -> skip
       fi
    fi;
    s = 0
}

/* pop(c, &n): LC_OK, LC_EMPTY or LC_CLOSED */
inline pop()
{
    queue_pop(TAKE);
    if
    :: n != NIL -> rc = LC_OK
    :: else ->
       atomic {
           LIVE;
#ifndef BUG_EOS_IGNORES_COUNT
           rc = ((COUNT(state) == 0 && (SENDERS(state) == 0 || (state & S_CLOSED))) ->
                 LC_CLOSED : LC_EMPTY)
#else
           rc = ((SENDERS(state) == 0 || (state & S_CLOSED)) -> LC_CLOSED : LC_EMPTY)
#endif
       }
    fi
}

/* try_take(c, out, NULL): pop, then take(): copy out (n is received), lc__room_release. */
inline try_take()
{
    pop();
    if
    :: rc == LC_OK -> room_release()
    :: else -> skip
    fi;
    n = 0
}

/* recv_spin(c, out, NULL, LC_FOREVER): the first try and at most one more round stand for
 * all LC__SPINS_BEFORE_PARK rounds. A round that finds nothing changes nothing except, at most
 * once in a row, the consumer end (it skips the stub, or stores NULL in its link, before a
 * push in flight); the rounds before and after that one may as well run at the time of the
 * next round that matters. st counts the rounds. */
inline recv_spin()
{
    do
    :: try_take();
       if
       :: rc == LC_EMPTY && st == 0 -> st = 1 /* one more round */
       :: true -> break
       fi
    od;
    st = 0
}

/* lc__rx_note_waker(c): a CAS loop, one step (only a load once RX_WAKER is set). */
#ifndef BUG_NO_NOTE_WAKER
#define NOTE_WAKER                                                                               \
    LIVE;                                                                                        \
    state = state | S_RX_WAKER;                                                                  \
    INV
#else
#define NOTE_WAKER skip
#endif

/* take_or_mark(c, out, NULL): try_take; when it finds nothing, marks the queue, and takes
 * again if the mark failed (a node was linked meanwhile). */
inline take_or_mark()
{
    do
    :: try_take();
       if
       :: rc != LC_EMPTY -> break
       :: else ->
#ifndef BUG_NO_MARK
          queue_mark();
#else
          ok = true;
#endif
          if
          :: ok -> ok = false; break
          :: else -> skip
          fi
       fi
    od
}

/* recv_park(c, out, NULL, timeout): the parker and its waker live on this stack frame. */
inline recv_park()
{
    /* lc__parker_init and seen = lc__parker_seq join lc__rx_note_waker */
    atomic { rx_seq = 0; rx_live = 1; NOTE_WAKER }
    do
    :: waker_register(RX_WAKER);
#ifndef BUG_NO_RECHECK
       take_or_mark();
       if
       :: rc != LC_EMPTY -> break
       :: else -> skip
       fi;
#endif
       /* lc__parker_wait(&parker, seen, deadline), then seen = lc__parker_seq at the loop's
        * top: no other wake can come in between, as the slot is empty until we register */
       if
       :: atomic { rx_seq != 0 -> rx_seq = 0 }
#ifdef SPURIOUS
       :: atomic { spurious_left[NPROD] > 0 -> spurious_left[NPROD]-- }
          atomic { rx_seq = 0 }
#endif
#ifdef TIMEOUT
       :: atomic { timeouts_left[NPROD] > 0 -> timeouts_left[NPROD]-- }
          try_take();
          if
          :: rc == LC_EMPTY -> rc = LC_TIMEDOUT
          :: else -> skip
          fi;
          break
#endif
       fi;
#ifdef BUG_NO_RECHECK
       take_or_mark();
       if
       :: rc != LC_EMPTY -> break
       :: else -> skip
       fi
#endif
    od;
    waker_clear();
    atomic { rx_live = 0; rx_seq = 0 } /* lc__parker_destroy, the frame is gone */
}

/* lc_recv(rx, out) -> lc_recv_timeout(rx, out, LC_FOREVER) -> recv_wait(c, out, NULL, ...) */
inline recv_wait()
{
    recv_spin();
    if
    :: rc == LC_EMPTY -> recv_park()
    :: else -> waker_clear()
    fi
}

/* lc_poll_recv(rx, out, &waker) */
inline poll_recv()
{
    try_take();
    if
    :: rc == LC_EMPTY ->
       atomic { NOTE_WAKER };
       waker_register(RX_WAKER);
       take_or_mark();
       if
       :: rc == LC_EMPTY -> rc = LC_PENDING
       :: else -> skip
       fi
    :: else -> skip
    fi;
    if
    :: rc != LC_PENDING -> waker_clear()
    :: else -> skip
    fi
}

/* fill_slot(c, msg) by producer p, with a slot taken (copy mode): the node (NODE(p, k)), then
 * enqueue: lc__queue_push, and lc__waker_wake if it found the mark; when the push finds the
 * queue closed, lc__room_give_back, and the node is freed. rc: LC_OK (k counts the message),
 * LC_NOMEM or LC_CLOSED; with these two the sender keeps its message. */
inline fill_slot()
{
#ifdef NOMEM
    if
    :: atomic { nomem_left[p] > 0 -> nomem_left[p]-- } /* no memory for the node */
       room_give_back();
       rc = LC_NOMEM
    :: true -> skip
    fi;
#endif
    if
    :: rc == LC_OK ->
       n = NODE(p, k);
       queue_push(n);
       if
       :: rc == LC_CLOSED -> /* lc_rx_drop closed the tail before the swap */
#ifndef BUG_CLOSED_PUSH_KEEPS_SLOT
          room_give_back()
#else
          atomic { taken[p]-- } /* the message is the sender's again, but not its slot */
#endif
       :: else ->
#ifndef BUG_WAKE_BEFORE_LINK
          if
          :: mk -> waker_wake() /* the receiver marked the queue: it waits */
          :: else -> skip
          fi;
#endif
          k++ /* LC_OK */
       fi;
       mk = false;
       n = 0
    :: else -> skip
    fi
}

/* ================= the threads ================= */

/* A producer: lc_send of NMSG numbered messages (send_copy -> take_slot -> lc__room_wait,
 * then fill_slot), then lc_tx_drop. It stops at LC_CLOSED, and sends the same message again
 * after LC_TIMEDOUT or LC_NOMEM. */
proctype producer(byte p)
{
    LOCALS;
    bit late;
    do
    :: k < NMSG ->
#ifdef POLL_SEND
       if
       :: POLLER(p) -> poll_send()
       :: else -> room_wait()
       fi;
#else
       room_wait();
#endif
       if
       :: rc == LC_OK -> fill_slot()
       :: else -> skip
       fi;
       if
       :: rc == LC_CLOSED -> /* the receiver closed the channel, or dropped it */
          /* The thread may keep its handle for as long as it likes: the receiver must reach
           * its end of stream without this sender's lc_tx_drop. */
          if
          :: true -> skip
          :: true -> (rx_done)
          fi;
          break
       :: else -> skip /* sent (LC_OK), or send it again (LC_TIMEDOUT, LC_NOMEM) */
       fi;
       rc = 0
    :: else -> break
    od;
    k = 0;
#ifdef KEEP_HANDLES
    (rx_done);
#endif
    tx_drop()
}

/* The consumer: lc_recv (or lc_poll_recv in an event loop) until LC_CLOSED, then lc_rx_drop.
 * With RX_CLOSE it may call lc_rx_close once in between; with RX_DROP it may stop at any point
 * and drop the receiver with messages still queued or in flight. */
proctype consumer()
{
    LOCALS;
    bit closed_once;
#ifdef RECV_POLL
    rx_live = 1; /* the event loop's waker outlives every poll */
#endif
    do
    :: true ->
#ifdef RECV_POLL
       poll_recv();
       if
       :: rc == LC_PENDING -> atomic { rx_seq != 0 -> rx_seq = 0 } /* wait for the wake */
       :: else -> skip
       fi;
#else
       recv_wait();
#endif
       if
       :: rc == LC_CLOSED && eos_seen -> break /* and it stays */
       :: rc == LC_CLOSED && !eos_seen ->
          /* End of stream: every accepted message arrived (held is 0: none is queued, in
           * flight or about to be linked), all NPROD * NMSG of them unless the channel was
           * closed. Receive once more: LC_CLOSED again. */
          atomic {
              eos_seen = 1;
              assert(held == 0 && got[0] == taken[0] && got[1] == taken[1]);
#if !defined(RX_CLOSE)
              assert(got[0] == NMSG && got[1] == NMSG);
#endif
          }
#ifdef KEEP_HANDLES
       :: rc == LC_OK && got[0] + got[1] == NPROD * NMSG -> break /* all of them */
#endif
       :: else -> skip /* received one (LC_OK), LC_PENDING or LC_TIMEDOUT: go on */
       fi
#ifdef RX_CLOSE
    :: !closed_once -> closed_once = 1; set_closed() /* lc_rx_close */
#endif
#ifdef RX_DROP
    :: true -> break
#endif
    od;
    rx_done = 1;
    rx_drop();
#ifdef RECV_POLL
    rx_live = 0 /* the receiver is gone: the event loop may free its waker */
#endif
}

init
{
    atomic {
        run producer(0);
        run producer(1);
        run consumer()
    }
    (_nr_pr == 1);
    /* All done: the channel was freed, every slot taken was given back or went with its
     * message, and every accepted message was received or dropped exactly once (done[] guarded
     * the "once"; with the order per producer, what came out is each producer's first taken[p]
     * messages: none that a send kept). */
    assert(freed && held == 0);
    assert(got[0] + dropped[0] == taken[0] && got[1] + dropped[1] == taken[1]);
#if !defined(RX_CLOSE) && !defined(RX_DROP)
    assert(got[0] == NMSG && got[1] == NMSG);
#endif
}
