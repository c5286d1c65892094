/* The route table: path -> allowed methods and handler. Dispatch is a table lookup (http.c), not
 * an if-chain. */
#include "routes.h"

#include "api_messages.h"
#include "api_metrics.h"
#include "api_status.h"
#include "handlers.h"
#include "request.h"
#include "static_files.h"

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

const struct route *routes_table(size_t *count)
{
    *count = sizeof(routes) / sizeof(routes[0]);
    return routes;
}
