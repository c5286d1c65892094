/* Per-address connection counter: a chained hash table under one mutex. IPv4 addresses are
 * stored in their IPv4-mapped IPv6 form so both families share one key space. */
#include "ip_limit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define BUCKET_COUNT 1024

struct ip_entry {
    unsigned char key[16];
    int count;
    struct ip_entry *next;
};

struct ip_limit {
    pthread_mutex_t lock;
    int max_per_ip;
    struct ip_entry *buckets[BUCKET_COUNT];
};

static bool address_key(const struct sockaddr *addr, unsigned char key[16])
{
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;

        memset(key, 0, 10);
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &v4->sin_addr, 4);
        return true;
    }
    if (addr->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)addr)->sin6_addr, 16);
        return true;
    }
    return false; /* not an IP connection: not limited */
}

static size_t bucket_of(const unsigned char key[16])
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return h % BUCKET_COUNT;
}

static struct ip_entry **find_slot(struct ip_limit *limit, const unsigned char key[16])
{
    struct ip_entry **slot = &limit->buckets[bucket_of(key)];

    while (*slot != NULL && memcmp((*slot)->key, key, 16) != 0)
        slot = &(*slot)->next;
    return slot;
}

struct ip_limit *ip_limit_new(int max_per_ip)
{
    struct ip_limit *limit = xcalloc(1, sizeof(*limit));

    pthread_mutex_init(&limit->lock, NULL);
    limit->max_per_ip = max_per_ip;
    return limit;
}

void ip_limit_free(struct ip_limit *limit)
{
    if (limit == NULL) return;
    for (size_t i = 0; i < BUCKET_COUNT; i++) {
        while (limit->buckets[i] != NULL) {
            struct ip_entry *next = limit->buckets[i]->next;

            free(limit->buckets[i]);
            limit->buckets[i] = next;
        }
    }
    pthread_mutex_destroy(&limit->lock);
    free(limit);
}

int ip_limit_count(struct ip_limit *limit, const struct sockaddr *addr)
{
    unsigned char key[16];
    const struct ip_entry *entry;
    int count;

    if (!address_key(addr, key)) return 0;
    pthread_mutex_lock(&limit->lock);
    entry = *find_slot(limit, key);
    count = entry != NULL ? entry->count : 0;
    pthread_mutex_unlock(&limit->lock);
    return count;
}

bool ip_limit_allows(struct ip_limit *limit, const struct sockaddr *addr)
{
    return ip_limit_count(limit, addr) < limit->max_per_ip;
}

void ip_limit_opened(struct ip_limit *limit, const struct sockaddr *addr)
{
    unsigned char key[16];
    struct ip_entry **slot;

    if (!address_key(addr, key)) return;
    pthread_mutex_lock(&limit->lock);
    slot = find_slot(limit, key);
    if (*slot == NULL) {
        *slot = xcalloc(1, sizeof(**slot));
        memcpy((*slot)->key, key, 16);
    }
    (*slot)->count++;
    pthread_mutex_unlock(&limit->lock);
}

void ip_limit_closed(struct ip_limit *limit, const struct sockaddr *addr)
{
    unsigned char key[16];
    struct ip_entry **slot;

    if (!address_key(addr, key)) return;
    pthread_mutex_lock(&limit->lock);
    slot = find_slot(limit, key);
    if (*slot != NULL && --(*slot)->count <= 0) {
        struct ip_entry *gone = *slot;

        *slot = gone->next;
        free(gone);
    }
    pthread_mutex_unlock(&limit->lock);
}
