/* The route table: path -> allowed methods and handler. Read-only; any thread. */
#ifndef APP_ROUTES_H
#define APP_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

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
    bool is_probe;         /* health probes do not count as traffic while draining */
    size_t max_body_bytes; /* a POST body up to this size is kept for the handler; 0: none */
};

/* The route for a decoded path, or NULL (404). */
const struct route *routes_find(const char *path);

/* The table, for metrics: its size, its entries, and the index of an entry (routes_count()
 * for NULL, i.e. requests that matched no route). */
size_t routes_count(void);
const struct route *routes_at(size_t index);
size_t routes_index_of(const struct route *route);

/* The Allow header value for a set of methods, e.g. "GET, HEAD". */
const char *routes_allow_header(unsigned methods);

#endif
