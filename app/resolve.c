/* getaddrinfo wrapper: first IPv4 address, else first IPv6 address, as text. */
#include "resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
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

/* Appends the addresses of `family` from `found` to `ips`, skipping ones already there. */
static int collect(const struct addrinfo *found, int family, char ips[][RESOLVE_ADDRESS_BYTES],
                   int count, int max)
{
    for (const struct addrinfo *a = found; a != NULL && count < max; a = a->ai_next) {
        char text[RESOLVE_ADDRESS_BYTES];
        bool seen = false;

        if (a->ai_family != family) continue;
        if (family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)a->ai_addr)->sin_addr, text,
                      sizeof(text));
        else
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_addr, text,
                      sizeof(text));
        for (int i = 0; i < count; i++)
            seen |= strcmp(ips[i], text) == 0;
        if (!seen) memcpy(ips[count++], text, sizeof(text));
    }
    return count;
}

int resolve_all(const char *host, char ips[][RESOLVE_ADDRESS_BYTES], int max, const char **why)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *found = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &found);
    int count;

    if (rc != 0) {
        *why = gai_strerror(rc);
        return 0;
    }
    count = collect(found, AF_INET, ips, 0, max);
    count = collect(found, AF_INET6, ips, count, max);
    freeaddrinfo(found);
    if (count == 0) *why = "no IPv4 or IPv6 address";
    return count;
}
