/* Wake-ups between threads through an eventfd: any thread signals, the owner polls the
 * descriptor (epoll or poll) and drains it once woken. The wake-up carries no data: the woken
 * thread looks at shared state (a generation, a flag) to see what changed. */
#ifndef APP_WAKEUP_H
#define APP_WAKEUP_H

/* A non-blocking, close-on-exec eventfd the caller owns (close() it), or -1 with errno set. */
int wakeup_open(void);

/* Wakes whoever polls `fd`. Any thread; never blocks. */
void wakeup_signal(int fd);

/* Clears the wake-ups seen so far. The owner's thread, once woken. */
void wakeup_drain(int fd);

#endif
