/* GET/HEAD /static/...: files below the static folder only. The path is checked twice: by the
 * lexical rules of urlpath.c (no '..', '\', encoded separators, dot-files), then by resolving
 * symlinks with realpath() and requiring the result inside the folder. Conditional requests
 * (ETag, Last-Modified) answer 304. Worker thread only. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "static_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "http_headers.h"

static const struct {
    const char *extension;
    const char *type;
} content_types[] = {
    {".html", CONTENT_TYPE_HTML},
    {".htm", CONTENT_TYPE_HTML},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", CONTENT_TYPE_JSON},
    {".txt", CONTENT_TYPE_TEXT},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".map", CONTENT_TYPE_JSON},
    {".webmanifest", "application/manifest+json"},
};

static const char *content_type_of(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot != NULL && strchr(dot, '/') == NULL) {
        for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++) {
            if (strcasecmp(dot, content_types[i].extension) == 0) return content_types[i].type;
        }
    }
    return "application/octet-stream";
}

static void not_found(struct request *req)
{
    response_set_static(&req->response, 404, CONTENT_TYPE_TEXT, "not found\n");
}

/* Opens `name` below `root` (a realpath) when its resolved path stays inside. */
static int open_inside(const char *root, const char *name, struct stat *st)
{
    char joined[PATH_MAX], resolved[PATH_MAX];
    size_t root_len = strlen(root);
    int fd;

    if (snprintf(joined, sizeof(joined), "%s/%s", root, name) >= (int)sizeof(joined)) return -1;
    if (realpath(joined, resolved) == NULL) return -1;
    if (strncmp(resolved, root, root_len) != 0 || resolved[root_len] != '/') {
        errno = EACCES; /* a symlink pointing outside the folder */
        return -1;
    }
    fd = open(resolved, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        errno = ENOENT; /* directories are never listed */
        return -1;
    }
    return fd;
}

enum handler_result handle_static(struct request *req)
{
    const char *root = api_config(req)->static_dir;
    char name[URLPATH_MAX_BYTES + 16];
    struct stat st;
    struct tm tm;
    int fd;

    if (root[0] == '\0') {
        not_found(req);
        return HANDLER_DONE;
    }
    switch (urlpath_static_file(req->path + strlen("/static/"), name, sizeof(name))) {
    case URLPATH_OK:
        break;
    case URLPATH_HIDDEN:
        not_found(req);
        return HANDLER_DONE;
    case URLPATH_TOO_LONG:
        response_set_static(&req->response, 414, CONTENT_TYPE_TEXT, "path too long\n");
        return HANDLER_DONE;
    default:
        response_set_static(&req->response, 400, CONTENT_TYPE_TEXT,
                            "bad path: '.', '..', '\\' and empty segments are not allowed\n");
        return HANDLER_DONE;
    }
    fd = open_inside(root, name, &st);
    if (fd < 0) {
        not_found(req);
        return HANDLER_DONE;
    }
    snprintf(req->response.etag, sizeof(req->response.etag), "\"%llx-%llx\"",
             (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
                 (unsigned long long)st.st_mtim.tv_nsec);
    gmtime_r(&st.st_mtim.tv_sec, &tm);
    strftime(req->response.last_modified, sizeof(req->response.last_modified),
             "%a, %d %b %Y %H:%M:%S GMT", &tm);
    req->response.cache_control = "no-cache";
    if (http_not_modified(http_request_header(req, "If-None-Match"),
                          http_request_header(req, "If-Modified-Since"), req->response.etag,
                          st.st_mtim.tv_sec)) {
        close(fd);
        response_set_static(&req->response, 304, content_type_of(name), "");
        return HANDLER_DONE;
    }
    req->response.status = 200;
    req->response.content_type = content_type_of(name);
    req->response.file_fd = fd;
    req->response.file_size = (uint64_t)st.st_size;
    return HANDLER_DONE;
}

enum handler_result handle_static_redirect(struct request *req)
{
    response_set_static(&req->response, 308, CONTENT_TYPE_TEXT, "moved to /static/\n");
    req->response.location = "/static/";
    return HANDLER_DONE;
}
