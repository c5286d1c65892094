/* Route handlers. Each fills req->response, or starts a store operation and returns
 * HANDLER_PENDING. They run on the worker thread that owns the request. */
#ifndef APP_HANDLERS_H
#define APP_HANDLERS_H

#include "routes.h"

enum handler_result handle_ping(struct request *req);
enum handler_result handle_query(struct request *req);
enum handler_result handle_helloworld(struct request *req);
enum handler_result handle_healthz(struct request *req);
enum handler_result handle_readyz(struct request *req);
enum handler_result handle_api_status(struct request *req);      /* api_status.c */
enum handler_result handle_api_topology(struct request *req);    /* api_status.c */
enum handler_result handle_api_messages(struct request *req);    /* api_messages.c */
enum handler_result handle_static(struct request *req);          /* static_files.c */
enum handler_result handle_static_redirect(struct request *req); /* static_files.c */

/* Builds the helloworld page from the greeting read back and the INFO text. The result is the
 * caller's to free(); its length goes to *len. Pure: unit-tested. */
char *helloworld_render(const char *instance, const char *greeting, const char *info, size_t *len);

#endif
