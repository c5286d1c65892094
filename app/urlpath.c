/* Request-target parsing and the static-path rules. No I/O, no allocation: safe to unit-test
 * and fuzz. MHD's own unescaped URL is never used, because it decodes %00 and %2f silently. */
#include "urlpath.h"

#include <stdbool.h>
#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Skips "scheme://authority" of an absolute-form target, which HTTP/1.1 servers must accept. */
static const char *skip_absolute_form(const char *raw)
{
    const char *sep = strstr(raw, "://");
    const char *slash;

    if (raw[0] == '/' || sep == NULL) return raw;
    for (const char *p = raw; p < sep; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) return raw;
    }
    slash = strchr(sep + 3, '/');
    return slash != NULL ? slash : "/";
}

enum urlpath_status urlpath_decode(const char *raw, char *path, size_t path_size,
                                   const char **query)
{
    const char *p = skip_absolute_form(raw);
    size_t used = 0;

    *query = "";
    if (strlen(raw) > URLPATH_MAX_BYTES) return URLPATH_TOO_LONG;
    if (*p != '/') return URLPATH_MALFORMED;
    for (; *p != '\0' && *p != '?' && *p != '#'; p++) {
        unsigned char c = (unsigned char)*p;

        if (c == '%') {
            int hi = hex_value(p[1]);
            int lo = hi < 0 ? -1 : hex_value(p[2]);

            if (lo < 0) return URLPATH_MALFORMED;
            c = (unsigned char)(hi * 16 + lo);
            if (c == '\0' || c == '/' || c == '\\') return URLPATH_MALFORMED;
            p += 2;
        }
        if (c < 0x20 || c == 0x7f) return URLPATH_MALFORMED;
        if (used + 1 >= path_size) return URLPATH_TOO_LONG;
        path[used++] = (char)c;
    }
    path[used] = '\0';
    if (*p == '?') *query = p + 1;
    return URLPATH_OK;
}

enum urlpath_status urlpath_static_file(const char *relative, char *out, size_t out_size)
{
    const char *segment = relative;
    size_t len = strlen(relative);

    if (strchr(relative, '\\') != NULL || relative[0] == '/') return URLPATH_FORBIDDEN;
    while (*segment != '\0') {
        const char *slash = strchr(segment, '/');
        size_t seg_len = slash != NULL ? (size_t)(slash - segment) : strlen(segment);

        if (seg_len == 0) return URLPATH_FORBIDDEN; /* "a//b" */
        if ((seg_len == 1 && segment[0] == '.') ||
            (seg_len == 2 && segment[0] == '.' && segment[1] == '.'))
            return URLPATH_FORBIDDEN;
        if (segment[0] == '.') return URLPATH_HIDDEN;
        if (slash == NULL) break;
        segment = slash + 1;
    }
    if (len == 0 || relative[len - 1] == '/') {
        static const char index_name[] = "index.html";

        if (len + sizeof(index_name) > out_size) return URLPATH_TOO_LONG;
        memcpy(out, relative, len);
        memcpy(out + len, index_name, sizeof(index_name));
        return URLPATH_OK;
    }
    if (len + 1 > out_size) return URLPATH_TOO_LONG;
    memcpy(out, relative, len + 1);
    return URLPATH_OK;
}

int urlpath_query_param(const char *query, const char *name, char *out, size_t out_size)
{
    size_t name_len = strlen(name);
    const char *p = query;

    while (*p != '\0') {
        const char *end = strchr(p, '&');
        size_t pair_len = end != NULL ? (size_t)(end - p) : strlen(p);

        if (pair_len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            size_t value_len = pair_len - name_len - 1;

            if (value_len + 1 > out_size) return -1;
            memcpy(out, p + name_len + 1, value_len);
            out[value_len] = '\0';
            return (int)value_len;
        }
        if (end == NULL) break;
        p = end + 1;
    }
    return -1;
}
