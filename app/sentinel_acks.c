/* The durable counter's number for the master in use (sentinel_acks.h). Locator thread only. */
#include "sentinel_acks.h"

#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "redis_info.h"
#include "resolve.h"

static void keep_replica_line(void *arg, const struct redis_info_replica_line *line)
{
    struct sentinel_acks_online *online = arg;

    if (online->count >= 0 && online->count < ACK_RULE_ONLINE_MAX)
        online->list[online->count++] = *line;
    else
        online->count = -1; /* more than we keep: unknown, so nothing is lowered */
}

void sentinel_acks_read_online(struct redis_sync_probe *master, struct sentinel_acks_online *online)
{
    redisReply *r = redisCommand(master->ctx, "INFO replication");
    long long offset;

    online->count = -1;
    if (r == NULL) {
        redis_sync_probe_close(master); /* timed out or broken: never reused */
        return;
    }
    if (r->type == REDIS_REPLY_STRING) {
        online->count = 0;
        redis_info_replication(r->str, r->len, keep_replica_line, online, &offset);
    }
    freeReplyObject(r);
}

/* True when some view lists host:port. */
static bool listed(const struct ack_view *views, int count, const char *host, int port)
{
    for (int i = 0; i < count; i++) {
        int kept = views[i].replica_count < REDIS_INFO_REPLICAS_MAX ? views[i].replica_count
                                                                    : REDIS_INFO_REPLICAS_MAX;

        for (int j = 0; j < kept; j++) {
            if (views[i].replicas[j].port == port && strcmp(views[i].replicas[j].host, host) == 0)
                return true;
        }
    }
    return false;
}

/* The master names a replica as it announces itself (a name, with replica-announce-ip); a
 * Sentinel without announce-hostnames lists it by address. Counting both would ask WAIT for a
 * replica that does not exist: a name no Sentinel lists is matched by its address instead. */
static void match_names(struct sentinel_acks_online *online, const struct ack_view *views,
                        int count)
{
    for (int i = 0; i < online->count; i++) {
        struct redis_info_replica_line *line = &online->list[i];
        char ip[REDIS_TARGET_IP_MAX_BYTES];
        const char *why;

        if (listed(views, count, line->ip, line->port) ||
            resolve_host(line->ip, ip, sizeof(ip), &why) != 0 || strcmp(ip, line->ip) == 0 ||
            !listed(views, count, ip, line->port))
            continue;
        snprintf(line->ip, sizeof(line->ip), "%s", ip);
    }
}

void sentinel_acks_update(struct sentinel_acks *acks, const struct sentinel_acks_input *in,
                          struct redis_target *master, struct topology *topology)
{
    struct ack_input rule = {
        .master_host = in->master_host,
        .master_port = in->master_port,
        .views = in->views,
        .view_count = in->view_count,
        .online = in->online->list,
        .online_count = in->online->count,
        .previous = in->generation == acks->generation ? acks->acks : -1,
        .min_acks = in->min_acks,
    };
    struct ack_result result;

    /* the group as the Sentinels know it, never as short as our own list may be */
    for (int i = 0; i < in->view_count; i++) {
        if (in->views[i].master.other_sentinels + 1 > acks->group_size)
            acks->group_size = in->views[i].master.other_sentinels + 1;
    }
    rule.group_size = acks->group_size;
    match_names(in->online, in->views, in->view_count);
    ack_rule_compute(&rule, &result);
    if (in->generation != acks->generation || result.required != acks->acks) {
        log_info("redis: a value is confirmed once %d replica%s hold%s it (%d known, %d left out; "
                 "%d of %d Sentinels agree on %s:%d%s)",
                 result.required, result.required == 1 ? "" : "s", result.required == 1 ? "s" : "",
                 result.candidates, result.left_out, result.agreeing, acks->group_size,
                 in->master_host, in->master_port,
                 result.fresh ? "" : ": no majority view, the number is not lowered");
        topology_event(topology, "pings wait for %d replica%s (%d known, %d left out)",
                       result.required, result.required == 1 ? "" : "s", result.candidates,
                       result.left_out);
    }
    acks->generation = in->generation;
    acks->acks = result.required;
    redis_target_set_acks(master, in->generation, result.required);
}
