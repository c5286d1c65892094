/* Blocking hiredis connections, for the locator thread only (sentinel*.c): connect, AUTH and
 * every read and write bounded by a timeout, a failure put in words, and a kept connection for
 * ROLE checks. A context that timed out is freed, never reused. Part of the Redis layer: the
 * hiredis types it names stay there. */
#ifndef APP_REDIS_SYNC_H
#define APP_REDIS_SYNC_H

#include <stddef.h>

#include "redis_auth.h"
#include "redis_target.h"

struct redisContext;
struct redisReply;

/* A blocking context to host:port whose connect and every read and write take at most
 * timeout_ms, logged in with `auth` (no AUTH without a password). Returns it (the caller
 * redisFree()s it), or NULL with the reason in `why`. */
struct redisContext *redis_sync_connect(const char *host, int port, int timeout_ms,
                                        const struct redis_credentials *auth, char *why,
                                        size_t why_size);

/* Why a blocking call on `c` failed, in words: a read timeout shows as EAGAIN in hiredis. */
void redis_sync_describe_failure(const struct redisContext *c, int timeout_ms, char *why,
                                 size_t why_size);

/* A connection for ROLE checks, kept across checks while its address stays the same. The
 * caller sets timeout_ms and auth (borrowed) and zeroes the rest. */
struct redis_sync_probe {
    struct redisContext *ctx; /* NULL while closed */
    char ip[REDIS_TARGET_IP_MAX_BYTES];
    int port;
    int timeout_ms;
    const struct redis_credentials *auth;
};

/* Runs ROLE on ip:port, reusing the probe's connection when it is to that address. Returns the
 * reply (the caller freeReplyObject()s it), an array whose first element is the role as a
 * string, or NULL with the reason in `why`. */
struct redisReply *redis_sync_role(struct redis_sync_probe *probe, const char *ip, int port,
                                   char *why, size_t why_size);

/* Closes the probe's connection (it reconnects at the next check). */
void redis_sync_probe_close(struct redis_sync_probe *probe);

#endif
