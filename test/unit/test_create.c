/* lc_channel, lc_channel_intrusive, lc_strerror and lc_version. */
#include <criterion/criterion.h>
#include <limits.h>
#include <string.h>

#include "helpers.h"

/* Values a failed creation must leave in *tx and *rx. */
#define TX_SENTINEL ((lc_tx *)(void *)&tx_sentinel_obj)
#define RX_SENTINEL ((lc_rx *)(void *)&rx_sentinel_obj)
static char tx_sentinel_obj, rx_sentinel_obj;

static void assert_invalid_copy(size_t msg_size, const lc_config *cfg)
{
    lc_tx *tx = TX_SENTINEL;
    lc_rx *rx = RX_SENTINEL;
    cr_assert_eq(lc_channel(msg_size, cfg, &tx, &rx), LC_INVALID, "msg_size %zu", msg_size);
    cr_assert_eq(tx, TX_SENTINEL, "*tx changed on error");
    cr_assert_eq(rx, RX_SENTINEL, "*rx changed on error");
}

static void assert_invalid_intrusive(const lc_config *cfg)
{
    lc_tx *tx = TX_SENTINEL;
    lc_rx *rx = RX_SENTINEL;
    cr_assert_eq(lc_channel_intrusive(cfg, &tx, &rx), LC_INVALID);
    cr_assert_eq(tx, TX_SENTINEL, "*tx changed on error");
    cr_assert_eq(rx, RX_SENTINEL, "*rx changed on error");
}

Test(create, channel_with_null_cfg_is_ok_and_usable)
{
    lc_tx *tx = NULL;
    lc_rx *rx = NULL;
    cr_assert_eq(lc_channel(sizeof(uint64_t), NULL, &tx, &rx), LC_OK);
    cr_assert_not_null(tx);
    cr_assert_not_null(rx);
    uint64_t in = 42, out = 0;
    cr_assert_eq(lc_try_send(tx, &in), LC_OK);
    cr_assert_eq(lc_try_recv(rx, &out), LC_OK);
    cr_assert_eq(out, 42);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(create, channel_with_full_cfg_is_ok)
{
    struct counter cnt;
    struct drop_log log;
    counter_init(&cnt);
    drop_log_init(&log, 8);
    lc_config cfg = {.capacity = 3, .allocator = &cnt.allocator, .drop = drop_copy, .drop_ctx = &log};
    lc_tx *tx = NULL;
    lc_rx *rx = NULL;
    cr_assert_eq(lc_channel(8, &cfg, &tx, &rx), LC_OK);
    cr_assert_not_null(tx);
    cr_assert_not_null(rx);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_allocs(&cnt), 0);
}

Test(create, channel_rejects_null_tx)
{
    lc_rx *rx = RX_SENTINEL;
    cr_assert_eq(lc_channel(8, NULL, NULL, &rx), LC_INVALID);
    cr_assert_eq(rx, RX_SENTINEL, "*rx changed on error");
}

Test(create, channel_rejects_null_rx)
{
    lc_tx *tx = TX_SENTINEL;
    cr_assert_eq(lc_channel(8, NULL, &tx, NULL), LC_INVALID);
    cr_assert_eq(tx, TX_SENTINEL, "*tx changed on error");
}

Test(create, channel_rejects_msg_size_above_max)
{
    assert_invalid_copy(LC_MSG_SIZE_MAX + 1, NULL);
    assert_invalid_copy(SIZE_MAX, NULL);
}

Test(create, channel_accepts_msg_size_max)
{
    /* The node size (link + LC_MSG_SIZE_MAX) must not overflow; creation allocates no node. */
    struct counter cnt;
    counter_init(&cnt);
    lc_config cfg = {.allocator = &cnt.allocator};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(LC_MSG_SIZE_MAX, &cfg, &tx, &rx), LC_OK);
    cr_assert_eq(atomic_load(&cnt.allocs), 1);
    cr_assert_eq(atomic_load(&cnt.max_size), CHAN_BYTES);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_bytes(&cnt), 0);
}

Test(create, channel_rejects_capacity_above_max)
{
    /* The library needs a 64-bit target (src/atomic.h), so LC_CAPACITY_MAX + 1 fits a size_t. */
    lc_config cfg = {.capacity = LC_CAPACITY_MAX + 1};
    lc_config huge = {.capacity = SIZE_MAX};
    assert_invalid_copy(8, &cfg);
    assert_invalid_copy(8, &huge);
}

Test(create, channel_accepts_capacity_max)
{
    lc_config cfg = {.capacity = LC_CAPACITY_MAX};
    lc_tx *tx;
    lc_rx *rx;
    cr_assert_eq(lc_channel(8, &cfg, &tx, &rx), LC_OK);
    uint64_t v = 1;
    cr_assert_eq(lc_try_send(tx, &v), LC_OK);
    cr_assert_eq(lc_rx_len(rx), 1);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(create, channel_rejects_allocator_without_alloc)
{
    struct counter cnt;
    counter_init(&cnt);
    cnt.allocator.alloc = NULL;
    lc_config cfg = {.allocator = &cnt.allocator};
    assert_invalid_copy(8, &cfg);
    cr_assert_eq(atomic_load(&cnt.frees), 0);
}

Test(create, channel_rejects_allocator_without_free)
{
    struct counter cnt;
    counter_init(&cnt);
    cnt.allocator.free = NULL;
    lc_config cfg = {.allocator = &cnt.allocator};
    assert_invalid_copy(8, &cfg);
    cr_assert_eq(atomic_load(&cnt.attempts), 0, "allocated although the allocator is invalid");
}

Test(create, channel_nomem_when_allocator_fails)
{
    struct counter cnt;
    counter_init(&cnt);
    atomic_store(&cnt.fail_at, 1);
    lc_config cfg = {.capacity = 4, .allocator = &cnt.allocator};
    lc_tx *tx = TX_SENTINEL;
    lc_rx *rx = RX_SENTINEL;
    cr_assert_eq(lc_channel(8, &cfg, &tx, &rx), LC_NOMEM);
    cr_assert_eq(tx, TX_SENTINEL, "*tx changed on error");
    cr_assert_eq(rx, RX_SENTINEL, "*rx changed on error");
    cr_assert_eq(atomic_load(&cnt.failures), 1);
    cr_assert_eq(counter_live_allocs(&cnt), 0);
    /* The same allocator works again: creation succeeds. */
    cr_assert_eq(lc_channel(8, &cfg, &tx, &rx), LC_OK);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
    cr_assert_eq(counter_live_allocs(&cnt), 0);
}

Test(create, intrusive_with_null_cfg_is_ok_and_usable)
{
    lc_tx *tx = NULL;
    lc_rx *rx = NULL;
    cr_assert_eq(lc_channel_intrusive(NULL, &tx, &rx), LC_OK);
    cr_assert_not_null(tx);
    cr_assert_not_null(rx);
    struct item it = {.seq = 7};
    lc_node *got = NULL;
    cr_assert_eq(lc_try_send_node(tx, &it.node), LC_OK);
    cr_assert_eq(lc_try_recv_node(rx, &got), LC_OK);
    cr_assert_eq(got, &it.node);
    lc_tx_drop(tx);
    lc_rx_drop(rx);
}

Test(create, intrusive_rejects_null_tx)
{
    lc_rx *rx = RX_SENTINEL;
    cr_assert_eq(lc_channel_intrusive(NULL, NULL, &rx), LC_INVALID);
    cr_assert_eq(rx, RX_SENTINEL, "*rx changed on error");
}

Test(create, intrusive_rejects_null_rx)
{
    lc_tx *tx = TX_SENTINEL;
    cr_assert_eq(lc_channel_intrusive(NULL, &tx, NULL), LC_INVALID);
    cr_assert_eq(tx, TX_SENTINEL, "*tx changed on error");
}

Test(create, intrusive_rejects_capacity_above_max)
{
    lc_config cfg = {.capacity = LC_CAPACITY_MAX + 1};
    lc_config huge = {.capacity = SIZE_MAX};
    assert_invalid_intrusive(&cfg);
    assert_invalid_intrusive(&huge);
}

Test(create, intrusive_rejects_allocator_without_alloc_or_free)
{
    struct counter no_alloc, no_free;
    counter_init(&no_alloc);
    counter_init(&no_free);
    no_alloc.allocator.alloc = NULL;
    no_free.allocator.free = NULL;
    lc_config cfg1 = {.allocator = &no_alloc.allocator};
    lc_config cfg2 = {.allocator = &no_free.allocator};
    assert_invalid_intrusive(&cfg1);
    assert_invalid_intrusive(&cfg2);
    cr_assert_eq(atomic_load(&no_free.attempts), 0);
}

Test(create, intrusive_nomem_when_allocator_fails)
{
    struct counter cnt;
    counter_init(&cnt);
    atomic_store(&cnt.fail_at, 1);
    lc_config cfg = {.allocator = &cnt.allocator};
    lc_tx *tx = TX_SENTINEL;
    lc_rx *rx = RX_SENTINEL;
    cr_assert_eq(lc_channel_intrusive(&cfg, &tx, &rx), LC_NOMEM);
    cr_assert_eq(tx, TX_SENTINEL, "*tx changed on error");
    cr_assert_eq(rx, RX_SENTINEL, "*rx changed on error");
    cr_assert_eq(counter_live_allocs(&cnt), 0);
}

/* Every LC_ code, in one place, for the lc_strerror tests. */
static const int all_codes[] = {LC_OK,      LC_EMPTY,  LC_FULL,    LC_CLOSED,
                                LC_TIMEDOUT, LC_NOMEM, LC_INVALID, LC_PENDING};
#define N_CODES (sizeof all_codes / sizeof all_codes[0])

Test(create, strerror_is_distinct_for_every_code)
{
    const char *unknown = lc_strerror(12345);
    cr_assert_not_null(unknown);
    for (size_t i = 0; i < N_CODES; i++) {
        const char *s = lc_strerror(all_codes[i]);
        cr_assert_not_null(s, "code %d", all_codes[i]);
        cr_assert_gt(strlen(s), 0, "code %d", all_codes[i]);
        cr_assert_str_neq(s, unknown, "code %d reads as unknown", all_codes[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(s, lc_strerror(all_codes[j]), "codes %d and %d share \"%s\"",
                              all_codes[i], all_codes[j], s);
    }
}

Test(create, strerror_is_unknown_for_other_codes)
{
    const int others[] = {1, 42, -8, -100, INT_MIN, INT_MAX};
    const char *unknown = lc_strerror(others[0]);
    cr_assert_not_null(unknown);
    cr_assert_not_null(strstr(unknown, "unknown"), "got \"%s\"", unknown);
    for (size_t i = 1; i < sizeof others / sizeof others[0]; i++)
        cr_assert_str_eq(lc_strerror(others[i]), unknown, "code %d", others[i]);
}

Test(create, version_matches_header)
{
    cr_assert_eq(lc_version(), (unsigned)LC_VERSION);
    cr_assert_eq(LC_VERSION, LC_VERSION_MAJOR * 10000 + LC_VERSION_MINOR * 100 + LC_VERSION_PATCH);
}
