/* The store's private header: what store.c, store_counter.c and store_api.c share (the store's
 * layout, reply classification, call setup, the counter's part of the pass). Only they include
 * it. Worker thread only. */
#ifndef APP_STORE_INTERNAL_H
#define APP_STORE_INTERNAL_H

#include <hiredis/hiredis.h>

#include "config.h"
#include "log.h"
#include "redis_pipe.h"
#include "store.h"

/* INCRs confirmed by one WAIT, in the order they were sent. */
struct wait_batch {
    struct store_call *first;
    struct store_call *last;
};

/* Durable mode: the counter's own master connection, with its INCRs and the WAIT that confirms
 * them. Its own, because a WAIT blocks its connection in Redis until replicas answer: other
 * commands (/query/, probes, sessions) do not wait behind it. store_counter.c's. */
struct durable_counter {
    struct store *store;
    struct redis_pipe *pipe;   /* NULL in direct mode (min_replicas_ack 0): INCRs use store->pipe */
    struct wait_batch open;    /* INCRs sent since the last WAIT */
    struct wait_batch waiting; /* INCRs whose WAIT is in flight (at most one WAIT is) */
    int min_replicas_ack;
    struct redis_target *target; /* Sentinel mode: the number to WAIT for is published here */
    int wait_timeout_ms;
    int wait_acks;         /* the number in wait_command */
    int waiting_acks;      /* the number the WAIT in flight asked for */
    char wait_command[64]; /* "WAIT <wait_acks> <wait_timeout_ms>" in RESP */
    size_t wait_command_len;
};

#define STORE_PIPES_MAX METRICS_PIPES_PER_WORKER /* the master, a read replica, the counter */

struct store {
    struct redis_pipe *pipe;
    struct redis_pipe *replica_pipe; /* NULL unless --read-from-replicas */
    struct durable_counter counter;
};

/* Logs each kind of Redis error once. */
extern struct log_dedupe store_reply_error_log;

/* Turns a reply into a status: NULL -> unavailable; READONLY/NOAUTH reset the connection;
 * LOADING, NOREPLICAS and the like -> unavailable (logged once); other errors -> failed (logged
 * once). `command` names the command in the log. */
enum store_status store_classify(struct redis_pipe *pipe, const redisReply *reply,
                                 const char *command);

/* Resets `call` for a new operation of `store` on behalf of `arg` (on the master's connection). */
void store_prepare_call(struct store_call *call, struct store *store, void *arg);

/* The reply callback of a one-command operation answered by a string (call->done.value): NIL is
 * STORE_NOT_FOUND, another type STORE_FAILED. call->command names it in the log. */
void store_string_reply(void *arg, struct redisReply *reply);

/* store_counter.c: sets up the counter of `store` (its pipe, if any, is already open); `target`
 * publishes the number of replicas to WAIT for in Sentinel mode, NULL in direct mode. */
void store_counter_init(struct store *store, const struct config *cfg, struct redis_target *target);

/* store_counter.c: sends the WAIT for the INCRs queued in this pass, unless one is in flight
 * (after store_abort: fails them). Once per loop pass, before the pipes are flushed. */
void store_counter_flush(struct store *store);

#endif
