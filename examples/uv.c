/*
 * uv: a libuv loop receives, through one lc_mux, what producer threads send into a thousand
 * channels, and checks that every message arrives exactly once and in order. Linux only.
 *
 * Usage: uv [channels (1000): 1 to 1000000] [seconds (2): 0.1 to 3600]
 *
 * The loop has two handles: a uv_poll_t on lc_mux_fd(mux), and a uv_timer_t that prints a status
 * line and gives up if nothing moves for 10 s once the producers are done. The contract of
 * lc_mux_fd: when the descriptor is readable, call lc_mux_wait with timeout 0 until it returns
 * LC_TIMEDOUT; only that call arms the descriptor again. The producers send for the given time
 * and then drop their senders; each channel then reports LC_CLOSED once, and the last one closes
 * both handles, which ends uv_run. The mux owns the descriptor: the uv_poll_t is closed, and the
 * loop run until the close completes, before lc_mux_free closes the descriptor. The producers,
 * the draining and the checks are in fanin.c.
 *
 * Build: cc -std=c11 uv.c fanin.c -pthread $(pkg-config --cflags --libs lazychan libuv)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdio.h>

#include <uv.h>

#include "fanin.h"

#define TICK_MS 500 /* the status line's period */

struct app {
    uv_loop_t loop;
    uv_poll_t poll;   /* on lc_mux_fd(mux) */
    uv_timer_t timer; /* status and stuck detection */
    bool poll_ready, timer_ready; /* initialised, to be closed */
    bool failed;
    struct fanin *f;
};

/* Closes the loop's handles (uv_run returns once their close callbacks have run). */
static void finish(struct app *a, bool ok)
{
    if (!ok)
        a->failed = true;
    if (a->poll_ready && !uv_is_closing((uv_handle_t *)&a->poll))
        uv_close((uv_handle_t *)&a->poll, NULL);
    if (a->timer_ready && !uv_is_closing((uv_handle_t *)&a->timer))
        uv_close((uv_handle_t *)&a->timer, NULL);
}

static void on_mux_readable(uv_poll_t *handle, int status, int events)
{
    struct app *a = handle->data;
    (void)events;
    if (status < 0) {
        fprintf(stderr, "uv: polling the mux descriptor: %s\n", uv_strerror(status));
        finish(a, false);
    } else if (!fanin_readable(a->f)) {
        finish(a, false);
    } else if (fanin_done(a->f)) {
        finish(a, true); /* every channel reported the end of its stream */
    }
}

static void on_tick(uv_timer_t *handle)
{
    struct app *a = handle->data;
    if (!fanin_tick(a->f))
        finish(a, false); /* stuck */
}

/* Installs the uv_poll_t on the mux descriptor and the status timer. */
static bool start_handles(struct app *a)
{
    int fd = lc_mux_fd(fanin_mux(a->f));
    if (fd < 0) {
        fprintf(stderr, "uv: lc_mux_fd: %s\n", lc_strerror(fd));
        return false;
    }
    int rc = uv_poll_init(&a->loop, &a->poll, fd);
    if (rc != 0) {
        fprintf(stderr, "uv: uv_poll_init: %s\n", uv_strerror(rc));
        return false;
    }
    a->poll_ready = true;
    a->poll.data = a;
    rc = uv_poll_start(&a->poll, UV_READABLE, on_mux_readable);
    if (rc != 0) {
        fprintf(stderr, "uv: uv_poll_start: %s\n", uv_strerror(rc));
        return false;
    }
    rc = uv_timer_init(&a->loop, &a->timer);
    if (rc != 0) {
        fprintf(stderr, "uv: uv_timer_init: %s\n", uv_strerror(rc));
        return false;
    }
    a->timer_ready = true;
    a->timer.data = a;
    rc = uv_timer_start(&a->timer, on_tick, TICK_MS, TICK_MS);
    if (rc != 0) {
        fprintf(stderr, "uv: uv_timer_start: %s\n", uv_strerror(rc));
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    size_t n = 1000;
    double seconds = 2;
    if (!fanin_args(argc, argv, "uv", &n, &seconds))
        return 2;
    struct app a = {.f = fanin_new("uv", n, seconds)};
    if (a.f == NULL)
        return 1;

    int rc = uv_loop_init(&a.loop);
    bool loop_ready = rc == 0, ok = loop_ready;
    if (!loop_ready)
        fprintf(stderr, "uv: uv_loop_init: %s\n", uv_strerror(rc));
    ok = ok && start_handles(&a);
    if (ok)
        printf("uv: %d producers send %d messages/s each into %zu channels for %.1f s; a libuv "
               "loop polls\nthe lc_mux descriptor and prints a status line every %d ms.\n",
               FANIN_PRODUCERS, FANIN_RATE, n, seconds, TICK_MS);
    ok = ok && fanin_start(a.f);

    if (ok) {
        rc = uv_run(&a.loop, UV_RUN_DEFAULT); /* until finish() closes both handles */
        if (rc != 0) {
            fprintf(stderr, "uv: uv_run returned %d with handles still active\n", rc);
            ok = false;
        }
        ok = ok && !a.failed;
    }
    if (loop_ready) {
        finish(&a, ok);
        rc = uv_run(&a.loop, UV_RUN_DEFAULT); /* runs the close callbacks, if any are left */
        if (rc == 0)
            rc = uv_loop_close(&a.loop);
        if (rc != 0) {
            fprintf(stderr, "uv: closing the loop: %s\n", uv_strerror(rc));
            ok = false;
        }
    }
    /* lc_mux_free closes the descriptor, which no handle polls any more. */
    return fanin_end(a.f, ok) ? 0 : 1;
}
