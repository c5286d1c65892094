/* The metrics' counters. Each worker owns one struct worker_metrics and is its only writer
 * (relaxed atomic stores: no lock, no locked instruction on the request path); each Redis
 * connection owns its struct redis_pipe_stats. The registry lists them all for /metrics
 * (api_metrics.c), which sums them when it is scraped. A leaf: includes no other module. */
#ifndef APP_METRICS_H
#define APP_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_ROUTES_MAX       32 /* route table entries, plus one for "no route" */
#define METRICS_STATUS_SLOTS     15
#define METRICS_BUCKETS          13
#define METRICS_SOURCES_MAX      256
#define METRICS_PIPES_PER_WORKER 3 /* master, replica for reads, the durable counter */

/* The status codes counted one by one, a slot each; then a slot for the others and one for
 * exchanges that ended without an answer. */
#define METRICS_SLOT_OTHER (METRICS_STATUS_SLOTS - 2)
#define METRICS_SLOT_NONE  (METRICS_STATUS_SLOTS - 1)
extern const unsigned metrics_tracked_statuses[METRICS_SLOT_OTHER];

/* Upper bounds (seconds) of the latency histogram's buckets; the last bucket is +Inf. */
extern const double metrics_bucket_bounds[METRICS_BUCKETS - 1];

struct worker_metrics {
    atomic_uint_fast64_t requests[METRICS_ROUTES_MAX][METRICS_STATUS_SLOTS];
    atomic_uint_fast64_t duration_buckets[METRICS_ROUTES_MAX][METRICS_BUCKETS]; /* not cumulative */
    atomic_uint_fast64_t duration_sum_us[METRICS_ROUTES_MAX];
    atomic_int_fast64_t open_connections;
    atomic_int_fast64_t peak_open_connections; /* since metrics_take_peak_connections() */
};

/* Counters of one Redis connection (redis_pipe.c writes them). */
struct redis_pipe_stats {
    atomic_uint_fast64_t connects;          /* handshakes completed */
    atomic_uint_fast64_t connection_errors; /* refused, reset, timed out: each drop counts */
    atomic_int_fast64_t last_answer_ms;     /* when Redis last sent bytes (clock_now_ms) */
    atomic_int_fast64_t last_failure_ms;    /* when the connection last failed; 0: never */
};

/* What a registered connection talks to. */
enum metrics_pipe_kind {
    METRICS_PIPE_MASTER,  /* the master in use (the commands, the durable counter) */
    METRICS_PIPE_REPLICA, /* a replica, for reads */
};

/* Every worker's metrics, registered before the workers start. */
struct metrics_registry {
    struct worker_metrics *workers[METRICS_SOURCES_MAX];
    const struct redis_pipe_stats *pipes[METRICS_PIPES_PER_WORKER * METRICS_SOURCES_MAX];
    enum metrics_pipe_kind pipe_kinds[METRICS_PIPES_PER_WORKER * METRICS_SOURCES_MAX];
    int worker_count;
    int pipe_count;
};

/* One more by the single writer (relaxed; readers may see it a moment late). */
static inline void metrics_add(atomic_uint_fast64_t *counter, uint64_t amount)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + amount,
                          memory_order_relaxed);
}

/* Records one answered exchange. `route_index`: the route's position in the table the HTTP
 * server dispatches through (its size: none matched); status 0: none sent. */
void metrics_record_request(struct worker_metrics *m, size_t route_index, unsigned status,
                            int64_t duration_ns);

/* Registration, from main() before the workers start. */
void metrics_register_worker(struct metrics_registry *r, struct worker_metrics *m);
void metrics_register_pipe(struct metrics_registry *r, const struct redis_pipe_stats *s,
                           enum metrics_pipe_kind kind);

/* A connection of this worker opened or closed. Its worker's thread only. */
void metrics_connection_opened(struct worker_metrics *m);
void metrics_connection_closed(struct worker_metrics *m);

/* Open HTTP connections, all workers together. Any thread. */
int64_t metrics_open_connections(const struct metrics_registry *r);

/* The sum of each worker's highest count of open connections since the last call (at least what
 * was open at once), and starts the next period. One caller thread (main). */
int64_t metrics_take_peak_connections(const struct metrics_registry *r);

#endif
