/* The app's URL map: every path it answers, with the methods, handler and body limit of each
 * (struct route, http.h), for the HTTP server to dispatch through. Read-only; any thread. */
#ifndef APP_ROUTES_H
#define APP_ROUTES_H

#include <stddef.h>

#include "http.h"

/* The table, in the order it is searched; its size goes to *count. */
const struct route *routes_table(size_t *count);

#endif
