/* Redis operations behind the JSON API: browser sessions, the message board and INFO
 * replication for the topology. The same contract as store.h: 0 when queued (the callback runs
 * later, exactly once, on the same thread), -1 when Redis is not usable now (it never runs). */
#ifndef APP_STORE_API_H
#define APP_STORE_API_H

#include "store.h"

/* Counts a visit of the session `id` (NULL or unknown: creates `new_id` instead) and refreshes
 * its expiry to `ttl_s`; also reads the counter and the ROLE of the server in use. */
int store_session_visit(struct store *store, struct store_call *call, const char *id,
                        const char *new_id, int ttl_s, struct store_session_result *result,
                        store_session_fn done, void *arg);

/* Appends a message to the board (a stream capped near 1000 entries); `done` gets its id. */
int store_message_add(struct store *store, struct store_call *call, const char *name,
                      const char *text, const char *instance, store_value_fn done, void *arg);

/* The `limit` newest messages (at most STORE_MESSAGES_MAX), newest first. */
int store_messages_latest(struct store *store, struct store_call *call, int limit,
                          store_messages_fn done, void *arg);

/* INFO replication of the master in use, as text. */
int store_replication_info(struct store *store, struct store_call *call, store_value_fn done,
                           void *arg);

#endif
