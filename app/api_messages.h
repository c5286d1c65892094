/* GET and POST /api/messages: the message board (handler_fn, http.h). */
#ifndef APP_API_MESSAGES_H
#define APP_API_MESSAGES_H

#include "http.h"

enum handler_result handle_api_messages(struct request *req);

#endif
