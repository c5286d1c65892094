/* Output escaping (HTML text, log fields, JSON strings) and the UTF-8 check of input text. Pure
 * functions, no allocation; any thread. */
#ifndef APP_ESCAPE_H
#define APP_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/* Writes `in` (len bytes) HTML-escaped (& < > " ') into `out`, NUL-terminated, truncating at
 * out_size. Returns the full escaped length (as snprintf does), so the caller can size `out`. */
size_t escape_html(const char *in, size_t len, char *out, size_t out_size);

/* Copies `in` into `out` for a log line: control characters, '"', '\' and bytes >= 0x7f
 * become \xHH. Truncates to out_size - 1 bytes. Returns the bytes written. */
size_t escape_log(const char *in, char *out, size_t out_size);

/* Checks that `in` (len bytes) is well-formed UTF-8: no overlong forms, no surrogates, nothing
 * above U+10FFFF. On success returns true and the number of code points in *code_points. */
bool escape_utf8_check(const char *in, size_t len, size_t *code_points);

/* Copies `in` into `out` as the inside of a JSON string ("\"", "\\", control characters
 * escaped; bytes >= 0x80 kept). Truncates to out_size - 1 bytes without splitting an escape.
 * Returns the bytes written. */
size_t escape_json(const char *in, char *out, size_t out_size);

#endif
