/* Listening socket: bind, listen with a deep backlog, non-blocking for the epoll daemons. */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define LISTEN_BACKLOG 4096 /* the kernel caps it at net.core.somaxconn */

int listener_open(const char *bind_ip, int port)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    int family, fd, on = 1, off = 0;

    memset(&addr, 0, sizeof(addr));
    if (inet_pton(AF_INET, bind_ip, &((struct sockaddr_in *)&addr)->sin_addr) == 1) {
        family = AF_INET;
        ((struct sockaddr_in *)&addr)->sin_family = AF_INET;
        ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)port);
        addr_len = sizeof(struct sockaddr_in);
    } else if (inet_pton(AF_INET6, bind_ip, &((struct sockaddr_in6 *)&addr)->sin6_addr) == 1) {
        family = AF_INET6;
        ((struct sockaddr_in6 *)&addr)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)port);
        addr_len = sizeof(struct sockaddr_in6);
    } else {
        log_error("http: '%s' is not an IP address (--bind / BIND)", bind_ip);
        return -1;
    }
    fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("http: socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    if (bind(fd, (struct sockaddr *)&addr, addr_len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        log_error("http: cannot listen on %s port %d: %s (--bind / BIND, --port / PORT)", bind_ip,
                  port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
