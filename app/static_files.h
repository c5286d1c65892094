/* GET and HEAD /static/...: files below the static folder (handler_fn, http.h). */
#ifndef APP_STATIC_FILES_H
#define APP_STATIC_FILES_H

#include "http.h"

enum handler_result handle_static(struct request *req);
enum handler_result handle_static_redirect(struct request *req);

#endif
