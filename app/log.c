/* Diagnostic log: formats a line into a stack buffer and writes it with one write(2).
 * The level is set once at startup and only read afterwards. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"

static enum log_level current_level = LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
    current_level = level;
}

bool log_enabled(enum log_level level)
{
    return level <= current_level;
}

int log_level_parse(const char *name, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_message(enum log_level level, const char *fmt, ...)
{
    char line[2048];
    size_t used;
    int n;
    va_list ap;

    if (!log_enabled(level)) return;
    used = clock_format_iso_ms(clock_wall_ms(), line, sizeof(line));
    n = snprintf(line + used, sizeof(line) - used, " %s ", level_names[level]);
    used += (size_t)n;
    va_start(ap, fmt);
    n = vsnprintf(line + used, sizeof(line) - used, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    used += (size_t)n;
    if (used > sizeof(line) - 2) used = sizeof(line) - 2; /* truncated: keep the newline */
    line[used++] = '\n';
    (void)!write(STDERR_FILENO, line, used);
}

bool log_dedupe_report(struct log_dedupe *slot, enum log_level level, const char *message)
{
    bool fresh = true;
    unsigned long kept;

    pthread_mutex_lock(&slot->lock);
    kept = slot->count < LOG_DEDUPE_KEPT ? slot->count : LOG_DEDUPE_KEPT;
    for (unsigned long i = 0; i < kept && fresh; i++)
        fresh = strncmp(slot->kept[i], message, sizeof(slot->kept[i]) - 1) != 0;
    if (fresh) {
        snprintf(slot->kept[slot->count % LOG_DEDUPE_KEPT], sizeof(slot->kept[0]), "%s", message);
        slot->count++;
    }
    pthread_mutex_unlock(&slot->lock);
    if (fresh) log_message(level, "%s", message);
    return fresh;
}

bool log_dedupe_clear(struct log_dedupe *slot, char *ended, unsigned long ended_size)
{
    bool had;

    pthread_mutex_lock(&slot->lock);
    had = slot->count > 0;
    if (had) snprintf(ended, ended_size, "%s", slot->kept[(slot->count - 1) % LOG_DEDUPE_KEPT]);
    slot->count = 0;
    pthread_mutex_unlock(&slot->lock);
    return had;
}
