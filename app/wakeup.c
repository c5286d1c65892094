/* Eventfd wake-ups (wakeup.h). */
#include "wakeup.h"

#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int wakeup_open(void)
{
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

void wakeup_signal(int fd)
{
    uint64_t one = 1;

    (void)!write(fd, &one, sizeof(one)); /* a full counter already wakes the owner */
}

void wakeup_drain(int fd)
{
    uint64_t count;

    (void)!read(fd, &count, sizeof(count));
}
