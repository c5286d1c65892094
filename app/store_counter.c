/* The durable counter: INCR count, shown only once enough replicas hold the value.
 *
 * With min-replicas-ack N > 0, INCRs go on a master connection of their own and are confirmed in
 * batches: one WAIT in flight at a time covers every INCR sent before it, and none of their
 * values is shown before WAIT confirms enough replicas (one WAIT per batch, not per request).
 * Enough is N in direct mode; in Sentinel mode it is the number the locator publishes for the
 * master in use (every replica Sentinel could promote, ack_rule.h, never below N), read once per
 * batch. With N = 0 the INCR goes on the master's connection and its reply is the answer. Either
 * way, a value at or below what this process had already shown when the INCR was sent means
 * Redis lost writes: it is never shown, and the key is repaired forward. Part of the store (it
 * shares store_internal.h); runs on its worker's thread only; the shown-value floor is one
 * process-wide atomic. */
#include "store_counter.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "redis_pipe.h"
#include "store_internal.h"

static struct log_dedupe durability_log = LOG_DEDUPE_INIT;

/* The highest counter value this process has shown (written only by publish_floor). */
static atomic_llong shown_floor;

/* Formats "WAIT <acks> <timeout>" in RESP, once per change of the number. */
static void build_wait_command(struct durable_counter *counter, int acks)
{
    counter->wait_acks = acks;
    counter->wait_command_len = (size_t)snprintf(
        counter->wait_command, sizeof(counter->wait_command),
        "*3\r\n$4\r\nWAIT\r\n$%d\r\n%d\r\n$%d\r\n%d\r\n", snprintf(NULL, 0, "%d", acks), acks,
        snprintf(NULL, 0, "%d", counter->wait_timeout_ms), counter->wait_timeout_ms);
}

void store_counter_init(struct store *store, const struct config *cfg, struct redis_target *target)
{
    struct durable_counter *counter = &store->counter;

    counter->store = store;
    counter->min_replicas_ack = cfg->min_replicas_ack;
    counter->target = target;
    /* WAIT must give up before the pipe's own deadline, or the connection is dropped */
    counter->wait_timeout_ms = cfg->redis_timeout_ms / 2 > 0 ? cfg->redis_timeout_ms / 2 : 1;
    build_wait_command(counter, counter->min_replicas_ack);
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
    bool confirmed = counter->waiting_acks > 0 && acked >= counter->waiting_acks;
    struct store_call *call = batch->first;

    if (!confirmed && reply != NULL) {
        char message[200];

        snprintf(message, sizeof(message),
                 "redis: WAIT: %lld of %d replicas acknowledged within %d ms: pings answer 503 "
                 "(%s)",
                 acked < 0 ? 0 : acked, counter->waiting_acks, counter->wait_timeout_ms,
                 counter->target != NULL ? "every replica Sentinel could promote must hold a value"
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
    int acks = counter->min_replicas_ack;

    if (counter->open.first == NULL || counter->waiting.first != NULL) return;
    counter->waiting = counter->open;
    counter->open.first = counter->open.last = NULL;
    /* Sentinel mode: the number for the master this connection was opened to, read once per
     * batch (-1: not known for it yet, e.g. a master found a moment ago: answer 503) */
    if (counter->target != NULL)
        acks = redis_target_acks(counter->target, redis_pipe_generation(counter->pipe));
    counter->waiting_acks = acks;
    if (acks > 0 && acks != counter->wait_acks) build_wait_command(counter, acks);
    if (acks <= 0) {
        redis_pipe_report_problem(counter->pipe); /* the locator has not looked at it yet */
        wait_reply(counter, NULL);
    } else if (redis_pipe_send(counter->pipe, counter->wait_command, counter->wait_command_len,
                               wait_reply, counter) != 0) {
        wait_reply(counter, NULL); /* the pipe went down during this pass: answer 503 now */
    }
}

void store_counter_flush(struct store *store)
{
    if (store->counter.pipe != NULL) close_batch(&store->counter);
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
