/* The locator thread: finds the Redis master (and, for reads, a replica) and publishes it in
 * the app's redis_target(s). Direct mode resolves --redis HOST:PORT, again after connection
 * failures; Sentinel mode asks Sentinel (sentinel.h). Name resolution and Sentinel queries
 * happen only here, never on a worker. The locator owns its wake-up (an eventfd both targets
 * report connection failures to) and its stop flag. */
#ifndef APP_REDIS_LOCATOR_H
#define APP_REDIS_LOCATOR_H

struct app;
struct redis_locator;

/* Finds the address once (blocking, bounded by the configured timeouts), then starts the
 * thread. From then on, a failure reported to app->target or app->replica_target wakes it.
 * Returns NULL (logged) when the thread cannot start. Before any worker starts. */
struct redis_locator *redis_locator_start(struct app *app);

/* Stops and joins the thread, frees the locator. */
void redis_locator_stop(struct redis_locator *locator);

#endif
