/* A Redis address that workers connect to (the master, or a replica for reads), published by the
 * locator thread with a generation number. Workers read the address when they (re)connect and
 * compare generations on the hot path; a new generation means every connection opened under an
 * older one must be dropped, so replies of two masters never mix. Publishing wakes the workers
 * (their eventfds), and workers' failure reports wake the locator (its eventfd, which the
 * locator owns: a target only borrows it). Any thread may call these functions. */
#ifndef APP_REDIS_TARGET_H
#define APP_REDIS_TARGET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define REDIS_TARGET_IP_MAX_BYTES   64
#define REDIS_TARGET_HOST_MAX_BYTES 256
#define REDIS_TARGET_LISTENERS_MAX  256

struct redis_target {
    pthread_mutex_t lock;
    char ip[REDIS_TARGET_IP_MAX_BYTES];     /* numeric: workers never resolve names */
    char host[REDIS_TARGET_HOST_MAX_BYTES]; /* as Sentinel or the config named it, for status */
    int port;
    atomic_uint_fast64_t generation; /* 0: no address known now */
    uint64_t last_generation;        /* guarded by lock; generations only grow */
    atomic_uint_fast64_t changes;    /* publishes that moved to a different address */
    atomic_uint_fast64_t acks;       /* (generation << 16) | replicas a WAIT must count */
    int failure_fd; /* the locator's eventfd (borrowed), told of failures; -1: nobody listens */
    int listener_fds[REDIS_TARGET_LISTENERS_MAX]; /* workers' eventfds, told of every change */
    int listener_count;                           /* guarded by lock */
};

void redis_target_init(struct redis_target *t);
void redis_target_cleanup(struct redis_target *t);

/* Adds an eventfd (not owned) that is written to on every publish and withdraw. */
void redis_target_add_listener(struct redis_target *t, int fd);

/* Sets the eventfd (not owned) that redis_target_report_failure() writes to: the locator's.
 * Before any worker starts. */
void redis_target_report_failures_to(struct redis_target *t, int fd);

/* Publishes `ip`:`port` (`host` is the name it was found under) under a new generation, unless
 * that address is already published. Returns the current generation. */
uint64_t redis_target_publish(struct redis_target *t, const char *host, const char *ip, int port);

/* Sets how many replicas a WAIT on the master of `generation` must count (the durable counter's
 * rule, ack_rule.h), up to REDIS_TARGET_ACKS_MAX. */
#define REDIS_TARGET_ACKS_MAX 0xffff
void redis_target_set_acks(struct redis_target *t, uint64_t generation, int acks);

/* The number set for `generation`, or -1 when none is (a newer master, or none set yet).
 * Lock-free: one atomic load, fine on the hot path. */
int redis_target_acks(const struct redis_target *t, uint64_t generation);

/* Withdraws the address (none known): workers answer 503 at once until the next publish. */
void redis_target_withdraw(struct redis_target *t);

/* Copies the current address. Returns its generation, or 0 when none is known. */
uint64_t redis_target_get(struct redis_target *t, char ip[REDIS_TARGET_IP_MAX_BYTES], int *port);

/* For status pages: host, ip and port of the current address (empty when none). */
uint64_t redis_target_describe(struct redis_target *t, char host[REDIS_TARGET_HOST_MAX_BYTES],
                               char ip[REDIS_TARGET_IP_MAX_BYTES], int *port);

/* The current generation (0: none). Lock-free; fine on the hot path. */
uint64_t redis_target_generation(const struct redis_target *t);

/* How many times a publish moved to a different address (failovers followed). */
uint64_t redis_target_changes(const struct redis_target *t);

/* Tells the locator that a connection made under `generation` failed, so it checks the address
 * again (re-resolves, or asks Sentinel). Reports about an older generation are ignored. */
void redis_target_report_failure(struct redis_target *t, uint64_t generation);

#endif
