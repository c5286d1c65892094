/* A worker thread: its own event loop, HTTP server (on the shared listening socket), Redis store,
 * access-log buffer and metrics. Nothing in a worker is shared with another worker, so the hot
 * path takes no lock. main() creates, starts, wakes and joins workers. */
#ifndef APP_WORKER_H
#define APP_WORKER_H

#include <stdbool.h>

struct app;
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

#endif
