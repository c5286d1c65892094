/* The Redis address that workers connect to, published by the locator thread with a generation
 * number. Workers read it when they (re)connect and compare generations on the hot path; a new
 * generation means every connection opened under an older one must be dropped.
 * Any thread may call these functions. */
#ifndef APP_REDIS_TARGET_H
#define APP_REDIS_TARGET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define REDIS_TARGET_IP_MAX_BYTES 64

struct redis_target {
    pthread_mutex_t lock;
    pthread_cond_t changed;             /* signalled on failure reports, for the locator */
    char ip[REDIS_TARGET_IP_MAX_BYTES]; /* numeric: workers never resolve names */
    int port;
    atomic_uint_fast64_t generation; /* 0: no address known yet */
    uint64_t failures_reported;      /* guarded by lock */
    uint64_t last_generation;        /* guarded by lock; generations only grow */
    bool shut_down;                  /* guarded by lock: the locator must stop */
};

void redis_target_init(struct redis_target *t);
void redis_target_cleanup(struct redis_target *t);

/* Publishes an address under a new generation, so that connections to the previous one are
 * dropped. Returns the new generation. */
uint64_t redis_target_publish(struct redis_target *t, const char *ip, int port);

/* Withdraws the address (no master known): workers answer 503 until the next publish. */
void redis_target_withdraw(struct redis_target *t);

/* Copies the current address. Returns its generation, or 0 when none is known. */
uint64_t redis_target_get(struct redis_target *t, char ip[REDIS_TARGET_IP_MAX_BYTES], int *port);

/* The current generation (0: none). Lock-free; fine on the hot path. */
uint64_t redis_target_generation(const struct redis_target *t);

/* Tells the locator that a connection made under `generation` failed, so it checks the address
 * again (re-resolves, or asks Sentinel). */
void redis_target_report_failure(struct redis_target *t, uint64_t generation);

/* For the locator: waits up to timeout_ms for a failure report newer than *seen. Returns true
 * when one came and updates *seen. Returns at once after redis_target_shut_down(). */
bool redis_target_wait_failure(struct redis_target *t, uint64_t *seen, int timeout_ms);

/* Wakes and stops the locator (process shutdown). */
void redis_target_shut_down(struct redis_target *t);
bool redis_target_is_shut_down(struct redis_target *t);

#endif
