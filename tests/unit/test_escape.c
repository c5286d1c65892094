/* escape: HTML text escaping and log-field escaping, including truncation. */
#include "escape.h"
#include "handlers.h"

#include <stdlib.h>

#include "check.h"

static void test_html(void)
{
    char out[64];
    const char *in = "<a href=\"x\">Tom & 'Jerry'</a>";

    CHECK(escape_html(in, strlen(in), out, sizeof(out)) == strlen(out));
    CHECK_STR(out, "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
    CHECK(escape_html("plain", 5, out, sizeof(out)) == 5);
    CHECK_STR(out, "plain");
    /* truncation still reports the full length and terminates */
    CHECK(escape_html("<<<<", 4, out, 6) == 16);
    CHECK(strlen(out) == 5);
    CHECK(escape_html("<", 1, NULL, 0) == 4);
}

static void test_log(void)
{
    char out[32];

    CHECK(escape_log("/ping", out, sizeof(out)) == 5);
    CHECK_STR(out, "/ping");
    escape_log("/a\"b\\c\n\x7f", out, sizeof(out));
    CHECK_STR(out, "/a\\x22b\\x5cc\\x0a\\x7f");
    escape_log("/\xc3\xa9", out, sizeof(out));
    CHECK_STR(out, "/\\xc3\\xa9");
    CHECK(escape_log("0123456789", out, 5) == 4);
    CHECK_STR(out, "0123");
}

static void test_helloworld_page(void)
{
    size_t len;
    char *page = helloworld_render("web<1>", "HelloWorld-web<1>",
                                   "# Server\r\nredis_version:7.0.15\r\nos:Linux <x>\r\n\r\n"
                                   "# Clients\r\nconnected_clients:2\r\n",
                                   &len);

    CHECK(len == strlen(page));
    CHECK(strstr(page, "<h1>HelloWorld-web&lt;1&gt;</h1>") != NULL);
    CHECK(strstr(page, "<title>Hello World from web&lt;1&gt;</title>") != NULL);
    CHECK(strstr(page, "redis_version: 7.0.15\n") != NULL);
    CHECK(strstr(page, "os: Linux &lt;x&gt;\n") != NULL);
    CHECK(strstr(page, "# Clients\nconnected_clients: 2\n") != NULL);
    CHECK(strstr(page, "<x>") == NULL);
    free(page);
}

static void test_utf8(void)
{
    size_t chars = 0;

    CHECK(escape_utf8_check("plain", 5, &chars) && chars == 5);
    CHECK(escape_utf8_check("", 0, &chars) && chars == 0);
    CHECK(escape_utf8_check("\xc3\xa9t\xc3\xa9", 5, &chars) && chars == 3); /* été */
    CHECK(escape_utf8_check("\xe2\x82\xac", 3, &chars) && chars == 1);      /* € */
    CHECK(escape_utf8_check("\xf0\x9f\x98\x80", 4, &chars) && chars == 1);  /* U+1F600 */
    CHECK(!escape_utf8_check("\xff", 1, &chars));
    CHECK(!escape_utf8_check("\x80", 1, &chars));             /* lone continuation */
    CHECK(!escape_utf8_check("\xc3", 1, &chars));             /* cut short */
    CHECK(!escape_utf8_check("\xc0\xaf", 2, &chars));         /* overlong '/' */
    CHECK(!escape_utf8_check("\xe0\x80\xaf", 3, &chars));     /* overlong */
    CHECK(!escape_utf8_check("\xed\xa0\x80", 3, &chars));     /* surrogate U+D800 */
    CHECK(!escape_utf8_check("\xf4\x90\x80\x80", 4, &chars)); /* above U+10FFFF */
    CHECK(!escape_utf8_check("\xe2\x28\xa1", 3, &chars));     /* bad continuation */
}

static void test_json_escape(void)
{
    char out[64];

    CHECK(escape_json("plain", out, sizeof(out)) == 5);
    CHECK_STR(out, "plain");
    escape_json("a\"b\\c\n\x01", out, sizeof(out));
    CHECK_STR(out, "a\\\"b\\\\c\\u000a\\u0001");
    escape_json("caf\xc3\xa9", out, sizeof(out));
    CHECK_STR(out, "caf\xc3\xa9"); /* UTF-8 kept as is */
    /* truncation never splits an escape */
    CHECK(escape_json("ab\n", out, 5) == 2);
    CHECK_STR(out, "ab");
}

int main(void)
{
    test_html();
    test_log();
    test_helloworld_page();
    test_utf8();
    test_json_escape();
    return check_summary("test_escape");
}
