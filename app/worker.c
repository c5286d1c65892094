/* Worker thread: one event loop that drives the HTTP server, the Redis store and the access log,
 * and the drain sequence after SIGTERM. It wires its parts together: the HTTP server dispatches
 * through the app's routes (routes.c) with the handlers' context (api.h: this worker's store).
 * A loop pass: wait -> Redis replies (complete requests) -> timers -> one MHD run for new and
 * answered requests -> one write of every Redis command queued in the pass -> one access-log
 * write. */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access_log.h"
#include "api.h"
#include "app.h"
#include "clock.h"
#include "event_loop.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"
#include "store.h"
#include "wakeup.h"
#include "xmalloc.h"

#define DRAIN_POLL_MS 50

/* every worker registers its metrics and listens to both targets */
_Static_assert(CONFIG_THREADS_MAX <= METRICS_SOURCES_MAX, "a metrics slot per worker");
_Static_assert(CONFIG_THREADS_MAX <= REDIS_TARGET_LISTENERS_MAX, "a target listener per worker");

struct worker {
    struct app *app;
    int index;
    char name[32];
    pthread_t thread;
    bool thread_started;
    struct event_loop loop;
    struct loop_watch http_watch;
    struct loop_watch wake_watch;
    int wake_fd;
    struct http_server *http;
    struct store *store;
    struct api_context api; /* what the handlers get: this worker's store, the app */
    struct access_log access_log;
    bool http_ready;          /* MHD's socket is ready */
    int64_t http_deadline_ms; /* MHD has timer work then (timeouts, waiting requests) */
    bool accepting;
    int exit_status;
    atomic_bool finished;
    struct worker_metrics metrics; /* written by this worker only */
};

static void on_http_ready(struct loop_watch *watch, uint32_t events)
{
    struct worker *w = LOOP_WATCH_OWNER(watch, struct worker, http_watch);

    (void)events;
    w->http_ready = true;
}

static void on_wake(struct loop_watch *watch, uint32_t events)
{
    (void)events;
    wakeup_drain(watch->fd);
}

struct worker *worker_new(struct app *app, int index, int listen_fd)
{
    struct worker *w = xcalloc(1, sizeof(*w));
    const struct config *cfg = app->cfg;
    struct http_server_settings http = {
        .app = app,
        .listen_fd = listen_fd,
        .connection_limit = (cfg->max_connections + cfg->threads - 1) / cfg->threads,
        .handler_context = &w->api,
        .access_log = &w->access_log,
        .metrics = &w->metrics,
    };

    w->app = app;
    w->index = index;
    w->accepting = true;
    w->wake_fd = -1;
    snprintf(w->name, sizeof(w->name), "worker %d", index);
    access_log_init(&w->access_log, cfg->access_log, cfg->log_json, cfg->instance_name);
    if (event_loop_init(&w->loop) != 0) {
        log_error("%s: epoll: %s", w->name, strerror(errno));
        goto fail;
    }
    w->wake_fd = wakeup_open();
    if (w->wake_fd < 0 ||
        event_loop_add(&w->loop, &w->wake_watch, w->wake_fd, LOOP_READ, on_wake) != 0) {
        log_error("%s: eventfd: %s", w->name, strerror(errno));
        goto fail;
    }
    http.routes = routes_table(&http.route_count);
    w->http = http_server_start(&http);
    if (w->http == NULL) goto fail;
    if (event_loop_add(&w->loop, &w->http_watch, http_server_fd(w->http), LOOP_READ,
                       on_http_ready) != 0) {
        log_error("%s: epoll: %s", w->name, strerror(errno));
        goto fail;
    }
    /* last, so a worker that fails to start has registered nothing (no request runs before the
     * thread starts, so the handlers' context is complete by then) */
    w->store = store_new(&w->loop, app, w->name);
    w->api = (struct api_context){.app = app, .store = w->store};
    metrics_register_worker(&app->metrics, &w->metrics);
    /* a newly published address wakes the loop, so connections follow it at once */
    redis_target_add_listener(&app->target, w->wake_fd);
    redis_target_add_listener(&app->replica_target, w->wake_fd);
    return w;
fail:
    worker_free(w);
    return NULL;
}

static int next_timeout_ms(struct worker *w, int64_t now)
{
    int64_t deadline = store_next_deadline_ms(w->store);
    int64_t http = http_server_timeout_ms(w->http);
    int64_t wait;

    w->http_deadline_ms = http >= 0 ? now + http : INT64_MAX;
    if (w->http_ready || http_server_has_answers(w->http)) return 0;
    if (w->http_deadline_ms < deadline) deadline = w->http_deadline_ms;
    if (atomic_load_explicit(&w->app->draining, memory_order_relaxed) &&
        now + DRAIN_POLL_MS < deadline)
        deadline = now + DRAIN_POLL_MS;
    if (deadline == INT64_MAX) return -1;
    wait = deadline - now;
    if (wait < 0) return 0;
    return wait > INT32_MAX ? INT32_MAX : (int)wait;
}

/* One step of the shutdown sequence. Returns true when the worker may stop. */
static bool drain_step(struct worker *w, int64_t now)
{
    const struct config *cfg = w->app->cfg;
    int64_t started = atomic_load(&w->app->drain_started_ms);
    int64_t hard_deadline = atomic_load(&w->app->hard_deadline_ms);
    int64_t last_traffic = http_server_last_traffic_ms(w->http);
    int64_t quiet_since = last_traffic > started ? last_traffic : started;

    if (w->accepting && (now - quiet_since >= cfg->drain_quiet_ms || now >= hard_deadline)) {
        http_server_stop_accepting(w->http);
        w->accepting = false;
        log_debug("%s: no traffic for %d ms: stopped accepting", w->name, cfg->drain_quiet_ms);
    }
    if (!w->accepting && http_server_in_flight(w->http) == 0) return true;
    if (now >= hard_deadline) {
        /* answer everything still waiting for Redis (503), send it, then go */
        store_abort(w->store);
        http_server_run(w->http);
        log_warn("%s: shutdown timeout: %zu requests were cut short", w->name,
                 http_server_in_flight(w->http));
        return true;
    }
    return false;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    bool finished = false;

    while (!finished) {
        int64_t now = clock_now_ms();

        if (event_loop_wait(&w->loop, next_timeout_ms(w, now)) < 0) {
            log_error("%s: epoll_wait: %s", w->name, strerror(errno));
            w->exit_status = 1;
            store_abort(w->store);
            break;
        }
        now = clock_now_ms();
        store_check_timers(w->store, now);
        if (w->http_ready || http_server_has_answers(w->http) || now >= w->http_deadline_ms) {
            w->http_ready = false;
            http_server_run(w->http);
        }
        store_flush(w->store);
        access_log_flush(&w->access_log);
        if (atomic_load_explicit(&w->app->draining, memory_order_relaxed))
            finished = drain_step(w, now);
    }
    access_log_flush(&w->access_log);
    atomic_store(&w->finished, true);
    return NULL;
}

int worker_start(struct worker *w)
{
    int err = pthread_create(&w->thread, NULL, worker_main, w);

    if (err != 0) {
        log_error("%s: cannot start thread: %s", w->name, strerror(err));
        return -1;
    }
    w->thread_started = true;
    return 0;
}

bool worker_finished(struct worker *w)
{
    return atomic_load(&w->finished);
}

void worker_wake(struct worker *w)
{
    wakeup_signal(w->wake_fd);
}

int worker_join(struct worker *w)
{
    if (w->thread_started) pthread_join(w->thread, NULL);
    w->thread_started = false;
    return w->exit_status;
}

void worker_free(struct worker *w)
{
    if (w == NULL) return;
    store_free(w->store); /* answers what still waits for Redis */
    if (w->http != NULL) http_server_free(w->http);
    if (w->wake_fd >= 0) close(w->wake_fd);
    event_loop_cleanup(&w->loop);
    free(w);
}
