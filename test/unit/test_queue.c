/* The queue's mark (src/queue.h), white-box: single-threaded, so every step is exact. The
 * multi-threaded side (a mark racing a link) is checked by the stress suite and the model. */
#include <criterion/criterion.h>

#include "queue.h" /* built with LC_TEST_HOOKS: the consumer can run inside a push */

#include "push_window.h"

static lc__queue q;
static lc_node nodes[4];

/* Runs once, between the swap and the link of the push that is in progress. */
static lc_node *window_pop;
static bool window_mark;
static void consumer_in_window(void)
{
    lc__test_push_window = NULL;
    window_pop = lc__queue_pop(&q);
    window_mark = lc__queue_mark(&q);
}

static void init(void) { lc__queue_init(&q); }

TestSuite(queue, .init = init);

/* Pops nodes[first..last] in that order, then finds the queue empty. */
static void assert_pops(int first, int last)
{
    for (int i = first; i <= last; i++)
        cr_assert_eq(lc__queue_pop(&q), &nodes[i], "pop %d", i);
    cr_assert_null(lc__queue_pop(&q));
}

Test(queue, a_push_finds_no_mark_unless_the_consumer_made_one)
{
    cr_assert_not(lc__queue_push(&q, &nodes[0]));
    cr_assert_not(lc__queue_push(&q, &nodes[1]));
    assert_pops(0, 1);
}

Test(queue, mark_on_the_empty_queue_is_seen_by_the_next_push_only)
{
    cr_assert(lc__queue_mark(&q));
    cr_assert(lc__queue_mark(&q), "marking again is allowed and keeps the mark");
    cr_assert(lc__queue_push(&q, &nodes[0]), "the push after the mark did not see it");
    cr_assert_not(lc__queue_push(&q, &nodes[1]), "a mark was seen twice");
    assert_pops(0, 1);
}

Test(queue, mark_fails_while_a_node_can_be_popped)
{
    lc__queue_push(&q, &nodes[0]);
    cr_assert_not(lc__queue_mark(&q), "marked a queue holding a node");
    lc__queue_push(&q, &nodes[1]);
    cr_assert_eq(lc__queue_pop(&q), &nodes[0]);
    /* head is now the last node, complete (tail is it): it can be popped */
    cr_assert_not(lc__queue_mark(&q));
    cr_assert_not(lc__queue_push(&q, &nodes[2]), "a failed mark left a mark");
    assert_pops(1, 2);
}

Test(queue, a_mark_reads_as_null_and_the_stub_put_back_has_none)
{
    cr_assert(lc__queue_mark(&q));
    cr_assert_null(lc__queue_pop(&q), "the mark was taken for a node");
    cr_assert_not(lc__queue_peek(&q));
    cr_assert(lc__queue_push(&q, &nodes[0]));
    cr_assert(lc__queue_peek(&q));
    cr_assert_eq(lc__queue_pop(&q), &nodes[0]); /* the stub goes back, its link reset */
    cr_assert_not(lc__queue_push(&q, &nodes[1]), "the stub came back marked");
    assert_pops(1, 1);
}

Test(queue, mark_after_a_drained_run_marks_the_stub)
{
    for (int i = 0; i < 3; i++)
        lc__queue_push(&q, &nodes[i]);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(lc__queue_pop(&q), &nodes[i]);
    cr_assert(lc__queue_mark(&q));
    cr_assert(lc__queue_push(&q, &nodes[3]));
    assert_pops(3, 3);
}

Test(queue, the_push_in_flight_on_an_empty_queue_sees_the_mark)
{
    lc__test_push_window = consumer_in_window;
    cr_assert(lc__queue_push(&q, &nodes[0]), "the link did not find the mark made in flight");
    cr_assert_null(window_pop);
    cr_assert(window_mark);
    assert_pops(0, 0);
}

Test(queue, the_push_in_flight_behind_a_node_sees_the_mark_on_that_node)
{
    lc__queue_push(&q, &nodes[0]);
    lc__test_push_window = consumer_in_window;
    cr_assert(lc__queue_push(&q, &nodes[1]), "the link did not find the mark made in flight");
    cr_assert_null(window_pop, "the node before a push in flight was handed out");
    cr_assert(window_mark);
    assert_pops(0, 1);
}

/* ---- closing (lc_rx_drop): lc__queue_close, lc__queue_pop_closed ---- */

/* Pops nodes[first..last] with lc__queue_pop_closed, then finds nothing left to come. */
static void assert_closed_pops(int first, int last)
{
    for (int i = first; i <= last; i++)
        cr_assert_eq(lc__queue_pop_closed(&q), &nodes[i], "pop_closed %d", i);
    cr_assert_null(lc__queue_pop_closed(&q));
    cr_assert_not(lc__queue_closed_pending(&q), "a drained queue has something pending");
}

Test(queue, a_push_after_the_close_fails_and_links_nothing)
{
    lc__queue_close(&q);
    lc__queue_close(&q); /* again: no change */
    cr_assert_eq(lc__queue_push(&q, &nodes[0]), LC__PUSH_CLOSED);
    assert_closed_pops(0, -1);
}

Test(queue, pop_closed_hands_out_every_linked_node_the_last_included)
{
    for (int i = 0; i < 3; i++)
        cr_assert_eq(lc__queue_push(&q, &nodes[i]), LC__PUSHED);
    lc__queue_close(&q);
    cr_assert_eq(lc__queue_push(&q, &nodes[3]), LC__PUSH_CLOSED);
    assert_closed_pops(0, 2);
}

Test(queue, pop_closed_after_the_stub_went_back)
{
    lc__queue_push(&q, &nodes[0]);
    cr_assert_eq(lc__queue_pop(&q), &nodes[0]); /* the stub back at both ends */
    lc__queue_push(&q, &nodes[1]);
    lc__queue_push(&q, &nodes[2]);
    lc__queue_close(&q);
    assert_closed_pops(1, 2);
}

/* The consumer closes the queue, and drains what it can, inside a push that has swapped. */
static lc_node *window_closed_pop;
static bool window_pending;
static void close_in_window(void)
{
    lc__test_push_window = NULL;
    lc__queue_close(&q);
    window_closed_pop = lc__queue_pop_closed(&q);
    window_pending = lc__queue_closed_pending(&q);
}

Test(queue, a_push_that_swapped_before_the_close_still_links)
{
    lc__queue_push(&q, &nodes[0]);
    lc__test_push_window = close_in_window;
    cr_assert_eq(lc__queue_push(&q, &nodes[1]), LC__PUSHED);
    cr_assert_null(window_closed_pop, "the node before a push in flight was handed out");
    cr_assert(window_pending, "a push in flight was not seen as pending");
    cr_assert(lc__queue_closed_pending(&q), "a node linked after the close is not pending");
    assert_closed_pops(0, 1);
}
