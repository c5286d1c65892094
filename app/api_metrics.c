/* GET /metrics: the Prometheus text exposition format (version 0.0.4) of every worker's counters
 * (summed when scraped), the Redis connections' counters and the app's state. Worker thread; it
 * only reads the counters (relaxed atomic loads) and the shared targets. */
#include "api_metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "http.h"
#include "store.h"
#include "version.h"
#include "xmalloc.h"

/* A growing text buffer. */
struct text {
    char *data;
    size_t len, cap;
};

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_printf(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < t->cap - t->len) break;
        t->cap = (t->cap + (size_t)n) * 2;
        t->data = xrealloc(t->data, t->cap);
    }
    t->len += (size_t)n;
}

static uint64_t load(const atomic_uint_fast64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

/* The routes the metrics count by index (the table http.c dispatches through). */
struct route_names {
    const struct route *table;
    size_t count;
};

/* A metrics index as a label: the route's path, "other" for requests that matched none. */
static const char *route_label(const struct route_names *names, size_t index)
{
    return index < names->count ? names->table[index].path : "other";
}

static void render_requests(struct text *t, const struct metrics_registry *r,
                            const struct route_names *names)
{
    text_printf(t, "# HELP redisapp_http_requests_total HTTP requests answered, by route and "
                   "status (status \"none\": the exchange ended without an answer).\n"
                   "# TYPE redisapp_http_requests_total counter\n");
    for (size_t route = 0; route <= names->count; route++) {
        for (size_t slot = 0; slot < METRICS_STATUS_SLOTS; slot++) {
            uint64_t sum = 0;
            char status[8];

            for (int w = 0; w < r->worker_count; w++)
                sum += load(&r->workers[w]->requests[route][slot]);
            if (sum == 0) continue;
            if (slot == METRICS_SLOT_NONE)
                snprintf(status, sizeof(status), "none");
            else if (slot == METRICS_SLOT_OTHER)
                snprintf(status, sizeof(status), "other");
            else
                snprintf(status, sizeof(status), "%u", metrics_tracked_statuses[slot]);
            text_printf(t, "redisapp_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                        route_label(names, route), status, (unsigned long long)sum);
        }
    }
}

static void render_histogram(struct text *t, const struct metrics_registry *r,
                             const struct route_names *names)
{
    text_printf(t, "# HELP redisapp_http_request_duration_seconds Time from the request line to "
                   "the end of the exchange, by route.\n"
                   "# TYPE redisapp_http_request_duration_seconds histogram\n");
    for (size_t route = 0; route <= names->count; route++) {
        uint64_t cumulative = 0, sum_us = 0, total = 0;

        for (int w = 0; w < r->worker_count; w++) {
            sum_us += load(&r->workers[w]->duration_sum_us[route]);
            for (size_t b = 0; b < METRICS_BUCKETS; b++)
                total += load(&r->workers[w]->duration_buckets[route][b]);
        }
        if (total == 0) continue; /* a route never asked for: no series */
        for (size_t b = 0; b < METRICS_BUCKETS; b++) {
            for (int w = 0; w < r->worker_count; w++)
                cumulative += load(&r->workers[w]->duration_buckets[route][b]);
            if (b == METRICS_BUCKETS - 1)
                text_printf(t,
                            "redisapp_http_request_duration_seconds_bucket{route=\"%s\","
                            "le=\"+Inf\"} %llu\n",
                            route_label(names, route), (unsigned long long)cumulative);
            else
                text_printf(t,
                            "redisapp_http_request_duration_seconds_bucket{route=\"%s\","
                            "le=\"%g\"} %llu\n",
                            route_label(names, route), metrics_bucket_bounds[b],
                            (unsigned long long)cumulative);
        }
        text_printf(t, "redisapp_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
                    route_label(names, route), (double)sum_us / 1e6);
        text_printf(t, "redisapp_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                    route_label(names, route), (unsigned long long)cumulative);
    }
}

static void render_gauge_or_counter(struct text *t, const char *name, const char *type,
                                    const char *help, unsigned long long value)
{
    text_printf(t, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, value);
}

/* The Prometheus text exposition of everything. Caller frees; length in *len. */
static char *render(struct app *app, struct route_names *names, size_t *len)
{
    const struct metrics_registry *r = &app->metrics;
    struct text t = {xmalloc(16384), 0, 16384};
    uint64_t connects = 0, errors = 0;
    int64_t last_answer_ms = 0, last_failure_ms = 0;
    int64_t open;

    if (names->count >= METRICS_ROUTES_MAX) names->count = METRICS_ROUTES_MAX - 1;
    render_requests(&t, r, names);
    render_histogram(&t, r, names);
    for (int p = 0; p < r->pipe_count; p++) {
        connects += load(&r->pipes[p]->connects);
        errors += load(&r->pipes[p]->connection_errors);
        if (r->pipe_kinds[p] == METRICS_PIPE_MASTER) {
            int64_t answer =
                atomic_load_explicit(&r->pipes[p]->last_answer_ms, memory_order_relaxed);
            int64_t failure =
                atomic_load_explicit(&r->pipes[p]->last_failure_ms, memory_order_relaxed);

            if (answer > last_answer_ms) last_answer_ms = answer;
            if (failure > last_failure_ms) last_failure_ms = failure;
        }
    }
    open = metrics_open_connections(r);
    render_gauge_or_counter(&t, "redisapp_redis_connects_total", "counter",
                            "Redis connections established (the first ones and reconnects).",
                            (unsigned long long)connects);
    render_gauge_or_counter(&t, "redisapp_redis_connection_errors_total", "counter",
                            "Redis connections dropped: refused, reset, or no reply in time.",
                            (unsigned long long)errors);
    render_gauge_or_counter(&t, "redisapp_redis_reply_errors_total", "counter",
                            "Error replies from Redis (READONLY, NOREPLICAS, LOADING, ...).",
                            (unsigned long long)store_reply_errors_total());
    render_gauge_or_counter(&t, "redisapp_failovers_followed_total", "counter",
                            "Times the master in use moved to another address.",
                            (unsigned long long)redis_target_changes(&app->target));
    render_gauge_or_counter(&t, "redisapp_redis_master_generation", "gauge",
                            "Generation of the master address in use (0: none known now).",
                            (unsigned long long)redis_target_generation(&app->target));
    /* an idle connection to a hung server looks fine: what counts is the latest outcome on any
     * connection to the master, an answer or a failure */
    render_gauge_or_counter(&t, "redisapp_redis_master_up", "gauge",
                            "1 when the latest outcome on this instance's connections to the Redis "
                            "master was an answer, 0 when it was a failure (or none answered yet).",
                            last_answer_ms > 0 && last_answer_ms >= last_failure_ms ? 1 : 0);
    render_gauge_or_counter(&t, "redisapp_min_replicas_ack", "gauge",
                            "Replicas that must acknowledge a ping's increment before it is "
                            "answered (--min-replicas-ack).",
                            (unsigned long long)app->cfg->min_replicas_ack);
    render_gauge_or_counter(&t, "redisapp_http_open_connections", "gauge", "Open HTTP connections.",
                            (unsigned long long)(open > 0 ? open : 0));
    text_printf(&t,
                "# HELP redisapp_build_info The running version.\n"
                "# TYPE redisapp_build_info gauge\n"
                "redisapp_build_info{version=\"%s\",instance_name=\"",
                REDISAPP_VERSION);
    for (const char *p = app->cfg->instance_name; *p != '\0'; p++) /* label value escaping */
        text_printf(&t, "%s%c", *p == '"' || *p == '\\' ? "\\" : "", *p);
    text_printf(&t, "\"} 1\n");
    *len = t.len;
    return t.data;
}

enum handler_result handle_metrics(struct request *req)
{
    size_t len;
    struct route_names names;
    char *text;

    names.table = http_server_routes(req->server, &names.count);
    text = render(api_app(req), &names, &len);
    response_set_heap(&req->response, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    req->response.cache_control = "no-store";
    return HANDLER_DONE;
}
