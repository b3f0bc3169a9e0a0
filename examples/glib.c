/*
 * glib: a GLib main loop receives, through one lc_mux, what producer threads send into a thousand
 * channels, and checks that every message arrives exactly once and in order. Linux only.
 *
 * Usage: glib [channels (1000): 1 to 1000000] [seconds (2): 0.1 to 3600]
 *
 * The loop has two sources: g_unix_fd_add on lc_mux_fd(mux), and a g_timeout source that prints
 * a status line and gives up if nothing moves for 10 s once the producers are done. The contract
 * of lc_mux_fd: when the descriptor is readable, call lc_mux_wait with timeout 0 until it returns
 * LC_TIMEDOUT; only that call arms the descriptor again. The producers send for the given time
 * and then drop their senders; each channel then reports LC_CLOSED once, and the last one quits
 * the loop. The mux owns the descriptor: its source is removed before lc_mux_free closes it. The
 * producers, the draining and the checks are in fanin.c.
 *
 * Build: cc -std=c11 glib.c fanin.c -pthread $(pkg-config --cflags --libs lazychan glib-2.0)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdio.h>

#include <glib-unix.h>
#include <glib.h>

#include "fanin.h"

#define TICK_MS 500 /* the status line's period */

struct app {
    GMainLoop *loop;
    guint fd_source;    /* g_unix_fd_add on lc_mux_fd(mux); 0 if none */
    guint timer_source; /* status and stuck detection; 0 if none */
    bool failed;
    struct fanin *f;
};

/* Ends g_main_loop_run; main removes the sources afterwards. */
static void finish(struct app *a, bool ok)
{
    if (!ok)
        a->failed = true;
    g_main_loop_quit(a->loop);
}

/* The source stays attached whatever happens: main removes it. */
static gboolean on_mux_readable(gint fd, GIOCondition condition, gpointer data)
{
    struct app *a = data;
    (void)fd;
    if (condition & (G_IO_ERR | G_IO_HUP | G_IO_NVAL)) {
        fprintf(stderr, "glib: the mux descriptor reports condition 0x%x\n", (unsigned)condition);
        finish(a, false);
    } else if (!fanin_readable(a->f)) {
        finish(a, false);
    } else if (fanin_done(a->f)) {
        finish(a, true); /* every channel reported the end of its stream */
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_tick(gpointer data)
{
    struct app *a = data;
    if (!fanin_tick(a->f))
        finish(a, false); /* stuck */
    return G_SOURCE_CONTINUE;
}

/* Attaches the mux descriptor's source and the status timer to the default main context. */
static bool start_sources(struct app *a)
{
    int fd = lc_mux_fd(fanin_mux(a->f));
    if (fd < 0) {
        fprintf(stderr, "glib: lc_mux_fd: %s\n", lc_strerror(fd));
        return false;
    }
    a->fd_source = g_unix_fd_add(fd, G_IO_IN, on_mux_readable, a); /* > 0: it cannot fail */
    a->timer_source = g_timeout_add(TICK_MS, on_tick, a);
    return true;
}

/* Detaches and frees a source that is still attached. */
static bool remove_source(guint *id, const char *what)
{
    if (*id == 0)
        return true;
    gboolean found = g_source_remove(*id);
    *id = 0;
    if (!found)
        fprintf(stderr, "glib: g_source_remove: the %s source was gone already\n", what);
    return found;
}

int main(int argc, char **argv)
{
    size_t n = 1000;
    double seconds = 2;
    if (!fanin_args(argc, argv, "glib", &n, &seconds))
        return 2;
    struct app a = {.f = fanin_new("glib", n, seconds)};
    if (a.f == NULL)
        return 1;

    a.loop = g_main_loop_new(NULL, FALSE); /* the default context; aborts if out of memory */
    bool ok = start_sources(&a);
    if (ok)
        printf("glib: %d producers send %d messages/s each into %zu channels for %.1f s; a GLib "
               "main loop\nwatches the lc_mux descriptor and prints a status line every %d ms.\n",
               FANIN_PRODUCERS, FANIN_RATE, n, seconds, TICK_MS);
    ok = ok && fanin_start(a.f);
    if (ok) {
        g_main_loop_run(a.loop); /* until finish() */
        ok = !a.failed;
    }
    /* Both before lc_mux_free closes the descriptor: the source must not poll a closed one. */
    ok = remove_source(&a.fd_source, "mux descriptor") && ok;
    ok = remove_source(&a.timer_source, "timer") && ok;
    g_main_loop_unref(a.loop);
    return fanin_end(a.f, ok) ? 0 : 1;
}
