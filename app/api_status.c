/* GET /api/status and GET /api/topology, as JSON built with cJSON.
 * /api/status: the instance, the Redis side in use, the counter, and this browser's session: a
 * random 128-bit id in an HttpOnly, SameSite=Lax cookie, kept in Redis with a sliding expiry, so
 * every instance behind the load balancer counts the same visits. A missing, malformed or
 * unknown cookie starts a new session; it is never an error.
 * /api/topology: master, replicas with their lag (INFO replication), Sentinels and the recent
 * events the locator recorded. Worker thread; the shared targets and topology are read under
 * their locks (not a hot path). */
#include "api_status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "app.h"
#include "clock.h"
#include "http_headers.h"
#include "redis_info.h"
#include "store.h"
#include "store_api.h"
#include "version.h"
#include "xmalloc.h"

#define SESSION_COOKIE "sid"

/* {"name": "host:port", "address": "ip:port"} or null. */
static void add_address(cJSON *parent, const char *key, struct redis_target *target)
{
    char host[REDIS_TARGET_HOST_MAX_BYTES], ip[REDIS_TARGET_IP_MAX_BYTES], text[400];
    int port;

    if (redis_target_describe(target, host, ip, &port) == 0) {
        cJSON_AddNullToObject(parent, key);
    } else {
        cJSON *node = cJSON_AddObjectToObject(parent, key);

        snprintf(text, sizeof(text), "%s:%d", host, port);
        cJSON_AddStringToObject(node, "name", text);
        snprintf(text, sizeof(text), "%s:%d", ip, port);
        cJSON_AddStringToObject(node, "address", text);
    }
}

/* The "redis" object both endpoints share. */
static cJSON *redis_json(struct app *app, const char *role)
{
    const struct config *cfg = app->cfg;
    cJSON *redis = cJSON_CreateObject();

    cJSON_AddStringToObject(redis, "mode", cfg->sentinel_count > 0 ? "sentinel" : "direct");
    if (cfg->sentinel_count > 0) cJSON_AddStringToObject(redis, "master_name", cfg->master_name);
    if (role != NULL) cJSON_AddStringToObject(redis, "role", role[0] ? role : "unknown");
    add_address(redis, "master", &app->target);
    cJSON_AddNumberToObject(redis, "generation", (double)redis_target_generation(&app->target));
    cJSON_AddNumberToObject(redis, "failovers_followed",
                            (double)redis_target_changes(&app->target));
    cJSON_AddNumberToObject(redis, "min_replicas_ack", cfg->min_replicas_ack);
    if (cfg->sentinel_count > 0 && cfg->min_replicas_ack > 0) {
        /* how many replicas a ping waits for now: every one Sentinel could promote */
        int acks = redis_target_acks(&app->target, redis_target_generation(&app->target));

        if (acks >= 0)
            cJSON_AddNumberToObject(redis, "replicas_to_ack", acks);
        else
            cJSON_AddNullToObject(redis, "replicas_to_ack");
    }
    if (cfg->read_from_replicas) add_address(redis, "read_replica", &app->replica_target);
    return redis;
}

/* Finds a well-formed "sid" cookie. Returns true and copies it into `id`. */
static bool session_from_cookie(const char *header, char id[STORE_SESSION_ID_BYTES + 1])
{
    const char *value = http_cookie_hex_value(header, SESSION_COOKIE, STORE_SESSION_ID_BYTES);

    if (value == NULL) return false;
    memcpy(id, value, STORE_SESSION_ID_BYTES);
    id[STORE_SESSION_ID_BYTES] = '\0';
    return true;
}

/* 128 random bits from the kernel, in hex. */
static void new_session_id(char id[STORE_SESSION_ID_BYTES + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char bits[STORE_SESSION_ID_BYTES / 2];
    size_t got = 0;

    while (got < sizeof(bits)) {
        ssize_t n = getrandom(bits + got, sizeof(bits) - got, 0);

        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) abort(); /* no kernel randomness: never hand out guessable session ids */
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(bits); i++) {
        id[2 * i] = hex[bits[i] >> 4];
        id[2 * i + 1] = hex[bits[i] & 15];
    }
    id[STORE_SESSION_ID_BYTES] = '\0';
}

/* Fills the answer from the session visit (or its failure). */
static void build_status(struct request *req, const struct store_session_result *result)
{
    struct app *app = api_app(req);
    const struct config *cfg = app->cfg;
    bool draining = api_is_draining(req);
    cJSON *root = cJSON_CreateObject();
    struct api_failure answer = {.status = 200};

    if (result->status != STORE_OK) {
        answer = api_failure_of(result->status);
        cJSON_AddStringToObject(root, "error", answer.message);
    }
    cJSON_AddStringToObject(root, "status",
                            draining               ? "draining"
                            : answer.status == 200 ? "ok"
                                                   : "degraded");
    cJSON_AddStringToObject(root, "instance", cfg->instance_name);
    cJSON_AddStringToObject(root, "version", REDISAPP_VERSION);
    cJSON_AddItemToObject(root, "redis", redis_json(app, result->role));
    if (result->counter_known)
        cJSON_AddNumberToObject(root, "counter", (double)result->counter);
    else
        cJSON_AddNullToObject(root, "counter");
    if (answer.status == 200) {
        cJSON *session = cJSON_AddObjectToObject(root, "session");

        cJSON_AddNumberToObject(session, "visits", (double)result->visits);
        cJSON_AddBoolToObject(session, "new", result->created);
        cJSON_AddNumberToObject(session, "expires_in_s", cfg->session_ttl_s);
        /* (re)sent on every visit, so the cookie's expiry slides with the session's */
        snprintf(req->response.set_cookie, sizeof(req->response.set_cookie),
                 SESSION_COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Lax", result->id,
                 cfg->session_ttl_s);
    } else {
        cJSON_AddNullToObject(root, "session");
    }
    api_respond_json(req, answer.status, root);
    req->response.retry_after_s = answer.retry_after_s;
}

static void status_done(void *arg, struct store_session_result *result)
{
    struct request *req = arg;

    build_status(req, result);
    http_request_complete(req);
}

enum handler_result handle_api_status(struct request *req)
{
    struct app *app = api_app(req);
    char id[STORE_SESSION_ID_BYTES + 1], new_id[STORE_SESSION_ID_BYTES + 1];
    bool has_id = session_from_cookie(http_request_header(req, "Cookie"), id);
    struct store_session_result unreachable = {.status = STORE_UNAVAILABLE};

    new_session_id(new_id);
    if (store_session_visit(api_store(req), &req->store_call, has_id ? id : NULL, new_id,
                            app->cfg->session_ttl_s, &req->session, status_done, req) != 0) {
        build_status(req, &unreachable);
        return HANDLER_DONE;
    }
    return HANDLER_PENDING;
}

static void add_replica(void *arg, const struct redis_info_replica_line *line)
{
    cJSON *replica = cJSON_CreateObject();
    char address[160];

    snprintf(address, sizeof(address), "%s:%d", line->ip, line->port);
    cJSON_AddStringToObject(replica, "address", address);
    cJSON_AddStringToObject(replica, "state", line->state);
    cJSON_AddNumberToObject(replica, "offset", (double)line->offset);
    cJSON_AddNumberToObject(replica, "lag_s", (double)line->lag);
    cJSON_AddItemToArray(arg, replica);
}

/* The replicas and offset of INFO replication (redis_info.c parses it). */
static void add_replicas(cJSON *root, const char *info, size_t len)
{
    cJSON *list = cJSON_AddArrayToObject(root, "replicas");
    long long offset;

    redis_info_replication(info, len, add_replica, list, &offset);
    if (offset >= 0) cJSON_AddNumberToObject(root, "master_repl_offset", (double)offset);
}

static void add_topology_record(cJSON *root, struct app *app)
{
    struct topology *copy = xmalloc(sizeof(*copy));
    cJSON *sentinels, *events;
    uint64_t first;

    topology_snapshot(&app->topology, copy);
    if (app->cfg->sentinel_count > 0) {
        sentinels = cJSON_AddArrayToObject(root, "sentinels");
        for (int i = 0; i < copy->sentinel_count; i++) {
            cJSON *s = cJSON_CreateObject();

            cJSON_AddStringToObject(s, "address", copy->sentinels[i].address);
            cJSON_AddBoolToObject(s, "answering", copy->sentinels[i].answering);
            if (!copy->sentinels[i].answering)
                cJSON_AddStringToObject(s, "problem", copy->sentinels[i].problem);
            cJSON_AddItemToArray(sentinels, s);
        }
    }
    events = cJSON_AddArrayToObject(root, "events"); /* newest first */
    first = copy->event_count > TOPOLOGY_EVENTS_MAX ? copy->event_count - TOPOLOGY_EVENTS_MAX : 0;
    for (uint64_t n = copy->event_count; n > first; n--) {
        const struct topology_event *e = &copy->events[(n - 1) % TOPOLOGY_EVENTS_MAX];
        cJSON *item = cJSON_CreateObject();
        char when[CLOCK_ISO_MAX_BYTES];

        clock_format_iso_ms(e->time_ms, when, sizeof(when));
        cJSON_AddStringToObject(item, "time", when);
        cJSON_AddStringToObject(item, "text", e->text);
        cJSON_AddItemToArray(events, item);
    }
    free(copy);
}

/* Builds the topology answer; `info` is INFO replication of the master, or NULL. */
static void build_topology(struct request *req, enum store_status status, const char *info,
                           size_t len)
{
    struct app *app = api_app(req);
    cJSON *root = cJSON_CreateObject();

    cJSON_AddStringToObject(root, "instance", app->cfg->instance_name);
    cJSON_AddItemToObject(root, "redis", redis_json(app, NULL));
    if (status == STORE_OK) {
        add_replicas(root, info, len);
    } else {
        cJSON_AddNullToObject(root, "replicas");
        cJSON_AddStringToObject(root, "replicas_error", "the master did not answer INFO");
    }
    add_topology_record(root, app);
    api_respond_json(req, 200, root); /* the topology is most useful exactly when Redis is down */
}

static void topology_done(void *arg, enum store_status status, const char *info, size_t len)
{
    struct request *req = arg;

    build_topology(req, status, info, len);
    http_request_complete(req);
}

enum handler_result handle_api_topology(struct request *req)
{
    if (store_replication_info(api_store(req), &req->store_call, topology_done, req) != 0) {
        build_topology(req, STORE_UNAVAILABLE, NULL, 0);
        return HANDLER_DONE;
    }
    return HANDLER_PENDING;
}
