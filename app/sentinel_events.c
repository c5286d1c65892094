/* The Sentinel event subscription (sentinel_events.h). Locator thread only: the connection is
 * blocking with timeouts (redis_sync.h) for the SUBSCRIBE, and read without blocking once
 * poll() says it is readable. */
#include "sentinel_events.h"

#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "redis_info.h"
#include "redis_sync.h"

/* The events that change the master or the replicas Sentinel could promote: each one makes the
 * locator look again at once rather than at the next routine check. */
#define WATCHED_EVENTS                                                                             \
    "+switch-master +sdown -sdown +odown -odown +convert-to-slave +fix-slave-config +slave "       \
    "+failover-end +slave-reconf-done +role-change -role-change +reset-master"

bool sentinel_events_subscribe(struct sentinel_events *ev, const char *host, int port,
                               int timeout_ms, const struct redis_credentials *auth)
{
    char why[200];
    redisContext *c = redis_sync_connect(host, port, timeout_ms, auth, why, sizeof(why));
    redisReply *r;

    if (c == NULL) return false;
    /* one confirmation per channel: the first is read here, the others by sentinel_events_read */
    r = redisCommand(c, "SUBSCRIBE " WATCHED_EVENTS);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        if (r != NULL) freeReplyObject(r);
        redisFree(c);
        return false;
    }
    freeReplyObject(r);
    sentinel_events_drop(ev);
    ev->ctx = c;
    snprintf(ev->node, sizeof(ev->node), "%s:%d", host, port);
    log_debug("redis: watching Sentinel events on %s", ev->node);
    return true;
}

bool sentinel_events_on(const struct sentinel_events *ev, const char *host, int port)
{
    char node[sizeof(ev->node)];

    snprintf(node, sizeof(node), "%s:%d", host, port);
    return ev->ctx != NULL && strcmp(node, ev->node) == 0;
}

int sentinel_events_fd(const struct sentinel_events *ev)
{
    return ev->ctx != NULL ? ev->ctx->fd : -1;
}

void sentinel_events_drop(struct sentinel_events *ev)
{
    if (ev->ctx != NULL) redisFree(ev->ctx);
    ev->ctx = NULL;
}

bool sentinel_events_read(struct sentinel_events *ev, const char *master_name)
{
    void *reply = NULL;
    bool seen = false;

    if (ev->ctx == NULL) return false;
    if (redisBufferRead(ev->ctx) != REDIS_OK) {
        log_debug("redis: lost the Sentinel event subscription on %s: %s", ev->node,
                  ev->ctx->errstr);
        sentinel_events_drop(ev);
        return true; /* events may have been missed */
    }
    while (redisGetReplyFromReader(ev->ctx, &reply) == REDIS_OK && reply != NULL) {
        redisReply *r = reply;

        /* ["message", "<event>", "<payload naming the master group>"]; only a hint: discovery
         * checks everything again */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            r->element[1]->type == REDIS_REPLY_STRING &&
            r->element[2]->type == REDIS_REPLY_STRING &&
            redis_info_event_is_for(r->element[2]->str, r->element[2]->len, master_name)) {
            if (strcmp(r->element[1]->str, "+switch-master") == 0)
                log_info("redis: Sentinel %s announced +switch-master %s (checking with ROLE)",
                         ev->node, r->element[2]->str);
            else
                log_debug("redis: Sentinel %s: %s %s", ev->node, r->element[1]->str,
                          r->element[2]->str);
            seen = true;
        }
        freeReplyObject(reply);
        reply = NULL;
    }
    return seen;
}
