/* Direct-mode locator: resolve, publish, then wait for failure reports and resolve again
 * (at most once a second); publish a new generation only when the address really changed. */
#include "redis_locator.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "xmalloc.h"

#define RESOLVE_MIN_INTERVAL_MS 1000
#define RESOLVE_PERIOD_MS       30000

struct redis_locator {
    struct app *app;
    pthread_t thread;
    char published[REDIS_TARGET_IP_MAX_BYTES]; /* the locator thread's, after start */
};

int redis_locator_resolve(const char *host, char *ip, size_t ip_size, const char **why)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *found = NULL, *pick = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &found);

    if (rc != 0) {
        *why = gai_strerror(rc);
        return -1;
    }
    for (struct addrinfo *a = found; a != NULL; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
        if (pick == NULL && a->ai_family == AF_INET6) pick = a;
    }
    if (pick == NULL) {
        freeaddrinfo(found);
        *why = "no IPv4 or IPv6 address";
        return -1;
    }
    if (pick->ai_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)pick->ai_addr)->sin_addr, ip,
                  (socklen_t)ip_size);
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)pick->ai_addr)->sin6_addr, ip,
                  (socklen_t)ip_size);
    freeaddrinfo(found);
    return 0;
}

/* Resolves the configured host; publishes when the address is new. */
static void resolve_and_publish(struct app *app, char published[REDIS_TARGET_IP_MAX_BYTES])
{
    static struct log_dedupe resolve_log = LOG_DEDUPE_INIT;
    const struct host_port *redis = &app->cfg->redis;
    char ip[REDIS_TARGET_IP_MAX_BYTES];
    char message[400];
    const char *why;

    if (redis_locator_resolve(redis->host, ip, sizeof(ip), &why) != 0) {
        snprintf(message, sizeof(message), "redis: cannot resolve '%s' (--redis / REDIS_ADDR): %s",
                 redis->host, why);
        log_dedupe_report(&resolve_log, LOG_WARN, message);
        return; /* keep the last address, if any: it may still work */
    }
    log_dedupe_clear(&resolve_log, message, sizeof(message));
    if (strcmp(ip, published) == 0) return;
    if (published[0] != '\0')
        log_info("redis: %s now resolves to %s (was %s)", redis->host, ip, published);
    snprintf(published, REDIS_TARGET_IP_MAX_BYTES, "%s", ip);
    redis_target_publish(&app->target, ip, redis->port);
}

static void *locator_main(void *arg)
{
    struct redis_locator *locator = arg;
    struct app *app = locator->app;
    char *published = locator->published;
    uint64_t seen_failures = 0;
    int64_t last_resolve_ms = clock_now_ms(); /* redis_locator_start resolved once */
    bool due = false; /* resolve at the next chance: after failures, periodically */

    while (!redis_target_is_shut_down(&app->target)) {
        int64_t since = clock_now_ms() - last_resolve_ms;
        int64_t wait_ms;

        if ((due || published[0] == '\0') && since >= RESOLVE_MIN_INTERVAL_MS) {
            resolve_and_publish(app, published);
            last_resolve_ms = clock_now_ms();
            since = 0;
            due = false;
        }
        if (due || published[0] == '\0')
            wait_ms = RESOLVE_MIN_INTERVAL_MS - since; /* rate limit: at most once a second */
        else
            wait_ms = RESOLVE_PERIOD_MS;
        if (redis_target_wait_failure(&app->target, &seen_failures,
                                      wait_ms > 0 ? (int)wait_ms : 1) ||
            wait_ms == RESOLVE_PERIOD_MS)
            due = true;
    }
    return NULL;
}

struct redis_locator *redis_locator_start(struct app *app)
{
    struct redis_locator *locator = xcalloc(1, sizeof(*locator));
    int err;

    locator->app = app;
    /* resolve once before any worker exists, so that every worker connects at once */
    resolve_and_publish(app, locator->published);
    err = pthread_create(&locator->thread, NULL, locator_main, locator);
    if (err != 0) {
        log_error("redis: cannot start the locator thread: %s", strerror(err));
        free(locator);
        return NULL;
    }
    return locator;
}

void redis_locator_stop(struct redis_locator *locator)
{
    if (locator == NULL) return;
    redis_target_shut_down(&locator->app->target);
    pthread_join(locator->thread, NULL);
    free(locator);
}
