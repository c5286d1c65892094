/* Handlers of the tutorial endpoints and the probes. Redis-backed ones start a store operation
 * and finish in its callback; a failed one is answered by api_store_failure() (api.c). Worker
 * thread only. */
#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "escape.h"
#include "store.h"
#include "store_counter.h"
#include "xmalloc.h"

static void ping_done(void *arg, enum store_status status, long long value)
{
    struct request *req = arg;

    if (status == STORE_OK)
        response_set_number(&req->response, 200, CONTENT_TYPE_TEXT, value);
    else
        api_store_failure(req, status);
    http_request_complete(req);
}

enum handler_result handle_ping(struct request *req)
{
    return api_queued(req, store_incr_counter(api_store(req), &req->store_call, ping_done, req));
}

static void query_done(void *arg, enum store_status status, const char *value, size_t len)
{
    struct request *req = arg;
    const char *instance = api_config(req)->instance_name;

    if (status == STORE_OK)
        response_printf(&req->response, 200, CONTENT_TYPE_TEXT,
                        "hello world from %s, with value: %.*s\n", instance, (int)len, value);
    else if (status == STORE_NOT_FOUND)
        response_printf(&req->response, 200, CONTENT_TYPE_TEXT,
                        "hello world from %s, with value: (none: key redis_app is not set)\n",
                        instance);
    else
        api_store_failure(req, status);
    http_request_complete(req);
}

enum handler_result handle_query(struct request *req)
{
    return api_queued(req,
                      store_get_query_value(api_store(req), &req->store_call, query_done, req));
}

/* Appends `text` HTML-escaped to the buffer at *out, growing it as needed. */
static void append_escaped(char **out, size_t *used, size_t *cap, const char *text, size_t len)
{
    size_t need = escape_html(text, len, NULL, 0);

    if (*used + need + 1 > *cap) {
        *cap = (*used + need + 1) * 2;
        *out = xrealloc(*out, *cap);
    }
    escape_html(text, len, *out + *used, *cap - *used);
    *used += need;
}

static void append_raw(char **out, size_t *used, size_t *cap, const char *text)
{
    size_t len = strlen(text);

    if (*used + len + 1 > *cap) {
        *cap = (*used + len + 1) * 2;
        *out = xrealloc(*out, *cap);
    }
    memcpy(*out + *used, text, len + 1);
    *used += len;
}

char *helloworld_render(const char *instance, const char *greeting, const char *info, size_t *len)
{
    size_t used = 0, cap = 4096 + strlen(info) * 2;
    char *out = xmalloc(cap);
    const char *line = info;

    out[0] = '\0';
    append_raw(&out, &used, &cap,
               "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
               "<title>Hello World from ");
    append_escaped(&out, &used, &cap, instance, strlen(instance));
    append_raw(&out, &used, &cap, "</title></head>\n<body>\n<h1>");
    append_escaped(&out, &used, &cap, greeting, strlen(greeting));
    append_raw(&out, &used, &cap, "</h1>\n<p>Redis INFO, as seen by ");
    append_escaped(&out, &used, &cap, instance, strlen(instance));
    append_raw(&out, &used, &cap, ":</p>\n<pre>\n");
    while (*line != '\0') {
        size_t line_len = strcspn(line, "\r\n");
        const char *colon = memchr(line, ':', line_len);

        if (line_len > 0 && line[0] != '#' && colon != NULL) {
            size_t key_len = (size_t)(colon - line);

            append_escaped(&out, &used, &cap, line, key_len);
            append_raw(&out, &used, &cap, ": ");
            append_escaped(&out, &used, &cap, colon + 1, line_len - key_len - 1);
            append_raw(&out, &used, &cap, "\n");
        } else if (line_len > 0) {
            append_escaped(&out, &used, &cap, line, line_len); /* "# Server" section titles */
            append_raw(&out, &used, &cap, "\n");
        }
        line += line_len;
        line += strspn(line, "\r\n");
    }
    append_raw(&out, &used, &cap, "</pre>\n</body>\n</html>\n");
    *len = used;
    return out;
}

static void helloworld_done(void *arg, struct store_hello_result *result)
{
    struct request *req = arg;
    size_t len;
    char *page;

    if (result->status != STORE_OK) {
        api_store_failure(req, result->status == STORE_NOT_FOUND ? STORE_FAILED : result->status);
        http_request_complete(req);
        return;
    }
    page = helloworld_render(api_config(req)->instance_name, result->greeting, result->info, &len);
    response_set_heap(&req->response, 200, CONTENT_TYPE_HTML, page, len);
    http_request_complete(req);
}

enum handler_result handle_helloworld(struct request *req)
{
    char greeting[STORE_GREETING_MAX_BYTES];

    snprintf(greeting, sizeof(greeting), "HelloWorld-%s", api_config(req)->instance_name);
    return api_queued(req, store_hello_world(api_store(req), &req->store_call, greeting,
                                             &req->hello, helloworld_done, req));
}

enum handler_result handle_healthz(struct request *req)
{
    response_set_static(&req->response, 200, CONTENT_TYPE_TEXT, "ok\n");
    return HANDLER_DONE;
}

static void readyz_done(void *arg, enum store_status status)
{
    struct request *req = arg;

    if (api_is_draining(req))
        request_unavailable(req, "shutting down");
    else if (status == STORE_OK)
        response_set_static(&req->response, 200, CONTENT_TYPE_TEXT, "ready\n");
    else
        request_unavailable(req, "Redis did not answer PING in time");
    http_request_complete(req);
}

enum handler_result handle_readyz(struct request *req)
{
    if (api_is_draining(req)) {
        request_unavailable(req, "shutting down");
        return HANDLER_DONE;
    }
    return api_queued(req, store_ping(api_store(req), &req->store_call, readyz_done, req));
}
