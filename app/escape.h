/* Output escaping: HTML text and log fields. Pure functions. */
#ifndef APP_ESCAPE_H
#define APP_ESCAPE_H

#include <stddef.h>

/* Writes `in` (len bytes) HTML-escaped (& < > " ') into `out`, NUL-terminated, truncating at
 * out_size. Returns the full escaped length (as snprintf does), so the caller can size `out`. */
size_t html_escape(const char *in, size_t len, char *out, size_t out_size);

/* Copies `in` into `out` for a log line: control characters, '"', '\' and bytes >= 0x7f
 * become \xHH. Truncates to out_size - 1 bytes. Returns the bytes written. */
size_t log_escape(const char *in, char *out, size_t out_size);

#endif
