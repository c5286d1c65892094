/* The ping's counter (store_counter.c): INCR count, durable when --min-replicas-ack > 0. The
 * same contract as store.h: 0 when queued (the callback runs later, exactly once, on the same
 * thread), -1 when Redis is not usable now (it never runs). */
#ifndef APP_STORE_COUNTER_H
#define APP_STORE_COUNTER_H

#include "store.h"

/* INCR count: exactly one increment, never retried. With min-replicas-ack > 0 the value is
 * answered only after WAIT confirmed it; a value at or below one this process already showed is
 * answered STORE_UNAVAILABLE (and the key repaired forward). */
int store_incr_counter(struct store *store, struct store_call *call, store_counter_fn done,
                       void *arg);

#endif
