/* Request-target parsing: splits path and query, percent-decodes the path once and strictly,
 * and checks a path below /static/ for every way out of the folder. Pure functions. */
#ifndef APP_URLPATH_H
#define APP_URLPATH_H

#include <stddef.h>

#define URLPATH_MAX_BYTES 2048 /* longer request targets are answered 414 */

enum urlpath_status {
    URLPATH_OK,
    URLPATH_MALFORMED, /* bad escape, %00, encoded '/' or '\', control character, no leading '/' */
    URLPATH_TOO_LONG,
    URLPATH_FORBIDDEN, /* a static path with '..', '.', '\', empty segments */
    URLPATH_HIDDEN,    /* a static path naming a dot-file */
};

/* Decodes the path of the raw request target `raw` ("/a%20b?x=1" or "http://h/a") into `path`
 * (NUL-terminated, at most `path_size` bytes with the NUL). `*query` points into `raw` after
 * the '?', or to "" when there is none. */
enum urlpath_status urlpath_decode(const char *raw, char *path, size_t path_size,
                                   const char **query);

/* Checks `relative`, the decoded path after "/static/", and writes the file's relative name to
 * `out` ("index.html" for an empty path or one ending in '/'). The caller still resolves
 * symlinks (static_files.c). */
enum urlpath_status urlpath_static_file(const char *relative, char *out, size_t out_size);

/* Finds `name` in a query string "a=1&b=2" and copies its raw value (not decoded) into `out`.
 * Returns the value's length, or -1 when absent or longer than out_size - 1. */
int urlpath_query_param(const char *query, const char *name, char *out, size_t out_size);

#endif
