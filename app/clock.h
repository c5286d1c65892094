/* Time: the monotonic clock for deadlines and durations, the wall clock for what people read,
 * and the one ISO-8601 formatter of the app (logs, the access log, message and event times).
 * Callable from any thread. */
#ifndef APP_CLOCK_H
#define APP_CLOCK_H

#include <stddef.h>
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

/* Wall-clock time in ms since the epoch. */
int64_t clock_wall_ms(void);

#define CLOCK_ISO_MAX_BYTES 32 /* room for either format below, with its NUL */

/* Formats `seconds` since the epoch as UTC "2026-01-02T03:04:05" into `out`. Returns the length,
 * 0 when `out` is too small. */
size_t clock_format_iso_s(time_t seconds, char *out, size_t out_size);

/* Formats `wall_ms` (ms since the epoch) as UTC "2026-01-02T03:04:05.678Z" into `out`. Returns
 * the length, 0 when `out` is too small. */
size_t clock_format_iso_ms(int64_t wall_ms, char *out, size_t out_size);

#endif
