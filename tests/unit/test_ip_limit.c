/* ip_limit: counting per address, IPv4 and IPv6 keys, entries gone when back to zero. */
#include "ip_limit.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "check.h"

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET};

    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 v6(const char *ip)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};

    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

int main(void)
{
    struct ip_limit *limit = ip_limit_new(2);
    struct sockaddr_in a = v4("10.0.0.1"), b = v4("10.0.0.2");
    struct sockaddr_in6 c = v6("2001:db8::1"), mapped = v6("::ffff:10.0.0.1");

    CHECK(ip_limit_allows(limit, (struct sockaddr *)&a));
    ip_limit_opened(limit, (struct sockaddr *)&a);
    ip_limit_opened(limit, (struct sockaddr *)&a);
    CHECK(!ip_limit_allows(limit, (struct sockaddr *)&a));
    CHECK(!ip_limit_allows(limit, (struct sockaddr *)&mapped)); /* the same address */
    CHECK(ip_limit_allows(limit, (struct sockaddr *)&b));
    CHECK(ip_limit_allows(limit, (struct sockaddr *)&c));
    ip_limit_opened(limit, (struct sockaddr *)&c);
    CHECK(ip_limit_count(limit, (struct sockaddr *)&c) == 1);
    ip_limit_closed(limit, (struct sockaddr *)&a);
    CHECK(ip_limit_allows(limit, (struct sockaddr *)&a));
    ip_limit_closed(limit, (struct sockaddr *)&a);
    CHECK(ip_limit_count(limit, (struct sockaddr *)&a) == 0);
    ip_limit_closed(limit, (struct sockaddr *)&a); /* an extra close never goes negative */
    CHECK(ip_limit_count(limit, (struct sockaddr *)&a) == 0);
    ip_limit_free(limit);
    return check_summary("test_ip_limit");
}
