/* Request reset and response builders. No I/O. */
#include "request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "xmalloc.h"

void request_init(struct request *req, struct http_server *server, void *ctx)
{
    req->server = server;
    req->ctx = ctx;
    req->connection = NULL;
    req->method = METHOD_OTHER;
    req->method_name = "";
    req->inline_text[0] = '\0';
    req->target = req->path = req->inline_text;
    req->heap_text = NULL;
    req->query = "";
    req->target_status = URLPATH_OK;
    req->start_ns = 0;
    req->is_probe = false;
    req->http_phase = 0;
    req->route = NULL;
    req->wire_target = NULL;
    req->wire_target_len = 0;
    req->wire_target_ok = false;
    req->body_bytes = 0;
    memset(&req->response, 0, offsetof(struct response, inline_body));
    req->response.file_fd = -1;
    req->response.set_cookie[0] = '\0';
    req->hello.info = NULL;
    req->body = NULL;
    req->body_len = 0;
    req->next_free = NULL;
}

void request_cleanup(struct request *req)
{
    free(req->heap_text);
    req->heap_text = NULL;
    req->target = req->path = req->inline_text;
    free(req->hello.info);
    req->hello.info = NULL;
    free(req->body);
    req->body = NULL;
    free(req->response.heap_body);
    req->response.heap_body = NULL;
    if (req->response.file_fd >= 0) close(req->response.file_fd);
    req->response.file_fd = -1;
}

void request_set_target(struct request *req, const char *uri)
{
    size_t len = strlen(uri);
    size_t kept = len > URLPATH_MAX_BYTES ? URLPATH_MAX_BYTES : len;
    size_t room = 2 * (kept + 1); /* the decoded path is never longer than the target */
    char *text = req->inline_text;

    if (room > sizeof(req->inline_text)) text = req->heap_text = xmalloc(room);
    req->target = text;
    req->path = text + kept + 1;
    memcpy(req->target, uri, kept);
    req->target[kept] = '\0';
    req->path[0] = '\0';
    req->query = "";
    if (len > URLPATH_MAX_BYTES)
        req->target_status = URLPATH_TOO_LONG;
    else
        req->target_status = urlpath_decode(req->target, req->path, kept + 1, &req->query);
}

void response_set_static(struct response *res, unsigned status, const char *content_type,
                         const char *body)
{
    res->status = status;
    res->content_type = content_type;
    res->body = body;
    res->body_len = strlen(body);
}

void response_set_heap(struct response *res, unsigned status, const char *content_type, char *body,
                       size_t len)
{
    free(res->heap_body);
    res->status = status;
    res->content_type = content_type;
    res->heap_body = body;
    res->body = body;
    res->body_len = len;
}

void response_set_number(struct response *res, unsigned status, const char *content_type,
                         long long value)
{
    char digits[24];
    size_t n = sizeof(digits);
    unsigned long long magnitude =
        value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;

    digits[--n] = '\n';
    do {
        digits[--n] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude != 0);
    if (value < 0) digits[--n] = '-';
    memcpy(res->inline_body, digits + n, sizeof(digits) - n);
    res->status = status;
    res->content_type = content_type;
    res->body = res->inline_body;
    res->body_len = sizeof(digits) - n;
}

void response_printf(struct response *res, unsigned status, const char *content_type,
                     const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(res->inline_body, sizeof(res->inline_body), fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n < sizeof(res->inline_body)) {
        res->status = status;
        res->content_type = content_type;
        res->body = res->inline_body;
        res->body_len = (size_t)n;
        return;
    }
    {
        char *heap = xmalloc((size_t)n + 1);

        va_start(ap, fmt);
        vsnprintf(heap, (size_t)n + 1, fmt, ap);
        va_end(ap);
        response_set_heap(res, status, content_type, heap, (size_t)n);
    }
}

bool request_is_api(const struct request *req)
{
    return strncmp(req->path, "/api/", 5) == 0;
}

void request_error(struct request *req, unsigned status, const char *fmt, ...)
{
    char message[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (request_is_api(req)) {
        cJSON *root = cJSON_CreateObject();
        char *body;

        cJSON_AddStringToObject(root, "error", message);
        body = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
        response_set_heap(&req->response, status, CONTENT_TYPE_JSON, body, strlen(body));
    } else {
        response_printf(&req->response, status, CONTENT_TYPE_TEXT, "%s\n", message);
    }
}

void request_unavailable(struct request *req, const char *reason)
{
    request_error(req, 503, "service unavailable: %s", reason);
    req->response.retry_after_s = 1;
}
