/* Name resolution for the locator thread and startup only (getaddrinfo blocks, with no timeout of
 * its own): workers are only ever handed numeric addresses. */
#ifndef APP_RESOLVE_H
#define APP_RESOLVE_H

#include <stddef.h>

/* Resolves `host` (a name or an IP literal) to a numeric address in `ip`, IPv4 preferred.
 * Returns 0, or -1 with the resolver's message in `why`. */
int resolve_host(const char *host, char *ip, size_t ip_size, const char **why);

#define RESOLVE_ADDRESS_BYTES 64

/* Resolves `host` to every address it names (IPv4 ones first), at most `max`, into `ips`.
 * Returns how many, or 0 with the resolver's message in `why`. A service name in Docker
 * resolves to one address per container. */
int resolve_all(const char *host, char ips[][RESOLVE_ADDRESS_BYTES], int max, const char **why);

#endif
