/* Route table and method sets. Dispatch is a table lookup, not an if-chain. */
#include "routes.h"

#include <string.h>

#include "api_metrics.h"
#include "handlers.h"

#define GET_HEAD (METHOD_GET | METHOD_HEAD)

#define MESSAGE_BODY_MAX_BYTES 4096

static const struct route routes[] = {
    /* the counter increments: HEAD is refused rather than counted */
    {.path = "/", .methods = METHOD_GET, .handle = handle_ping},
    {.path = "/ping", .methods = METHOD_GET, .handle = handle_ping},
    {.path = "/query/", .methods = GET_HEAD, .handle = handle_query},
    {.path = "/query", .methods = GET_HEAD, .handle = handle_query},
    {.path = "/helloworld", .methods = METHOD_GET, .handle = handle_helloworld},
    {.path = "/healthz", .methods = GET_HEAD, .handle = handle_healthz, .is_probe = true},
    {.path = "/readyz", .methods = GET_HEAD, .handle = handle_readyz, .is_probe = true},
    {.path = "/metrics", .methods = GET_HEAD, .handle = handle_metrics, .is_probe = true},
    {.path = "/api/status", .methods = GET_HEAD, .handle = handle_api_status},
    {.path = "/api/messages",
     .methods = GET_HEAD | METHOD_POST,
     .handle = handle_api_messages,
     .max_body_bytes = MESSAGE_BODY_MAX_BYTES},
    {.path = "/api/topology", .methods = GET_HEAD, .handle = handle_api_topology},
    {.path = "/static/", .is_prefix = true, .methods = GET_HEAD, .handle = handle_static},
    {.path = "/static", .methods = GET_HEAD, .handle = handle_static_redirect},
};

const struct route *routes_find(const char *path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *r = &routes[i];

        if (r->is_prefix ? strncmp(path, r->path, strlen(r->path)) == 0
                         : strcmp(path, r->path) == 0)
            return r;
    }
    return NULL;
}

size_t routes_count(void)
{
    return sizeof(routes) / sizeof(routes[0]);
}

const struct route *routes_at(size_t index)
{
    return index < routes_count() ? &routes[index] : NULL;
}

size_t routes_index_of(const struct route *route)
{
    return route != NULL ? (size_t)(route - routes) : routes_count();
}

const char *routes_allow_header(unsigned methods)
{
    switch (methods) {
    case METHOD_GET:
        return "GET";
    case GET_HEAD:
        return "GET, HEAD";
    case METHOD_POST:
        return "POST";
    case GET_HEAD | METHOD_POST:
        return "GET, HEAD, POST";
    default:
        return "GET";
    }
}
