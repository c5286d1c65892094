/* Name resolution for the locator thread and startup only (getaddrinfo blocks, with no timeout of
 * its own): workers are only ever handed numeric addresses. */
#ifndef APP_RESOLVE_H
#define APP_RESOLVE_H

#include <stddef.h>

/* Resolves `host` (a name or an IP literal) to a numeric address in `ip`, IPv4 preferred.
 * Returns 0, or -1 with the resolver's message in `why`. */
int resolve_host(const char *host, char *ip, size_t ip_size, const char **why);

#endif
