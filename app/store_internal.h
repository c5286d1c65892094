/* What store.c and store_api.c share: the store's layout, reply classification and call setup.
 * Only these two files include it. Worker thread only. */
#ifndef APP_STORE_INTERNAL_H
#define APP_STORE_INTERNAL_H

#include <hiredis/hiredis.h>

#include "log.h"
#include "redis_pipe.h"
#include "store.h"

/* The INCRs of one loop pass and the WAIT that confirms them. */
struct wait_batch {
    struct store_call *first;
    struct store_call *last;
    struct store *store;
};

struct store {
    struct redis_pipe *pipe;
    struct redis_pipe *replica_pipe; /* NULL unless --read-from-replicas */
    int min_replicas_ack;
    int wait_timeout_ms;
    struct wait_batch open; /* INCRs queued in this pass, before their WAIT */
};

/* Logs each kind of Redis error once. */
extern struct log_dedupe store_reply_error_log;

/* Turns a reply into a status: NULL -> unavailable; READONLY/NOAUTH reset the connection;
 * LOADING, NOREPLICAS and the like -> unavailable (logged once); other errors -> failed (logged
 * once). `command` names the command in the log. */
enum store_status store_classify(struct redis_pipe *pipe, const redisReply *reply,
                                 const char *command);

/* Resets `call` for a new operation of `store` on behalf of `arg`. */
void store_prepare_call(struct store_call *call, struct store *store, void *arg);

#endif
