/* State shared by every thread of the process: the configuration (read-only after startup),
 * the Redis target and the shutdown phase. Created by main(); workers borrow it. */
#ifndef APP_APP_H
#define APP_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "ip_limit.h"
#include "metrics.h"
#include "redis_target.h"
#include "topology.h"

struct app {
    const struct config *cfg;
    struct redis_target target;         /* the master */
    struct redis_target replica_target; /* a replica for /query/ (--read-from-replicas) */
    struct topology topology;           /* Sentinels and events, for /api/topology */
    struct metrics_registry metrics;    /* every worker's counters, for /metrics */
    struct ip_limit *ip_limit;
    atomic_bool draining; /* SIGTERM seen: /readyz 503, Connection: close */
    atomic_int_fast64_t drain_started_ms;
    atomic_int_fast64_t hard_deadline_ms; /* exit by then whatever is in flight */
};

#endif
