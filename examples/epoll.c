/*
 * epoll: one thread's epoll loop waits on an lc_mux's descriptor beside a periodic timerfd,
 * receiving what producer threads send into a few hundred channels and printing a status line
 * on every tick. Linux only.
 *
 * Usage: epoll [channels (300): 1 to 1000000] [seconds (2): 0.1 to 3600]
 *
 * The contract of lc_mux_fd: when the descriptor is readable, call lc_mux_wait with timeout 0
 * until it returns LC_TIMEDOUT, then wait on the descriptor again. The producers send for the
 * given time and then drop their senders; each channel then reports LC_CLOSED once, and the
 * loop ends when every channel has. It checks that every message sent was received exactly once,
 * in order. The producers, the draining and the checks are in fanin.c.
 *
 * Build: cc -std=c11 epoll.c fanin.c -pthread $(pkg-config --cflags --libs lazychan)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "fanin.h"

#define TICK_NS 250000000 /* the timerfd's period: 250 ms */

enum { TAG_MUX, TAG_TIMER }; /* epoll_event.data.u32 */

static bool add_fd(int epfd, int fd, uint32_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
        return true;
    perror("epoll: epoll_ctl");
    return false;
}

int main(int argc, char **argv)
{
    size_t n = 300;
    double seconds = 2;
    if (!fanin_args(argc, argv, "epoll", &n, &seconds))
        return 2;
    struct fanin *f = fanin_new("epoll", n, seconds);
    if (f == NULL)
        return 1;

    int epfd = -1, tfd = -1, mfd = lc_mux_fd(fanin_mux(f));
    bool ok = mfd >= 0;
    if (!ok)
        fprintf(stderr, "epoll: lc_mux_fd: %s\n", lc_strerror(mfd));
    struct itimerspec tick = {.it_interval.tv_nsec = TICK_NS, .it_value.tv_nsec = TICK_NS};
    if (ok && ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
               (tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
               timerfd_settime(tfd, 0, &tick, NULL) != 0)) {
        perror("epoll: epoll_create1, timerfd_create or timerfd_settime");
        ok = false;
    }
    ok = ok && add_fd(epfd, mfd, TAG_MUX) && add_fd(epfd, tfd, TAG_TIMER);
    if (ok)
        printf("epoll: %d producers send %d messages/s each into %zu channels for %.1f s; one "
               "epoll set holds\nthe lc_mux descriptor and a %d ms timerfd.\n", FANIN_PRODUCERS,
               FANIN_RATE, n, seconds, TICK_NS / 1000000);
    ok = ok && fanin_start(f);

    while (ok && !fanin_done(f)) {
        struct epoll_event ev[2];
        int k = epoll_wait(epfd, ev, 2, -1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            perror("epoll: epoll_wait");
            ok = false;
        }
        for (int i = 0; ok && i < k; i++) {
            uint64_t ticks;
            if (ev[i].data.u32 == TAG_MUX) {
                ok = fanin_readable(f);
            } else if (read(tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN) {
                perror("epoll: read timerfd");
                ok = false;
            } else {
                ok = fanin_tick(f); /* false: stuck */
            }
        }
    }

    if (tfd >= 0)
        close(tfd);
    if (epfd >= 0)
        close(epfd);
    return fanin_end(f, ok) ? 0 : 1; /* lc_mux_free closes mfd */
}
