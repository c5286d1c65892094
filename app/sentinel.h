/* Sentinel client: finds the Redis master through Sentinel and follows its failovers, for the
 * locator thread only (blocking hiredis contexts, every one with connect and read timeouts).
 *
 * Discovery asks every reachable Sentinel (the one that answered last first) for the master's
 * address and its config epoch, tries the addresses newest epoch first, and publishes the first
 * that ROLE confirms as a master. A subscription to +switch-master, a routine check every second,
 * and failure reports from workers all trigger it; a message is never trusted without ROLE. When
 * no address verifies, the target is withdrawn so that requests fail fast instead of hanging. */
#ifndef APP_SENTINEL_H
#define APP_SENTINEL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "redis_target.h"
#include "topology.h"

struct sentinel_client;

/* Borrows everything. `replica` receives a healthy replica when cfg->read_from_replicas;
 * `topology` records the Sentinels' state and the events. Never returns NULL. */
struct sentinel_client *sentinel_client_new(const struct config *cfg, struct redis_target *master,
                                            struct redis_target *replica,
                                            struct topology *topology);
void sentinel_client_free(struct sentinel_client *sc);

/* Descriptor to poll for Sentinel events (the +switch-master subscription), or -1. */
int sentinel_client_event_fd(const struct sentinel_client *sc);

/* Monotonic time (ms) of the next routine check. */
int64_t sentinel_client_next_check_ms(const struct sentinel_client *sc);

/* One step after poll(): reads pending events when `events_ready`, and runs discovery when an
 * event, a failure report or the routine check asks for it (at most every 100 ms). */
void sentinel_client_step(struct sentinel_client *sc, bool failure_reported, bool events_ready,
                          int64_t now_ms);

#endif
