/* The durable counter's number for the master in use, worked out on the locator thread: gathers
 * what the acknowledgement rule (ack_rule.h) decides from (the replicas the master reports online,
 * each Sentinel's view of the master group), computes the number, logs and records it when it
 * changes, and publishes it in the master's redis_target, where the workers read it. */
#ifndef APP_SENTINEL_ACKS_H
#define APP_SENTINEL_ACKS_H

#include <stdint.h>

#include "ack_rule.h"
#include "redis_sync.h"
#include "redis_target.h"
#include "topology.h"

/* The replicas a verified master reports online (INFO replication). */
struct sentinel_acks_online {
    struct redis_info_replica_line list[ACK_RULE_ONLINE_MAX];
    int count; /* -1: unknown */
};

/* Reads INFO replication on the master's probe connection into `online`: count -1 when it does
 * not answer (the probe is then closed) or lists more than it keeps. */
void sentinel_acks_read_online(struct redis_sync_probe *master,
                               struct sentinel_acks_online *online);

/* What the last computation decided, for the next one. Zeroed before first use. */
struct sentinel_acks {
    int group_size;      /* the largest Sentinel group any view described */
    uint64_t generation; /* the master the number below is for */
    int acks;            /* replicas a WAIT must count */
};

/* One computation's inputs, from one discovery. */
struct sentinel_acks_input {
    uint64_t generation;     /* of the master just published */
    const char *master_host; /* as the Sentinels name it */
    int master_port;
    const struct ack_view *views; /* the complete views among this discovery's answers */
    int view_count;
    struct sentinel_acks_online *online; /* its names are matched to the views' in place */
    int min_acks;                        /* --min-replicas-ack */
};

/* Works out the number for the master (ack_rule_compute), logs it and records it in `topology`
 * when it changes, and publishes it in `master`. */
void sentinel_acks_update(struct sentinel_acks *acks, const struct sentinel_acks_input *in,
                          struct redis_target *master, struct topology *topology);

#endif
