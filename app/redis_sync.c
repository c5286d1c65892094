/* Blocking hiredis connections with timeouts (redis_sync.h). Locator thread only. */
#include "redis_sync.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#define REASON_BYTES 200

static struct timeval timeval_of_ms(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    return tv;
}

/* Sends AUTH [username] password when a password is set. Returns 0, or -1 with the reason. */
static int authenticate(redisContext *c, const struct redis_credentials *auth, char *why,
                        size_t why_size)
{
    const char *argv[3];
    size_t argv_len[3];
    int argc = redis_auth_argv(auth, argv, argv_len);
    redisReply *r;
    int rc = 0;

    if (argc == 0) return 0;
    r = redisCommandArgv(c, argc, argv, argv_len);
    if (r == NULL) {
        snprintf(why, why_size, "AUTH: %s", c->errstr);
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        redis_auth_explain(r->str, auth, why, why_size);
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

redisContext *redis_sync_connect(const char *host, int port, int timeout_ms,
                                 const struct redis_credentials *auth, char *why, size_t why_size)
{
    struct timeval tv = timeval_of_ms(timeout_ms);
    redisContext *c = redisConnectWithTimeout(host, port, tv);

    if (c == NULL || c->err) {
        snprintf(why, why_size, "%s", c != NULL ? c->errstr : "out of memory");
        if (c != NULL) redisFree(c);
        return NULL;
    }
    /* hiredis 0.14: the connect timeout does not cover reads; without this a hung server
     * blocks the thread forever */
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(why, why_size, "cannot set the socket timeout");
        redisFree(c);
        return NULL;
    }
    redisEnableKeepAlive(c);
    if (authenticate(c, auth, why, why_size) != 0) {
        redisFree(c);
        return NULL;
    }
    return c;
}

void redis_sync_describe_failure(const redisContext *c, int timeout_ms, char *why, size_t why_size)
{
    if (c->err == REDIS_ERR_IO && strstr(c->errstr, "temporarily unavailable") != NULL)
        snprintf(why, why_size, "no reply within %d ms", timeout_ms);
    else if (c->err == REDIS_ERR_EOF)
        snprintf(why, why_size, "closed the connection");
    else
        snprintf(why, why_size, "%s", c->errstr[0] ? c->errstr : "no reply");
}

void redis_sync_probe_close(struct redis_sync_probe *probe)
{
    if (probe->ctx != NULL) redisFree(probe->ctx);
    probe->ctx = NULL;
}

redisReply *redis_sync_role(struct redis_sync_probe *probe, const char *ip, int port, char *why,
                            size_t why_size)
{
    redisReply *r;

    if (probe->ctx != NULL && (probe->port != port || strcmp(probe->ip, ip) != 0))
        redis_sync_probe_close(probe);
    if (probe->ctx == NULL) {
        probe->ctx = redis_sync_connect(ip, port, probe->timeout_ms, probe->auth, why, why_size);
        if (probe->ctx == NULL) return NULL;
        snprintf(probe->ip, sizeof(probe->ip), "%s", ip);
        probe->port = port;
    }
    r = redisCommand(probe->ctx, "ROLE");
    if (r == NULL) {
        char reason[REASON_BYTES - 8];

        redis_sync_describe_failure(probe->ctx, probe->timeout_ms, reason, sizeof(reason));
        snprintf(why, why_size, "ROLE: %s", reason);
        redis_sync_probe_close(probe); /* timed out or broken: never reused */
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        redis_auth_explain(r->str, probe->auth, why, why_size);
        freeReplyObject(r);
        redis_sync_probe_close(probe);
        return NULL;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        snprintf(why, why_size, "unexpected ROLE reply");
        freeReplyObject(r);
        return NULL;
    }
    return r;
}
