/* The metrics' counters: per-worker blocks written without locks by their worker, per-connection
 * Redis counters, and the registry that lists them for a scrape. A leaf: it knows nothing of what
 * it counts (api_metrics.c renders /metrics from it). */
#include "metrics.h"

const unsigned metrics_tracked_statuses[METRICS_SLOT_OTHER] = {
    200, 201, 304, 308, 400, 404, 405, 413, 414, 415, 431, 500, 503,
};

const double metrics_bucket_bounds[METRICS_BUCKETS - 1] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};

static size_t status_slot(unsigned status)
{
    if (status == 0) return METRICS_SLOT_NONE;
    for (size_t i = 0; i < METRICS_SLOT_OTHER; i++) {
        if (metrics_tracked_statuses[i] == status) return i;
    }
    return METRICS_SLOT_OTHER;
}

void metrics_record_request(struct worker_metrics *m, size_t route_index, unsigned status,
                            int64_t duration_ns)
{
    double seconds = (double)duration_ns / 1e9;
    size_t bucket = 0;

    if (route_index >= METRICS_ROUTES_MAX) route_index = METRICS_ROUTES_MAX - 1;
    while (bucket < METRICS_BUCKETS - 1 && seconds > metrics_bucket_bounds[bucket])
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
