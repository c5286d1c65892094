/* Prometheus metrics: per-worker counters written without locks, summed and formatted in the
 * text exposition format (version 0.0.4) when /metrics is scraped. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "handlers.h"
#include "routes.h"
#include "store.h"
#include "version.h"
#include "worker.h"
#include "xmalloc.h"

/* The status codes counted one by one; others go to "other", no answer to "none". */
static const unsigned tracked_statuses[METRICS_STATUS_SLOTS - 2] = {
    200, 201, 304, 308, 400, 404, 405, 413, 414, 415, 431, 500, 503,
};
#define SLOT_OTHER (METRICS_STATUS_SLOTS - 2)
#define SLOT_NONE  (METRICS_STATUS_SLOTS - 1)

/* Upper bounds (seconds) of the latency histogram; the last bucket is +Inf. */
static const double bucket_bounds[METRICS_BUCKETS - 1] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};

static size_t status_slot(unsigned status)
{
    if (status == 0) return SLOT_NONE;
    for (size_t i = 0; i < SLOT_OTHER; i++) {
        if (tracked_statuses[i] == status) return i;
    }
    return SLOT_OTHER;
}

void metrics_record_request(struct worker_metrics *m, size_t route_index, unsigned status,
                            int64_t duration_ns)
{
    double seconds = (double)duration_ns / 1e9;
    size_t bucket = 0;

    if (route_index >= METRICS_ROUTES_MAX) route_index = METRICS_ROUTES_MAX - 1;
    while (bucket < METRICS_BUCKETS - 1 && seconds > bucket_bounds[bucket])
        bucket++;
    metrics_add(&m->requests[route_index][status_slot(status)], 1);
    metrics_add(&m->duration_buckets[route_index][bucket], 1);
    metrics_add(&m->duration_sum_us[route_index], (uint64_t)(duration_ns / 1000));
}

void metrics_register_worker(struct metrics_registry *r, struct worker_metrics *m)
{
    if (r->worker_count < METRICS_SOURCES_MAX) r->workers[r->worker_count++] = m;
}

void metrics_register_pipe(struct metrics_registry *r, const struct redis_pipe_stats *s,
                           enum metrics_pipe_kind kind)
{
    if (r->pipe_count < METRICS_PIPES_PER_WORKER * METRICS_SOURCES_MAX) {
        r->pipe_kinds[r->pipe_count] = kind;
        r->pipes[r->pipe_count++] = s;
    }
}

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

static const char *route_label(size_t index)
{
    const struct route *route = routes_at(index);

    return route != NULL ? route->path : "other";
}

static void render_requests(struct text *t, const struct metrics_registry *r, size_t routes)
{
    text_printf(t, "# HELP redisapp_http_requests_total HTTP requests answered, by route and "
                   "status (status \"none\": the exchange ended without an answer).\n"
                   "# TYPE redisapp_http_requests_total counter\n");
    for (size_t route = 0; route <= routes; route++) {
        for (size_t slot = 0; slot < METRICS_STATUS_SLOTS; slot++) {
            uint64_t sum = 0;
            char status[8];

            for (int w = 0; w < r->worker_count; w++)
                sum += load(&r->workers[w]->requests[route][slot]);
            if (sum == 0) continue;
            if (slot == SLOT_NONE)
                snprintf(status, sizeof(status), "none");
            else if (slot == SLOT_OTHER)
                snprintf(status, sizeof(status), "other");
            else
                snprintf(status, sizeof(status), "%u", tracked_statuses[slot]);
            text_printf(t, "redisapp_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                        route_label(route), status, (unsigned long long)sum);
        }
    }
}

static void render_histogram(struct text *t, const struct metrics_registry *r, size_t routes)
{
    text_printf(t, "# HELP redisapp_http_request_duration_seconds Time from the request line to "
                   "the end of the exchange, by route.\n"
                   "# TYPE redisapp_http_request_duration_seconds histogram\n");
    for (size_t route = 0; route <= routes; route++) {
        uint64_t cumulative = 0, sum_us = 0;

        uint64_t total = 0;

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
                            route_label(route), (unsigned long long)cumulative);
            else
                text_printf(t,
                            "redisapp_http_request_duration_seconds_bucket{route=\"%s\","
                            "le=\"%g\"} %llu\n",
                            route_label(route), bucket_bounds[b], (unsigned long long)cumulative);
        }
        text_printf(t, "redisapp_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
                    route_label(route), (double)sum_us / 1e6);
        text_printf(t, "redisapp_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                    route_label(route), (unsigned long long)cumulative);
    }
}

static void render_gauge_or_counter(struct text *t, const char *name, const char *type,
                                    const char *help, unsigned long long value)
{
    text_printf(t, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, value);
}

void metrics_connection_opened(struct worker_metrics *m)
{
    int64_t open = atomic_fetch_add_explicit(&m->open_connections, 1, memory_order_relaxed) + 1;
    int64_t peak = atomic_load_explicit(&m->peak_open_connections, memory_order_relaxed);

    /* the main thread may lower the peak meanwhile (a new period): raise it again if so */
    while (open > peak &&
           !atomic_compare_exchange_weak_explicit(&m->peak_open_connections, &peak, open,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

void metrics_connection_closed(struct worker_metrics *m)
{
    atomic_fetch_sub_explicit(&m->open_connections, 1, memory_order_relaxed);
}

int64_t metrics_take_peak_connections(const struct metrics_registry *r)
{
    int64_t peak = 0;

    for (int w = 0; w < r->worker_count; w++) {
        struct worker_metrics *m = r->workers[w];

        peak += atomic_exchange_explicit(
            &m->peak_open_connections,
            atomic_load_explicit(&m->open_connections, memory_order_relaxed), memory_order_relaxed);
    }
    return peak;
}

int64_t metrics_open_connections(const struct metrics_registry *r)
{
    int64_t open = 0;

    for (int w = 0; w < r->worker_count; w++)
        open += atomic_load_explicit(&r->workers[w]->open_connections, memory_order_relaxed);
    return open;
}

char *metrics_render(struct app *app, size_t *len)
{
    const struct metrics_registry *r = &app->metrics;
    size_t routes = routes_count();
    struct text t = {xmalloc(16384), 0, 16384};
    uint64_t connects = 0, errors = 0;
    int64_t last_answer_ms = 0, last_failure_ms = 0;
    int64_t open;

    if (routes >= METRICS_ROUTES_MAX) routes = METRICS_ROUTES_MAX - 1;
    render_requests(&t, r, routes);
    render_histogram(&t, r, routes);
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
    char *text = metrics_render(worker_app(req->worker), &len);

    response_set_heap(&req->response, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    req->response.cache_control = "no-store";
    return HANDLER_DONE;
}
