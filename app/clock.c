/* The wall clock and its ISO-8601 formatting (clock.h); the monotonic clock is inline there. */
#include "clock.h"

#include <stdio.h>

int64_t clock_wall_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

size_t clock_format_iso_s(time_t seconds, char *out, size_t out_size)
{
    struct tm tm;

    gmtime_r(&seconds, &tm);
    return strftime(out, out_size, "%Y-%m-%dT%H:%M:%S", &tm);
}

size_t clock_format_iso_ms(int64_t wall_ms, char *out, size_t out_size)
{
    size_t n = clock_format_iso_s((time_t)(wall_ms / 1000), out, out_size);
    int ms = snprintf(out + n, out_size - n, ".%03dZ", (int)(wall_ms % 1000));

    if (n == 0 || ms < 0 || (size_t)ms >= out_size - n) return 0;
    return n + (size_t)ms;
}
