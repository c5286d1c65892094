/* The locator thread: finds the Redis master (and, for reads, a replica) and publishes it in
 * the app's redis_target(s). Direct mode resolves --redis HOST:PORT, again after connection
 * failures; Sentinel mode asks Sentinel (sentinel.h). Name resolution and Sentinel queries
 * happen only here, never on a worker. */
#ifndef APP_REDIS_LOCATOR_H
#define APP_REDIS_LOCATOR_H

struct app;
struct redis_locator;

/* Finds the address once (blocking, bounded by the configured timeouts), then starts the
 * thread. Returns NULL (logged) when the thread cannot start. */
struct redis_locator *redis_locator_start(struct app *app);

/* Stops and joins the thread, frees the locator. */
void redis_locator_stop(struct redis_locator *locator);

#endif
