/*
 * The sender reference limit of lc_tx_clone. Reaching it takes hundreds of millions of clones
 * (a few seconds), so it has an executable of its own.
 */
#include <criterion/criterion.h>
#include <stdalign.h>
#include <stdlib.h>

#include "helpers.h"

/* The header: lc_tx_clone "Returns NULL if tx is NULL or the channel already has 2^26 - 1
 * sender references." */
#define DOCUMENTED_SENDER_MAX (((size_t)1 << 26) - 1)

/* The channel of this test lives in a static block, so the test can end without dropping its
 * tens of millions of references (and no leak checker sees a leak). Nodes come from malloc. */
static alignas(max_align_t) unsigned char arena[256];
static bool arena_used;

static void *arena_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (arena_used || size > sizeof arena)
        return malloc(size);
    arena_used = true;
    return arena;
}

static void arena_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    (void)size;
    if (ptr == (void *)arena)
        arena_used = false;
    else
        free(ptr);
}

Test(limits, tx_clone_allows_the_documented_number_of_references, .timeout = 50)
{
    static const lc_allocator a = {arena_alloc, arena_free, NULL};
    lc_config cfg = {.allocator = &a};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(8, &cfg, &tx, &rx), LC_OK);

    size_t refs = 1;
    while (refs < DOCUMENTED_SENDER_MAX && lc_tx_clone(tx) == tx)
        refs++;
    cr_assert_eq(lc_sender_count(rx), refs);
    cr_assert_eq(refs, DOCUMENTED_SENDER_MAX, "lc_tx_clone returned NULL at %zu references, documented %zu",
                 refs, DOCUMENTED_SENDER_MAX);
    cr_assert_null(lc_tx_clone(tx), "a clone beyond the documented limit succeeded");
    cr_assert_eq(lc_sender_count(rx), DOCUMENTED_SENDER_MAX);

    /* At the limit the channel still works, and the flags next to the count are intact. */
    uint64_t v = 3, out = 0;
    cr_assert_not(lc_tx_is_closed(tx));
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 3);
    cr_assert_eq(lc_try_recv(rx, &out), LC_EMPTY);
}

Test(limits, tx_clone_succeeds_again_after_a_drop_at_the_limit, .timeout = 50)
{
    static const lc_allocator a = {arena_alloc, arena_free, NULL};
    lc_config cfg = {.allocator = &a};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(8, &cfg, &tx, &rx), LC_OK);
    size_t refs = 1;
    while (refs <= DOCUMENTED_SENDER_MAX && lc_tx_clone(tx) == tx)
        refs++;
    cr_assert_leq(refs, DOCUMENTED_SENDER_MAX, "no limit on sender references");
    /* Whatever the limit, one drop makes room for exactly one clone. */
    lc_tx_drop(tx);
    cr_assert_eq(lc_sender_count(rx), refs - 1);
    cr_assert_eq(lc_tx_clone(tx), tx);
    cr_assert_null(lc_tx_clone(tx));
    cr_assert_eq(lc_sender_count(rx), refs);
}
