/* The access log: one line per finished exchange on stdout, buffered per worker and written
 * with one write(2) per loop pass (or per 4 KiB, so lines of two workers never interleave in a
 * pipe). Each worker owns its own struct access_log. */
#ifndef APP_ACCESS_LOG_H
#define APP_ACCESS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ACCESS_LOG_WRITE_BYTES 4096 /* PIPE_BUF: a write this size is atomic on a pipe */

struct access_log {
    bool enabled;
    bool json;            /* one JSON object per line instead of text */
    const char *instance; /* borrowed */
    char buffer[ACCESS_LOG_WRITE_BYTES];
    size_t used;
    time_t cached_second;
    char cached_time[24]; /* "2026-01-02T03:04:05" of cached_second */
};

void access_log_init(struct access_log *log, bool enabled, bool json, const char *instance);

struct access_entry {
    const char *client;
    const char *method;
    const char *target; /* raw, escaped here */
    unsigned status;    /* 0: no answer was sent */
    uint64_t bytes;
    int64_t duration_ns;
    const char *outcome; /* NULL, or why the exchange ended early */
};

/* Appends one line; writes the buffer first when the line would not fit. */
void access_log_append(struct access_log *log, const struct access_entry *entry);

/* Writes what is buffered. */
void access_log_flush(struct access_log *log);

#endif
