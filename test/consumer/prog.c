/*
 * A program that uses lazychan the way another project would: built against the installed
 * library (pkg-config, CMake's find_package) or with lazychan as a meson subproject, by
 * .ci/consumers. A thread sends 1,000 numbers into a bounded channel and drops its sender; main
 * receives them until end of stream and checks each. Prints one line and exits 0 when all came.
 */
#include <lazychan.h>

#include <pthread.h>
#include <stdio.h>

#define COUNT 1000

static void *produce(void *arg)
{
    lc_tx *tx = arg;
    for (unsigned i = 0; i < COUNT; i++)
        if (lc_send(tx, &i) != LC_OK)
            break; /* the receiver sees the gap */
    lc_tx_drop(tx);
    return NULL;
}

int main(void)
{
    lc_config cfg = {.capacity = 16};
    lc_tx *tx;
    lc_rx *rx;
    int rc = lc_channel(sizeof(unsigned), &cfg, &tx, &rx);
    if (rc != LC_OK) {
        fprintf(stderr, "lc_channel: %s\n", lc_strerror(rc));
        return 1;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, produce, tx) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    unsigned got = 0, value;
    while ((rc = lc_recv(rx, &value)) == LC_OK && value == got)
        got++;
    pthread_join(thread, NULL);
    lc_rx_drop(rx);
    if (rc != LC_CLOSED || got != COUNT) {
        fprintf(stderr, "received %u of %u in order, then %s\n", got, COUNT,
                rc == LC_OK ? "a number out of order" : lc_strerror(rc));
        return 1;
    }
    printf("lazychan %u.%u.%u: %u messages received in order\n", lc_version() / 10000,
           lc_version() / 100 % 100, lc_version() % 100, got);
    return 0;
}
