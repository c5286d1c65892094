/* Redis commands as domain operations for one worker: the /query/ value, the hello-world
 * exchange and the readiness ping here; the counter in store_counter.h, the JSON API's data in
 * store_api.h. Replies are turned into a status and plain
 * values here; the Redis reply type never leaves this module and redis_pipe.c. Each function
 * returns 0 when the operation was queued (its callback runs later, exactly once, on the same
 * thread) or -1 when Redis is not usable now (the callback is never called). */
#ifndef APP_STORE_H
#define APP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct event_loop;
struct redis_pipe;
struct store;

enum store_status {
    STORE_OK,
    STORE_NOT_FOUND,   /* the key does not exist */
    STORE_UNAVAILABLE, /* no answer in time, connection lost, or Redis refused for now */
    STORE_FAILED,      /* Redis answered with an error that retrying will not fix (logged) */
};

/* Creates the worker's store and starts connecting (to the master, and to a replica for reads
 * with --read-from-replicas). Borrows `app`. Never returns NULL. */
struct store *store_new(struct event_loop *loop, struct app *app, const char *worker_name);
void store_free(struct store *store);

/* Sends everything queued during this loop pass. */
void store_flush(struct store *store);
int64_t store_next_deadline_ms(const struct store *store);
void store_check_timers(struct store *store, int64_t now_ms);

/* Shutdown: every operation still waiting is answered STORE_UNAVAILABLE now; no reconnect. */
void store_abort(struct store *store);

/* The hiredis version built against ("0.14.1"), for --version. */
const char *store_library_version(void);

/* Error replies from Redis so far, all workers together. Any thread. */
unsigned long long store_reply_errors_total(void);

typedef void (*store_counter_fn)(void *arg, enum store_status status, long long value);

/* A string reply (a value, a stream id, INFO text): valid only during the callback; NULL unless
 * STORE_OK. STORE_NOT_FOUND when the key does not exist. */
typedef void (*store_value_fn)(void *arg, enum store_status status, const char *value, size_t len);

typedef void (*store_ping_fn)(void *arg, enum store_status status);

#define STORE_GREETING_MAX_BYTES 128

struct store_hello_result {
    enum store_status status;
    char greeting[STORE_GREETING_MAX_BYTES]; /* read back with GET Hi */
    char *info;                              /* INFO text, the caller's to free() */
    size_t info_len;
};

typedef void (*store_hello_fn)(void *arg, struct store_hello_result *result);

#define STORE_SESSION_ID_BYTES 32 /* 128 random bits in hex */
#define STORE_ROLE_MAX_BYTES   16

/* The replies to one /api/status visit. */
struct store_session_result {
    enum store_status status; /* of the session update */
    long long visits;
    bool created; /* the cookie named no live session: `new_id` was created */
    char id[STORE_SESSION_ID_BYTES + 1]; /* the session in use after the visit */
    bool counter_known;                  /* `count` exists */
    long long counter;
    char role[STORE_ROLE_MAX_BYTES]; /* ROLE of the server in use, "" when unknown */
};

typedef void (*store_session_fn)(void *arg, struct store_session_result *result);

/* One message board entry; the strings point into the reply and live only during the callback. */
struct store_message {
    const char *id; /* stream id "<ms>-<seq>" */
    size_t id_len;
    const char *name;
    size_t name_len;
    const char *text;
    size_t text_len;
    const char *instance;
    size_t instance_len;
};

typedef void (*store_messages_fn)(void *arg, enum store_status status,
                                  const struct store_message *messages, size_t count);

#define STORE_MESSAGES_MAX 100 /* kept in the stream: ~1000 */

/* Caller-owned state of one operation in flight (embedded in the request, so that no operation
 * allocates). Must stay valid until its callback has run. */
struct store_call {
    struct store *store;
    struct redis_pipe *pipe; /* the connection the command went to */
    const char *command;     /* what a one-command operation sent, for the log */
    void *arg;
    union {
        store_counter_fn counter;
        store_value_fn value;
        store_ping_fn ping;
        store_hello_fn hello;
        store_session_fn session;
        store_messages_fn messages;
    } done;
    struct store_hello_result *hello;
    struct store_session_result *session;
    int replies_missing;
    enum store_status status; /* the counter, until its WAIT confirms it */
    long long value;
    long long floor_at_send;                      /* highest value shown when the INCR was sent */
    struct store_call *next_in_batch;             /* INCRs confirmed by the same WAIT */
    char old_session[STORE_SESSION_ID_BYTES + 1]; /* a session visit's two candidate ids */
    char new_session[STORE_SESSION_ID_BYTES + 1];
};

/* GET redis_app. */
int store_get_query_value(struct store *store, struct store_call *call, store_value_fn done,
                          void *arg);

/* SET Hi <greeting>, GET Hi, INFO, pipelined; `result` must live until `done`. */
int store_hello_world(struct store *store, struct store_call *call, const char *greeting,
                      struct store_hello_result *result, store_hello_fn done, void *arg);

/* PING: is Redis answering within the timeout? */
int store_ping(struct store *store, struct store_call *call, store_ping_fn done, void *arg);

#endif
