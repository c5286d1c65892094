/* Access-log formatting and buffering for one worker. The wall-clock second is formatted once
 * per second, not once per line. */
#include "access_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* {"time": ..., "instance": ..., ...}: strings escaped for JSON, the status null when no answer
 * was sent, the outcome only when the exchange ended early. */
static int format_json(const struct access_log *log, const struct access_entry *entry, long ms,
                       char *line, size_t size)
{
    char target[LOGGED_TARGET_MAX_BYTES], method[40], instance[160], status[12], outcome[48];

    json_escape(entry->target, target, sizeof(target));
    json_escape(entry->method, method, sizeof(method));
    json_escape(log->instance, instance, sizeof(instance));
    if (entry->status != 0)
        snprintf(status, sizeof(status), "%u", entry->status);
    else
        snprintf(status, sizeof(status), "null");
    if (entry->outcome != NULL)
        snprintf(outcome, sizeof(outcome), ",\"outcome\":\"%s\"", entry->outcome);
    else
        outcome[0] = '\0';
    return snprintf(line, size,
                    "{\"time\":\"%s.%03ldZ\",\"instance\":\"%s\",\"client\":\"%s\","
                    "\"method\":\"%s\",\"path\":\"%s\",\"status\":%s,\"bytes\":%llu,"
                    "\"duration_ms\":%.3f%s}\n",
                    log->cached_time, ms, instance, entry->client, method, target, status,
                    (unsigned long long)entry->bytes, (double)entry->duration_ns / 1e6, outcome);
}

void access_log_append(struct access_log *log, const struct access_entry *entry)
{
    char line[LOGGED_TARGET_MAX_BYTES + 256];
    char target[LOGGED_TARGET_MAX_BYTES];
    char method[24];
    char status[12];
    struct timespec now;
    int n;

    if (!log->enabled) return;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec != log->cached_second) {
        struct tm tm;

        gmtime_r(&now.tv_sec, &tm);
        strftime(log->cached_time, sizeof(log->cached_time), "%Y-%m-%dT%H:%M:%S", &tm);
        log->cached_second = now.tv_sec;
    }
    if (log->json) {
        n = format_json(log, entry, now.tv_nsec / 1000000, line, sizeof(line));
    } else {
        log_escape(entry->target, target, sizeof(target));
        log_escape(entry->method[0] != '\0' ? entry->method : "-", method, sizeof(method));
        if (entry->status != 0)
            snprintf(status, sizeof(status), "%u", entry->status);
        else
            snprintf(status, sizeof(status), "-");
        n = snprintf(line, sizeof(line), "%s.%03ldZ %s %s \"%s %s\" %s %llu %.3fms%s%s\n",
                     log->cached_time, now.tv_nsec / 1000000, log->instance, entry->client, method,
                     target, status, (unsigned long long)entry->bytes,
                     (double)entry->duration_ns / 1e6, entry->outcome != NULL ? " " : "",
                     entry->outcome != NULL ? entry->outcome : "");
    }
    if (n <= 0) return;
    if ((size_t)n >= sizeof(line)) n = (int)sizeof(line) - 1;
    if (log->used + (size_t)n > sizeof(log->buffer)) access_log_flush(log);
    memcpy(log->buffer + log->used, line, (size_t)n);
    log->used += (size_t)n;
}
