/* The route table: path -> allowed methods and handler. Read-only; any thread. */
#ifndef APP_ROUTES_H
#define APP_ROUTES_H

#include <stdbool.h>

#include "request.h"

enum handler_result {
    HANDLER_DONE,    /* req->response is complete */
    HANDLER_PENDING, /* waiting for Redis: request_complete() follows exactly once */
};

typedef enum handler_result (*handler_fn)(struct request *req);

struct route {
    const char *path;
    bool is_prefix;   /* matches every path that starts with `path` */
    unsigned methods; /* enum request_method bits */
    handler_fn handle;
    bool is_probe; /* health probes do not count as traffic while draining */
};

/* The route for a decoded path, or NULL (404). */
const struct route *routes_find(const char *path);

/* The Allow header value for a set of methods, e.g. "GET, HEAD". */
const char *routes_allow_header(unsigned methods);

#endif
