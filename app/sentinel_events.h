/* Sentinel's events, for the locator thread: one subscription, on one Sentinel at a time, to the
 * events that change the master or the replicas Sentinel could promote (+switch-master, +sdown,
 * +convert-to-slave, ...). An event is only a hint: it makes the locator run discovery at once,
 * and discovery checks everything again with ROLE. */
#ifndef APP_SENTINEL_EVENTS_H
#define APP_SENTINEL_EVENTS_H

#include <stdbool.h>

#include "config.h"
#include "redis_auth.h"

struct redisContext;

/* Caller's storage, zeroed before first use. */
struct sentinel_events {
    struct redisContext *ctx;             /* NULL while not subscribed */
    char node[CONFIG_HOST_MAX_BYTES + 8]; /* "host:port" of the Sentinel subscribed to */
};

/* Subscribes on the Sentinel host:port (connect and AUTH bounded by timeout_ms). Returns true,
 * or false with nothing kept. */
bool sentinel_events_subscribe(struct sentinel_events *ev, const char *host, int port,
                               int timeout_ms, const struct redis_credentials *auth);

/* True while subscribed on the Sentinel host:port. */
bool sentinel_events_on(const struct sentinel_events *ev, const char *host, int port);

/* The descriptor to poll while subscribed, else -1. */
int sentinel_events_fd(const struct sentinel_events *ev);

/* Reads what the subscription delivered. Returns true when discovery should run now: an event
 * about the master group `master_name`, or a lost subscription (events may have been missed;
 * it is dropped). */
bool sentinel_events_read(struct sentinel_events *ev, const char *master_name);

/* Ends the subscription, if any. */
void sentinel_events_drop(struct sentinel_events *ev);

#endif
