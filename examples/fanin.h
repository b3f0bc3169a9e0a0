/*
 * fanin: the workload shared by the event-loop examples (epoll.c, uv.c, glib.c), so that each of
 * them shows only how its loop waits on lc_mux_fd. FANIN_PRODUCERS threads send numbered messages
 * into n bounded channels, all registered in one lc_mux, for a given time, and then drop their
 * senders; the loop drains what the mux reports and checks that every message arrives exactly
 * once, in order per producer and channel, and that every channel reports LC_CLOSED once.
 *
 * A loop uses it like this, every call from the loop's thread (the mux's owning thread):
 *
 *     fanin_args(argc, argv, "name", &n, &seconds)  or exit 2 (it printed the usage)
 *     f = fanin_new("name", n, seconds)             the channels and the mux, or NULL
 *     watch lc_mux_fd(fanin_mux(f)) for readability, start a periodic timer
 *     fanin_start(f)                                the producer threads
 *     when the descriptor is readable: fanin_readable(f); stop once fanin_done(f)
 *     on every tick: fanin_tick(f); stop if it returns false (the loop is stuck)
 *     stop watching the descriptor, then exit with fanin_end(f, ok)
 *
 * Ownership: the fanin owns the mux (so also the descriptor of lc_mux_fd, which fanin_end closes:
 * stop watching it first), every receiver, and the senders until fanin_start gives them to the
 * producers, each of which drops its own when its time is up. name must outlive f.
 *
 * Threads: the producer threads run inside fanin.c and touch only their own senders and counters,
 * which fanin_end reads after joining them. Errors are printed to stderr after "name: "; a call
 * that returns bool returns false then.
 */
#ifndef EXAMPLES_FANIN_H
#define EXAMPLES_FANIN_H

#include <stdbool.h>
#include <stddef.h>

#include "lazychan.h"

#define FANIN_PRODUCERS 3
#define FANIN_RATE 10000 /* messages per second, per producer */

struct fanin;

/* Parses "[channels] [seconds]" into *channels and *seconds, which hold the defaults on entry. On
 * a bad argument it prints which one, its range and the usage, and returns false. */
bool fanin_args(int argc, char **argv, const char *name, size_t *channels, double *seconds);

/* Creates the mux and the channels, registered in it; returns NULL (having freed everything) on
 * failure. The producers send for seconds once fanin_start starts them. */
struct fanin *fanin_new(const char *name, size_t channels, double seconds);

/* The mux, for lc_mux_fd. Owned by f. */
lc_mux *fanin_mux(struct fanin *f);

/* Starts the producer threads. */
bool fanin_start(struct fanin *f);

/* Call when the mux descriptor is readable: it calls lc_mux_wait(mux, 0) until LC_TIMEDOUT, as
 * lc_mux_fd requires, checks every message of every receiver reported, and drops each receiver
 * that reports LC_CLOSED. Never blocks. */
bool fanin_readable(struct fanin *f);

/* Whether every channel has reported LC_CLOSED: the loop can end. */
bool fanin_done(const struct fanin *f);

/* Prints a status line. Returns false if nothing moved for 10 s past the producers' end. */
bool fanin_tick(struct fanin *f);

/* Drops the receivers left (so that blocked producers finish), joins the producers, frees the mux
 * (closing its descriptor) and everything else. If ok, checks what was received against what was
 * sent and prints the result. Returns ok and whether every check passed. */
bool fanin_end(struct fanin *f, bool ok);

#endif /* EXAMPLES_FANIN_H */
