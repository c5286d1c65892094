/* The locator thread: the only place that resolves names and asks Sentinel. It sleeps in poll()
 * on its wake-up (the workers' failure reports on either target, and the stop request) and, in
 * Sentinel mode, on the Sentinel event subscription, and publishes addresses in the app's
 * redis_targets. Direct mode resolves --redis again after failures (at most once a second) and
 * publishes only when the address really changed. */
#include "redis_locator.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "clock.h"
#include "log.h"
#include "resolve.h"
#include "sentinel.h"
#include "wakeup.h"
#include "xmalloc.h"

#define RESOLVE_MIN_INTERVAL_MS 1000
#define RESOLVE_PERIOD_MS       30000

struct redis_locator {
    struct app *app;
    pthread_t thread;
    int wake_fd; /* failure reports from both targets' connections, and the stop */
    atomic_bool stopping;
    struct sentinel_client *sentinel; /* NULL in direct mode */
    struct log_dedupe resolve_log;
    int64_t last_resolve_ms;
    bool resolve_due;
    char last_ip[REDIS_TARGET_IP_MAX_BYTES]; /* published last, for the topology events */
};

/* Direct mode: resolves --redis and publishes its address. */
static void resolve_and_publish(struct redis_locator *locator)
{
    const struct host_port *redis = &locator->app->cfg->redis;
    char ip[REDIS_TARGET_IP_MAX_BYTES];
    char message[400];
    const char *why;

    locator->last_resolve_ms = clock_now_ms();
    locator->resolve_due = false;
    if (resolve_host(redis->host, ip, sizeof(ip), &why) != 0) {
        snprintf(message, sizeof(message), "redis: cannot resolve '%s' (--redis / REDIS_ADDR): %s",
                 redis->host, why);
        log_dedupe_report(&locator->resolve_log, LOG_WARN, message);
        return; /* keep the last address, if any: it may still work */
    }
    log_dedupe_clear(&locator->resolve_log, message, sizeof(message));
    redis_target_publish(&locator->app->target, redis->host, ip, redis->port);
    if (strcmp(locator->last_ip, ip) != 0) {
        topology_event(&locator->app->topology, "Redis at %s:%d (%s)", redis->host, redis->port,
                       ip);
        snprintf(locator->last_ip, sizeof(locator->last_ip), "%s", ip);
    }
}

static int64_t direct_next_ms(const struct redis_locator *locator)
{
    bool known = redis_target_generation(&locator->app->target) != 0;

    if (locator->resolve_due || !known) return locator->last_resolve_ms + RESOLVE_MIN_INTERVAL_MS;
    return locator->last_resolve_ms + RESOLVE_PERIOD_MS;
}

static void *locator_main(void *arg)
{
    struct redis_locator *locator = arg;

    while (!atomic_load(&locator->stopping)) {
        struct pollfd fds[2] = {{.fd = locator->wake_fd, .events = POLLIN},
                                {.fd = -1, .events = POLLIN}};
        int64_t now = clock_now_ms();
        int64_t next = locator->sentinel != NULL ? sentinel_client_next_check_ms(locator->sentinel)
                                                 : direct_next_ms(locator);
        int64_t wait = next - now;
        bool failure;

        if (locator->sentinel != NULL) fds[1].fd = sentinel_client_event_fd(locator->sentinel);
        if (poll(fds, 2, wait < 0 ? 0 : wait > 60000 ? 60000 : (int)wait) < 0 && errno != EINTR) {
            log_error("redis: locator poll: %s", strerror(errno));
            break;
        }
        failure = (fds[0].revents & POLLIN) != 0;
        if (failure) wakeup_drain(locator->wake_fd);
        if (atomic_load(&locator->stopping)) break;
        now = clock_now_ms();
        if (locator->sentinel != NULL) {
            sentinel_client_step(locator->sentinel, failure, fds[1].revents != 0, now);
            continue;
        }
        if (failure) locator->resolve_due = true;
        if (now >= direct_next_ms(locator)) resolve_and_publish(locator);
    }
    return NULL;
}

struct redis_locator *redis_locator_start(struct app *app)
{
    struct redis_locator *locator = xcalloc(1, sizeof(*locator));
    int err;

    locator->app = app;
    locator->wake_fd = wakeup_open();
    if (locator->wake_fd < 0) {
        log_error("redis: locator: eventfd: %s", strerror(errno));
        free(locator);
        return NULL;
    }
    /* failures on the master's and on the read replica's connections alike */
    redis_target_report_failures_to(&app->target, locator->wake_fd);
    redis_target_report_failures_to(&app->replica_target, locator->wake_fd);
    pthread_mutex_init(&locator->resolve_log.lock, NULL);
    /* find the address once before any worker exists, so that every worker connects at once */
    if (app->cfg->sentinel_count > 0) {
        locator->sentinel =
            sentinel_client_new(app->cfg, &app->target, &app->replica_target, &app->topology);
        sentinel_client_step(locator->sentinel, false, false, clock_now_ms());
    } else {
        resolve_and_publish(locator);
    }
    err = pthread_create(&locator->thread, NULL, locator_main, locator);
    if (err != 0) {
        log_error("redis: cannot start the locator thread: %s", strerror(err));
        sentinel_client_free(locator->sentinel);
        pthread_mutex_destroy(&locator->resolve_log.lock);
        redis_target_report_failures_to(&app->target, -1);
        redis_target_report_failures_to(&app->replica_target, -1);
        close(locator->wake_fd);
        free(locator);
        return NULL;
    }
    return locator;
}

void redis_locator_stop(struct redis_locator *locator)
{
    if (locator == NULL) return;
    atomic_store(&locator->stopping, true);
    wakeup_signal(locator->wake_fd);
    pthread_join(locator->thread, NULL);
    sentinel_client_free(locator->sentinel);
    pthread_mutex_destroy(&locator->resolve_log.lock);
    close(locator->wake_fd);
    free(locator);
}
