/* The HTTP side of one worker: a libmicrohttpd daemon in external-epoll mode on the shared
 * listening socket. The only file that includes <microhttpd.h>. Every function is for the
 * owning worker's thread. */
#ifndef APP_HTTP_H
#define APP_HTTP_H

#include <stdint.h>

#include "app.h"

struct worker;
struct http_server;

/* Starts a daemon for worker `w` on `listen_fd` (not owned). Returns NULL (logged) on failure. */
struct http_server *http_server_start(struct worker *w, struct app *app, int listen_fd,
                                      int connection_limit);

/* The daemon's epoll descriptor: readable when http_server_run has work. */
int http_server_fd(const struct http_server *server);

/* Processes ready connections, answered requests and timeouts, without blocking. */
void http_server_run(struct http_server *server);

/* Milliseconds until http_server_run has timeout work (0: now), or -1 for none. */
int64_t http_server_timeout_ms(struct http_server *server);

/* Stops accepting: the listening socket leaves this daemon. Open connections go on. */
void http_server_stop_accepting(struct http_server *server);

/* Stops the daemon, closing idle connections. No request may be waiting for Redis. */
void http_server_free(struct http_server *server);

/* "libmicrohttpd 0.9.75" for --version. */
const char *http_library_version(void);

#endif
