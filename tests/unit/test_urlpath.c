/* urlpath: request-target decoding and the rules that keep /static/ inside its folder. */
#include "urlpath.h"

#include "check.h"

static enum urlpath_status decode(const char *raw, char *out, const char **query)
{
    return urlpath_decode(raw, out, URLPATH_MAX_BYTES + 1, query);
}

static void test_decode(void)
{
    char path[URLPATH_MAX_BYTES + 1];
    const char *query;

    CHECK(decode("/", path, &query) == URLPATH_OK);
    CHECK_STR(path, "/");
    CHECK_STR(query, "");
    CHECK(decode("/query/?a=1&b=2", path, &query) == URLPATH_OK);
    CHECK_STR(path, "/query/");
    CHECK_STR(query, "a=1&b=2");
    CHECK(decode("/a%20b%7e", path, &query) == URLPATH_OK);
    CHECK_STR(path, "/a b~");
    CHECK(decode("/static/%2e%2e/x", path, &query) == URLPATH_OK);
    CHECK_STR(path, "/static/../x"); /* decoded once; the static rules refuse it */
    CHECK(decode("/static/%252e%252e/x", path, &query) == URLPATH_OK);
    CHECK_STR(path, "/static/%2e%2e/x"); /* never decoded twice */
    CHECK(decode("http://example.org/ping?x", path, &query) == URLPATH_OK);
    CHECK_STR(path, "/ping");
    CHECK_STR(query, "x");
    CHECK(decode("/a#frag", path, &query) == URLPATH_OK);
    CHECK_STR(path, "/a");

    CHECK(decode("/a%2fb", path, &query) == URLPATH_MALFORMED);
    CHECK(decode("/a%2Fb", path, &query) == URLPATH_MALFORMED);
    CHECK(decode("/a%5cb", path, &query) == URLPATH_MALFORMED);
    CHECK(decode("/a%00b", path, &query) == URLPATH_MALFORMED);
    CHECK(decode("/a%0ab", path, &query) == URLPATH_MALFORMED);
    CHECK(decode("/a%zz", path, &query) == URLPATH_MALFORMED);
    CHECK(decode("/a%4", path, &query) == URLPATH_MALFORMED);
    CHECK(decode("/a%", path, &query) == URLPATH_MALFORMED);
    CHECK(decode("a", path, &query) == URLPATH_MALFORMED);
    CHECK(decode("*", path, &query) == URLPATH_MALFORMED);
    CHECK(decode("/a\tb", path, &query) == URLPATH_MALFORMED);
}

static void test_too_long(void)
{
    char raw[URLPATH_MAX_BYTES + 10];
    char path[16];
    const char *query;

    memset(raw, 'a', sizeof(raw) - 1);
    raw[0] = '/';
    raw[sizeof(raw) - 1] = '\0';
    CHECK(urlpath_decode(raw, path, sizeof(path), &query) == URLPATH_TOO_LONG);
    CHECK(urlpath_decode("/0123456789abcdefghij", path, sizeof(path), &query) == URLPATH_TOO_LONG);
}

static void test_static_rules(void)
{
    char out[64];

    CHECK(urlpath_static_file("", out, sizeof(out)) == URLPATH_OK);
    CHECK_STR(out, "index.html");
    CHECK(urlpath_static_file("css/", out, sizeof(out)) == URLPATH_OK);
    CHECK_STR(out, "css/index.html");
    CHECK(urlpath_static_file("app.js", out, sizeof(out)) == URLPATH_OK);
    CHECK_STR(out, "app.js");
    CHECK(urlpath_static_file("a/b/c.png", out, sizeof(out)) == URLPATH_OK);
    CHECK(urlpath_static_file("a..b.txt", out, sizeof(out)) == URLPATH_OK); /* not a segment */

    CHECK(urlpath_static_file("..", out, sizeof(out)) == URLPATH_FORBIDDEN);
    CHECK(urlpath_static_file("../etc/passwd", out, sizeof(out)) == URLPATH_FORBIDDEN);
    CHECK(urlpath_static_file("a/../../x", out, sizeof(out)) == URLPATH_FORBIDDEN);
    CHECK(urlpath_static_file("a/..", out, sizeof(out)) == URLPATH_FORBIDDEN);
    CHECK(urlpath_static_file("./x", out, sizeof(out)) == URLPATH_FORBIDDEN);
    CHECK(urlpath_static_file("a//b", out, sizeof(out)) == URLPATH_FORBIDDEN);
    CHECK(urlpath_static_file("/etc/passwd", out, sizeof(out)) == URLPATH_FORBIDDEN);
    CHECK(urlpath_static_file("a\\..\\x", out, sizeof(out)) == URLPATH_FORBIDDEN);
    CHECK(urlpath_static_file("..\\x", out, sizeof(out)) == URLPATH_FORBIDDEN);
    CHECK(urlpath_static_file(".git/config", out, sizeof(out)) == URLPATH_HIDDEN);
    CHECK(urlpath_static_file("a/.env", out, sizeof(out)) == URLPATH_HIDDEN);
    CHECK(urlpath_static_file("0123456789012345678901234567890123456789012345678901234567890123",
                              out, sizeof(out)) == URLPATH_TOO_LONG);
}

static void test_query_param(void)
{
    char value[8];

    CHECK(urlpath_query_param("a=1&limit=20", "limit", value, sizeof(value)) == 2);
    CHECK_STR(value, "20");
    CHECK(urlpath_query_param("limit=5", "limit", value, sizeof(value)) == 1);
    CHECK(urlpath_query_param("xlimit=5", "limit", value, sizeof(value)) == -1);
    CHECK(urlpath_query_param("limit", "limit", value, sizeof(value)) == -1);
    CHECK(urlpath_query_param("limit=123456789", "limit", value, sizeof(value)) == -1);
    CHECK(urlpath_query_param("", "limit", value, sizeof(value)) == -1);
}

int main(void)
{
    test_decode();
    test_too_long();
    test_static_rules();
    test_query_param();
    return check_summary("test_urlpath");
}
