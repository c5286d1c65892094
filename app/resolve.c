/* getaddrinfo wrapper: the addresses a name stands for, IPv4 ones first, as text. */
#include "resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

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

int resolve_host(const char *host, char *ip, size_t ip_size, const char **why)
{
    char first[1][RESOLVE_ADDRESS_BYTES];

    if (resolve_all(host, first, 1, why) == 0) return -1;
    snprintf(ip, ip_size, "%s", first[0]);
    return 0;
}
