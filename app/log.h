/* Leveled diagnostic logging to stderr: one line per event, written with a single
 * write(2) so lines from different threads never interleave. Callable from any thread.
 * The access log is separate (access_log.h). */
#ifndef APP_LOG_H
#define APP_LOG_H

#include <pthread.h>
#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the most verbose level that is written. Call before starting threads. */
void log_set_level(enum log_level level);

/* True when messages at `level` are written. */
bool log_enabled(enum log_level level);

/* Parses "error", "warn", "info" or "debug". Returns 0, or -1 for anything else. */
int log_level_parse(const char *name, enum log_level *out);

void log_message(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_DEDUPE_KEPT 4

/* Remembers the messages of one recurring condition (an outage, a failing command) until it
 * ends, so that a condition seen by every worker, many times a second, is logged once per
 * message, whatever order the workers see its messages in: one worker may see both causes of
 * an outage ("Server closed the connection", then "Connection refused") before another sees
 * the first. The LOG_DEDUPE_KEPT latest distinct messages are kept. Zeroed memory is a valid,
 * empty slot once its lock is initialised. */
struct log_dedupe {
    pthread_mutex_t lock;
    unsigned long count;             /* messages logged since the last clear */
    char kept[LOG_DEDUPE_KEPT][256]; /* the n-th of them in kept[n % LOG_DEDUPE_KEPT] */
};

#define LOG_DEDUPE_INIT                                                                            \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, 0,                                                              \
        {                                                                                          \
            ""                                                                                     \
        }                                                                                          \
    }

/* Logs `message` at `level` unless it was already logged through `slot` since the last clear
 * (among the LOG_DEDUPE_KEPT latest). Returns true when it was logged. Thread-safe. */
bool log_dedupe_report(struct log_dedupe *slot, enum log_level level, const char *message);

/* Ends the condition: returns true, with its latest message copied to `ended`, when one was
 * logged since the last clear. Thread-safe. */
bool log_dedupe_clear(struct log_dedupe *slot, char *ended, unsigned long ended_size);

#define log_error(...) log_message(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_message(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_message(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_DEBUG)) log_message(LOG_DEBUG, __VA_ARGS__);                           \
    } while (0)

#endif
