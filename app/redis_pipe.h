/* A pipelined, non-blocking connection to the Redis server that redis_target names, owned by
 * one worker thread. Commands queued during one loop pass leave in one write; replies are
 * matched to callbacks in order. Every command has a deadline; a missed deadline, an I/O error
 * or a change of target generation closes the connection, answers every pending callback with
 * NULL and reconnects with backoff. Nothing is ever retried. Only the owning thread may call
 * these functions. Users: the store (store*.c); the reply type stays inside the Redis layer. */
#ifndef APP_REDIS_PIPE_H
#define APP_REDIS_PIPE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event_loop.h"
#include "metrics.h"
#include "redis_auth.h"
#include "redis_target.h"

struct redisReply;
struct redis_pipe;

/* Called once per command with its reply, or with NULL when no reply will come (connection
 * lost, deadline passed, shutdown). The reply is valid only during the call. The callback may
 * send further commands and may call redis_pipe_reset(). */
typedef void (*redis_reply_fn)(void *arg, struct redisReply *reply);

struct redis_pipe_settings {
    int timeout_ms;                /* connect, handshake and every command */
    struct redis_credentials auth; /* its strings borrowed for the pipe's life */
    const char *name;              /* for log lines, e.g. "worker 1" */
    bool optional;                 /* a replica for reads: having none is normal, not an outage */
};

/* Creates the pipe and starts connecting. Never returns NULL. */
struct redis_pipe *redis_pipe_new(struct event_loop *loop, struct redis_target *target,
                                  const struct redis_pipe_settings *settings);

/* Closes the connection, answers pending callbacks with NULL, frees the pipe. */
void redis_pipe_free(struct redis_pipe *pipe);

/* True when commands are accepted: connected, authenticated and answering, under the current
 * target generation. */
bool redis_pipe_is_ready(struct redis_pipe *pipe);

/* The target generation the current connection was opened under (0 while none is). */
uint64_t redis_pipe_generation(const struct redis_pipe *pipe);

/* Queues a command preformatted in RESP (e.g. "*1\r\n$4\r\nPING\r\n"). Returns 0, or -1 when
 * the pipe is not ready (the callback is then never called). Never runs a callback itself, and
 * a ready pipe accepts every command queued in the same pass, so an operation of several
 * commands is queued whole or not at all. */
int redis_pipe_send(struct redis_pipe *pipe, const char *resp, size_t len, redis_reply_fn fn,
                    void *arg);

/* Like redis_pipe_send for a command given as arguments (binary-safe). */
int redis_pipe_send_argv(struct redis_pipe *pipe, redis_reply_fn fn, void *arg, int argc,
                         const char **argv, const size_t *argv_len);

/* Writes every queued command. Call once at the end of each loop pass. */
void redis_pipe_flush(struct redis_pipe *pipe);

/* Closes the connection because a reply showed it is no longer usable (READONLY, a wrong
 * role): pending callbacks get NULL, the target is asked to check the address, and the pipe
 * reconnects. `cause` is logged. */
void redis_pipe_reset(struct redis_pipe *pipe, const char *cause);

/* Asks the locator to check the address again (a reply suggested this server may no longer be
 * the right one), without dropping the connection. */
void redis_pipe_report_problem(struct redis_pipe *pipe);

/* Closes the connection for good (shutdown): pending callbacks get NULL, no reconnect. */
void redis_pipe_abort(struct redis_pipe *pipe);

/* The monotonic time (ms) at which redis_pipe_check_timers has work, or INT64_MAX. */
int64_t redis_pipe_next_deadline_ms(const struct redis_pipe *pipe);

/* Enforces deadlines, reconnects when due, follows a new target generation. */
void redis_pipe_check_timers(struct redis_pipe *pipe, int64_t now_ms);

/* The pipe's counters (connects, dropped connections), for /metrics. */
const struct redis_pipe_stats *redis_pipe_stats(const struct redis_pipe *pipe);

#endif
