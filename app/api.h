/* What every handler shares: the context the worker hands its HTTP server for each request
 * (req->ctx: the worker's store and the app), and the answers more than one handler gives, each
 * written once here: a failed store operation as HTTP, a JSON body, "queued, or 503 now".
 * Worker thread only. */
#ifndef APP_API_H
#define APP_API_H

#include <stdatomic.h>
#include <stdbool.h>

#include "app.h"
#include "http.h"
#include "request.h"
#include "store.h"

struct cJSON;

struct api_context {
    struct app *app;     /* shared, read-only config; targets and topology under their locks */
    struct store *store; /* the worker's */
};

static inline struct api_context *api_context_of(const struct request *req)
{
    return req->ctx;
}

/* The worker's store, for the request's operations. */
static inline struct store *api_store(const struct request *req)
{
    return api_context_of(req)->store;
}

static inline struct app *api_app(const struct request *req)
{
    return api_context_of(req)->app;
}

static inline const struct config *api_config(const struct request *req)
{
    return api_context_of(req)->app->cfg;
}

/* SIGTERM seen: /readyz and /api/status say so. */
static inline bool api_is_draining(const struct request *req)
{
    return atomic_load_explicit(&api_context_of(req)->app->draining, memory_order_relaxed);
}

/* How a failed store operation is answered: 503 with Retry-After when Redis may answer again
 * soon, 500 when retrying will not help (the cause is in the server log, never in the answer).
 * The one place for this mapping. */
struct api_failure {
    unsigned status;
    unsigned retry_after_s; /* 0: no Retry-After */
    const char *message;    /* for the client */
};
struct api_failure api_failure_of(enum store_status status);

/* Answers the request with api_failure_of(status): plain text, or {"error": ...} under /api/. */
void api_store_failure(struct request *req, enum store_status status);

/* Answers `root` (consumed) as JSON with `status`, never cached. */
void api_respond_json(struct request *req, unsigned status, struct cJSON *root);

/* The end of a handler that started a store operation: `queued` is what the store returned.
 * 0: HANDLER_PENDING (the callback answers); -1: Redis is not connected, answered 503 now.
 * Inline: every Redis-backed request, the ping included, ends here. */
static inline enum handler_result api_queued(struct request *req, int queued)
{
    if (queued == 0) return HANDLER_PENDING;
    request_unavailable(req, "Redis is not connected");
    return HANDLER_DONE;
}

#endif
