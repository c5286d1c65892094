/* Shared Redis address with a generation counter: a mutex for the address text (read only on
 * reconnects), an atomic for the generation (read on every flush). */
#include "redis_target.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void redis_target_init(struct redis_target *t)
{
    pthread_condattr_t attr;

    memset(t->ip, 0, sizeof(t->ip));
    t->port = 0;
    t->failures_reported = 0;
    t->last_generation = 0;
    t->shut_down = false;
    atomic_init(&t->generation, 0);
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&t->changed, &attr);
    pthread_condattr_destroy(&attr);
}

void redis_target_cleanup(struct redis_target *t)
{
    pthread_cond_destroy(&t->changed);
    pthread_mutex_destroy(&t->lock);
}

uint64_t redis_target_publish(struct redis_target *t, const char *ip, int port)
{
    uint64_t gen;

    pthread_mutex_lock(&t->lock);
    snprintf(t->ip, sizeof(t->ip), "%s", ip);
    t->port = port;
    gen = ++t->last_generation;
    atomic_store(&t->generation, gen);
    pthread_mutex_unlock(&t->lock);
    return gen;
}

void redis_target_withdraw(struct redis_target *t)
{
    pthread_mutex_lock(&t->lock);
    t->ip[0] = '\0';
    t->port = 0;
    atomic_store(&t->generation, 0);
    pthread_mutex_unlock(&t->lock);
}

uint64_t redis_target_get(struct redis_target *t, char ip[REDIS_TARGET_IP_MAX_BYTES], int *port)
{
    uint64_t gen;

    pthread_mutex_lock(&t->lock);
    gen = atomic_load(&t->generation);
    memcpy(ip, t->ip, REDIS_TARGET_IP_MAX_BYTES);
    *port = t->port;
    pthread_mutex_unlock(&t->lock);
    return gen;
}

uint64_t redis_target_generation(const struct redis_target *t)
{
    return atomic_load_explicit(&t->generation, memory_order_acquire);
}

void redis_target_report_failure(struct redis_target *t, uint64_t generation)
{
    pthread_mutex_lock(&t->lock);
    /* a failure under an address already replaced says nothing about the current one */
    if (generation == 0 || generation == atomic_load(&t->generation)) {
        t->failures_reported++;
        pthread_cond_broadcast(&t->changed);
    }
    pthread_mutex_unlock(&t->lock);
}

bool redis_target_wait_failure(struct redis_target *t, uint64_t *seen, int timeout_ms)
{
    struct timespec deadline;
    bool got;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->lock);
    while (t->failures_reported == *seen && !t->shut_down) {
        if (pthread_cond_timedwait(&t->changed, &t->lock, &deadline) == ETIMEDOUT) break;
    }
    got = t->failures_reported != *seen;
    *seen = t->failures_reported;
    pthread_mutex_unlock(&t->lock);
    return got;
}

void redis_target_shut_down(struct redis_target *t)
{
    pthread_mutex_lock(&t->lock);
    t->shut_down = true;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
}

bool redis_target_is_shut_down(struct redis_target *t)
{
    bool down;

    pthread_mutex_lock(&t->lock);
    down = t->shut_down;
    pthread_mutex_unlock(&t->lock);
    return down;
}
