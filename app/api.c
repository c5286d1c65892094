/* The answers more than one handler gives, written once (api.h). Worker thread only. */
#include "api.h"

#include <string.h>

#include <cjson/cJSON.h>

struct api_failure api_failure_of(enum store_status status)
{
    if (status == STORE_UNAVAILABLE)
        return (struct api_failure){503, 1, "service unavailable: Redis did not answer in time"};
    return (struct api_failure){500, 0,
                                "internal error: a Redis command failed (see the server log)"};
}

void api_store_failure(struct request *req, enum store_status status)
{
    struct api_failure failure = api_failure_of(status);

    request_error(req, failure.status, "%s", failure.message);
    req->response.retry_after_s = failure.retry_after_s;
}

void api_respond_json(struct request *req, unsigned status, cJSON *root)
{
    char *body = cJSON_PrintUnformatted(root);

    cJSON_Delete(root);
    response_set_heap(&req->response, status, CONTENT_TYPE_JSON, body, strlen(body));
    req->response.cache_control = "no-store";
}
