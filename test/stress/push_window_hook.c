/*
 * The definition of the push-window hook, for the hooked test library only: src/ declares it
 * (under LC_TEST_HOOKS) but does not define it, so a normal build cannot call it. Including
 * both declarations here lets the compiler check that they agree.
 */
#include "queue.h"

#include "push_window.h"

void (*volatile lc__test_push_window)(void) = NULL;
