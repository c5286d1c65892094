/* Open-connection counts per client address, shared by every worker, so that one address
 * cannot take every connection. Touched only when connections open and close (a mutex, never
 * on the request path). Any thread. */
#ifndef APP_IP_LIMIT_H
#define APP_IP_LIMIT_H

#include <stdbool.h>
#include <sys/socket.h>

struct ip_limit;

/* Allows at most `max_per_ip` open connections per address. Never returns NULL. */
struct ip_limit *ip_limit_new(int max_per_ip);
void ip_limit_free(struct ip_limit *limit);

/* True when `addr` may open one more connection. */
bool ip_limit_allows(struct ip_limit *limit, const struct sockaddr *addr);

/* Count a connection from `addr` as opened / closed. */
void ip_limit_opened(struct ip_limit *limit, const struct sockaddr *addr);
void ip_limit_closed(struct ip_limit *limit, const struct sockaddr *addr);

/* Open connections from `addr` (for tests and logs). */
int ip_limit_count(struct ip_limit *limit, const struct sockaddr *addr);

#endif
