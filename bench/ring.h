/*
 * The baseline: a bounded ring buffer of fixed-size messages guarded by one pthread mutex and
 * two condition variables, as a user would write it in an afternoon. Senders block while it is
 * full, the receiver while it is empty; any number of senders and receivers. One allocation: the
 * struct and capacity slots of msg_size bytes, reserved up front.
 */
#ifndef LC_BENCH_RING_H
#define LC_BENCH_RING_H

#include <stddef.h>

typedef struct ring ring;

/* Bytes that ring_new asks malloc for. */
size_t ring_alloc_size(size_t msg_size, size_t capacity);
/* capacity >= 1. NULL if malloc fails or the size overflows. */
ring *ring_new(size_t msg_size, size_t capacity);
void ring_free(ring *r);
/* Copies msg in, waiting while the ring is full. */
void ring_send(ring *r, const void *msg);
/* Copies the oldest message out, waiting while the ring is empty. */
void ring_recv(ring *r, void *out);

#endif /* LC_BENCH_RING_H */
