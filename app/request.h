/* One HTTP request as the handlers see it: method, decoded path, query, and the response they
 * fill in. http.c creates it (from its pool), runs the route's handler, sends the response and
 * releases it when the exchange is over (http.h). Owned by the worker thread that accepted the
 * connection; handlers and store callbacks touch it only on that thread. */
#ifndef APP_REQUEST_H
#define APP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "urlpath.h"

struct http_server;
struct route;

enum request_method {
    METHOD_GET = 1u << 0,
    METHOD_HEAD = 1u << 1,
    METHOD_POST = 1u << 2,
    METHOD_OTHER = 1u << 3,
};

/* The media types of the answers the app builds itself (static files: static_files.c). */
#define CONTENT_TYPE_TEXT "text/plain; charset=utf-8"
#define CONTENT_TYPE_HTML "text/html; charset=utf-8"
#define CONTENT_TYPE_JSON "application/json"

#define RESPONSE_INLINE_BYTES 192
/* The request target and its decoded path share this much room in the request; longer targets
 * (rare) take a heap buffer, so a pooled request stays small (peak memory with many clients). */
#define REQUEST_TEXT_INLINE_BYTES 512

struct response {
    unsigned status; /* 0 until a handler or http.c decides */
    const char *content_type;
    const char *body; /* borrowed: a literal, `inline_body` or `heap_body` */
    size_t body_len;
    char *heap_body; /* owned; freed when the request ends */
    int file_fd;     /* >= 0: send this file (owned; closed when sent) instead of body */
    uint64_t file_size;
    const char *allow;         /* for 405 */
    const char *cache_control; /* literal or NULL */
    const char *location;      /* literal or NULL: redirects */
    char set_cookie[160];      /* "" or a Set-Cookie value */
    char etag[48];
    char last_modified[40];
    unsigned retry_after_s; /* 0: no Retry-After */
    bool close;             /* Connection: close, and the connection closes after this answer */
    char inline_body[RESPONSE_INLINE_BYTES];
};

struct request {
    struct http_server *server; /* the server it came from */
    void *ctx;                  /* the handlers' context (the server's handler_context) */
    void *connection;           /* http.c's, opaque elsewhere */
    enum request_method method;
    const char *method_name;
    char *target;      /* as sent, truncated to URLPATH_MAX_BYTES for the log when too long */
    char *path;        /* decoded */
    const char *query; /* into target: after '?', or "" */
    enum urlpath_status target_status;
    int64_t start_ns;
    bool is_probe; /* /healthz or /readyz: not counted as traffic while draining */
    struct response response;
    int http_phase;            /* http.c's bookkeeping: */
    const struct route *route; /* NULL until routed */
    /* http.c's framing checks, for the first handler call: where libmicrohttpd's copy of the
     * target starts and how long it was as sent (it then decodes it in place), and whether it
     * held only visible ASCII */
    const char *wire_target;
    size_t wire_target_len;
    bool wire_target_ok;
    size_t body_bytes; /* request body seen so far */
    char *body;        /* the body, for routes that take one (owned) */
    size_t body_len;
    struct store_call store_call;        /* the Redis operation in flight */
    struct store_hello_result hello;     /* /helloworld's replies */
    struct store_session_result session; /* /api/status's replies */
    struct request *next_free;           /* the server's pool list */
    char *heap_text;                     /* owned: target and path, when too long for inline */
    char inline_text[REQUEST_TEXT_INLINE_BYTES];
};

/* Resets `req` for a new exchange on `server`, with the handlers' context `ctx`. */
void request_init(struct request *req, struct http_server *server, void *ctx);

/* Releases what the request owns (long target, body, heap body, unsent file). */
void request_cleanup(struct request *req);

/* Keeps the request target `uri` (as sent) and decodes its path and query; sets target_status
 * (URLPATH_TOO_LONG past URLPATH_MAX_BYTES: the kept target is then cut there). */
void request_set_target(struct request *req, const char *uri);

/* Fills the response with a literal body (not copied). */
void response_set_static(struct response *res, unsigned status, const char *content_type,
                         const char *body);

/* Fills the response with a formatted body (copied: inline when short, else on the heap). */
void response_printf(struct response *res, unsigned status, const char *content_type,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Fills the response with `value` and a newline (the ping's body), without printf. */
void response_set_number(struct response *res, unsigned status, const char *content_type,
                         long long value);

/* Takes ownership of `body` (from malloc) as the response body. */
void response_set_heap(struct response *res, unsigned status, const char *content_type, char *body,
                       size_t len);

/* An error answer with a short message: JSON {"error": "..."} under /api/, plain text
 * elsewhere. */
void request_error(struct request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 503 with Retry-After and a short reason: Redis cannot answer now. */
void request_unavailable(struct request *req, const char *reason);

/* True for the JSON API (paths under /api/). */
bool request_is_api(const struct request *req);

#endif
