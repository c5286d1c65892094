/* http_framing: the request-framing rules of RFC 9112, field by field and for whole heads. */
#include "http_framing.h"

#include <string.h>

#include "check.h"

/* Runs a head given as "Name: value" lines (split at the first ':' and one optional space, as
 * the HTTP library hands them over) through add_field and finish. */
static enum http_framing_error head(bool http11, const char *const *lines, struct http_framing *f)
{
    http_framing_init(f);
    for (const char *const *l = lines; *l != NULL; l++) {
        const char *colon = strchr(*l, ':');
        const char *value = colon + 1;

        while (*value == ' ' || *value == '\t')
            value++; /* what libmicrohttpd strips */
        if (!http_framing_add_field(f, *l, (size_t)(colon - *l), value, strlen(value))) break;
    }
    return http_framing_finish(f, http11);
}

#define HEAD11(f, ...) head(true, (const char *const[]){__VA_ARGS__, NULL}, f)

static void test_tokens_and_characters(void)
{
    /* every byte against the RFC definitions (http_framing.c uses a table) */
    for (int c = 0; c < 256; c++) {
        char ch = (char)c;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        bool tchar = alnum || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
        bool vchar = c >= 0x21 && c <= 0x7e;
        bool value = c == '\t' || c == ' ' || vchar || c >= 0x80;
        bool host = alnum || (c != 0 && strchr("-._~%!$&'()*+,;=:[]", c) != NULL);
        struct http_framing f;

        CHECK(http_framing_is_token(&ch, 1) == tchar);
        CHECK(http_framing_target_ok(&ch, 1) == vchar);
        CHECK(http_framing_value_ok(&ch, 1) == value);
        http_framing_init(&f);
        http_framing_add_field(&f, "Host", 4, &ch, 1);
        /* a lone space or tab is trailing whitespace: an empty Host */
        CHECK((http_framing_finish(&f, true) == HTTP_FRAMING_OK) ==
              (host || c == ' ' || c == '\t'));
    }
    CHECK(http_framing_is_token("GET", 3));
    CHECK(http_framing_is_token("M-SEARCH", 8));
    CHECK(http_framing_is_token("x!#$%&'*+-.^_`|~9", 17));
    CHECK(!http_framing_is_token("", 0));
    CHECK(!http_framing_is_token("G T", 3));
    CHECK(!http_framing_is_token("GET\t", 4));
    CHECK(!http_framing_is_token("G@T", 3));
    CHECK(!http_framing_is_token("a:b", 3));
    CHECK(!http_framing_is_token("a\0b", 3)); /* the length counts, not the NUL */
    CHECK(!http_framing_is_token("caf\xc3\xa9", 5));

    CHECK(http_framing_target_ok("/", 1));
    CHECK(http_framing_target_ok("/a?b=c&d=%20#x", 14));
    CHECK(http_framing_target_ok("http://h:1/p", 12));
    CHECK(!http_framing_target_ok("", 0));
    CHECK(!http_framing_target_ok("/a b", 4));
    CHECK(!http_framing_target_ok("/a\rb", 4));
    CHECK(!http_framing_target_ok("/a\tb", 4));
    CHECK(!http_framing_target_ok("/a\x7f", 3));
    CHECK(!http_framing_target_ok("/\xc3\xa9", 3));

    CHECK(http_framing_value_ok("", 0));
    CHECK(http_framing_value_ok("text/html; q=0.9", 16));
    CHECK(http_framing_value_ok("a\tb", 3));
    CHECK(http_framing_value_ok("caf\xc3\xa9", 5)); /* obs-text */
    CHECK(!http_framing_value_ok("a\rb", 3));
    CHECK(!http_framing_value_ok("a\nb", 3));
    CHECK(!http_framing_value_ok("\x0b"
                                 "chunked",
                                 8));
    CHECK(!http_framing_value_ok("a\x7f", 2));
    CHECK(!http_framing_value_ok("a\0b", 3));
}

static void test_content_length_values(void)
{
    uint64_t n = 99;

    CHECK(http_framing_content_length("0", 1, &n) == 0 && n == 0);
    CHECK(http_framing_content_length("36", 2, &n) == 0 && n == 36);
    CHECK(http_framing_content_length("0005", 4, &n) == 0 && n == 5); /* 1*DIGIT */
    CHECK(http_framing_content_length("18446744073709551615", 20, &n) == 0 && n == UINT64_MAX);
    CHECK(http_framing_content_length("18446744073709551616", 20, &n) == -1);
    CHECK(http_framing_content_length("99999999999999999999999", 23, &n) == -1);
    CHECK(http_framing_content_length("", 0, &n) == -1);
    CHECK(http_framing_content_length("+5", 2, &n) == -1);
    CHECK(http_framing_content_length("-1", 2, &n) == -1);
    CHECK(http_framing_content_length(" 5", 2, &n) == -1);
    CHECK(http_framing_content_length("5 ", 2, &n) == -1);
    CHECK(http_framing_content_length("5,5", 3, &n) == -1);
    CHECK(http_framing_content_length("0x10", 4, &n) == -1);
    CHECK(http_framing_content_length("1e3", 3, &n) == -1);
}

static void test_well_framed_heads(void)
{
    struct http_framing f;

    CHECK(HEAD11(&f, "Host: x") == HTTP_FRAMING_OK);
    CHECK(f.body == HTTP_BODY_NONE);
    CHECK(HEAD11(&f, "Host: 127.0.0.1:8000", "Content-Length: 0005") == HTTP_FRAMING_OK);
    CHECK(f.body == HTTP_BODY_LENGTH && f.content_length == 5);
    CHECK(HEAD11(&f, "host: [::1]:80", "Transfer-Encoding: chunked") == HTTP_FRAMING_OK);
    CHECK(f.body == HTTP_BODY_CHUNKED);
    CHECK(HEAD11(&f, "Host: x", "TRANSFER-ENCODING: CHUNKED") == HTTP_FRAMING_OK);
    CHECK(f.body == HTTP_BODY_CHUNKED);
    CHECK(HEAD11(&f, "Host: x ", "Cookie: a=b", "X-Empty:") == HTTP_FRAMING_OK);
    CHECK(HEAD11(&f, "Host:") == HTTP_FRAMING_OK); /* empty: allowed (RFC 9112 3.2) */
    /* HTTP/1.0 needs no Host */
    CHECK(head(false, (const char *const[]){"Accept: */*", NULL}, &f) == HTTP_FRAMING_OK);
}

static void test_refused_heads(void)
{
    struct http_framing f;

    /* field lines */
    CHECK(HEAD11(&f, "Host : x") == HTTP_FRAMING_BAD_FIELD_NAME);
    CHECK(HEAD11(&f, "Host: x", "Content-Length\t: 5") == HTTP_FRAMING_BAD_FIELD_NAME);
    CHECK(HEAD11(&f, " Host: x") == HTTP_FRAMING_BAD_FIELD_NAME);
    CHECK(HEAD11(&f, "Host: x", ": empty name") == HTTP_FRAMING_BAD_FIELD_NAME);
    CHECK(HEAD11(&f, "Host: x", "X: a\rb") == HTTP_FRAMING_BAD_FIELD_VALUE);
    CHECK(HEAD11(&f, "Host: x",
                 "Transfer-Encoding: \x0b"
                 "chunked") == HTTP_FRAMING_BAD_FIELD_VALUE);
    /* the first error stays */
    CHECK(HEAD11(&f, "X: a\rb", "Host : x") == HTTP_FRAMING_BAD_FIELD_VALUE);
    CHECK(!http_framing_add_field(&f, "Host", 4, "x", 1));

    /* Host */
    CHECK(HEAD11(&f, "Accept: */*") == HTTP_FRAMING_NO_HOST);
    CHECK(HEAD11(&f, "Host: x", "Host: y") == HTTP_FRAMING_MANY_HOSTS);
    CHECK(HEAD11(&f, "Host: x", "HOST: x") == HTTP_FRAMING_MANY_HOSTS);
    CHECK(HEAD11(&f, "Host: a b") == HTTP_FRAMING_BAD_HOST);
    CHECK(HEAD11(&f, "Host: a/b") == HTTP_FRAMING_BAD_HOST);
    CHECK(HEAD11(&f, "Host: a@b") == HTTP_FRAMING_BAD_HOST);
    CHECK(HEAD11(&f, "Host: a\"b") == HTTP_FRAMING_BAD_HOST);
    CHECK(HEAD11(&f, "Host: a\\b") == HTTP_FRAMING_BAD_HOST);
    CHECK(HEAD11(&f, "Host: a\xc3\xa9") == HTTP_FRAMING_BAD_HOST);
    CHECK(HEAD11(&f, "Host: x-y.z_w~1%41!$&'()*+,;=:[::1]") == HTTP_FRAMING_OK);

    /* Content-Length */
    CHECK(HEAD11(&f, "Host: x", "Content-Length: 0", "Content-Length: 31") ==
          HTTP_FRAMING_MANY_LENGTHS);
    CHECK(HEAD11(&f, "Host: x", "Content-Length: 31", "Content-Length: 0") ==
          HTTP_FRAMING_MANY_LENGTHS);
    CHECK(HEAD11(&f, "Host: x", "Content-Length: 5", "content-length: 5") ==
          HTTP_FRAMING_MANY_LENGTHS);
    CHECK(HEAD11(&f, "Host: x", "Content-Length: +5") == HTTP_FRAMING_BAD_LENGTH);
    CHECK(HEAD11(&f, "Host: x", "Content-Length: 5, 5") == HTTP_FRAMING_BAD_LENGTH);
    CHECK(HEAD11(&f, "Host: x", "Content-Length: 99999999999999999999") == HTTP_FRAMING_BAD_LENGTH);

    /* Content-Length with Transfer-Encoding, in either order */
    CHECK(HEAD11(&f, "Host: x", "Content-Length: 36", "Transfer-Encoding: chunked") ==
          HTTP_FRAMING_LENGTH_AND_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: chunked", "Content-Length: 36") ==
          HTTP_FRAMING_LENGTH_AND_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: chunked", "Transfer-Encoding: identity",
                 "Content-Length: 36") == HTTP_FRAMING_LENGTH_AND_CODING);
    CHECK(head(false, (const char *const[]){"Transfer-Encoding: chunked", NULL}, &f) ==
          HTTP_FRAMING_CODING_IN_HTTP10);
}

static void test_transfer_codings(void)
{
    struct http_framing f;

    /* chunked not final, twice, or a malformed list: 400 */
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: chunked, identity") == HTTP_FRAMING_BAD_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: chunked", "Transfer-Encoding: identity") ==
          HTTP_FRAMING_BAD_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: xchunked") == HTTP_FRAMING_BAD_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: gzip") == HTTP_FRAMING_BAD_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: chunked, chunked") == HTTP_FRAMING_BAD_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked") ==
          HTTP_FRAMING_BAD_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: \"chunked\"") == HTTP_FRAMING_BAD_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: chunked;q=1") == HTTP_FRAMING_BAD_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: ch unked") == HTTP_FRAMING_BAD_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding:") == HTTP_FRAMING_BAD_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: ,") == HTTP_FRAMING_BAD_CODING);
    /* valid lists that only some parsers frame as chunked */
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: chunked ") == HTTP_FRAMING_BAD_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: chunked\t") == HTTP_FRAMING_BAD_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: , chunked") == HTTP_FRAMING_BAD_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding:", "Transfer-Encoding: chunked") ==
          HTTP_FRAMING_BAD_CODING);
    /* a coding we do not implement before the final chunked: 501 */
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: gzip, chunked") == HTTP_FRAMING_UNKNOWN_CODING);
    CHECK(HEAD11(&f, "Host: x", "Transfer-Encoding: identity", "Transfer-Encoding: chunked") ==
          HTTP_FRAMING_UNKNOWN_CODING);
    CHECK(http_framing_status(HTTP_FRAMING_UNKNOWN_CODING) == 501);
    CHECK(http_framing_status(HTTP_FRAMING_BAD_CODING) == 400);
    CHECK(http_framing_status(HTTP_FRAMING_LENGTH_AND_CODING) == 400);
    CHECK(strlen(http_framing_reason(HTTP_FRAMING_OBS_FOLD)) > 0);
}

int main(void)
{
    test_tokens_and_characters();
    test_content_length_values();
    test_well_framed_heads();
    test_refused_heads();
    test_transfer_codings();
    return check_summary("http_framing");
}
