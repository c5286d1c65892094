/* A worker thread: its own event loop, HTTP daemon (on the shared listening socket), Redis
 * store and access-log buffer. Nothing in a worker is shared with another worker, so the hot
 * path takes no lock. main() creates, starts, wakes and joins workers; everything else here is
 * for the worker's own thread. */
#ifndef APP_WORKER_H
#define APP_WORKER_H

#include <stdbool.h>

#include "app.h"
#include "request.h"

struct worker;

/* Creates a worker; it does nothing until worker_start(). Never returns NULL. */
struct worker *worker_new(struct app *app, int index, int listen_fd);

/* Starts the thread. Returns 0, or -1 (logged). */
int worker_start(struct worker *w);

/* Makes the worker look at the shutdown phase now. Any thread. */
void worker_wake(struct worker *w);

/* True once the thread has left its loop. Any thread. */
bool worker_finished(struct worker *w);

/* Waits for the thread to end (after draining). Returns its exit status: 0 when it drained
 * cleanly, 1 after a fatal error. */
int worker_join(struct worker *w);
void worker_free(struct worker *w);

/* --- for handlers and http.c, on the worker's own thread --- */
struct store *worker_store(struct worker *w);
struct app *worker_app(struct worker *w);
struct http_server *worker_http(struct worker *w);
struct worker_metrics *worker_metrics(struct worker *w);
const struct config *worker_config(const struct worker *w);
bool worker_is_draining(const struct worker *w);

/* Per-request state from the worker's pool. */
struct request *worker_request_acquire(struct worker *w);
void worker_request_release(struct worker *w, struct request *req);

/* A waiting request has its answer: run the HTTP daemon in this loop pass. */
void worker_schedule_http(struct worker *w);

/* Writes the access-log line of a finished exchange (buffered; flushed once per loop pass). */
void worker_log_access(struct worker *w, const struct request *req, const char *client,
                       unsigned status, const char *outcome);

#endif
