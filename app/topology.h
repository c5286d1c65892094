/* What the locator thread learns about the Redis side, for the status pages: the Sentinels it
 * asks (and whether they answered) and a short timeline of events (master found, failover
 * followed, master lost). Written by the locator, read by workers answering /api/topology;
 * one mutex, never on the request path of the tutorial endpoints. */
#ifndef APP_TOPOLOGY_H
#define APP_TOPOLOGY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define TOPOLOGY_EVENTS_MAX    32
#define TOPOLOGY_SENTINELS_MAX 32
#define TOPOLOGY_TEXT_BYTES    200

struct topology_sentinel {
    char address[TOPOLOGY_TEXT_BYTES / 2];
    bool answering;
    char problem[TOPOLOGY_TEXT_BYTES]; /* "" when answering */
};

struct topology_event {
    int64_t time_ms; /* wall clock, ms since the epoch */
    char text[TOPOLOGY_TEXT_BYTES];
};

struct topology {
    pthread_mutex_t lock;
    struct topology_sentinel sentinels[TOPOLOGY_SENTINELS_MAX];
    int sentinel_count;
    struct topology_event events[TOPOLOGY_EVENTS_MAX]; /* a ring: the newest replace the oldest */
    uint64_t event_count;                              /* events ever recorded */
};

void topology_init(struct topology *t);
void topology_cleanup(struct topology *t);

/* Records an event (formatted), stamped with the current time. */
void topology_event(struct topology *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Replaces the list of Sentinels and their state. */
void topology_set_sentinels(struct topology *t, const struct topology_sentinel *sentinels,
                            int count);

/* Copies the current state into `out` (a snapshot, no lock held afterwards). */
void topology_snapshot(struct topology *t, struct topology *out);

#endif
