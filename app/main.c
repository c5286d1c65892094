/* Wiring only: config -> log -> listening socket -> Redis locator -> workers; then signals and
 * the shutdown sequence (drain, join, free). Signals are handled here, synchronously, with
 * sigtimedwait: no code runs in signal context. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "clock.h"
#include "config.h"
#include "http.h"
#include "listener.h"
#include "log.h"
#include "redis_locator.h"
#include "store.h"
#include "version.h"
#include "worker.h"
#include "xmalloc.h"

#define SIGNAL_POLL_MS 100
/* A burst of at least this many connections counts for release_memory_after_burst(). */
#define BURST_MIN_CONNECTIONS 64
#define TRIM_MIN_INTERVAL_MS  1000

static void print_version(void)
{
    printf("redisapp %s (libmicrohttpd %s, hiredis %s, cJSON %s)\n", REDISAPP_VERSION,
           http_library_version(), store_library_version(), cJSON_Version());
}

static void begin_drain(struct app *app, struct worker **workers, int count, int64_t timeout_ms)
{
    int64_t now = clock_now_ms();

    if (!atomic_exchange(&app->draining, true)) {
        atomic_store(&app->drain_started_ms, now);
        atomic_store(&app->hard_deadline_ms, now + timeout_ms);
    } else if (now + timeout_ms < atomic_load(&app->hard_deadline_ms)) {
        atomic_store(&app->hard_deadline_ms, now + timeout_ms);
    }
    for (int i = 0; i < count; i++)
        worker_wake(workers[i]);
}

/* Once at least half of a burst of connections has closed, hands the heap memory they freed back
 * to the system. Each worker allocates from its own malloc arena, and bursts split differently
 * over the workers, so without this each arena keeps the pages of its largest share resident
 * and the process grows burst after burst (measured: 7.6 -> 10.4 MiB over 14 runs of wrk at 256
 * connections). At most once a second; main thread, off the request path. */
struct burst_watch {
    int64_t peak; /* the most connections open at once in the current burst */
    int64_t last_trim_ms;
};

static void release_memory_after_burst(const struct app *app, struct burst_watch *burst)
{
    int64_t peak = metrics_take_peak_connections(&app->metrics);
    int64_t open = metrics_open_connections(&app->metrics);
    int64_t now = clock_now_ms();

    if (peak > burst->peak) burst->peak = peak;
    if (burst->peak >= BURST_MIN_CONNECTIONS && open <= burst->peak / 2 &&
        now - burst->last_trim_ms >= TRIM_MIN_INTERVAL_MS) {
        malloc_trim(0);
        burst->peak = open;
        burst->last_trim_ms = now;
    }
}

/* Waits for SIGTERM/SIGINT and the workers' end. Returns the process exit status. */
static int serve_until_stopped(struct app *app, struct worker **workers, int count)
{
    sigset_t stop_signals;
    struct timespec poll = {0, SIGNAL_POLL_MS * 1000000L};
    int status = 0;
    struct burst_watch burst = {0, 0};

    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    for (;;) {
        int sig = sigtimedwait(&stop_signals, NULL, &poll);
        int finished = 0;

        if (sig == SIGTERM || sig == SIGINT) {
            if (!atomic_load(&app->draining)) {
                log_info("shutdown: %s received: /readyz answers 503, serving until quiet "
                         "(at most %d ms)",
                         sig == SIGTERM ? "SIGTERM" : "SIGINT", app->cfg->shutdown_timeout_ms);
                begin_drain(app, workers, count, app->cfg->shutdown_timeout_ms);
            } else {
                log_warn("shutdown: second signal: stopping now");
                begin_drain(app, workers, count, 0);
            }
        }
        for (int i = 0; i < count; i++)
            finished += worker_finished(workers[i]);
        if (finished > 0 && !atomic_load(&app->draining)) {
            log_error("a worker stopped unexpectedly: shutting down");
            status = 1;
            begin_drain(app, workers, count, 0);
        }
        if (finished == count) break;
        release_memory_after_burst(app, &burst);
    }
    for (int i = 0; i < count; i++) {
        if (worker_join(workers[i]) != 0) status = 1;
    }
    return status;
}

int main(int argc, char **argv)
{
    static struct config cfg;
    static struct app app;
    char error[CONFIG_ERROR_MAX_BYTES];
    struct worker **workers;
    struct redis_locator *locator;
    sigset_t blocked;
    int listen_fd, status, started = 0;

    switch (config_load(&cfg, argc, (const char *const *)argv, getenv, error)) {
    case CONFIG_SHOW_HELP:
        config_print_help(stdout, argv[0]);
        return 0;
    case CONFIG_SHOW_VERSION:
        print_version();
        return 0;
    case CONFIG_INVALID:
        fprintf(stderr, "redisapp: %s\n", error);
        return 2;
    case CONFIG_OK:
        break;
    }
    log_set_level(cfg.log_level);
    if (cfg.idle_timeout_s * 1000LL <= 2LL * cfg.redis_timeout_ms)
        log_warn("config: --idle-timeout-s %d s is not above what a ping may wait for Redis "
                 "(INCR and WAIT, 2 x %d ms): such requests are cut at the idle timeout",
                 cfg.idle_timeout_s, cfg.redis_timeout_ms);
    {
        cJSON_Hooks hooks = {xmalloc, free}; /* a NULL from cJSON then means bad input only */

        cJSON_InitHooks(&hooks);
    }
    signal(SIGPIPE, SIG_IGN);
    /* every thread inherits this mask: stop signals are only taken by sigtimedwait below */
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    pthread_sigmask(SIG_BLOCK, &blocked, NULL);

    listen_fd = listener_open(cfg.bind, cfg.port);
    if (listen_fd < 0) return 1;
    app.cfg = &cfg;
    topology_init(&app.topology);
    redis_target_init(&app.target);
    redis_target_init(&app.replica_target);
    app.ip_limit = ip_limit_new(cfg.max_connections_per_ip);
    locator = redis_locator_start(&app);
    workers = xcalloc((size_t)cfg.threads, sizeof(*workers));
    status = locator != NULL ? 0 : 1;
    for (int i = 0; status == 0 && i < cfg.threads; i++) {
        workers[i] = worker_new(&app, i + 1, listen_fd);
        if (workers[i] == NULL) status = 1;
    }
    for (int i = 0; status == 0 && i < cfg.threads; i++, started++) {
        if (worker_start(workers[i]) != 0) status = 1;
    }
    if (status == 0) {
        char redis[128];

        if (cfg.sentinel_count > 0)
            snprintf(redis, sizeof(redis), "master '%.64s' via %d Sentinel%s", cfg.master_name,
                     cfg.sentinel_count, cfg.sentinel_count > 1 ? "s" : "");
        else
            snprintf(redis, sizeof(redis), "Redis %.40s:%d", cfg.redis.host, cfg.redis.port);
        log_info("redisapp %s: instance %s listening on %s port %d, %d threads, %s, "
                 "min-replicas-ack %d, static files %s",
                 REDISAPP_VERSION, cfg.instance_name, cfg.bind, cfg.port, cfg.threads, redis,
                 cfg.min_replicas_ack, cfg.static_dir[0] ? cfg.static_dir : "off");
        status = serve_until_stopped(&app, workers, started);
    } else if (started > 0) {
        begin_drain(&app, workers, started, 0);
        serve_until_stopped(&app, workers, started);
    }
    for (int i = 0; i < cfg.threads; i++)
        worker_free(workers[i]);
    free(workers);
    redis_locator_stop(locator);
    ip_limit_free(app.ip_limit);
    redis_target_cleanup(&app.target);
    redis_target_cleanup(&app.replica_target);
    topology_cleanup(&app.topology);
    close(listen_fd);
    if (status == 0) log_info("shutdown: done");
    return status;
}
