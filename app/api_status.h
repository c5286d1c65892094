/* GET /api/status and GET /api/topology (handler_fn, http.h). */
#ifndef APP_API_STATUS_H
#define APP_API_STATUS_H

#include "http.h"

enum handler_result handle_api_status(struct request *req);
enum handler_result handle_api_topology(struct request *req);

#endif
