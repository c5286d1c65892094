/* What every handler is given: the context the worker hands its HTTP server for each request
 * (req->ctx), with the worker's store and the app. Worker thread only. */
#ifndef APP_API_H
#define APP_API_H

#include <stdatomic.h>
#include <stdbool.h>

#include "app.h"
#include "request.h"

struct store;

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

#endif
