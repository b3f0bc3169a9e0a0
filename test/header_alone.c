/* The public header must compile on its own, first, under -std=c11 -Wall -Wextra -Werror. */
#include "lazychan.h"

int main(void)
{
    lc_config cfg = {0};
    lc_node node = {0};
    lc_waker waker = {0};
    (void)cfg;
    (void)node;
    (void)waker;
    return LC_OK;
}
