/*
 * The definitions of the test hooks, for the hooked test library only: src/ declares them
 * (under LC_TEST_HOOKS, queue.h and chan.h) but does not define them, so a normal build cannot
 * call them. Including both declarations here lets the compiler check that they agree.
 */
#include "chan.h"
#include "queue.h"

#include "push_window.h"

void (*volatile lc__test_push_window)(void) = NULL;
void (*volatile lc__test_drop_left_in_flight)(void) = NULL;
