/* Handlers of the tutorial endpoints and the probes (handler_fn, http.h). Worker thread only. */
#ifndef APP_HANDLERS_H
#define APP_HANDLERS_H

#include "http.h"

enum handler_result handle_ping(struct request *req);
enum handler_result handle_query(struct request *req);
enum handler_result handle_helloworld(struct request *req);
enum handler_result handle_healthz(struct request *req);
enum handler_result handle_readyz(struct request *req);

/* Builds the helloworld page from the greeting read back and the INFO text. The result is the
 * caller's to free(); its length goes to *len. Pure: unit-tested. */
char *helloworld_render(const char *instance, const char *greeting, const char *info, size_t *len);

#endif
