/* The locator thread: finds the Redis address and publishes it in redis_target. Direct mode
 * resolves --redis HOST:PORT (again after connection failures, so a container that comes back
 * under a new IP is followed). Name resolution happens only here, never on a worker. */
#ifndef APP_REDIS_LOCATOR_H
#define APP_REDIS_LOCATOR_H

#include "app.h"

struct redis_locator;

/* Resolves the address once (blocking), then starts the thread. Returns NULL (logged) when
 * the thread cannot start. */
struct redis_locator *redis_locator_start(struct app *app);

/* Stops and joins the thread, frees the locator. */
void redis_locator_stop(struct redis_locator *locator);

/* Resolves `host` to a numeric address in `ip` (IPv4 preferred). Returns 0, or -1 with the
 * resolver's message in `why`. Blocking: only for the locator and startup. */
int redis_locator_resolve(const char *host, char *ip, size_t ip_size, const char **why);

#endif
