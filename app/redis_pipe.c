/* Pipelined Redis connection: a non-blocking hiredis context (its buffers and reply parser)
 * driven by the worker's event loop, with our own FIFO of callbacks and deadlines so that no
 * command allocates a callback node and every wait is bounded (hiredis 0.14 async has no
 * timeouts). Owned by one worker thread; the shared outage log below takes a mutex. */
#define _GNU_SOURCE /* TCP_KEEPIDLE and friends */
#include "redis_pipe.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "log.h"
#include "xmalloc.h"

#define BACKOFF_FIRST_MS     50
#define BACKOFF_MAX_MS       500 /* a Redis that comes back is used within this */
#define NO_TARGET_RETRY_MS   100
#define KEEPALIVE_IDLE_S     10
#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_PROBES     3

enum pipe_state {
    PIPE_WAITING,    /* disconnected until reconnect_at_ms */
    PIPE_CONNECTING, /* non-blocking connect in progress */
    PIPE_HANDSHAKE,  /* AUTH/PING sent, not answered yet */
    PIPE_READY,
};

struct pending_command {
    redis_reply_fn fn;
    void *arg;
    int64_t deadline_ms;
};

struct redis_pipe {
    struct event_loop *loop;
    struct redis_target *target;
    struct redis_pipe_settings settings;
    struct loop_watch watch;
    redisContext *ctx;
    uint64_t connection_id; /* grows with every connect: tells callbacks' callers it changed */
    enum pipe_state state;
    uint64_t generation; /* target generation this connection was opened under */
    int64_t connect_deadline_ms;
    int64_t reconnect_at_ms;
    int backoff_ms;
    size_t unsent; /* commands appended since the last complete write */
    bool want_write;
    struct pending_command *ring;
    size_t ring_capacity, ring_head, ring_count;
    char ip[REDIS_TARGET_IP_MAX_BYTES];
    int port;
    struct redis_pipe_stats stats;
};

/* One process-wide record of the current Redis problem, so an outage seen by every worker is
 * logged once with its cause, and the recovery once. */
static struct log_dedupe outage_log = LOG_DEDUPE_INIT;
static atomic_bool ever_connected;

static void report_outage(const char *cause)
{
    char message[320];

    snprintf(message, sizeof(message), "redis: %s (requests answer 503 until it recovers)", cause);
    log_dedupe_report(&outage_log, LOG_WARN, message);
}

static void report_recovery(const char *name, const char *ip, int port)
{
    char ended[256];

    if (log_dedupe_clear(&outage_log, ended, sizeof(ended)))
        log_info("redis: %s connected to %s:%d again", name, ip, port);
    else if (!atomic_exchange(&ever_connected, true))
        log_info("redis: connected to %s:%d", ip, port);
    else
        log_debug("redis: %s connected to %s:%d", name, ip, port);
}

static void ring_push(struct redis_pipe *pipe, redis_reply_fn fn, void *arg, int64_t deadline)
{
    size_t tail;

    if (pipe->ring_count == pipe->ring_capacity) {
        size_t new_capacity = pipe->ring_capacity * 2;
        struct pending_command *grown = xmalloc(new_capacity * sizeof(*grown));

        for (size_t i = 0; i < pipe->ring_count; i++)
            grown[i] = pipe->ring[(pipe->ring_head + i) % pipe->ring_capacity];
        free(pipe->ring);
        pipe->ring = grown;
        pipe->ring_capacity = new_capacity;
        pipe->ring_head = 0;
    }
    tail = (pipe->ring_head + pipe->ring_count) % pipe->ring_capacity;
    pipe->ring[tail] = (struct pending_command){fn, arg, deadline};
    pipe->ring_count++;
}

static struct pending_command ring_pop(struct redis_pipe *pipe)
{
    struct pending_command cmd = pipe->ring[pipe->ring_head];

    pipe->ring_head = (pipe->ring_head + 1) % pipe->ring_capacity;
    pipe->ring_count--;
    return cmd;
}

static void close_connection(struct redis_pipe *pipe)
{
    if (pipe->ctx == NULL) return;
    event_loop_remove(pipe->loop, &pipe->watch);
    redisFree(pipe->ctx); /* closes the socket */
    pipe->ctx = NULL;
    pipe->unsent = 0;
    pipe->want_write = false;
}

static void fail_pending(struct redis_pipe *pipe)
{
    /* callbacks may queue new commands: the pipe is already down, so those are refused */
    while (pipe->ring_count > 0) {
        struct pending_command cmd = ring_pop(pipe);

        cmd.fn(cmd.arg, NULL);
    }
}

static void schedule_reconnect(struct redis_pipe *pipe, int delay_ms)
{
    pipe->state = PIPE_WAITING;
    pipe->reconnect_at_ms = clock_now_ms() + delay_ms;
}

/* Drops the connection after a failure and schedules the next attempt with backoff. */
static void pipe_fail(struct redis_pipe *pipe, const char *cause)
{
    char message[256];
    int jitter;

    snprintf(message, sizeof(message), "%s:%d: %s", pipe->ip[0] ? pipe->ip : "(none)", pipe->port,
             cause);
    close_connection(pipe);
    metrics_add(&pipe->stats.connection_errors, 1);
    atomic_store_explicit(&pipe->stats.last_failure_ms, clock_now_ms(), memory_order_relaxed);
    jitter = pipe->backoff_ms / 5 > 0 ? rand() % (pipe->backoff_ms / 5 + 1) : 0;
    schedule_reconnect(pipe, pipe->backoff_ms + jitter);
    pipe->backoff_ms =
        pipe->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pipe->backoff_ms * 2;
    report_outage(message);
    redis_target_report_failure(pipe->target, pipe->generation);
    fail_pending(pipe);
}

/* The target moved to a new generation: nothing may be sent or read on this connection any
 * more, so replies of two generations never mix. Reconnect at once, without backoff. */
static void follow_new_generation(struct redis_pipe *pipe)
{
    log_debug("redis: %s leaves %s:%d (generation %llu): the address changed", pipe->settings.name,
              pipe->ip, pipe->port, (unsigned long long)pipe->generation);
    close_connection(pipe);
    schedule_reconnect(pipe, 0);
    fail_pending(pipe);
}

static void set_keepalive(int fd)
{
    int on = 1, idle = KEEPALIVE_IDLE_S, interval = KEEPALIVE_INTERVAL_S, probes = KEEPALIVE_PROBES;

    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
}

static void update_watch(struct redis_pipe *pipe)
{
    uint32_t events = LOOP_READ | (pipe->want_write ? LOOP_WRITE : 0);

    if (pipe->ctx != NULL) event_loop_modify(pipe->loop, &pipe->watch, events);
}

static void write_output(struct redis_pipe *pipe)
{
    int done = 0;

    if (redisBufferWrite(pipe->ctx, &done) != REDIS_OK) {
        pipe_fail(pipe, pipe->ctx->errstr);
        return;
    }
    if (done) pipe->unsent = 0;
    if (pipe->want_write != !done) {
        pipe->want_write = !done;
        update_watch(pipe);
    }
}

static void handshake_reply(void *arg, struct redisReply *reply);
static void on_socket_event(struct loop_watch *watch, uint32_t events);

static void queue_internal(struct redis_pipe *pipe, const char *resp, size_t len)
{
    redisAppendFormattedCommand(pipe->ctx, resp, len);
    ring_push(pipe, handshake_reply, pipe, clock_now_ms() + pipe->settings.timeout_ms);
    pipe->unsent++;
}

static void start_handshake(struct redis_pipe *pipe)
{
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";
    const char *argv[3];
    size_t argv_len[3];
    int argc = redis_auth_argv(&pipe->settings.auth, argv, argv_len);

    pipe->state = PIPE_HANDSHAKE;
    if (argc > 0) { /* AUTH password, or AUTH username password for an ACL user */
        char *cmd = NULL;
        int len = redisFormatCommandArgv(&cmd, argc, argv, argv_len);

        if (len < 0) {
            pipe_fail(pipe, "cannot format AUTH");
            return;
        }
        queue_internal(pipe, cmd, (size_t)len);
        free(cmd);
    }
    queue_internal(pipe, ping, sizeof(ping) - 1);
    write_output(pipe);
}

/* Turns Redis's answer to AUTH or PING into a cause a person can act on. */
static void explain_handshake_error(const struct redis_pipe *pipe, const char *error, char *cause,
                                    size_t cause_size)
{
    char why[200];

    if (redis_auth_explain(error, &pipe->settings.auth, why, sizeof(why)))
        snprintf(cause, cause_size, "Redis %s", why);
    else if (strncmp(error, "NOPERM", 6) == 0)
        snprintf(cause, cause_size,
                 "the Redis user may not run PING (NOPERM): its ACL must allow "
                 "every command the app sends");
    else if (strncmp(error, "LOADING", 7) == 0)
        snprintf(cause, cause_size, "Redis is loading its dataset");
    else
        snprintf(cause, cause_size, "handshake refused: %s", error);
}

static void handshake_reply(void *arg, struct redisReply *reply)
{
    struct redis_pipe *pipe = arg;
    char cause[256];

    if (reply == NULL) return; /* the pipe failed; it has logged why */
    if (reply->type == REDIS_REPLY_ERROR) {
        explain_handshake_error(pipe, reply->str, cause, sizeof(cause));
        pipe_fail(pipe, cause);
        return;
    }
    if (pipe->ring_count > 0) return; /* AUTH answered; PING still to come */
    pipe->state = PIPE_READY;
    pipe->backoff_ms = BACKOFF_FIRST_MS;
    metrics_add(&pipe->stats.connects, 1);
    if (pipe->settings.optional)
        log_debug("redis: %s reads from replica %s:%d", pipe->settings.name, pipe->ip, pipe->port);
    else
        report_recovery(pipe->settings.name, pipe->ip, pipe->port);
}

static void start_connect(struct redis_pipe *pipe)
{
    char cause[256];

    pipe->generation = redis_target_get(pipe->target, pipe->ip, &pipe->port);
    if (pipe->generation == 0) {
        if (!pipe->settings.optional) report_outage("no Redis address is known now");
        schedule_reconnect(pipe, NO_TARGET_RETRY_MS);
        return;
    }
    pipe->connection_id++;
    pipe->ctx = redisConnectNonBlock(pipe->ip, pipe->port);
    if (pipe->ctx == NULL || pipe->ctx->err) {
        snprintf(cause, sizeof(cause), "connect: %s",
                 pipe->ctx != NULL ? pipe->ctx->errstr : "out of memory");
        if (pipe->ctx != NULL) redisFree(pipe->ctx);
        pipe->ctx = NULL;
        pipe_fail(pipe, cause);
        return;
    }
    set_keepalive(pipe->ctx->fd);
    if (event_loop_add(pipe->loop, &pipe->watch, pipe->ctx->fd, LOOP_READ | LOOP_WRITE,
                       on_socket_event) != 0) {
        snprintf(cause, sizeof(cause), "epoll: %s", strerror(errno));
        redisFree(pipe->ctx);
        pipe->ctx = NULL;
        pipe_fail(pipe, cause);
        return;
    }
    pipe->want_write = true;
    pipe->state = PIPE_CONNECTING;
    pipe->connect_deadline_ms = clock_now_ms() + pipe->settings.timeout_ms;
}

static void finish_connect(struct redis_pipe *pipe)
{
    int err = 0;
    socklen_t len = sizeof(err);
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof(peer);
    char cause[160];

    if (getsockopt(pipe->ctx->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
        snprintf(cause, sizeof(cause), "connect: %s", strerror(err));
        pipe_fail(pipe, cause);
        return;
    }
    if (getpeername(pipe->ctx->fd, (struct sockaddr *)&peer, &peer_len) != 0) return; /* not yet */
    pipe->want_write = false;
    update_watch(pipe);
    start_handshake(pipe);
}

static void read_replies(struct redis_pipe *pipe)
{
    redisContext *ctx = pipe->ctx;
    uint64_t connection_id = pipe->connection_id;
    void *reply = NULL;

    if (pipe->state == PIPE_READY && pipe->generation != redis_target_generation(pipe->target)) {
        follow_new_generation(pipe); /* replies from the old address are never shown */
        return;
    }
    if (redisBufferRead(ctx) != REDIS_OK) {
        pipe_fail(pipe, ctx->errstr);
        return;
    }
    atomic_store_explicit(&pipe->stats.last_answer_ms, clock_now_ms(), memory_order_relaxed);
    for (;;) {
        struct pending_command cmd;

        if (redisGetReplyFromReader(ctx, &reply) != REDIS_OK) {
            pipe_fail(pipe, ctx->errstr);
            return;
        }
        if (reply == NULL) return;
        if (pipe->ring_count == 0) {
            freeReplyObject(reply);
            pipe_fail(pipe, "reply without a command (protocol out of step)");
            return;
        }
        cmd = ring_pop(pipe);
        cmd.fn(cmd.arg, reply);
        freeReplyObject(reply);
        if (pipe->ctx == NULL || pipe->connection_id != connection_id)
            return; /* a callback reset the connection */
    }
}

static void on_socket_event(struct loop_watch *watch, uint32_t events)
{
    struct redis_pipe *pipe = LOOP_WATCH_OWNER(watch, struct redis_pipe, watch);

    if (pipe->ctx == NULL) return; /* stale event for a closed connection */
    if (pipe->state == PIPE_CONNECTING) {
        finish_connect(pipe);
        return;
    }
    if ((events & LOOP_WRITE) && pipe->want_write) {
        write_output(pipe);
        if (pipe->ctx == NULL) return;
    }
    if (events & ~(uint32_t)LOOP_WRITE) read_replies(pipe);
}

struct redis_pipe *redis_pipe_new(struct event_loop *loop, struct redis_target *target,
                                  const struct redis_pipe_settings *settings)
{
    struct redis_pipe *pipe = xcalloc(1, sizeof(*pipe));

    pipe->loop = loop;
    pipe->target = target;
    pipe->settings = *settings;
    pipe->watch.fd = -1;
    pipe->backoff_ms = BACKOFF_FIRST_MS;
    pipe->ring_capacity = 64;
    pipe->ring = xmalloc(pipe->ring_capacity * sizeof(*pipe->ring));
    start_connect(pipe);
    return pipe;
}

void redis_pipe_free(struct redis_pipe *pipe)
{
    if (pipe == NULL) return;
    redis_pipe_abort(pipe);
    free(pipe->ring);
    free(pipe);
}

bool redis_pipe_is_ready(struct redis_pipe *pipe)
{
    return pipe->state == PIPE_READY && pipe->generation == redis_target_generation(pipe->target);
}

uint64_t redis_pipe_generation(const struct redis_pipe *pipe)
{
    return pipe->generation;
}

/* Sending never runs callbacks: a change of generation is acted on in flush, read and timer
 * paths, so callers can queue several commands of one operation without partial failure. */
static int accept_command(const struct redis_pipe *pipe)
{
    return pipe->state == PIPE_READY ? 0 : -1;
}

int redis_pipe_send(struct redis_pipe *pipe, const char *resp, size_t len, redis_reply_fn fn,
                    void *arg)
{
    if (accept_command(pipe) != 0) return -1;
    if (redisAppendFormattedCommand(pipe->ctx, resp, len) != REDIS_OK) return -1;
    ring_push(pipe, fn, arg, clock_now_ms() + pipe->settings.timeout_ms);
    pipe->unsent++;
    return 0;
}

int redis_pipe_send_argv(struct redis_pipe *pipe, redis_reply_fn fn, void *arg, int argc,
                         const char **argv, const size_t *argv_len)
{
    if (accept_command(pipe) != 0) return -1;
    if (redisAppendCommandArgv(pipe->ctx, argc, argv, argv_len) != REDIS_OK) return -1;
    ring_push(pipe, fn, arg, clock_now_ms() + pipe->settings.timeout_ms);
    pipe->unsent++;
    return 0;
}

void redis_pipe_flush(struct redis_pipe *pipe)
{
    if (pipe->ctx == NULL || pipe->unsent == 0 || pipe->want_write) return;
    if (pipe->state != PIPE_READY && pipe->state != PIPE_HANDSHAKE) return;
    if (pipe->state == PIPE_READY && pipe->generation != redis_target_generation(pipe->target)) {
        follow_new_generation(pipe); /* nothing queued reaches the old address */
        return;
    }
    write_output(pipe);
}

void redis_pipe_reset(struct redis_pipe *pipe, const char *cause)
{
    if (pipe->ctx == NULL) return;
    pipe_fail(pipe, cause);
}

void redis_pipe_report_problem(struct redis_pipe *pipe)
{
    redis_target_report_failure(pipe->target, pipe->generation);
}

void redis_pipe_abort(struct redis_pipe *pipe)
{
    close_connection(pipe);
    pipe->state = PIPE_WAITING;
    pipe->reconnect_at_ms = INT64_MAX;
    fail_pending(pipe);
}

int64_t redis_pipe_next_deadline_ms(const struct redis_pipe *pipe)
{
    switch (pipe->state) {
    case PIPE_WAITING:
        return pipe->reconnect_at_ms;
    case PIPE_CONNECTING:
        return pipe->connect_deadline_ms;
    case PIPE_HANDSHAKE:
    case PIPE_READY:
        if (pipe->ring_count > 0) return pipe->ring[pipe->ring_head].deadline_ms;
        break;
    }
    return INT64_MAX;
}

void redis_pipe_check_timers(struct redis_pipe *pipe, int64_t now_ms)
{
    char cause[96];

    switch (pipe->state) {
    case PIPE_WAITING: {
        uint64_t published = redis_target_generation(pipe->target);

        /* a newly published address is tried at once, whatever the backoff */
        if (now_ms >= pipe->reconnect_at_ms ||
            (published != 0 && published != pipe->generation && pipe->reconnect_at_ms != INT64_MAX))
            start_connect(pipe);
        break;
    }
    case PIPE_CONNECTING:
        if (now_ms >= pipe->connect_deadline_ms) {
            snprintf(cause, sizeof(cause), "connect timed out after %d ms",
                     pipe->settings.timeout_ms);
            pipe_fail(pipe, cause);
        }
        break;
    case PIPE_HANDSHAKE:
    case PIPE_READY:
        if (pipe->ring_count > 0 && now_ms >= pipe->ring[pipe->ring_head].deadline_ms) {
            snprintf(cause, sizeof(cause), "no reply within %d ms", pipe->settings.timeout_ms);
            pipe_fail(pipe, cause);
        } else if (pipe->generation != redis_target_generation(pipe->target)) {
            follow_new_generation(pipe);
        }
        break;
    }
}

const struct redis_pipe_stats *redis_pipe_stats(const struct redis_pipe *pipe)
{
    return &pipe->stats;
}
