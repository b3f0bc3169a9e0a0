/*
 * The test hook of src/queue.h: a library built with -DLC_TEST_HOOKS calls it inside every push
 * onto a node queue (a channel's, or a mux's ready queue), between the swap of the producer end
 * and the store that links the previous node to the new one, when it is not NULL. Only the
 * hooked copy of the library that test/stress/meson.build makes for stress_push_window calls it;
 * push_window_hook.c defines it. Any thread that pushes calls it: senders, the receiver when it
 * re-pushes the queue's stub, and a sender that frees the channel.
 */
#ifndef LC_TEST_STRESS_PUSH_WINDOW_H
#define LC_TEST_STRESS_PUSH_WINDOW_H

extern void (*volatile lc__test_push_window)(void);

/* Called by lc_rx_drop of the hooked library when it leaves a message in flight to the last
 * sender: the documented exception to "nothing outlives the receiver" (stress_late_send). */
extern void (*volatile lc__test_drop_left_in_flight)(void);

#endif /* LC_TEST_STRESS_PUSH_WINDOW_H */
