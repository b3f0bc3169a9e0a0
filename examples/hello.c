/* hello: a producer thread sends numbered greetings through a bounded channel; main prints them. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lazychan.h"

#define N_MESSAGES 10

struct message {
    int seq;
    char text[32];
};

struct producer {
    lc_tx *tx; /* owned by the producer thread, which drops it when done */
    int rc;    /* LC_OK, or the code of the send that failed */
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    p->rc = LC_OK;
    for (int i = 1; i <= N_MESSAGES && p->rc == LC_OK; i++) {
        struct message m = {.seq = i};
        snprintf(m.text, sizeof m.text, "hello, world #%d", i);
        p->rc = lc_send(p->tx, &m); /* copies m; waits while 4 messages are queued */
    }
    lc_tx_drop(p->tx); /* the last sender gone: the receiver drains, then gets LC_CLOSED */
    return NULL;
}

int main(void)
{
    lc_config cfg = {.capacity = 4};
    lc_tx *tx;
    lc_rx *rx;
    int rc = lc_channel(sizeof(struct message), &cfg, &tx, &rx);
    if (rc != LC_OK) {
        fprintf(stderr, "hello: lc_channel: %s\n", lc_strerror(rc));
        return 1;
    }

    struct producer p = {.tx = tx, .rc = LC_OK};
    pthread_t thread;
    int err = pthread_create(&thread, NULL, produce, &p);
    if (err != 0) {
        fprintf(stderr, "hello: pthread_create: %s\n", strerror(err));
        lc_tx_drop(tx);
        lc_rx_drop(rx);
        return 1;
    }

    int status = 0, received = 0;
    struct message m;
    while ((rc = lc_recv(rx, &m)) == LC_OK) {
        printf("%2d: %s\n", m.seq, m.text);
        received++;
    }
    if (rc != LC_CLOSED) {
        fprintf(stderr, "hello: lc_recv: %s\n", lc_strerror(rc));
        status = 1;
    }
    lc_rx_drop(rx); /* before the join: a producer still blocked in lc_send wakes with LC_CLOSED */

    err = pthread_join(thread, NULL);
    if (err != 0) {
        fprintf(stderr, "hello: pthread_join: %s\n", strerror(err));
        return 1;
    }
    if (p.rc != LC_OK) {
        fprintf(stderr, "hello: lc_send: %s\n", lc_strerror(p.rc));
        status = 1;
    }
    printf("received %d of %d messages\n", received, N_MESSAGES);
    return status;
}
