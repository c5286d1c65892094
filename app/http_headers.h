/* Parsers of the request header values the handlers read: a cookie from Cookie, If-None-Match and
 * If-Modified-Since against a file's validators, the JSON media type in Content-Type. Every input
 * comes from the client; a value that does not parse is treated as absent, never as an error.
 * Pure functions, no allocation; any thread. */
#ifndef APP_HTTP_HEADERS_H
#define APP_HTTP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Finds the first cookie called `name` in a Cookie header (NULL: none) whose value is exactly
 * `value_len` lowercase hex digits, skipping pairs of that name that are not. Returns a pointer to
 * the value inside `header` (not NUL-terminated), or NULL. */
const char *http_cookie_hex_value(const char *header, const char *name, size_t value_len);

/* True when an If-None-Match value ("a", W/"b", *) names `etag` (a quoted entity tag), by the
 * weak comparison RFC 9110 13.1.2 asks for. */
bool http_etag_matches(const char *if_none_match, const char *etag);

/* Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110 5.6.7) into seconds since the
 * epoch. Returns false for anything else (the two obsolete formats too: the caller then answers
 * in full, which is always correct). */
bool http_date_parse(const char *value, time_t *out);

/* Whether a conditional GET of a file with `etag` and modification time `mtime` may answer 304:
 * If-None-Match decides when present (If-Modified-Since is then ignored, RFC 9110 13.2.2), else
 * If-Modified-Since when it parses. NULL: the header is absent. */
bool http_not_modified(const char *if_none_match, const char *if_modified_since, const char *etag,
                       time_t mtime);

/* True for a Content-Type of application/json (any case), with or without parameters. */
bool http_is_json_content_type(const char *value);

#endif
