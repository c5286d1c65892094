/* libmicrohttpd glue for one worker: request state from the URI callback (a pool of struct
 * request), the access handler's phases (headers -> route -> body -> dispatch -> waiting ->
 * respond), responses built from struct response, connection accounting, and the access-log line
 * and metrics at completion. Answers are queued only from the second handler call on, because
 * queueing in the first call makes 0.9.75 close keep-alive connections. Worker thread only (MHD
 * runs in external-epoll mode).
 *
 * A request waiting for Redis is not suspended: the handler returns without a response, MHD
 * keeps the connection in its ready list and asks again on every MHD_run until the answer is
 * there. Suspend/resume costs two epoll_ctl calls and a wasted recv per request (measured: 11-20%
 * fewer pings per second); asking again costs a function call per waiting request and pass.
 * Because MHD then still watches the socket, it may close the connection while the Redis
 * command is in flight: such a request is orphaned, and freed when its command completes.
 *
 * Framing: before any handler runs, every request's head is checked once against the rules of
 * RFC 9112 that libmicrohttpd 0.9.75 does not enforce (http_framing.c, check_framing() here). A
 * refused request is answered in the first handler call, which makes libmicrohttpd read nothing
 * more from the connection and close it after the answer. */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "access_log.h"
#include "app.h"
#include "clock.h"
#include "http_framing.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "xmalloc.h"

#define HTTP_MAX_BODY_BYTES          (64 * 1024)
#define HTTP_CONNECTION_MEMORY_BYTES (8 * 1024) /* bounds the request line and headers */
/* While requests wait for Redis, MHD reports work to do at once (they sit in its ready list):
 * look at the other connections at this pace instead of spinning. */
#define HTTP_WAITING_POLL_MS 1
/* MHD writes a response queued by a waiting request only on its next pass: passes per run. */
#define HTTP_MAX_PASSES 8
/* MHD_OPTION_STRICT_FOR_CLIENT. In 0.9.75, level 1 (and any higher level, which acts the same)
 * only adds two checks, and does both badly: a request line with a space inside the target is
 * closed without an answer, and the 400 for a missing Host is written with its status line and
 * headers twice (its error path for Host and Content-Length builds the head twice). Level -1 adds
 * the check for whitespace before a field's colon (an inverted test in 0.9.75). check_framing()
 * does all three, with well-formed answers, so MHD is left at 0. */
#define HTTP_MHD_STRICTNESS 0

/* Values of request.http_phase. */
enum http_phase {
    PHASE_NEW,       /* no handler call yet */
    PHASE_HEADERS,   /* first handler call done: route or error answer decided */
    PHASE_WAITING,   /* a store operation is in flight: until http_request_complete() */
    PHASE_RESPONDED, /* the answer is ready or queued */
};

#define CACHED_RESPONSES_MAX 24

/* A response made only of literals (a probe's "ok", a 404), built once and reused: libmicrohttpd
 * responses are reference-counted and may be queued on many connections. */
struct cached_response {
    unsigned status;
    const char *body; /* the literal's address is the key, with the other literals */
    const char *content_type;
    const char *allow;
    const char *cache_control;
    const char *location;
    bool closing; /* built while draining: Connection: close */
    struct MHD_Response *response;
};

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_server_settings settings;
    bool accepting;
    unsigned waiting;              /* requests in PHASE_WAITING on open connections */
    unsigned queued_in_pass;       /* responses queued during the current MHD_run */
    bool has_answers;              /* a waiting request got its answer since the last run */
    struct request *free_requests; /* the pool: requests of ended exchanges, for reuse */
    size_t in_flight;              /* requests taken from the pool and not yet back */
    int64_t last_traffic_ms;       /* while draining: when the last non-probe request ended */
    struct cached_response cache[CACHED_RESPONSES_MAX];
    int cached;
};

static enum request_method parse_method(const char *method)
{
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0) return METHOD_GET;
    if (strcmp(method, MHD_HTTP_METHOD_HEAD) == 0) return METHOD_HEAD;
    if (strcmp(method, MHD_HTTP_METHOD_POST) == 0) return METHOD_POST;
    return METHOD_OTHER;
}

/* SIGTERM seen: every answer closes its connection, and the last traffic is noted. */
static bool is_draining(const struct http_server *server)
{
    return atomic_load_explicit(&server->settings.app->draining, memory_order_relaxed);
}

/* A request from the pool, reset for a new exchange. */
static struct request *acquire_request(struct http_server *server)
{
    struct request *req = server->free_requests;

    if (req != NULL)
        server->free_requests = req->next_free;
    else
        req = xmalloc(sizeof(*req));
    request_init(req, server, server->settings.handler_context);
    server->in_flight++;
    return req;
}

/* Ends the request's exchange: what it owns is freed and it goes back to the pool. */
static void release_request(struct http_server *server, struct request *req)
{
    request_cleanup(req);
    if (!req->is_probe && is_draining(server)) server->last_traffic_ms = clock_now_ms();
    req->next_free = server->free_requests;
    server->free_requests = req;
    server->in_flight--;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *connection)
{
    struct http_server *server = cls;
    struct request *req = acquire_request(server);

    req->connection = connection;
    req->start_ns = clock_now_ns();
    /* 0.9.75 calls this with the target as sent, cut out of the request line; it decodes the
     * query and path in place afterwards, so the characters are checked here */
    req->wire_target = uri;
    req->wire_target_len = strlen(uri);
    req->wire_target_ok = http_framing_target_ok(uri, req->wire_target_len);
    request_set_target(req, uri);
    return req;
}

const char *http_request_header(struct request *req, const char *name)
{
    if (req->connection == NULL) return NULL; /* orphaned */
    return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}

void http_request_complete(struct request *req)
{
    struct http_server *server = req->server;

    if (req->connection == NULL) {
        /* orphaned: MHD closed the connection meanwhile and logged it; nobody waits */
        release_request(server, req);
        return;
    }
    req->http_phase = PHASE_RESPONDED;
    server->waiting--;
    server->has_answers = true;
}

/* The first route that matches the decoded path, or NULL (404). */
static const struct route *find_route(const struct http_server *server, const char *path)
{
    for (size_t i = 0; i < server->settings.route_count; i++) {
        const struct route *r = &server->settings.routes[i];

        if (r->is_prefix ? strncmp(path, r->path, strlen(r->path)) == 0
                         : strcmp(path, r->path) == 0)
            return r;
    }
    return NULL;
}

/* The Allow header value for a set of methods, e.g. "GET, HEAD". */
static const char *allow_header(unsigned methods)
{
    switch (methods) {
    case METHOD_GET:
        return "GET";
    case METHOD_GET | METHOD_HEAD:
        return "GET, HEAD";
    case METHOD_POST:
        return "POST";
    case METHOD_GET | METHOD_HEAD | METHOD_POST:
        return "GET, HEAD, POST";
    default:
        return "GET";
    }
}

static bool add_header(struct MHD_Response *r, const char *name, const char *value)
{
    return value == NULL || value[0] == '\0' || MHD_add_response_header(r, name, value) == MHD_YES;
}

/* Builds the libmicrohttpd response; a file descriptor in `res` passes to it. */
static struct MHD_Response *build_response(struct http_server *server, struct response *res)
{
    struct MHD_Response *r;
    char retry_after[16];
    bool ok;

    if (res->file_fd >= 0) {
        r = MHD_create_response_from_fd64(res->file_size, res->file_fd);
        if (r != NULL) res->file_fd = -1; /* MHD closes it */
    } else {
        r = MHD_create_response_from_buffer(res->body_len, (void *)res->body,
                                            MHD_RESPMEM_PERSISTENT);
    }
    if (r == NULL) return NULL;
    if (res->retry_after_s != 0)
        snprintf(retry_after, sizeof(retry_after), "%u", res->retry_after_s);
    ok = add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type) &&
         add_header(r, MHD_HTTP_HEADER_ALLOW, res->allow) &&
         add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, res->cache_control) &&
         add_header(r, MHD_HTTP_HEADER_ETAG, res->etag) &&
         add_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, res->last_modified) &&
         add_header(r, MHD_HTTP_HEADER_LOCATION, res->location) &&
         add_header(r, MHD_HTTP_HEADER_SET_COOKIE, res->set_cookie) &&
         /* which instance answered: makes round robin behind a load balancer visible */
         add_header(r, "X-Instance", server->settings.app->cfg->instance_name) &&
         add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, res->retry_after_s ? retry_after : NULL);
    /* while draining every answer closes its connection, so a load balancer never reuses one
     * that is about to go away */
    if (ok && (res->close || is_draining(server)))
        ok = add_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    if (!ok) {
        MHD_destroy_response(r);
        return NULL;
    }
    return r;
}

/* True when the answer is all literals: the same bytes for every request that gets it. */
static bool is_constant(const struct response *res)
{
    return res->file_fd < 0 && res->heap_body == NULL && res->body != res->inline_body &&
           res->etag[0] == '\0' && res->last_modified[0] == '\0' && res->set_cookie[0] == '\0' &&
           res->retry_after_s == 0 && !res->close;
}

/* The cached response for a constant answer (built on first use), or NULL. */
static struct MHD_Response *cached_response(struct http_server *server, struct response *res)
{
    bool closing = is_draining(server);
    struct cached_response *c;
    struct MHD_Response *r;

    for (int i = 0; i < server->cached; i++) {
        c = &server->cache[i];
        if (c->status == res->status && c->body == res->body &&
            c->content_type == res->content_type && c->allow == res->allow &&
            c->cache_control == res->cache_control && c->location == res->location &&
            c->closing == closing)
            return c->response;
    }
    if (server->cached == CACHED_RESPONSES_MAX) return NULL;
    r = build_response(server, res);
    if (r == NULL) return NULL;
    server->cache[server->cached++] =
        (struct cached_response){res->status,        res->body,     res->content_type, res->allow,
                                 res->cache_control, res->location, closing,           r};
    return r;
}

static enum MHD_Result send_response(struct http_server *server, struct request *req)
{
    struct MHD_Response *r =
        is_constant(&req->response) ? cached_response(server, &req->response) : NULL;
    bool owned = r == NULL;
    enum MHD_Result ret;

    req->http_phase = PHASE_RESPONDED;
    if (r == NULL) r = build_response(server, &req->response);
    if (r == NULL) return MHD_NO; /* MHD closes the connection */
    ret = MHD_queue_response(req->connection, req->response.status, r);
    if (owned) MHD_destroy_response(r); /* the queued response keeps its own reference */
    server->queued_in_pass++;
    return ret;
}

/* 0.9.75 splits the head in place: a field's name, a NUL where the ':' was, optional whitespace,
 * then the value. A folded line (obs-fold) is glued to the end of the previous field's *name*,
 * which moves to a block after the read buffer (connection.c, process_broken_line): its value then
 * no longer follows its name. */
static bool value_follows_name(const char *name, size_t name_len, const char *value)
{
    const char *gap = name + name_len + 1;
    uintptr_t from = (uintptr_t)gap, to = (uintptr_t)value;

    if (to < from || to - from > HTTP_CONNECTION_MEMORY_BYTES) return false;
    for (; gap < value; gap++) {
        if (*gap != ' ' && *gap != '\t') return false;
    }
    return true;
}

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *name,
                                size_t name_len, const char *value, size_t value_len)
{
    struct http_framing *framing = cls;

    (void)kind;
    if (!value_follows_name(name, name_len, value)) {
        framing->error = HTTP_FRAMING_OBS_FOLD;
        return MHD_NO; /* stops the walk */
    }
    return http_framing_add_field(framing, name, name_len, value, value_len) ? MHD_YES : MHD_NO;
}

/* The request line as 0.9.75 leaves it: it NULs the first space after the method, skips any
 * further spaces, and cuts the version off at the last space. So method, target and version were
 * exactly one space apart only if each starts one byte after the previous one's end (a NUL inside
 * the line shows up the same way). With MHD_OPTION_STRICT_FOR_CLIENT 0 a space inside the target
 * stays in it and is refused by http_framing_target_ok(). */
static enum http_framing_error check_request_line(const struct request *req, const char *method,
                                                  const char *version)
{
    size_t method_len = strlen(method);

    if (!http_framing_is_token(method, method_len)) return HTTP_FRAMING_BAD_METHOD;
    if (method + method_len + 1 != req->wire_target ||
        req->wire_target + req->wire_target_len + 1 != version)
        return HTTP_FRAMING_BAD_REQUEST_LINE;
    if (!req->wire_target_ok) return HTTP_FRAMING_BAD_TARGET;
    return HTTP_FRAMING_OK;
}

/* Checks the request line and, in one pass over libmicrohttpd's field list, every field line:
 * no allocation. On success `framing` says how the body is framed. */
static enum http_framing_error check_framing(struct request *req, const char *method,
                                             const char *version, struct http_framing *framing)
{
    enum http_framing_error error = check_request_line(req, method, version);

    http_framing_init(framing);
    if (error != HTTP_FRAMING_OK) return error;
    MHD_get_connection_values_n(req->connection, MHD_HEADER_KIND, on_field, framing);
    /* 0.9.75 hands the handler only versions "HTTP/1.0" to "HTTP/1.9" */
    return http_framing_finish(framing, version[7] != '0');
}

/* First call: the request line and headers are in. Decides the route or the error answer.
 * Returns true when the answer must go out at once (and close the connection). */
static bool start_request(struct http_server *server, struct request *req, const char *method,
                          const char *version)
{
    struct http_framing framing;
    enum http_framing_error error;
    size_t limit = HTTP_MAX_BODY_BYTES;

    req->http_phase = PHASE_HEADERS;
    req->method = parse_method(method);
    req->method_name = method;
    error = check_framing(req, method, version, &framing);
    if (error != HTTP_FRAMING_OK) {
        /* queued in this first call: libmicrohttpd reads nothing more from the connection and
         * closes it after the answer, so no byte after this head is ever taken as a request */
        request_error(req, http_framing_status(error), "%s", http_framing_reason(error));
        req->response.close = true;
        log_debug("http: request refused: %s", http_framing_reason(error)); /* access log: which */
        return true;
    }
    if (req->target_status == URLPATH_OK) req->route = find_route(server, req->path);
    if (req->route != NULL && req->route->max_body_bytes > 0 && req->method == METHOD_POST)
        limit = req->route->max_body_bytes;
    if (framing.body == HTTP_BODY_LENGTH && framing.content_length > limit) {
        /* answered before the body is read, so the connection closes instead of reading it */
        request_error(req, 413, "request body too large (at most %zu bytes)", limit);
        req->response.close = true;
        return true;
    }
    if (req->target_status == URLPATH_TOO_LONG) {
        request_error(req, 414, "request target too long");
        return false;
    }
    if (req->target_status != URLPATH_OK) {
        request_error(req, 400,
                      "malformed path: bad %%-escape, encoded '/' or '\\', or a control character");
        return false;
    }
    if (req->route == NULL) {
        request_error(req, 404, "not found");
        return false;
    }
    req->is_probe = req->route->is_probe;
    if ((req->route->methods & req->method) == 0) {
        request_error(req, 405, "method %.16s not allowed; allowed: %s", method,
                      allow_header(req->route->methods));
        req->response.allow = allow_header(req->route->methods);
    }
    return false;
}

/* Keeps the body for a route that takes one (POST within its limit); counts and drops it
 * otherwise. Returns false when the body went past the limit. */
static bool take_body(struct request *req, const char *data, size_t size)
{
    bool keep = req->route != NULL && req->route->max_body_bytes > 0 &&
                req->method == METHOD_POST && req->response.status == 0;
    size_t limit = keep ? req->route->max_body_bytes : HTTP_MAX_BODY_BYTES;

    req->body_bytes += size;
    if (req->body_bytes > limit) return false;
    if (keep) {
        req->body = xrealloc(req->body, req->body_len + size + 1);
        memcpy(req->body + req->body_len, data, size);
        req->body_len += size;
        req->body[req->body_len] = '\0';
    }
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *server = cls;
    struct request *req = *con_cls;

    (void)url; /* MHD's unescaped URL hides %00 and %2f: the raw target is used instead */
    (void)connection;
    if (req == NULL) return MHD_NO;
    if (req->http_phase == PHASE_NEW)
        return start_request(server, req, method, version) ? send_response(server, req) : MHD_YES;
    if (*upload_data_size != 0) {
        bool within_limit = take_body(req, upload_data, *upload_data_size);

        *upload_data_size = 0;
        if (!within_limit) {
            /* libmicrohttpd 0.9.75 cannot answer in the middle of a body: close instead (a
             * declared Content-Length over the limit gets its 413 before the body) */
            log_debug("http: %s: body over its limit: connection closed", req->target);
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (req->http_phase == PHASE_RESPONDED) return send_response(server, req);
    if (req->http_phase == PHASE_WAITING) return MHD_YES; /* not yet: MHD asks again */
    if (req->response.status == 0 && req->route->handle(req) == HANDLER_PENDING) {
        req->http_phase = PHASE_WAITING;
        server->waiting++;
        return MHD_YES;
    }
    return send_response(server, req);
}

static const char *termination_reason(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return NULL;
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
        return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "idle-timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "client-closed";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client-aborted";
    default:
        return "closed";
    }
}

static void client_address(struct MHD_Connection *connection, char *out, size_t out_size)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = info != NULL ? info->client_addr : NULL;

    snprintf(out, out_size, "-");
    if (sa != NULL && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)out_size);
    else if (sa != NULL && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
                  (socklen_t)out_size);
}

/* The exchange's access-log line (buffered: the worker writes it once per loop pass) and its
 * count and duration in the metrics. */
static void record_exchange(struct http_server *server, const struct request *req,
                            const char *client, unsigned status, const char *outcome)
{
    const struct http_server_settings *s = &server->settings;
    struct access_entry entry = {
        .client = client,
        .method = req->method_name,
        .target = req->target,
        .status = status,
        .bytes = req->response.file_size != 0 ? req->response.file_size : req->response.body_len,
        .duration_ns = clock_now_ns() - req->start_ns,
        .outcome = outcome,
    };
    size_t route_index = req->route != NULL ? (size_t)(req->route - s->routes) : s->route_count;

    access_log_append(s->access_log, &entry);
    metrics_record_request(s->metrics, route_index, status, entry.duration_ns);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *server = cls;
    struct request *req = *con_cls;
    char client[INET6_ADDRSTRLEN];

    if (req == NULL) return;
    *con_cls = NULL;
    client_address(connection, client, sizeof(client));
    record_exchange(server, req, client,
                    req->http_phase == PHASE_RESPONDED ? req->response.status : 0,
                    termination_reason(toe));
    if (req->http_phase == PHASE_WAITING) {
        /* its Redis command still refers to it: http_request_complete() frees it */
        req->connection = NULL;
        server->waiting--;
        return;
    }
    release_request(server, req);
}

static const struct sockaddr *connection_address(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    return info != NULL ? info->client_addr : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *server = cls;
    const struct sockaddr *addr = connection_address(connection);

    (void)socket_context;
    if (addr == NULL) return;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        ip_limit_opened(server->settings.app->ip_limit, addr);
        metrics_connection_opened(server->settings.metrics);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        ip_limit_closed(server->settings.app->ip_limit, addr);
        metrics_connection_closed(server->settings.metrics);
    }
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct http_server *server = cls;
    static struct log_dedupe refused_log = LOG_DEDUPE_INIT;

    (void)addrlen;
    if (ip_limit_allows(server->settings.app->ip_limit, addr)) return MHD_YES;
    log_dedupe_report(&refused_log, LOG_WARN,
                      "http: refusing connections from a client at its limit "
                      "(--max-connections-per-ip / MAX_CONNECTIONS_PER_IP)");
    return MHD_NO;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char message[512];
    size_t len;

    (void)cls;
    if (!log_enabled(LOG_DEBUG)) return; /* MHD reports every client mishap: debug only */
    vsnprintf(message, sizeof(message), fmt, ap);
    len = strlen(message);
    while (len > 0 && message[len - 1] == '\n')
        message[--len] = '\0';
    log_debug("http: %s", message);
}

struct http_server *http_server_start(const struct http_server_settings *settings)
{
    struct http_server *server = xcalloc(1, sizeof(*server));
    const struct config *cfg = settings->app->cfg;

    server->settings = *settings;
    server->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, on_accept, server, on_request, server,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, server, MHD_OPTION_LISTEN_SOCKET,
        settings->listen_fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)settings->connection_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->idle_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY_BYTES,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, server, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        server, MHD_OPTION_NOTIFY_CONNECTION, on_connection, server, MHD_OPTION_STRICT_FOR_CLIENT,
        HTTP_MHD_STRICTNESS, MHD_OPTION_END);
    if (server->daemon == NULL) {
        log_error("http: cannot start libmicrohttpd on the listening socket");
        free(server);
        return NULL;
    }
    server->accepting = true;
    return server;
}

int http_server_fd(const struct http_server *server)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_EPOLL_FD);

    return info != NULL ? info->epoll_fd : -1;
}

void http_server_run(struct http_server *server)
{
    server->has_answers = false;
    /* a response queued by a waiting request is written on the next pass */
    for (int pass = 0; pass < HTTP_MAX_PASSES; pass++) {
        server->queued_in_pass = 0;
        MHD_run(server->daemon);
        if (server->queued_in_pass == 0) break;
    }
}

bool http_server_has_answers(const struct http_server *server)
{
    return server->has_answers;
}

int64_t http_server_timeout_ms(struct http_server *server)
{
    MHD_UNSIGNED_LONG_LONG timeout;

    if (MHD_get_timeout(server->daemon, &timeout) != MHD_YES) return -1;
    if (timeout == 0 && server->waiting > 0) return HTTP_WAITING_POLL_MS;
    return timeout > INT32_MAX ? INT32_MAX : (int64_t)timeout;
}

size_t http_server_in_flight(const struct http_server *server)
{
    return server->in_flight;
}

int64_t http_server_last_traffic_ms(const struct http_server *server)
{
    return server->last_traffic_ms;
}

const struct route *http_server_routes(const struct http_server *server, size_t *count)
{
    *count = server->settings.route_count;
    return server->settings.routes;
}

void http_server_stop_accepting(struct http_server *server)
{
    if (!server->accepting) return;
    /* the listening socket is shared and owned by main(): MHD hands it back, never closes it */
    MHD_quiesce_daemon(server->daemon);
    server->accepting = false;
}

void http_server_free(struct http_server *server)
{
    if (server == NULL) return;
    http_server_stop_accepting(server);
    MHD_stop_daemon(server->daemon); /* ends every exchange: their requests return to the pool */
    for (int i = 0; i < server->cached; i++)
        MHD_destroy_response(server->cache[i].response);
    while (server->free_requests != NULL) {
        struct request *next = server->free_requests->next_free;

        free(server->free_requests);
        server->free_requests = next;
    }
    free(server);
}

const char *http_library_version(void)
{
    return MHD_get_version();
}
