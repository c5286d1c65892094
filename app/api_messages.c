/* /api/messages: the message board. GET lists the newest entries (?limit=1..100, default 20);
 * POST takes {"name": "...", "text": "..."} as application/json, checks it completely before
 * anything is stored, and answers 201 with the stored message. Replies are built with cJSON.
 * Worker thread only. */
#include "api_messages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "clock.h"
#include "config.h"
#include "http_headers.h"
#include "message_input.h"
#include "store.h"
#include "store_api.h"
#include "xmalloc.h"

#define NAME_MAX_CHARS 40
#define TEXT_MAX_CHARS 500
#define LIMIT_DEFAULT  20

/* "1700000000123-0" -> "2023-11-14T22:13:20.123Z" */
static void time_of_id(const char *id, char *out, size_t out_size)
{
    clock_format_iso_ms(atoll(id), out, out_size);
}

static cJSON *message_json(const char *id, size_t id_len, const char *name, size_t name_len,
                           const char *text, size_t text_len, const char *instance,
                           size_t instance_len)
{
    cJSON *item = cJSON_CreateObject();
    char *copy;
    char when[CLOCK_ISO_MAX_BYTES];

    /* the strings may lack a terminating NUL (Redis replies): copy with their lengths */
    copy = xstrndup(id, id_len);
    cJSON_AddStringToObject(item, "id", copy);
    time_of_id(copy, when, sizeof(when));
    free(copy);
    copy = xstrndup(name, name_len);
    cJSON_AddStringToObject(item, "name", copy);
    free(copy);
    copy = xstrndup(text, text_len);
    cJSON_AddStringToObject(item, "text", copy);
    free(copy);
    if (instance != NULL) {
        copy = xstrndup(instance, instance_len);
        cJSON_AddStringToObject(item, "instance", copy);
        free(copy);
    }
    cJSON_AddStringToObject(item, "time", when);
    return item;
}

static void list_done(void *arg, enum store_status status, const struct store_message *messages,
                      size_t count)
{
    struct request *req = arg;
    cJSON *root, *list;

    if (status != STORE_OK) {
        api_store_failure(req, status);
        http_request_complete(req);
        return;
    }
    root = cJSON_CreateObject();
    list = cJSON_AddArrayToObject(root, "messages");
    for (size_t i = 0; i < count; i++) {
        const struct store_message *m = &messages[i];

        cJSON_AddItemToArray(list, message_json(m->id, m->id_len, m->name, m->name_len, m->text,
                                                m->text_len, m->instance, m->instance_len));
    }
    cJSON_AddNumberToObject(root, "count", (double)count);
    api_respond_json(req, 200, root);
    http_request_complete(req);
}

/* ?limit=N: 1..STORE_MESSAGES_MAX. Returns the limit, or -1 (answered 400). */
static int parse_limit(struct request *req)
{
    int limit;

    if (!message_input_limit(req->query, LIMIT_DEFAULT, STORE_MESSAGES_MAX, &limit)) {
        request_error(req, 400, "limit must be a number from 1 to %d", STORE_MESSAGES_MAX);
        return -1;
    }
    return limit;
}

static enum handler_result list_messages(struct request *req)
{
    int limit = parse_limit(req);

    if (limit < 0) return HANDLER_DONE;
    return api_queued(
        req, store_messages_latest(api_store(req), &req->store_call, limit, list_done, req));
}

/* Trims a cJSON string field and checks it (message_input.c). Returns the trimmed copy (caller
 * frees) or NULL after answering 400. */
static char *checked_field(struct request *req, const cJSON *root, const char *field,
                           size_t max_chars, bool allow_newlines)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, field);
    size_t start, len;

    if (!cJSON_IsString(item)) {
        request_error(req, 400, "\"%s\" is required and must be a string", field);
        return NULL;
    }
    switch (message_input_field(item->valuestring, strlen(item->valuestring), max_chars,
                                allow_newlines, &start, &len)) {
    case MESSAGE_FIELD_OK:
        return xstrndup(item->valuestring + start, len);
    case MESSAGE_FIELD_NOT_UTF8:
        request_error(req, 400, "\"%s\" is not valid UTF-8", field);
        return NULL;
    case MESSAGE_FIELD_LENGTH:
        request_error(req, 400, "\"%s\" must hold 1 to %zu characters", field, max_chars);
        return NULL;
    case MESSAGE_FIELD_CONTROL:
    default:
        request_error(req, 400, "\"%s\" contains a control character", field);
        return NULL;
    }
}

/* Replaces the request body with the checked fields, "name\0text\0", for the answer. */
static void keep_fields(struct request *req, const char *name, const char *text)
{
    size_t name_len = strlen(name), text_len = strlen(text);
    char *kept = xmalloc(name_len + text_len + 2);

    memcpy(kept, name, name_len + 1);
    memcpy(kept + name_len + 1, text, text_len + 1);
    free(req->body);
    req->body = kept;
    req->body_len = name_len + text_len + 2;
}

static void added_done(void *arg, enum store_status status, const char *id, size_t id_len)
{
    struct request *req = arg;
    const char *instance = api_config(req)->instance_name;
    cJSON *root;
    char *echo;

    if (status != STORE_OK) {
        api_store_failure(req, status);
        http_request_complete(req);
        return;
    }
    echo = req->body; /* the checked fields (keep_fields) */
    root = message_json(id, id_len, echo, strlen(echo), echo + strlen(echo) + 1,
                        strlen(echo + strlen(echo) + 1), instance, strlen(instance));
    api_respond_json(req, 201, root);
    http_request_complete(req);
}

static enum handler_result post_message(struct request *req)
{
    cJSON *root;
    char *name = NULL, *text = NULL;
    int rc;

    if (!http_is_json_content_type(http_request_header(req, "Content-Type"))) {
        request_error(req, 415, "Content-Type must be application/json");
        return HANDLER_DONE;
    }
    if (req->body == NULL || req->body_len == 0) {
        request_error(req, 400, "the body is empty: send {\"name\": \"...\", \"text\": \"...\"}");
        return HANDLER_DONE;
    }
    root = cJSON_ParseWithLength(req->body, req->body_len);
    if (!cJSON_IsObject(root)) {
        request_error(req, 400,
                      root == NULL ? "the body is not valid JSON"
                                   : "the body must be a JSON object");
        cJSON_Delete(root);
        return HANDLER_DONE;
    }
    name = checked_field(req, root, "name", NAME_MAX_CHARS, false);
    if (name != NULL) text = checked_field(req, root, "text", TEXT_MAX_CHARS, true);
    cJSON_Delete(root);
    if (name == NULL || text == NULL) {
        free(name);
        free(text);
        return HANDLER_DONE;
    }
    rc = store_message_add(api_store(req), &req->store_call, name, text,
                           api_config(req)->instance_name, added_done, req);
    keep_fields(req, name, text);
    free(name);
    free(text);
    return api_queued(req, rc);
}

enum handler_result handle_api_messages(struct request *req)
{
    return req->method == METHOD_POST ? post_message(req) : list_messages(req);
}
