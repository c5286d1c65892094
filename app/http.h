/* The HTTP side of one worker: a libmicrohttpd daemon in external-epoll mode on the shared
 * listening socket, the requests it has in flight (a pool of struct request), their dispatch
 * through the route table it is given, and what is recorded when an exchange ends (an access-log
 * line, the metrics). The only file that includes <microhttpd.h>. Every function is for the
 * owning worker's thread: the worker drives the server; handlers and their store callbacks use
 * http_request_header() and http_request_complete(). */
#ifndef APP_HTTP_H
#define APP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct access_log;
struct app;
struct http_server;
struct request;
struct worker_metrics;

enum handler_result {
    HANDLER_DONE,    /* req->response is complete */
    HANDLER_PENDING, /* waiting for Redis: http_request_complete() follows exactly once */
};

/* A route's handler: fills req->response, or starts a store operation and returns
 * HANDLER_PENDING. Runs on the worker thread that owns the request. */
typedef enum handler_result (*handler_fn)(struct request *req);

/* One entry of a route table (routes.c holds the app's). */
struct route {
    const char *path;
    bool is_prefix;   /* matches every path that starts with `path` */
    unsigned methods; /* enum request_method bits */
    handler_fn handle;
    bool is_probe;         /* health probes do not count as traffic while draining */
    size_t max_body_bytes; /* a POST body up to this size is kept for the handler; 0: none */
};

struct http_server_settings {
    struct app *app;      /* borrowed: config, per-address limit, the draining flag */
    int listen_fd;        /* shared by every worker, owned by main() */
    int connection_limit; /* this server's share of --max-connections */
    /* borrowed, searched in order; a route's position in it is its index in the metrics, and
     * route_count stands for requests that matched none */
    const struct route *routes;
    size_t route_count;
    void *handler_context;          /* handed to every request as req->ctx */
    struct access_log *access_log;  /* borrowed: one line per exchange; the owner flushes it */
    struct worker_metrics *metrics; /* borrowed: this server's counters */
};

/* Starts a daemon with `settings` (copied). Returns NULL (logged) on failure. */
struct http_server *http_server_start(const struct http_server_settings *settings);

/* The daemon's epoll descriptor: readable when http_server_run has work. */
int http_server_fd(const struct http_server *server);

/* Processes ready connections, answered requests and timeouts, without blocking. */
void http_server_run(struct http_server *server);

/* True when a waiting request got its answer since the last http_server_run: run it again in
 * this loop pass. */
bool http_server_has_answers(const struct http_server *server);

/* Milliseconds until http_server_run has timeout work (0: now), or -1 for none. */
int64_t http_server_timeout_ms(struct http_server *server);

/* Requests between their request line and the end of their exchange, answered or not. */
size_t http_server_in_flight(const struct http_server *server);

/* While draining: when the last request other than a probe ended (0: none since the start). */
int64_t http_server_last_traffic_ms(const struct http_server *server);

/* The route table the server dispatches through (the metrics name routes by their index in it);
 * its size goes to *count. */
const struct route *http_server_routes(const struct http_server *server, size_t *count);

/* Stops accepting: the listening socket leaves this daemon. Open connections go on. */
void http_server_stop_accepting(struct http_server *server);

/* Stops the daemon, closing idle connections, and frees the request pool. No request may be
 * waiting for Redis. */
void http_server_free(struct http_server *server);

/* "libmicrohttpd 0.9.75" for --version. */
const char *http_library_version(void);

/* Value of a request header, or NULL. Only while the handler or a store callback of this request
 * runs. */
const char *http_request_header(struct request *req, const char *name);

/* Hands a pending request back to its server to send its response. Exactly once per
 * HANDLER_PENDING. */
void http_request_complete(struct request *req);

#endif
