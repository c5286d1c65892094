/* Domain operations over the worker's Redis pipe: builds the commands, classifies replies
 * (READONLY and NOAUTH reset the connection; LOADING, NOREPLICAS and the like mean "not now"),
 * logs each kind of Redis error once, and hands plain values to the caller. Runs on its
 * worker's thread only. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "config.h"
#include "log.h"
#include "redis_pipe.h"
#include "xmalloc.h"

struct store {
    struct redis_pipe *pipe;
};

static struct log_dedupe reply_error_log = LOG_DEDUPE_INIT;

/* Errors after which the same command may succeed later or elsewhere: answer 503. */
static const char *const transient_errors[] = {
    "LOADING", "BUSY", "MASTERDOWN", "NOREPLICAS", "MISCONF", "TRYAGAIN", "CLUSTERDOWN",
};

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static enum store_status classify(struct store *store, const redisReply *reply, const char *command)
{
    char message[320];

    if (reply == NULL) return STORE_UNAVAILABLE; /* the pipe has logged why */
    if (reply->type != REDIS_REPLY_ERROR) return STORE_OK;
    if (starts_with(reply->str, "READONLY")) {
        redis_pipe_reset(store->pipe, "READONLY: the server is a replica now");
        return STORE_UNAVAILABLE;
    }
    if (starts_with(reply->str, "NOAUTH")) {
        redis_pipe_reset(store->pipe, "NOAUTH: Redis asks for a password (REDIS_PASSWORD)");
        return STORE_UNAVAILABLE;
    }
    snprintf(message, sizeof(message), "redis: %s: %s", command, reply->str);
    for (size_t i = 0; i < sizeof(transient_errors) / sizeof(transient_errors[0]); i++) {
        if (starts_with(reply->str, transient_errors[i])) {
            log_dedupe_report(&reply_error_log, LOG_WARN, message);
            return STORE_UNAVAILABLE;
        }
    }
    log_dedupe_report(&reply_error_log, LOG_ERROR, message);
    return STORE_FAILED;
}

struct store *store_new(struct event_loop *loop, struct redis_target *target,
                        const struct config *cfg, const char *worker_name)
{
    struct store *store = xcalloc(1, sizeof(*store));
    struct redis_pipe_settings settings = {
        .timeout_ms = cfg->redis_timeout_ms,
        .password = cfg->redis_password,
        .name = worker_name,
    };

    store->pipe = redis_pipe_new(loop, target, &settings);
    return store;
}

void store_free(struct store *store)
{
    if (store == NULL) return;
    redis_pipe_free(store->pipe);
    free(store);
}

void store_flush(struct store *store)
{
    redis_pipe_flush(store->pipe);
}

int64_t store_next_deadline_ms(const struct store *store)
{
    return redis_pipe_next_deadline_ms(store->pipe);
}

void store_check_timers(struct store *store, int64_t now_ms)
{
    redis_pipe_check_timers(store->pipe, now_ms);
}

void store_abort(struct store *store)
{
    redis_pipe_abort(store->pipe);
}

size_t store_pending(const struct store *store)
{
    return redis_pipe_pending(store->pipe);
}

static void prepare_call(struct store_call *call, struct store *store, void *arg)
{
    call->store = store;
    call->arg = arg;
    call->hello = NULL;
    call->replies_missing = 1;
}

static void counter_reply(void *arg, struct redisReply *reply)
{
    struct store_call *call = arg;
    enum store_status status = classify(call->store, reply, "INCR count");

    if (status == STORE_OK && reply->type != REDIS_REPLY_INTEGER) {
        log_dedupe_report(&reply_error_log, LOG_ERROR, "redis: INCR count: not an integer reply");
        status = STORE_FAILED;
    }
    call->done.counter(call->arg, status, status == STORE_OK ? reply->integer : 0);
}

int store_incr_counter(struct store *store, struct store_call *call, store_counter_fn done,
                       void *arg)
{
    static const char incr_count[] = "*2\r\n$4\r\nINCR\r\n$5\r\ncount\r\n";

    prepare_call(call, store, arg);
    call->done.counter = done;
    return redis_pipe_send(store->pipe, incr_count, sizeof(incr_count) - 1, counter_reply, call);
}

static void value_reply(void *arg, struct redisReply *reply)
{
    struct store_call *call = arg;
    enum store_status status = classify(call->store, reply, "GET redis_app");

    if (status == STORE_OK && reply->type == REDIS_REPLY_NIL) {
        call->done.value(call->arg, STORE_NOT_FOUND, NULL, 0);
        return;
    }
    if (status == STORE_OK && reply->type != REDIS_REPLY_STRING) status = STORE_FAILED;
    if (status != STORE_OK) {
        call->done.value(call->arg, status, NULL, 0);
        return;
    }
    call->done.value(call->arg, STORE_OK, reply->str, reply->len);
}

int store_get_query_value(struct store *store, struct store_call *call, store_value_fn done,
                          void *arg)
{
    static const char get_redis_app[] = "*2\r\n$3\r\nGET\r\n$9\r\nredis_app\r\n";

    prepare_call(call, store, arg);
    call->done.value = done;
    return redis_pipe_send(store->pipe, get_redis_app, sizeof(get_redis_app) - 1, value_reply,
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

    hello_step_done(call, classify(call->store, reply, "SET Hi"));
}

static void hello_get_reply(void *arg, struct redisReply *reply)
{
    struct store_call *call = arg;
    enum store_status status = classify(call->store, reply, "GET Hi");

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
    enum store_status status = classify(call->store, reply, "INFO");

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

    prepare_call(call, store, arg);
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

    call->done.ping(call->arg, classify(call->store, reply, "PING"));
}

int store_ping(struct store *store, struct store_call *call, store_ping_fn done, void *arg)
{
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";

    prepare_call(call, store, arg);
    call->done.ping = done;
    return redis_pipe_send(store->pipe, ping, sizeof(ping) - 1, ping_reply, call);
}
