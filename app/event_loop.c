/* epoll wrapper for one thread: level-triggered watches dispatched to their callbacks. */
#include "event_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256

int event_loop_init(struct event_loop *loop)
{
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    return loop->epoll_fd < 0 ? -1 : 0;
}

void event_loop_cleanup(struct event_loop *loop)
{
    if (loop->epoll_fd >= 0) close(loop->epoll_fd);
    loop->epoll_fd = -1;
}

int event_loop_add(struct event_loop *loop, struct loop_watch *watch, int fd, uint32_t events,
                   loop_watch_fn on_event)
{
    struct epoll_event ev = {.events = events, .data.ptr = watch};

    watch->fd = fd;
    watch->events = events;
    watch->on_event = on_event;
    return epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

int event_loop_modify(struct event_loop *loop, struct loop_watch *watch, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = watch};

    if (watch->events == events) return 0;
    watch->events = events;
    return epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, watch->fd, &ev);
}

void event_loop_remove(struct event_loop *loop, struct loop_watch *watch)
{
    if (watch->fd >= 0) epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, watch->fd, NULL);
    watch->fd = -1;
}

int event_loop_wait(struct event_loop *loop, int timeout_ms)
{
    struct epoll_event events[LOOP_MAX_EVENTS];
    int n = epoll_wait(loop->epoll_fd, events, LOOP_MAX_EVENTS, timeout_ms);

    if (n < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        struct loop_watch *watch = events[i].data.ptr;

        watch->on_event(watch, events[i].events);
    }
    return n;
}
