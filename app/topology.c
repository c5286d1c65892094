/* Locator-side record of the Redis topology for status pages: a mutex around small arrays. */
#include "topology.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"

void topology_init(struct topology *t)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
}

void topology_cleanup(struct topology *t)
{
    pthread_mutex_destroy(&t->lock);
}

void topology_event(struct topology *t, const char *fmt, ...)
{
    int64_t now_ms = clock_wall_ms();
    struct topology_event *e;
    va_list ap;

    pthread_mutex_lock(&t->lock);
    e = &t->events[t->event_count % TOPOLOGY_EVENTS_MAX];
    e->time_ms = now_ms;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof(e->text), fmt, ap);
    va_end(ap);
    t->event_count++;
    pthread_mutex_unlock(&t->lock);
}

void topology_set_sentinels(struct topology *t, const struct topology_sentinel *sentinels,
                            int count)
{
    if (count > TOPOLOGY_SENTINELS_MAX) count = TOPOLOGY_SENTINELS_MAX;
    pthread_mutex_lock(&t->lock);
    memcpy(t->sentinels, sentinels, (size_t)count * sizeof(*sentinels));
    t->sentinel_count = count;
    pthread_mutex_unlock(&t->lock);
}

void topology_snapshot(struct topology *t, struct topology *out)
{
    pthread_mutex_lock(&t->lock);
    memcpy(out->sentinels, t->sentinels, sizeof(t->sentinels));
    out->sentinel_count = t->sentinel_count;
    memcpy(out->events, t->events, sizeof(t->events));
    out->event_count = t->event_count;
    pthread_mutex_unlock(&t->lock);
}
