/* Access-log formatting and buffering for one worker. The wall-clock second is formatted once
 * per second, not once per line. */
#include "access_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "escape.h"

#define LOGGED_TARGET_MAX_BYTES 512

void access_log_init(struct access_log *log, bool enabled, bool json, const char *instance)
{
    log->enabled = enabled;
    log->json = json;
    log->instance = instance;
    log->used = 0;
    log->cached_second = 0;
    log->cached_time[0] = '\0';
}

void access_log_flush(struct access_log *log)
{
    size_t done = 0;

    while (done < log->used) {
        ssize_t n = write(STDOUT_FILENO, log->buffer + done, log->used - done);

        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; /* stdout is gone: drop the lines rather than stall the worker */
        done += (size_t)n;
    }
    log->used = 0;
}

/* A line being built; writes past `end` are dropped (the line is cut, never overrun). */
struct line {
    char *pos;
    char *end;
};

static void put(struct line *l, const char *s, size_t n)
{
    if (n > (size_t)(l->end - l->pos)) n = (size_t)(l->end - l->pos);
    memcpy(l->pos, s, n);
    l->pos += n;
}

static void put_str(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

static void put_uint(struct line *l, unsigned long long v)
{
    char digits[24];
    size_t n = sizeof(digits);

    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(l, digits + n, sizeof(digits) - n);
}

/* `value` as exactly three digits, zero-padded (milliseconds, or the fraction of one). */
static void put_three(struct line *l, unsigned value)
{
    char digits[3] = {(char)('0' + value / 100 % 10), (char)('0' + value / 10 % 10),
                      (char)('0' + value % 10)};

    put(l, digits, 3);
}

/* A duration in ms with three decimals, without printf's floating point. */
static void put_duration(struct line *l, int64_t ns)
{
    uint64_t us = ns > 0 ? (uint64_t)ns / 1000 : 0;

    put_uint(l, us / 1000);
    put(l, ".", 1);
    put_three(l, (unsigned)(us % 1000));
}

/* {"time": ..., "instance": ..., ...}: strings escaped for JSON, the status null when no answer
 * was sent, the outcome only when the exchange ended early. */
static void format_json(const struct access_log *log, const struct access_entry *entry, unsigned ms,
                        struct line *l)
{
    char escaped[LOGGED_TARGET_MAX_BYTES];

    put_str(l, "{\"time\":\"");
    put_str(l, log->cached_time);
    put(l, ".", 1);
    put_three(l, ms);
    put_str(l, "Z\",\"instance\":\"");
    escape_json(log->instance, escaped, sizeof(escaped));
    put_str(l, escaped);
    put_str(l, "\",\"client\":\"");
    put_str(l, entry->client);
    put_str(l, "\",\"method\":\"");
    escape_json(entry->method, escaped, sizeof(escaped));
    put_str(l, escaped);
    put_str(l, "\",\"path\":\"");
    escape_json(entry->target, escaped, sizeof(escaped));
    put_str(l, escaped);
    put_str(l, "\",\"status\":");
    if (entry->status != 0)
        put_uint(l, entry->status);
    else
        put_str(l, "null");
    put_str(l, ",\"bytes\":");
    put_uint(l, entry->bytes);
    put_str(l, ",\"duration_ms\":");
    put_duration(l, entry->duration_ns);
    if (entry->outcome != NULL) {
        put_str(l, ",\"outcome\":\"");
        put_str(l, entry->outcome);
        put(l, "\"", 1);
    }
    put(l, "}", 1);
}

/* time instance client "METHOD target" status bytes durationms[ outcome] */
static void format_text(const struct access_log *log, const struct access_entry *entry, unsigned ms,
                        struct line *l)
{
    char escaped[LOGGED_TARGET_MAX_BYTES];

    put_str(l, log->cached_time);
    put(l, ".", 1);
    put_three(l, ms);
    put(l, "Z ", 2);
    put_str(l, log->instance);
    put(l, " ", 1);
    put_str(l, entry->client);
    put(l, " \"", 2);
    escape_log(entry->method[0] != '\0' ? entry->method : "-", escaped, 24);
    put_str(l, escaped);
    put(l, " ", 1);
    escape_log(entry->target, escaped, sizeof(escaped));
    put_str(l, escaped);
    put(l, "\" ", 2);
    if (entry->status != 0)
        put_uint(l, entry->status);
    else
        put(l, "-", 1);
    put(l, " ", 1);
    put_uint(l, entry->bytes);
    put(l, " ", 1);
    put_duration(l, entry->duration_ns);
    put(l, "ms", 2);
    if (entry->outcome != NULL) {
        put(l, " ", 1);
        put_str(l, entry->outcome);
    }
}

void access_log_append(struct access_log *log, const struct access_entry *entry)
{
    char buffer[LOGGED_TARGET_MAX_BYTES * 2 + 256];
    struct line line = {buffer, buffer + sizeof(buffer) - 1}; /* room for the newline */
    struct timespec now;
    size_t n;

    if (!log->enabled) return;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec != log->cached_second) {
        clock_format_iso_s(now.tv_sec, log->cached_time, sizeof(log->cached_time));
        log->cached_second = now.tv_sec;
    }
    if (log->json)
        format_json(log, entry, (unsigned)(now.tv_nsec / 1000000), &line);
    else
        format_text(log, entry, (unsigned)(now.tv_nsec / 1000000), &line);
    *line.pos++ = '\n';
    n = (size_t)(line.pos - buffer);
    if (log->used + n > sizeof(log->buffer)) access_log_flush(log);
    memcpy(log->buffer + log->used, buffer, n);
    log->used += n;
}
