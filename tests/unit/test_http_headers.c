/* http_headers: the Cookie, If-None-Match, If-Modified-Since and Content-Type parsers. */
#include "http_headers.h"

#include "check.h"

#define ID "0123456789abcdef0123456789abcdef"

static void test_cookie(void)
{
    const char *v;

    v = http_cookie_hex_value("sid=" ID, "sid", 32);
    CHECK(v != NULL && strncmp(v, ID, 32) == 0);
    v = http_cookie_hex_value("theme=dark; sid=" ID "; lang=en", "sid", 32);
    CHECK(v != NULL && strncmp(v, ID, 32) == 0);
    v = http_cookie_hex_value(" \t;sid=" ID, "sid", 32);
    CHECK(v != NULL && strncmp(v, ID, 32) == 0);
    /* a malformed pair of that name is skipped, a later good one found */
    v = http_cookie_hex_value("sid=nothex; sid=" ID, "sid", 32);
    CHECK(v != NULL && strncmp(v, ID, 32) == 0);

    CHECK(http_cookie_hex_value(NULL, "sid", 32) == NULL);
    CHECK(http_cookie_hex_value("", "sid", 32) == NULL);
    CHECK(http_cookie_hex_value("sid=", "sid", 32) == NULL);
    CHECK(http_cookie_hex_value("sid=" ID "0", "sid", 32) == NULL); /* too long */
    CHECK(http_cookie_hex_value("sid=0123456789ABCDEF0123456789abcdef", "sid", 32) == NULL);
    CHECK(http_cookie_hex_value("xsid=" ID, "sid", 32) == NULL);
    CHECK(http_cookie_hex_value("sid =" ID, "sid", 32) == NULL);
    CHECK(http_cookie_hex_value("sid=" ID " ", "sid", 32) == NULL);
    CHECK(http_cookie_hex_value("SID=" ID, "sid", 32) == NULL); /* cookie names are exact */
}

static void test_etag(void)
{
    const char *etag = "\"6-17a\"";

    CHECK(http_etag_matches("\"6-17a\"", etag));
    CHECK(http_etag_matches("W/\"6-17a\"", etag));
    CHECK(http_etag_matches("\"other\", W/\"6-17a\"", etag));
    CHECK(http_etag_matches(" \"x\" ,\t\"6-17a\" ", etag));
    CHECK(http_etag_matches(",,\"6-17a\",", etag));
    CHECK(http_etag_matches("*", etag));
    CHECK(http_etag_matches(" * ", etag));
    CHECK(http_etag_matches("\"a,b\", \"6-17a\"", etag)); /* a comma inside a tag */

    CHECK(!http_etag_matches(NULL, etag));
    CHECK(!http_etag_matches("", etag));
    CHECK(!http_etag_matches("\"other\"", etag));
    CHECK(!http_etag_matches("\"6-17a", etag));
    CHECK(!http_etag_matches("6-17a", etag));
    CHECK(!http_etag_matches("\"6-17a\"x", etag));
    CHECK(!http_etag_matches("\"6-17ab\"", etag));
    CHECK(!http_etag_matches("\"6-17\"", etag));
    CHECK(!http_etag_matches("*x", etag));
    CHECK(!http_etag_matches("w/\"6-17a\"", etag));
    CHECK(!http_etag_matches("\"x\" junk, \"6-17a\"", etag)); /* malformed: no match at all */
    CHECK(!http_etag_matches("\"6-17a\"", ""));
}

static void test_date(void)
{
    time_t t = 0;

    CHECK(http_date_parse("Thu, 01 Jan 1970 00:00:00 GMT", &t) && t == 0);
    CHECK(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &t) && t == 784111777);
    CHECK(http_date_parse("Wed, 18 May 2033 03:33:20 GMT", &t) && t == 2000000000);
    CHECK(http_date_parse("Tue, 29 Feb 2000 12:00:00 GMT", &t) && t == 951825600);
    CHECK(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT  ", &t) && t == 784111777);
    CHECK(http_date_parse("Mon, 01 Jan 1990 00:00:00 GMT", &t) && t == 631152000);

    CHECK(!http_date_parse(NULL, &t));
    CHECK(!http_date_parse("", &t));
    CHECK(!http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &t)); /* obsolete formats */
    CHECK(!http_date_parse("Sun Nov  6 08:49:37 1994", &t));
    CHECK(!http_date_parse("Sun, 06 Nov 1994 08:49:37 UTC", &t));
    CHECK(!http_date_parse("Sun, 6 Nov 1994 08:49:37 GMT", &t));
    CHECK(!http_date_parse("Xyz, 06 Nov 1994 08:49:37 GMT", &t));
    CHECK(!http_date_parse("onT, 06 Nov 1994 08:49:37 GMT", &t));
    CHECK(!http_date_parse("Sun, 06 Nox 1994 08:49:37 GMT", &t));
    CHECK(!http_date_parse("Sun, 00 Nov 1994 08:49:37 GMT", &t));
    CHECK(!http_date_parse("Sun, 31 Nov 1994 08:49:37 GMT", &t));
    CHECK(!http_date_parse("Sun, 29 Feb 1900 08:49:37 GMT", &t));
    CHECK(!http_date_parse("Sun, 06 Nov 1994 24:00:00 GMT", &t));
    CHECK(!http_date_parse("Sun, 06 Nov 1994 08:60:00 GMT", &t));
    CHECK(!http_date_parse("Sun, 06 Nov 19x4 08:49:37 GMT", &t));
    CHECK(!http_date_parse("Sun, 06 Nov 1994 08:49:37 GMTx", &t));
    CHECK(!http_date_parse("Sun, 06 Nov 1994 08:49:3", &t));
}

static void test_not_modified(void)
{
    const char *etag = "\"6-17a\"";
    const char *date = "Sun, 06 Nov 1994 08:49:37 GMT";

    CHECK(http_not_modified(etag, NULL, etag, 0));
    CHECK(!http_not_modified("\"x\"", NULL, etag, 0));
    /* If-None-Match decides alone when present */
    CHECK(!http_not_modified("\"x\"", date, etag, 0));
    CHECK(http_not_modified(NULL, date, etag, 784111777));
    CHECK(http_not_modified(NULL, date, etag, 784111776));
    CHECK(!http_not_modified(NULL, date, etag, 784111778));
    CHECK(!http_not_modified(NULL, "yesterday", etag, 0));
    CHECK(!http_not_modified(NULL, NULL, etag, 0));
}

static void test_content_type(void)
{
    CHECK(http_is_json_content_type("application/json"));
    CHECK(http_is_json_content_type("Application/JSON"));
    CHECK(http_is_json_content_type("application/json; charset=utf-8"));
    CHECK(http_is_json_content_type("application/json ;charset=utf-8"));
    CHECK(http_is_json_content_type("application/json \t"));
    CHECK(!http_is_json_content_type(NULL));
    CHECK(!http_is_json_content_type(""));
    CHECK(!http_is_json_content_type("text/plain"));
    CHECK(!http_is_json_content_type("application/jsonx"));
    CHECK(!http_is_json_content_type("application/json x"));
    CHECK(!http_is_json_content_type("application/json-patch+json"));
    CHECK(!http_is_json_content_type(" application/json"));
}

int main(void)
{
    test_cookie();
    test_etag();
    test_date();
    test_not_modified();
    test_content_type();
    return check_summary("http_headers");
}
