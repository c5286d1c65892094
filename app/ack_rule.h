/* The durable counter's acknowledgement rule: how many replicas a WAIT must count before a value
 * may be shown, so that every replica Sentinel could promote holds it. Pure: it decides from the
 * Sentinels' answers and the master's own ROLE, gathered by sentinel.c; no I/O, any thread.
 *
 * Why it holds (Redis 7.0 src/sentinel.c, sentinelSelectSlave and sentinelGetLeader): a failover
 * is run by a leader that won the votes of a majority of the Sentinel group (and at least the
 * quorum), and the leader promotes only a replica that it itself reaches (not s_down, o_down or
 * disconnected), knows of, and got INFO from lately (a replica listed since the last failover
 * that never answered has no runid). So:
 *  - A replica counts unless a majority of the group, all answering now and all naming the master
 *    in use with no failover running, each cannot reach it, does not list it or never heard from
 *    it since it was listed: a leader needs
 *    the votes of a majority, which then includes a Sentinel on the far side of the split from
 *    that replica, and Sentinels on the replica's side are a minority that cannot elect one.
 *  - An old master that is back and still says "master" (Sentinel converts it only after 4
 *    publish periods) is left out on the same majority's word: it can be promoted only if the
 *    master in use fails and no replica with data is there to pick (Sentinel ranks it last: its
 *    replication offset is unknown, 0), i.e. two more faults before it is converted.
 *  - WAIT N counts any N online replicas, so every replica the master reports online and
 *    acknowledging (INFO replication: state online, last ack at most ACK_RULE_LAG_MAX_S ago) is
 *    counted too: a replica left out cannot stand in for one that must hold the value. One that
 *    stopped acknowledging and is cut off from the Sentinel majority is not: it can stand in only
 *    after it comes back, until the next look (an event or the routine check, within a second).
 *  - Without such a majority the number never falls below the previous one for this master; a
 *    newly found master starts from every replica a Sentinel naming it lists, plus those online.
 *    Only Sentinels that name the master in use take part in a failover of it. */
#ifndef APP_ACK_RULE_H
#define APP_ACK_RULE_H

#include <stdbool.h>

#include "redis_info.h"

/* One Sentinel's answer, from one pipelined round trip. */
struct ack_view {
    char master_host[REDIS_INFO_HOST_BYTES]; /* get-master-addr-by-name */
    int master_port;
    struct redis_info_sentinel_master master;
    struct redis_info_sentinel_replica replicas[REDIS_INFO_REPLICAS_MAX];
    int replica_count; /* as listed; > REDIS_INFO_REPLICAS_MAX means some were not kept */
};

#define ACK_RULE_LAG_MAX_S  1 /* replicas acknowledge every second (REPLCONF ACK) */
#define ACK_RULE_ONLINE_MAX 16

struct ack_input {
    const char *master_host; /* the master in use, as the Sentinels name it */
    int master_port;
    const struct ack_view *views; /* answers of this discovery (other Sentinels did not answer) */
    int view_count;
    int group_size; /* the largest num-other-sentinels + 1 ever seen */
    const struct redis_info_replica_line *online; /* INFO replication of the master in use */
    int online_count;                             /* -1: unknown (then nothing may be lowered) */
    int previous; /* the number in force for this master, -1 for a newly found master */
    int min_acks; /* --min-replicas-ack: never below */
};

struct ack_result {
    int required;   /* the number to WAIT for */
    bool fresh;     /* a majority agreed: the number could be lowered */
    int agreeing;   /* Sentinels that name the master in use with no failover running */
    int candidates; /* replicas the answers naming the master list, plus those online */
    int left_out;   /* of those, left out on the majority's word */
};

/* Computes the number. Never returns less than in->min_acks. */
void ack_rule_compute(const struct ack_input *in, struct ack_result *out);

#endif
