/* getaddrinfo wrapper: first IPv4 address, else first IPv6 address, as text. */
#include "resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

int resolve_host(const char *host, char *ip, size_t ip_size, const char **why)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *found = NULL, *pick = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &found);

    if (rc != 0) {
        *why = gai_strerror(rc);
        return -1;
    }
    for (struct addrinfo *a = found; a != NULL; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
        if (pick == NULL && a->ai_family == AF_INET6) pick = a;
    }
    if (pick == NULL) {
        freeaddrinfo(found);
        *why = "no IPv4 or IPv6 address";
        return -1;
    }
    if (pick->ai_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)pick->ai_addr)->sin_addr, ip,
                  (socklen_t)ip_size);
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)pick->ai_addr)->sin6_addr, ip,
                  (socklen_t)ip_size);
    freeaddrinfo(found);
    return 0;
}
