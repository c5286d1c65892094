/* Request framing checks (RFC 9112): token and character rules for the request line and field
 * lines, and the Host, Content-Length and Transfer-Encoding rules that decide how a body is
 * framed. No allocation, no I/O. */
#include "http_framing.h"

#include <string.h>
#include <strings.h>

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool http_framing_is_token(const char *s, size_t len)
{
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++) {
        if (!is_tchar((unsigned char)s[i])) return false;
    }
    return true;
}

bool http_framing_target_ok(const char *s, size_t len)
{
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c >= 0x7f) return false;
    }
    return true;
}

bool http_framing_value_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    }
    return true;
}

int http_framing_content_length(const char *s, size_t len, uint64_t *out)
{
    uint64_t value = 0;

    if (len == 0) return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned digit = (unsigned)((unsigned char)s[i] - '0');

        if (digit > 9 || value > (UINT64_MAX - digit) / 10) return -1;
        value = value * 10 + digit;
    }
    *out = value;
    return 0;
}

/* host [ ":" port ] as RFC 3986 spells it (reg-name, IPv4, IP-literal): the characters only. */
static bool host_ok(const char *s, size_t len)
{
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--; /* trailing whitespace is not part of a field value */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c != '\0' && strchr("-._~%!$&'()*+,;=:[]", c) != NULL)))
            return false;
    }
    return true;
}

static bool name_is(const char *name, size_t len, const char *lower)
{
    return len == strlen(lower) && strncasecmp(name, lower, len) == 0;
}

static bool is_chunked(const char *s, size_t len)
{
    return len == 7 && strncasecmp(s, "chunked", 7) == 0;
}

/* Adds the elements of one Transfer-Encoding line to the list seen so far. */
static void add_codings(struct http_framing *f, const char *s, size_t len)
{
    size_t i = 0;

    for (;;) {
        size_t start = i, end;

        while (i < len && s[i] != ',')
            i++;
        end = i;
        while (start < end && (s[start] == ' ' || s[start] == '\t'))
            start++;
        while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
            end--;
        if (end > start) { /* empty list elements are ignored (RFC 9110 5.6.1) */
            f->coding_elements++;
            f->chunked_last = false;
            if (!http_framing_is_token(s + start, end - start)) {
                f->malformed_coding = true; /* parameters, quotes, control characters */
            } else if (is_chunked(s + start, end - start)) {
                f->chunked_count++;
                f->chunked_last = true;
            } else {
                f->unknown_coding = true;
            }
        }
        if (i >= len) break;
        i++; /* past the ',' */
    }
}

void http_framing_init(struct http_framing *f)
{
    memset(f, 0, sizeof(*f));
    f->error = HTTP_FRAMING_OK;
    f->body = HTTP_BODY_NONE;
}

static bool fail(struct http_framing *f, enum http_framing_error error)
{
    if (f->error == HTTP_FRAMING_OK) f->error = error;
    return false;
}

bool http_framing_add_field(struct http_framing *f, const char *name, size_t name_len,
                            const char *value, size_t value_len)
{
    if (f->error != HTTP_FRAMING_OK) return false;
    if (!http_framing_is_token(name, name_len)) return fail(f, HTTP_FRAMING_BAD_FIELD_NAME);
    if (!http_framing_value_ok(value, value_len)) return fail(f, HTTP_FRAMING_BAD_FIELD_VALUE);
    switch (name_len) { /* the length first: most fields are none of these */
    case 4:
        if (name_is(name, name_len, "host")) {
            f->hosts++;
            if (!host_ok(value, value_len)) return fail(f, HTTP_FRAMING_BAD_HOST);
        }
        break;
    case 14:
        if (name_is(name, name_len, "content-length") && f->lengths++ == 0) {
            f->length = value;
            f->length_len = value_len;
        }
        break;
    case 17:
        if (name_is(name, name_len, "transfer-encoding")) {
            if (f->codings++ == 0) {
                f->coding = value;
                f->coding_len = value_len;
            }
            add_codings(f, value, value_len);
        }
        break;
    default:
        break;
    }
    return true;
}

static enum http_framing_error check_codings(const struct http_framing *f, bool http11)
{
    /* RFC 9112 6.1: a 1.0 recipient may not know chunked; treat such framing as faulty */
    if (!http11) return HTTP_FRAMING_CODING_IN_HTTP10;
    if (f->lengths > 0) return HTTP_FRAMING_LENGTH_AND_CODING;
    /* 6.3: chunked must be the final coding, or the body's end cannot be known */
    if (f->malformed_coding || !f->chunked_last || f->chunked_count > 1)
        return HTTP_FRAMING_BAD_CODING;
    if (f->unknown_coding) return HTTP_FRAMING_UNKNOWN_CODING;
    /* valid as a list, but other parsers (libmicrohttpd among them) may only frame the exact
     * value "chunked" on one line, e.g. not "chunked " or an empty line then "chunked" */
    if (f->codings > 1 || !is_chunked(f->coding, f->coding_len)) return HTTP_FRAMING_BAD_CODING;
    return HTTP_FRAMING_OK;
}

enum http_framing_error http_framing_finish(struct http_framing *f, bool http11)
{
    enum http_framing_error error = f->error;

    if (error == HTTP_FRAMING_OK) {
        if (f->hosts > 1)
            error = HTTP_FRAMING_MANY_HOSTS;
        else if (f->hosts == 0 && http11)
            error = HTTP_FRAMING_NO_HOST;
        else if (f->lengths > 1)
            error = HTTP_FRAMING_MANY_LENGTHS;
        else if (f->codings > 0)
            error = check_codings(f, http11);
        else if (f->lengths == 1 &&
                 http_framing_content_length(f->length, f->length_len, &f->content_length) != 0)
            error = HTTP_FRAMING_BAD_LENGTH;
    }
    f->error = error;
    if (error != HTTP_FRAMING_OK) return error;
    f->body = f->codings > 0   ? HTTP_BODY_CHUNKED
              : f->lengths > 0 ? HTTP_BODY_LENGTH
                               : HTTP_BODY_NONE;
    return HTTP_FRAMING_OK;
}

unsigned http_framing_status(enum http_framing_error error)
{
    switch (error) {
    case HTTP_FRAMING_OK:
        return 200;
    case HTTP_FRAMING_UNKNOWN_CODING:
        return 501;
    default:
        return 400;
    }
}

const char *http_framing_reason(enum http_framing_error error)
{
    switch (error) {
    case HTTP_FRAMING_OK:
        return "ok";
    case HTTP_FRAMING_BAD_METHOD:
        return "the method is not a token";
    case HTTP_FRAMING_BAD_REQUEST_LINE:
        return "the request line must be method, target and version, one space apart";
    case HTTP_FRAMING_BAD_TARGET:
        return "the request target holds a space, a control character or a non-ASCII byte";
    case HTTP_FRAMING_BAD_FIELD_NAME:
        return "a header name is not a token (whitespace before the colon, or a line starting "
               "with whitespace)";
    case HTTP_FRAMING_BAD_FIELD_VALUE:
        return "a header value holds a control character";
    case HTTP_FRAMING_OBS_FOLD:
        return "a header line is folded onto the next line (obs-fold)";
    case HTTP_FRAMING_NO_HOST:
        return "HTTP/1.1 requests need a Host header";
    case HTTP_FRAMING_MANY_HOSTS:
        return "more than one Host header";
    case HTTP_FRAMING_BAD_HOST:
        return "the Host header is not a host[:port]";
    case HTTP_FRAMING_MANY_LENGTHS:
        return "more than one Content-Length header";
    case HTTP_FRAMING_BAD_LENGTH:
        return "Content-Length is not a plain decimal number";
    case HTTP_FRAMING_LENGTH_AND_CODING:
        return "Content-Length and Transfer-Encoding together";
    case HTTP_FRAMING_CODING_IN_HTTP10:
        return "Transfer-Encoding in an HTTP/1.0 request";
    case HTTP_FRAMING_BAD_CODING:
        return "Transfer-Encoding must be exactly \"chunked\"";
    case HTTP_FRAMING_UNKNOWN_CODING:
        return "only the chunked transfer coding is implemented";
    }
    return "malformed request";
}
