/* Domain operations over the worker's Redis pipes: builds the commands, classifies replies
 * (READONLY and NOAUTH reset the connection; LOADING, NOREPLICAS and the like mean "not now"),
 * logs each kind of Redis error once, and hands plain values to the caller.
 *
 * The counter: with min-replicas-ack N > 0, INCRs go on a master connection of their own and
 * are confirmed in batches: one WAIT in flight at a time covers every INCR sent before it, and
 * none of their values is shown before WAIT confirms enough replicas (one WAIT per batch, not
 * per request). Enough is N in direct mode; in Sentinel mode it is the number the locator
 * publishes for the master in use (every replica Sentinel could promote, ack_rule.h, never
 * below N), read once per batch. A value at or below what this process had already shown when the
 * INCR was sent means Redis lost writes: it is never shown, and the key is repaired forward. Runs
 * on its worker's thread only; the shown-value floor is one process-wide atomic. */
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
static struct log_dedupe durability_log = LOG_DEDUPE_INIT;

/* The highest counter value this process has shown (written only by publish_floor). */
static atomic_llong shown_floor;

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

/* Formats "WAIT <acks> <timeout>" in RESP, once per change of the number. */
static void build_wait_command(struct store *store, int acks)
{
    store->wait_acks = acks;
    store->wait_command_len = (size_t)snprintf(
        store->wait_command, sizeof(store->wait_command),
        "*3\r\n$4\r\nWAIT\r\n$%d\r\n%d\r\n$%d\r\n%d\r\n", snprintf(NULL, 0, "%d", acks), acks,
        snprintf(NULL, 0, "%d", store->wait_timeout_ms), store->wait_timeout_ms);
}

struct store *store_new(struct event_loop *loop, struct app *app, const char *worker_name)
{
    struct store *store = xcalloc(1, sizeof(*store));
    const struct config *cfg = app->cfg;
    struct redis_pipe_settings settings = {
        .timeout_ms = cfg->redis_timeout_ms,
        .username = cfg->redis_username,
        .password = cfg->redis_password,
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
    store->min_replicas_ack = cfg->min_replicas_ack;
    store->counter.store = store;
    if (store->min_replicas_ack > 0) {
        settings.optional = false;
        store->counter.pipe = redis_pipe_new(loop, &app->target, &settings);
        metrics_register_pipe(&app->metrics, redis_pipe_stats(store->counter.pipe),
                              METRICS_PIPE_MASTER);
    }
    /* Sentinel mode: the locator publishes how many replicas Sentinel could promote */
    store->target = cfg->sentinel_count > 0 ? &app->target : NULL;
    /* WAIT must give up before the pipe's own deadline, or the connection is dropped */
    store->wait_timeout_ms = cfg->redis_timeout_ms / 2 > 0 ? cfg->redis_timeout_ms / 2 : 1;
    build_wait_command(store, store->min_replicas_ack);
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

static void complete_counter(struct store_call *call, enum store_status status)
{
    call->done.counter(call->arg, status, status == STORE_OK ? call->value : 0);
}

/* Raises the shown floor to `value` (a value about to be shown). */
static void publish_floor(long long value)
{
    long long current = atomic_load_explicit(&shown_floor, memory_order_relaxed);

    while (value > current &&
           !atomic_compare_exchange_weak_explicit(&shown_floor, &current, value,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

static void repair_reply(void *arg, struct redisReply *reply)
{
    (void)arg;
    (void)reply;
}

/* Redis handed out a value at or below one already shown: it lost writes. Never show it, log
 * it once, and raise the key to the floor so the next increments are above everything shown. */
static void handle_regression(struct store *store, struct store_call *call)
{
    static const char script[] =
        "local v = tonumber(redis.call('GET', KEYS[1]) or '0') "
        "if v < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) return 1 end return 0";
    char message[256], floor_text[32];
    long long floor = atomic_load(&shown_floor);
    const char *argv[5] = {"EVAL", script, "1", "count", floor_text};
    size_t argv_len[5] = {4, sizeof(script) - 1, 1, 5, 0};

    snprintf(message, sizeof(message),
             "redis: counter regression: INCR returned %lld after %lld was shown; not shown, "
             "key 'count' repaired forward",
             call->value, call->floor_at_send);
    log_dedupe_report(&durability_log, LOG_ERROR, message);
    argv_len[4] = (size_t)snprintf(floor_text, sizeof(floor_text), "%lld", floor);
    redis_pipe_send_argv(store->pipe, repair_reply, NULL, 5, argv, argv_len);
}

/* Shows (or refuses) one confirmed INCR result. */
static void finish_increment(struct store *store, struct store_call *call)
{
    if (call->status == STORE_OK && call->value <= call->floor_at_send) {
        handle_regression(store, call);
        call->status = STORE_UNAVAILABLE;
    }
    if (call->status == STORE_OK) publish_floor(call->value);
    complete_counter(call, call->status);
}

static void counter_reply(void *arg, struct redisReply *reply)
{
    struct store_call *call = arg;
    struct store *store = call->store;

    call->status = store_classify(call->pipe, reply, "INCR count");
    if (call->status == STORE_OK && reply->type != REDIS_REPLY_INTEGER) {
        log_dedupe_report(&store_reply_error_log, LOG_ERROR,
                          "redis: INCR count: not an integer reply");
        call->status = STORE_FAILED;
    }
    if (call->status == STORE_OK) call->value = reply->integer;
    /* durable mode: the batch's WAIT reply finishes the call */
    if (store->counter.pipe == NULL) finish_increment(store, call);
}

/* The reply to a batch's WAIT (NULL: no reply will come): shows or refuses its INCRs. */
static void wait_reply(void *arg, struct redisReply *reply)
{
    struct durable_counter *counter = arg;
    struct store *store = counter->store;
    struct wait_batch *batch = &counter->waiting;
    long long acked = reply != NULL && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    bool confirmed = store->waiting_acks > 0 && acked >= store->waiting_acks;
    struct store_call *call = batch->first;

    if (!confirmed && reply != NULL) {
        char message[200];

        snprintf(message, sizeof(message),
                 "redis: WAIT: %lld of %d replicas acknowledged within %d ms: pings answer 503 "
                 "(%s)",
                 acked < 0 ? 0 : acked, store->waiting_acks, store->wait_timeout_ms,
                 store->target != NULL ? "every replica Sentinel could promote must hold a value"
                                       : "--min-replicas-ack / MIN_REPLICAS_ACK");
        log_dedupe_report(&durability_log, LOG_WARN, message);
        redis_pipe_report_problem(counter->pipe); /* an isolated old master looks like this */
    } else if (confirmed) {
        char ended[200];

        if (log_dedupe_clear(&durability_log, ended, sizeof(ended)))
            log_info("redis: replicas acknowledge writes again");
    }
    batch->first = batch->last = NULL;
    while (call != NULL) {
        struct store_call *next = call->next_in_batch;

        if (!confirmed && call->status == STORE_OK) call->status = STORE_UNAVAILABLE;
        finish_increment(store, call);
        call = next;
    }
}

/* Sends the WAIT that confirms the INCRs sent since the last one. One WAIT at a time: Redis runs
 * nothing else of a connection while its WAIT blocks, so INCRs sent meanwhile would each wait
 * for a replica round trip of their own; instead they gather in the open batch, reach Redis
 * behind the WAIT in flight, and are confirmed together by the next one. */
static void close_batch(struct durable_counter *counter)
{
    struct store *store = counter->store;
    int acks = store->min_replicas_ack;

    if (counter->open.first == NULL || counter->waiting.first != NULL) return;
    counter->waiting = counter->open;
    counter->open.first = counter->open.last = NULL;
    /* Sentinel mode: the number for the master this connection was opened to, read once per
     * batch (-1: not known for it yet, e.g. a master found a moment ago: answer 503) */
    if (store->target != NULL)
        acks = redis_target_acks(store->target, redis_pipe_generation(counter->pipe));
    store->waiting_acks = acks;
    if (acks > 0 && acks != store->wait_acks) build_wait_command(store, acks);
    if (acks <= 0) {
        redis_pipe_report_problem(counter->pipe); /* the locator has not looked at it yet */
        wait_reply(counter, NULL);
    } else if (redis_pipe_send(counter->pipe, store->wait_command, store->wait_command_len,
                               wait_reply, counter) != 0) {
        wait_reply(counter, NULL); /* the pipe went down during this pass: answer 503 now */
    }
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

    if (store->counter.pipe != NULL) close_batch(&store->counter);
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
    if (store->counter.pipe != NULL) close_batch(&store->counter);
}

size_t store_pending(const struct store *store)
{
    struct redis_pipe *pipes[STORE_PIPES_MAX];
    size_t n = store_pipes(store, pipes), pending = 0;

    for (size_t i = 0; i < n; i++)
        pending += redis_pipe_pending(pipes[i]);
    return pending;
}

void store_prepare_call(struct store_call *call, struct store *store, void *arg)
{
    call->store = store;
    call->arg = arg;
    call->hello = NULL;
    call->session = NULL;
    call->replies_missing = 1;
    call->status = STORE_OK;
    call->value = 0;
    call->next_in_batch = NULL;
}

int store_incr_counter(struct store *store, struct store_call *call, store_counter_fn done,
                       void *arg)
{
    static const char incr_count[] = "*2\r\n$4\r\nINCR\r\n$5\r\ncount\r\n";

    store_prepare_call(call, store, arg);
    call->done.counter = done;
    call->floor_at_send = atomic_load_explicit(&shown_floor, memory_order_relaxed);
    call->pipe = store->counter.pipe != NULL ? store->counter.pipe : store->pipe;
    if (redis_pipe_send(call->pipe, incr_count, sizeof(incr_count) - 1, counter_reply, call) != 0)
        return -1;
    if (store->counter.pipe != NULL) { /* durable: confirmed by the next WAIT */
        struct wait_batch *open = &store->counter.open;

        if (open->last != NULL)
            open->last->next_in_batch = call;
        else
            open->first = call;
        open->last = call;
    }
    return 0;
}

static void value_reply(void *arg, struct redisReply *reply)
{
    struct store_call *call = arg;
    enum store_status status = store_classify(call->pipe, reply, "GET redis_app");

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

    store_prepare_call(call, store, arg);
    call->done.value = done;
    /* a verified replica when one is published, else the master */
    call->pipe = store->replica_pipe != NULL && redis_pipe_is_ready(store->replica_pipe)
                     ? store->replica_pipe
                     : store->pipe;
    return redis_pipe_send(call->pipe, get_redis_app, sizeof(get_redis_app) - 1, value_reply, call);
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
