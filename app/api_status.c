/* GET /api/status: what this instance knows, as JSON built with cJSON: its name, readiness,
 * and the Redis side (mode, master address and generation, failovers followed). Worker thread;
 * reads the shared targets under their locks (not a hot path). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "handlers.h"
#include "worker.h"

#define JSON "application/json"

static void add_address(cJSON *parent, const char *name, struct redis_target *target,
                        bool with_generation)
{
    char host[REDIS_TARGET_HOST_MAX_BYTES], ip[REDIS_TARGET_IP_MAX_BYTES], text[400];
    int port;
    uint64_t gen = redis_target_describe(target, host, ip, &port);

    if (gen == 0) {
        cJSON_AddNullToObject(parent, name);
    } else {
        cJSON *node = cJSON_AddObjectToObject(parent, name);

        snprintf(text, sizeof(text), "%s:%d", host, port);
        cJSON_AddStringToObject(node, "name", text);
        snprintf(text, sizeof(text), "%s:%d", ip, port);
        cJSON_AddStringToObject(node, "address", text);
    }
    if (with_generation) cJSON_AddNumberToObject(parent, "generation", (double)gen);
}

enum handler_result handle_api_status(struct request *req)
{
    struct app *app = worker_app(req->worker);
    const struct config *cfg = app->cfg;
    bool known = redis_target_generation(&app->target) != 0;
    bool draining = worker_is_draining(req->worker);
    cJSON *root = cJSON_CreateObject();
    cJSON *redis;
    char *body;

    cJSON_AddStringToObject(root, "status", draining ? "draining" : known ? "ok" : "degraded");
    cJSON_AddStringToObject(root, "instance", cfg->instance_name);
    redis = cJSON_AddObjectToObject(root, "redis");
    cJSON_AddStringToObject(redis, "mode", cfg->sentinel_count > 0 ? "sentinel" : "direct");
    if (cfg->sentinel_count > 0) cJSON_AddStringToObject(redis, "master_name", cfg->master_name);
    add_address(redis, "master", &app->target, true);
    cJSON_AddNumberToObject(redis, "failovers_followed",
                            (double)redis_target_changes(&app->target));
    cJSON_AddNumberToObject(redis, "min_replicas_ack", cfg->min_replicas_ack);
    if (cfg->read_from_replicas) add_address(redis, "read_replica", &app->replica_target, false);
    body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    response_set_heap(&req->response, 200, JSON, body, strlen(body));
    req->response.cache_control = "no-store";
    return HANDLER_DONE;
}
