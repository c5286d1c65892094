/* GET /metrics: the Prometheus text format of the counters in metrics.h (handler_fn, http.h). */
#ifndef APP_API_METRICS_H
#define APP_API_METRICS_H

#include "http.h"

enum handler_result handle_metrics(struct request *req);

#endif
