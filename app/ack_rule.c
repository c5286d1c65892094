/* The acknowledgement rule (see ack_rule.h for the reasoning). Pure computation. */
#include "ack_rule.h"

#include <string.h>

#define CANDIDATES_MAX (REDIS_INFO_REPLICAS_MAX * 4)

struct candidate {
    const char *host;
    int port;
    bool online;
};

static bool same(const char *host_a, int port_a, const char *host_b, int port_b)
{
    return port_a == port_b && strcmp(host_a, host_b) == 0;
}

/* Adds host:port unless it is the master in use or already there. Returns false when full. */
static bool add_candidate(struct candidate *list, int *count, const struct ack_input *in,
                          const char *host, int port, bool online)
{
    if (same(host, port, in->master_host, in->master_port)) return true;
    for (int i = 0; i < *count; i++) {
        if (same(list[i].host, list[i].port, host, port)) {
            list[i].online |= online;
            return true;
        }
    }
    if (*count == CANDIDATES_MAX) return false;
    list[(*count)++] = (struct candidate){host, port, online};
    return true;
}

/* A Sentinel agrees when it names the master in use, runs no failover, and listed every replica
 * it knows (none were dropped for space). */
static bool agrees(const struct ack_view *v, const struct ack_input *in)
{
    return same(v->master_host, v->master_port, in->master_host, in->master_port) &&
           !v->master.failover_in_progress && v->replica_count <= REDIS_INFO_REPLICAS_MAX;
}

/* True when this agreeing Sentinel could not promote host:port now: it does not list it, cannot
 * reach it, or it is an old master that still says so. */
static bool cannot_promote(const struct ack_view *v, const char *host, int port)
{
    int kept =
        v->replica_count < REDIS_INFO_REPLICAS_MAX ? v->replica_count : REDIS_INFO_REPLICAS_MAX;

    for (int i = 0; i < kept; i++) {
        const struct redis_info_sentinel_replica *r = &v->replicas[i];

        if (same(r->host, r->port, host, port))
            return r->down || r->never_answered || r->reports_master;
    }
    return true;
}

void ack_rule_compute(const struct ack_input *in, struct ack_result *out)
{
    struct candidate list[CANDIDATES_MAX];
    int count = 0, unlisted = 0, required = 0;
    bool complete = true;

    memset(out, 0, sizeof(*out));
    for (int i = 0; i < in->view_count; i++) {
        const struct ack_view *v = &in->views[i];
        int kept =
            v->replica_count < REDIS_INFO_REPLICAS_MAX ? v->replica_count : REDIS_INFO_REPLICAS_MAX;

        /* a Sentinel naming another master lists that one's replicas, and takes no part in a
         * failover of the master in use */
        if (!same(v->master_host, v->master_port, in->master_host, in->master_port)) continue;
        if (agrees(v, in)) out->agreeing++;
        /* an overflowing list: the ones not kept still count, as unknown replicas */
        if (v->replica_count - kept > unlisted) unlisted = v->replica_count - kept;
        for (int j = 0; j < kept; j++)
            complete &=
                add_candidate(list, &count, in, v->replicas[j].host, v->replicas[j].port, false);
    }
    for (int i = 0; i < in->online_count; i++) {
        const struct redis_info_replica_line *r = &in->online[i];

        /* online and acknowledging: it could answer a WAIT (a silent one is still counted when
         * a Sentinel of the majority reaches it) */
        if (strcmp(r->state, "online") == 0 && r->lag <= ACK_RULE_LAG_MAX_S)
            complete &= add_candidate(list, &count, in, r->ip, r->port, true);
        else
            complete &= add_candidate(list, &count, in, r->ip, r->port, false);
    }
    out->fresh = complete && unlisted == 0 && in->online_count >= 0 && in->group_size > 0 &&
                 out->agreeing >= in->group_size / 2 + 1;
    out->candidates = count + unlisted;
    for (int i = 0; i < count; i++) {
        bool left_out = out->fresh && !list[i].online;

        for (int j = 0; left_out && j < in->view_count; j++) {
            if (agrees(&in->views[j], in))
                left_out = cannot_promote(&in->views[j], list[i].host, list[i].port);
        }
        if (left_out)
            out->left_out++;
        else
            required++;
    }
    required += unlisted;
    if (!out->fresh && in->previous > required) required = in->previous;
    out->required = required > in->min_acks ? required : in->min_acks;
}
