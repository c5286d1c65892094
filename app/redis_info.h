/* Parsers of what Redis and Sentinel send back: INFO replication lines, Sentinel's flat
 * [field, value, ...] replies (SENTINEL master, SENTINEL replicas) and Sentinel event payloads.
 * Pure: no connection, no I/O, no allocation, nothing shared; any thread. Everything here is
 * untrusted input: lengths are checked, integers are parsed strictly (the whole text, no sign
 * games, no overflow), and a malformed field makes the parse fail rather than guess. Users:
 * sentinel.c, api_status.c, ack_rule.c. */
#ifndef APP_REDIS_INFO_H
#define APP_REDIS_INFO_H

#include <stdbool.h>
#include <stddef.h>

struct redisReply;

#define REDIS_INFO_HOST_BYTES   256 /* a name or an address, as Redis announces it */
#define REDIS_INFO_REPLICAS_MAX 16  /* replicas kept per reply; more are counted, not kept */

/* The whole of s[0..len) as a decimal long long: optional '-', digits, no leading zeros (except
 * "0"), no spaces, no overflow (hiredis's string2ll). */
bool redis_info_parse_ll(const char *s, size_t len, long long *out);

/* A TCP port: 1 to 65535, strictly. */
bool redis_info_parse_port(const char *s, size_t len, int *out);

/* The value of `field` in a flat [field, value, ...] array of strings, or NULL (also when the
 * reply is not such an array). */
const char *redis_info_field(const struct redisReply *r, const char *field);

/* True when the comma-separated `flags` contain `flag` as a whole word. */
bool redis_info_has_flag(const char *flags, const char *flag);

/* One replica as a Sentinel lists it. */
struct redis_info_sentinel_replica {
    char host[REDIS_INFO_HOST_BYTES];
    int port;
    bool down;           /* flags s_down, o_down or disconnected: this Sentinel cannot reach it */
    bool never_answered; /* no runid: it never answered this Sentinel's INFO since it was listed,
                          * and Sentinel promotes only replicas with fresh INFO */
    bool reports_master; /* role-reported master: it is not replicating (an old master back) */
};

/* SENTINEL master <name>. Returns 0, or -1 when a field is missing or malformed. */
struct redis_info_sentinel_master {
    long long config_epoch;
    int other_sentinels;       /* num-other-sentinels: the group is this + 1 */
    bool failover_in_progress; /* flags contain failover_in_progress */
};
int redis_info_sentinel_master(const struct redisReply *r, struct redis_info_sentinel_master *out);

/* SENTINEL replicas <name>: keeps up to `max` entries in `out`. Returns how many the reply
 * lists (may exceed `max`), or -1 when it is not an array of well-formed entries. */
int redis_info_sentinel_replicas(const struct redisReply *r,
                                 struct redis_info_sentinel_replica *out, int max);

/* True when a Sentinel event payload is about the master group `name`: "+switch-master" payloads
 * start with "<name> ", instance events are "master <name> <ip> <port>" or
 * "<type> <id> <ip> <port> @ <name> <ip> <port>". */
bool redis_info_event_is_for(const char *payload, size_t len, const char *name);

/* One "slaveN:ip=...,port=...,state=...,offset=...,lag=..." line of INFO replication. */
struct redis_info_replica_line {
    char ip[128];
    int port;
    char state[32];
    long long offset;
    long long lag;
};

/* Walks INFO replication text: calls `fn` for each well-formed replica line and stores
 * master_repl_offset (-1 when absent). Malformed lines are skipped. Returns the replica lines
 * seen. */
typedef void (*redis_info_replica_fn)(void *arg, const struct redis_info_replica_line *line);
int redis_info_replication(const char *text, size_t len, redis_info_replica_fn fn, void *arg,
                           long long *master_repl_offset);

#endif
