/* Monotonic time for deadlines and durations. Callable from any thread. */
#ifndef APP_CLOCK_H
#define APP_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t clock_now_ms(void)
{
    return clock_now_ns() / 1000000;
}

#endif
