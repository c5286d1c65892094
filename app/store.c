/* Domain operations over the worker's Redis pipes: opens them (the master's, the read replica's,
 * the durable counter's), drives them once per loop pass, builds the commands of /query/,
 * /helloworld and /readyz, classifies replies (READONLY and NOAUTH reset the connection; LOADING,
 * NOREPLICAS and the like mean "not now"), logs each kind of Redis error once, and hands plain
 * values to the caller. The counter is store_counter.c's; the JSON API's data store_api.c's.
 * Worker thread only. */
#include "store.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "app.h"
#include "log.h"
#include "redis_pipe.h"
#include "store_internal.h"
#include "xmalloc.h"

struct log_dedupe store_reply_error_log = LOG_DEDUPE_INIT;

/* Error replies seen, for /metrics (errors are rare: one shared counter is fine). */
static atomic_ullong reply_errors;

/* Errors after which the same command may succeed later or elsewhere: answer 503. */
static const char *const transient_errors[] = {
    "LOADING", "BUSY", "MASTERDOWN", "NOREPLICAS", "MISCONF", "TRYAGAIN", "CLUSTERDOWN",
};

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

enum store_status store_classify(struct redis_pipe *pipe, const redisReply *reply,
                                 const char *command)
{
    char message[320];

    if (reply == NULL) return STORE_UNAVAILABLE; /* the pipe has logged why */
    if (reply->type != REDIS_REPLY_ERROR) return STORE_OK;
    atomic_fetch_add_explicit(&reply_errors, 1, memory_order_relaxed);
    if (starts_with(reply->str, "READONLY")) {
        redis_pipe_reset(pipe, "READONLY: the server is a replica now");
        return STORE_UNAVAILABLE;
    }
    if (starts_with(reply->str, "NOAUTH")) {
        redis_pipe_reset(pipe, "NOAUTH: Redis asks for a password (REDIS_PASSWORD)");
        return STORE_UNAVAILABLE;
    }
    snprintf(message, sizeof(message), "redis: %s: %s", command, reply->str);
    for (size_t i = 0; i < sizeof(transient_errors) / sizeof(transient_errors[0]); i++) {
        if (starts_with(reply->str, transient_errors[i])) {
            log_dedupe_report(&store_reply_error_log, LOG_WARN, message);
            /* a master that refuses writes or a replica without its master: look again */
            if (starts_with(reply->str, "NOREPLICAS") || starts_with(reply->str, "MASTERDOWN"))
                redis_pipe_report_problem(pipe);
            return STORE_UNAVAILABLE;
        }
    }
    log_dedupe_report(&store_reply_error_log, LOG_ERROR, message);
    return STORE_FAILED;
}

struct store *store_new(struct event_loop *loop, struct app *app, const char *worker_name)
{
    struct store *store = xcalloc(1, sizeof(*store));
    const struct config *cfg = app->cfg;
    struct redis_pipe_settings settings = {
        .timeout_ms = cfg->redis_timeout_ms,
        .auth = redis_auth_data_nodes(cfg),
        .name = worker_name,
    };

    store->pipe = redis_pipe_new(loop, &app->target, &settings);
    metrics_register_pipe(&app->metrics, redis_pipe_stats(store->pipe), METRICS_PIPE_MASTER);
    if (cfg->read_from_replicas) {
        settings.optional = true;
        store->replica_pipe = redis_pipe_new(loop, &app->replica_target, &settings);
        metrics_register_pipe(&app->metrics, redis_pipe_stats(store->replica_pipe),
                              METRICS_PIPE_REPLICA);
    }
    if (cfg->min_replicas_ack > 0) {
        settings.optional = false;
        store->counter.pipe = redis_pipe_new(loop, &app->target, &settings);
        metrics_register_pipe(&app->metrics, redis_pipe_stats(store->counter.pipe),
                              METRICS_PIPE_MASTER);
    }
    /* Sentinel mode: the locator publishes how many replicas Sentinel could promote */
    store_counter_init(store, cfg, cfg->sentinel_count > 0 ? &app->target : NULL);
    return store;
}

void store_free(struct store *store)
{
    if (store == NULL) return;
    store_abort(store);
    redis_pipe_free(store->pipe);
    redis_pipe_free(store->replica_pipe);
    redis_pipe_free(store->counter.pipe);
    free(store);
}

/* The store's connections: the master's, then those in use of the read replica and the durable
 * counter. Returns how many. */
static size_t store_pipes(const struct store *store, struct redis_pipe *pipes[STORE_PIPES_MAX])
{
    size_t n = 0;

    pipes[n++] = store->pipe;
    if (store->replica_pipe != NULL) pipes[n++] = store->replica_pipe;
    if (store->counter.pipe != NULL) pipes[n++] = store->counter.pipe;
    return n;
}

void store_flush(struct store *store)
{
    struct redis_pipe *pipes[STORE_PIPES_MAX];
    size_t n = store_pipes(store, pipes);

    store_counter_flush(store);
    for (size_t i = 0; i < n; i++)
        redis_pipe_flush(pipes[i]);
}

int64_t store_next_deadline_ms(const struct store *store)
{
    struct redis_pipe *pipes[STORE_PIPES_MAX];
    size_t n = store_pipes(store, pipes);
    int64_t deadline = INT64_MAX;

    for (size_t i = 0; i < n; i++) {
        int64_t next = redis_pipe_next_deadline_ms(pipes[i]);

        if (next < deadline) deadline = next;
    }
    return deadline;
}

void store_check_timers(struct store *store, int64_t now_ms)
{
    struct redis_pipe *pipes[STORE_PIPES_MAX];
    size_t n = store_pipes(store, pipes);

    for (size_t i = 0; i < n; i++)
        redis_pipe_check_timers(pipes[i], now_ms);
}

#define STRING_OF(x)          #x
#define VERSION_TEXT(a, b, c) STRING_OF(a) "." STRING_OF(b) "." STRING_OF(c)

const char *store_library_version(void)
{
    return VERSION_TEXT(HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
}

unsigned long long store_reply_errors_total(void)
{
    return atomic_load_explicit(&reply_errors, memory_order_relaxed);
}

void store_abort(struct store *store)
{
    struct redis_pipe *pipes[STORE_PIPES_MAX];
    size_t n = store_pipes(store, pipes);

    for (size_t i = 0; i < n; i++)
        redis_pipe_abort(pipes[i]);
    /* the WAIT in flight failed above, so the open batch can close and fail after it */
    store_counter_flush(store);
}

void store_prepare_call(struct store_call *call, struct store *store, void *arg)
{
    call->store = store;
    call->pipe = store->pipe;
    call->command = NULL;
    call->arg = arg;
    call->hello = NULL;
    call->session = NULL;
    call->replies_missing = 1;
    call->status = STORE_OK;
    call->value = 0;
    call->next_in_batch = NULL;
}

void store_string_reply(void *arg, struct redisReply *reply)
{
    struct store_call *call = arg;
    enum store_status status = store_classify(call->pipe, reply, call->command);

    if (status == STORE_OK && reply->type == REDIS_REPLY_NIL)
        status = STORE_NOT_FOUND;
    else if (status == STORE_OK && reply->type != REDIS_REPLY_STRING)
        status = STORE_FAILED;
    call->done.value(call->arg, status, status == STORE_OK ? reply->str : NULL,
                     status == STORE_OK ? reply->len : 0);
}

int store_get_query_value(struct store *store, struct store_call *call, store_value_fn done,
                          void *arg)
{
    static const char get_redis_app[] = "*2\r\n$3\r\nGET\r\n$9\r\nredis_app\r\n";

    store_prepare_call(call, store, arg);
    call->done.value = done;
    call->command = "GET redis_app";
    /* a verified replica when one is published, else the master */
    if (store->replica_pipe != NULL && redis_pipe_is_ready(store->replica_pipe))
        call->pipe = store->replica_pipe;
    return redis_pipe_send(call->pipe, get_redis_app, sizeof(get_redis_app) - 1, store_string_reply,
                           call);
}

/* Each of the three replies lands here; the last one completes the call. A failure of any
 * command makes the whole exchange fail with the worst status seen. */
static void hello_step_done(struct store_call *call, enum store_status status)
{
    struct store_hello_result *result = call->hello;

    if (status > result->status) result->status = status;
    if (--call->replies_missing == 0) call->done.hello(call->arg, result);
}

static void hello_set_reply(void *arg, struct redisReply *reply)
{
    struct store_call *call = arg;

    hello_step_done(call, store_classify(call->store->pipe, reply, "SET Hi"));
}

static void hello_get_reply(void *arg, struct redisReply *reply)
{
    struct store_call *call = arg;
    enum store_status status = store_classify(call->store->pipe, reply, "GET Hi");

    if (status == STORE_OK && reply->type == REDIS_REPLY_STRING)
        snprintf(call->hello->greeting, sizeof(call->hello->greeting), "%.*s", (int)reply->len,
                 reply->str);
    else if (status == STORE_OK)
        status = STORE_NOT_FOUND; /* deleted between SET and GET by someone else */
    hello_step_done(call, status);
}

static void hello_info_reply(void *arg, struct redisReply *reply)
{
    struct store_call *call = arg;
    enum store_status status = store_classify(call->store->pipe, reply, "INFO");

    if (status == STORE_OK && reply->type == REDIS_REPLY_STRING) {
        call->hello->info = xstrndup(reply->str, reply->len);
        call->hello->info_len = strlen(call->hello->info);
    } else if (status == STORE_OK) {
        status = STORE_FAILED;
    }
    hello_step_done(call, status);
}

int store_hello_world(struct store *store, struct store_call *call, const char *greeting,
                      struct store_hello_result *result, store_hello_fn done, void *arg)
{
    static const char get_hi[] = "*2\r\n$3\r\nGET\r\n$2\r\nHi\r\n";
    static const char info[] = "*1\r\n$4\r\nINFO\r\n";
    const char *set_argv[3] = {"SET", "Hi", greeting};
    size_t set_len[3] = {3, 2, strlen(greeting)};

    store_prepare_call(call, store, arg);
    call->done.hello = done;
    call->hello = result;
    call->replies_missing = 3;
    memset(result, 0, sizeof(*result));
    result->status = STORE_OK;
    /* a ready pipe accepts all three: sending never fails half way (redis_pipe.h) */
    if (redis_pipe_send_argv(store->pipe, hello_set_reply, call, 3, set_argv, set_len) != 0)
        return -1;
    redis_pipe_send(store->pipe, get_hi, sizeof(get_hi) - 1, hello_get_reply, call);
    redis_pipe_send(store->pipe, info, sizeof(info) - 1, hello_info_reply, call);
    return 0;
}

static void ping_reply(void *arg, struct redisReply *reply)
{
    struct store_call *call = arg;

    call->done.ping(call->arg, store_classify(call->store->pipe, reply, "PING"));
}

int store_ping(struct store *store, struct store_call *call, store_ping_fn done, void *arg)
{
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";

    store_prepare_call(call, store, arg);
    call->done.ping = done;
    /* ready means pings can be answered: in durable mode their connection must be up too */
    if (store->counter.pipe != NULL && !redis_pipe_is_ready(store->counter.pipe)) return -1;
    return redis_pipe_send(store->pipe, ping, sizeof(ping) - 1, ping_reply, call);
}
