/*
 * The public header, used by a program that is C (c99 and later) or C++ (c++11 and later) at
 * once: run by header_compile.sh with each compiler and standard, strictly (-pedantic -Wall
 * -Wextra -Werror), then linked against the C library and run, which also checks the C++
 * linkage of every call it makes. Exits 0 when a small exchange through a channel and a mux
 * works; prints what failed otherwise.
 */
#include "lazychan.h"

#include <stdio.h>
#include <string.h>

struct event {
    int object;
    int status;
};

static int failed(const char *what, int rc)
{
    printf("%s: %s\n", what, lc_strerror(rc));
    return 1;
}

int main(void)
{
    lc_config cfg;
    lc_tx *tx;
    lc_rx *rx;
    lc_mux *mux;
    lc_mux_event ev[4];
    struct event in, out;
    int rc;

    memset(&cfg, 0, sizeof cfg); /* not = {0}: C++ -Wextra wants every member named */
    cfg.capacity = 2;
    if (lc_version() != LC_VERSION)
        return failed("lc_version", LC_INVALID);
    if ((rc = lc_channel(sizeof(struct event), &cfg, &tx, &rx)) != LC_OK)
        return failed("lc_channel", rc);
    if ((rc = lc_mux_new(NULL, &mux)) != LC_OK)
        return failed("lc_mux_new", rc);
    if ((rc = lc_mux_add(mux, rx, &in)) != LC_OK)
        return failed("lc_mux_add", rc);
    in.object = 7;
    in.status = 200;
    if ((rc = lc_try_send(tx, &in)) != LC_OK)
        return failed("lc_try_send", rc);
    if ((rc = lc_mux_wait(mux, LC_FOREVER, ev, 4)) != 1 || ev[0].rx != rx ||
        ev[0].user_data != &in)
        return failed("lc_mux_wait", rc < 0 ? rc : LC_INVALID);
    if ((rc = lc_try_recv(rx, &out)) != LC_OK)
        return failed("lc_try_recv", rc);
    if (out.object != 7 || out.status != 200 || lc_rx_len(rx) != 0 || lc_sender_count(rx) != 1)
        return failed("the message received", LC_INVALID);
    lc_tx_drop(tx);
    if ((rc = lc_try_recv(rx, &out)) != LC_CLOSED)
        return failed("lc_try_recv after the last lc_tx_drop", rc);
    lc_rx_drop(rx); /* also removes it from the mux */
    if (lc_mux_count(mux) != 0)
        return failed("lc_mux_count", LC_INVALID);
    lc_mux_free(mux);
    return 0;
}
