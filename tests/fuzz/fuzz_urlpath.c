/* libFuzzer target: request-target decoding and the static-folder rules (urlpath.c), fed
 * arbitrary bytes. The invariants checked: no crash, outputs NUL-terminated and within bounds,
 * and an accepted static name never contains a ".." segment, a backslash or a leading '/'. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "urlpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_static_name(const char *name)
{
    const char *p = name;

    if (name[0] == '/' || strchr(name, '\\') != NULL) abort();
    while ((p = strstr(p, "..")) != NULL) {
        if ((p == name || p[-1] == '/') && (p[2] == '\0' || p[2] == '/')) abort();
        p += 2;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *raw = malloc(size + 1);
    char path[URLPATH_MAX_BYTES + 1], name[URLPATH_MAX_BYTES + 16], value[32];
    const char *query;

    memcpy(raw, data, size);
    raw[size] = '\0';
    if (urlpath_decode(raw, path, sizeof(path), &query) == URLPATH_OK) {
        if (strlen(path) >= sizeof(path) || path[0] != '/') abort();
        if (strncmp(path, "/static/", 8) == 0 &&
            urlpath_static_file(path + 8, name, sizeof(name)) == URLPATH_OK)
            check_static_name(name);
        urlpath_query_param(query, "limit", value, sizeof(value));
    }
    free(raw);
    return 0;
}
