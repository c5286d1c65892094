/* Redis operations behind the JSON API: browser sessions (a hash per session with a sliding
 * expiry, updated by one Lua script so that an unknown id never becomes a session), the message
 * board (a stream capped near 1000 entries: ids are unique and time-ordered, XREVRANGE reads the
 * newest, MAXLEN ~ trims in O(1) amortised), and INFO replication for the topology. Request data
 * only ever travels as command arguments, never inside the command text. Worker thread only. */
#include "store_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"

#define MESSAGES_KEY       "messages"
#define MESSAGES_KEEP      "1000"
#define SESSION_KEY_PREFIX "session:"

/* KEYS[1] the session named by the cookie (may not exist), KEYS[2] a fresh one.
 * Returns {visits, created}. */
static const char session_script[] = "if redis.call('EXISTS', KEYS[1]) == 1 then "
                                     "local v = redis.call('HINCRBY', KEYS[1], 'visits', 1) "
                                     "redis.call('EXPIRE', KEYS[1], ARGV[1]) return {v, 0} end "
                                     "redis.call('HSET', KEYS[2], 'visits', 1, 'created', ARGV[2]) "
                                     "redis.call('EXPIRE', KEYS[2], ARGV[1]) return {1, 1}";

/* One of the replies of a call made of several commands; the last one completes it. */
static void session_step_done(struct store_call *call, enum store_status status)
{
    (void)status;
    if (--call->replies_missing == 0) call->done.session(call->arg, call->session);
}

static void session_script_reply(void *arg, struct redisReply *reply)
{
    struct store_call *call = arg;
    struct store_session_result *result = call->session;

    result->status = store_classify(call->store->pipe, reply, "EVAL session");
    if (result->status == STORE_OK && (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
                                       reply->element[0]->type != REDIS_REPLY_INTEGER)) {
        log_dedupe_report(&store_reply_error_log, LOG_ERROR,
                          "redis: EVAL session: unexpected reply");
        result->status = STORE_FAILED;
    }
    if (result->status == STORE_OK) {
        result->visits = reply->element[0]->integer;
        result->created = reply->element[1]->integer == 1;
        memcpy(result->id, result->created ? call->new_session : call->old_session,
               sizeof(result->id));
    }
    session_step_done(call, result->status);
}

static void session_counter_reply(void *arg, struct redisReply *reply)
{
    struct store_call *call = arg;

    if (store_classify(call->store->pipe, reply, "GET count") == STORE_OK &&
        reply->type == REDIS_REPLY_STRING) {
        call->session->counter_known = true;
        call->session->counter = atoll(reply->str);
    }
    session_step_done(call, STORE_OK);
}

static void session_role_reply(void *arg, struct redisReply *reply)
{
    struct store_call *call = arg;

    /* ROLE may be refused to a restricted ACL user: the role is then just unknown */
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
        reply->element[0]->type == REDIS_REPLY_STRING)
        snprintf(call->session->role, sizeof(call->session->role), "%s", reply->element[0]->str);
    session_step_done(call, STORE_OK);
}

int store_session_visit(struct store *store, struct store_call *call, const char *id,
                        const char *new_id, int ttl_s, struct store_session_result *result,
                        store_session_fn done, void *arg)
{
    static const char get_count[] = "*2\r\n$3\r\nGET\r\n$5\r\ncount\r\n";
    static const char role[] = "*1\r\n$4\r\nROLE\r\n";
    char old_key[sizeof(SESSION_KEY_PREFIX) + STORE_SESSION_ID_BYTES + 1];
    char new_key[sizeof(SESSION_KEY_PREFIX) + STORE_SESSION_ID_BYTES + 1];
    char ttl[16], now[24];
    const char *argv[7] = {"EVAL", session_script, "2", old_key, new_key, ttl, now};
    size_t argv_len[7];

    store_prepare_call(call, store, arg);
    call->done.session = done;
    call->session = result;
    call->replies_missing = 3;
    memset(result, 0, sizeof(*result));
    /* no cookie: a key that cannot exist, so the script creates the new session */
    snprintf(old_key, sizeof(old_key), SESSION_KEY_PREFIX "%s", id != NULL ? id : "-");
    snprintf(new_key, sizeof(new_key), SESSION_KEY_PREFIX "%s", new_id);
    snprintf(call->old_session, sizeof(call->old_session), "%s", id != NULL ? id : "");
    snprintf(call->new_session, sizeof(call->new_session), "%s", new_id);
    snprintf(ttl, sizeof(ttl), "%d", ttl_s);
    snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
    for (int i = 0; i < 7; i++)
        argv_len[i] = strlen(argv[i]);
    if (redis_pipe_send_argv(store->pipe, session_script_reply, call, 7, argv, argv_len) != 0)
        return -1;
    redis_pipe_send(store->pipe, get_count, sizeof(get_count) - 1, session_counter_reply, call);
    redis_pipe_send(store->pipe, role, sizeof(role) - 1, session_role_reply, call);
    return 0;
}

int store_message_add(struct store *store, struct store_call *call, const char *name,
                      const char *text, const char *instance, store_value_fn done, void *arg)
{
    const char *argv[11] = {"XADD", MESSAGES_KEY, "MAXLEN", "~",  MESSAGES_KEEP, "*",
                            "name", name,         "text",   text, "instance"};
    const char *full[12];
    size_t argv_len[12];

    store_prepare_call(call, store, arg);
    call->done.value = done;
    call->command = "XADD messages";
    memcpy(full, argv, sizeof(argv));
    full[11] = instance;
    for (int i = 0; i < 12; i++)
        argv_len[i] = strlen(full[i]);
    return redis_pipe_send_argv(store->pipe, store_string_reply, call, 12, full, argv_len);
}

/* Fills `out` from one stream entry [id, [field, value, ...]]. Returns false when malformed. */
static bool parse_entry(const redisReply *entry, struct store_message *out)
{
    const redisReply *fields;

    memset(out, 0, sizeof(*out));
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING ||
        entry->element[1]->type != REDIS_REPLY_ARRAY)
        return false;
    out->id = entry->element[0]->str;
    out->id_len = entry->element[0]->len;
    fields = entry->element[1];
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *key = fields->element[i], *value = fields->element[i + 1];

        if (key->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING) continue;
        if (strcmp(key->str, "name") == 0) {
            out->name = value->str;
            out->name_len = value->len;
        } else if (strcmp(key->str, "text") == 0) {
            out->text = value->str;
            out->text_len = value->len;
        } else if (strcmp(key->str, "instance") == 0) {
            out->instance = value->str;
            out->instance_len = value->len;
        }
    }
    return out->name != NULL && out->text != NULL;
}

static void messages_reply(void *arg, struct redisReply *reply)
{
    struct store_call *call = arg;
    enum store_status status = store_classify(call->store->pipe, reply, "XREVRANGE messages");
    struct store_message messages[STORE_MESSAGES_MAX];
    size_t count = 0;

    if (status == STORE_OK && reply->type != REDIS_REPLY_ARRAY) status = STORE_FAILED;
    for (size_t i = 0; status == STORE_OK && i < reply->elements && count < STORE_MESSAGES_MAX;
         i++) {
        if (parse_entry(reply->element[i], &messages[count])) count++;
    }
    call->done.messages(call->arg, status, messages, count);
}

int store_messages_latest(struct store *store, struct store_call *call, int limit,
                          store_messages_fn done, void *arg)
{
    char count[16];
    const char *argv[6] = {"XREVRANGE", MESSAGES_KEY, "+", "-", "COUNT", count};
    size_t argv_len[6];

    store_prepare_call(call, store, arg);
    call->done.messages = done;
    snprintf(count, sizeof(count), "%d", limit < STORE_MESSAGES_MAX ? limit : STORE_MESSAGES_MAX);
    for (int i = 0; i < 6; i++)
        argv_len[i] = strlen(argv[i]);
    return redis_pipe_send_argv(store->pipe, messages_reply, call, 6, argv, argv_len);
}

int store_replication_info(struct store *store, struct store_call *call, store_value_fn done,
                           void *arg)
{
    static const char info[] = "*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n";

    store_prepare_call(call, store, arg);
    call->done.value = done;
    call->command = "INFO replication";
    return redis_pipe_send(store->pipe, info, sizeof(info) - 1, store_string_reply, call);
}
