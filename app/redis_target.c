/* Shared Redis address with a generation counter: a mutex for the address text (read only on
 * reconnects and by status pages), atomics for the generation (read on every flush), eventfd
 * wake-ups in both directions (wakeup.h). */
#include "redis_target.h"

#include <stdio.h>
#include <string.h>

#include "wakeup.h"

void redis_target_init(struct redis_target *t)
{
    memset(t->ip, 0, sizeof(t->ip));
    memset(t->host, 0, sizeof(t->host));
    t->port = 0;
    t->last_generation = 0;
    t->listener_count = 0;
    atomic_init(&t->generation, 0);
    atomic_init(&t->changes, 0);
    atomic_init(&t->acks, 0);
    t->failure_fd = -1;
    pthread_mutex_init(&t->lock, NULL);
}

void redis_target_cleanup(struct redis_target *t)
{
    pthread_mutex_destroy(&t->lock);
}

void redis_target_report_failures_to(struct redis_target *t, int fd)
{
    t->failure_fd = fd;
}

void redis_target_add_listener(struct redis_target *t, int fd)
{
    pthread_mutex_lock(&t->lock);
    if (t->listener_count < REDIS_TARGET_LISTENERS_MAX) t->listener_fds[t->listener_count++] = fd;
    pthread_mutex_unlock(&t->lock);
}

/* Caller holds the lock. */
static void wake_listeners(struct redis_target *t)
{
    for (int i = 0; i < t->listener_count; i++)
        wakeup_signal(t->listener_fds[i]);
}

uint64_t redis_target_publish(struct redis_target *t, const char *host, const char *ip, int port)
{
    uint64_t gen;

    pthread_mutex_lock(&t->lock);
    gen = atomic_load(&t->generation);
    if (gen == 0 || strcmp(t->ip, ip) != 0 || t->port != port) {
        bool moved = t->ip[0] != '\0' && (strcmp(t->ip, ip) != 0 || t->port != port);

        /* a withdrawn address keeps its text, so that coming back to it is no move */
        snprintf(t->ip, sizeof(t->ip), "%s", ip);
        snprintf(t->host, sizeof(t->host), "%s", host);
        t->port = port;
        gen = ++t->last_generation;
        atomic_store(&t->generation, gen);
        if (moved) atomic_fetch_add(&t->changes, 1);
        wake_listeners(t);
    }
    pthread_mutex_unlock(&t->lock);
    return gen;
}

void redis_target_set_acks(struct redis_target *t, uint64_t generation, int acks)
{
    uint64_t n = acks < 0                       ? 0
                 : acks > REDIS_TARGET_ACKS_MAX ? REDIS_TARGET_ACKS_MAX
                                                : (uint64_t)acks;

    atomic_store_explicit(&t->acks, generation << 16 | n, memory_order_release);
}

int redis_target_acks(const struct redis_target *t, uint64_t generation)
{
    uint64_t packed = atomic_load_explicit(&t->acks, memory_order_acquire);

    if (generation == 0 || packed >> 16 != (generation & (UINT64_MAX >> 16))) return -1;
    return (int)(packed & REDIS_TARGET_ACKS_MAX);
}

void redis_target_withdraw(struct redis_target *t)
{
    pthread_mutex_lock(&t->lock);
    if (atomic_load(&t->generation) != 0) {
        atomic_store(&t->generation, 0);
        wake_listeners(t);
    }
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

uint64_t redis_target_describe(struct redis_target *t, char host[REDIS_TARGET_HOST_MAX_BYTES],
                               char ip[REDIS_TARGET_IP_MAX_BYTES], int *port)
{
    uint64_t gen;

    pthread_mutex_lock(&t->lock);
    gen = atomic_load(&t->generation);
    memcpy(host, gen != 0 ? t->host : "", gen != 0 ? REDIS_TARGET_HOST_MAX_BYTES : 1);
    memcpy(ip, gen != 0 ? t->ip : "", gen != 0 ? REDIS_TARGET_IP_MAX_BYTES : 1);
    *port = gen != 0 ? t->port : 0;
    pthread_mutex_unlock(&t->lock);
    return gen;
}

uint64_t redis_target_generation(const struct redis_target *t)
{
    return atomic_load_explicit(&t->generation, memory_order_acquire);
}

uint64_t redis_target_changes(const struct redis_target *t)
{
    return atomic_load(&t->changes);
}

void redis_target_report_failure(struct redis_target *t, uint64_t generation)
{
    /* a failure under an address already replaced says nothing about the current one */
    if (t->failure_fd >= 0 && (generation == 0 || generation == redis_target_generation(t)))
        wakeup_signal(t->failure_fd);
}
