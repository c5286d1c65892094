/* A minimal epoll loop owned by one worker thread: file-descriptor watches with callbacks.
 * Deadlines are not kept here; the worker asks each component for its next one. Only the
 * owning thread may call these functions. */
#ifndef APP_EVENT_LOOP_H
#define APP_EVENT_LOOP_H

#include <stddef.h>
#include <stdint.h>

#define LOOP_READ  0x001u /* EPOLLIN */
#define LOOP_WRITE 0x004u /* EPOLLOUT */

struct loop_watch;
typedef void (*loop_watch_fn)(struct loop_watch *watch, uint32_t events);

/* Embedded by its owner; the loop only borrows it while it is added. */
struct loop_watch {
    int fd;
    uint32_t events;
    loop_watch_fn on_event;
};

/* In a callback: the structure of type `type` that embeds the watch as its member `member`. */
#define LOOP_WATCH_OWNER(watch, type, member)                                                      \
    ((type *)(void *)((char *)(watch)-offsetof(type, member)))

struct event_loop {
    int epoll_fd;
};

/* Returns 0, or -1 with errno set. */
int event_loop_init(struct event_loop *loop);
void event_loop_cleanup(struct event_loop *loop);

/* Starts, changes or stops watching watch->fd. Return 0, or -1 with errno set. */
int event_loop_add(struct event_loop *loop, struct loop_watch *watch, int fd, uint32_t events,
                   loop_watch_fn on_event);
int event_loop_modify(struct event_loop *loop, struct loop_watch *watch, uint32_t events);
void event_loop_remove(struct event_loop *loop, struct loop_watch *watch);

/* Waits up to timeout_ms (-1: no limit) and runs the callbacks of ready watches.
 * Returns the number of events handled, or -1 on a failure other than EINTR. */
int event_loop_wait(struct event_loop *loop, int timeout_ms);

#endif
