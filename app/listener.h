/* The listening socket shared by every worker's HTTP daemon. Opened once by main(). */
#ifndef APP_LISTENER_H
#define APP_LISTENER_H

/* Opens a non-blocking TCP socket listening on bind_ip:port ("::" also takes IPv4).
 * Returns the descriptor, or -1 after logging why. */
int listener_open(const char *bind_ip, int port);

#endif
