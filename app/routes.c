/* Route table and method sets. Dispatch is a table lookup, not an if-chain. */
#include "routes.h"

#include <string.h>

#include "handlers.h"

#define GET_HEAD (METHOD_GET | METHOD_HEAD)

static const struct route routes[] = {
    /* the counter increments: HEAD is refused rather than counted */
    {"/", false, METHOD_GET, handle_ping, false},
    {"/ping", false, METHOD_GET, handle_ping, false},
    {"/query/", false, GET_HEAD, handle_query, false},
    {"/query", false, GET_HEAD, handle_query, false},
    {"/helloworld", false, METHOD_GET, handle_helloworld, false},
    {"/healthz", false, GET_HEAD, handle_healthz, true},
    {"/readyz", false, GET_HEAD, handle_readyz, true},
    {"/api/status", false, GET_HEAD, handle_api_status, false},
    {"/static/", true, GET_HEAD, handle_static, false},
    {"/static", false, GET_HEAD, handle_static_redirect, false},
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
