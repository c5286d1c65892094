/* Request framing checks (RFC 9112): token and character rules for the request line and field
 * lines, and the Host, Content-Length and Transfer-Encoding rules that decide how a body is
 * framed. No allocation, no I/O. */
#include "http_framing.h"

#include <string.h>

/* Character classes, one table lookup per byte: cheap enough for every field of every request.
 * tests/unit/test_http_framing.c checks all 256 entries against the RFC definitions. */
#define TCHAR  1 /* token (RFC 9110 5.6.2): ALPHA DIGIT ! # $ % & ' * + - . ^ _ ` | ~ */
#define HOST   2 /* host[:port] (RFC 3986): ALPHA DIGIT - . _ ~ % ! $ & ' ( ) * + , ; = : [ ] */
#define VALUE  4 /* field value (RFC 9110 5.5): HTAB, SP, VCHAR, obs-text */
#define TARGET 8 /* request target (RFC 9112 3.2): VCHAR */

static const unsigned char char_class[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  4,  0,  0,  0,  0,  0,  0,  /* 0x00 */
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x10 */
    4,  15, 12, 13, 15, 15, 15, 15, 14, 14, 15, 15, 14, 15, 15, 12, /* 0x20  !"#$%&'()*+,-./ */
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 14, 14, 12, 14, 12, 12, /* 0x30 0-9:;<=>? */
    12, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, /* 0x40 @A-O */
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 14, 12, 14, 13, 15, /* 0x50 P-Z[\]^_ */
    13, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, /* 0x60 `a-o */
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 12, 13, 12, 15, 0,  /* 0x70 p-z{|}~ DEL */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0x80 obs-text */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0x90 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0xa0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0xb0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0xc0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0xd0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0xe0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 0xf0 */
};

/* True when the `len` bytes of `s` all have the `class` bit above. */
static bool all_in(const char *s, size_t len, unsigned char class)
{
    for (size_t i = 0; i < len; i++) {
        if ((char_class[(unsigned char)s[i]] & class) == 0) return false;
    }
    return true;
}

bool http_framing_is_token(const char *s, size_t len)
{
    return len > 0 && all_in(s, len, TCHAR);
}

bool http_framing_target_ok(const char *s, size_t len)
{
    return len > 0 && all_in(s, len, TARGET);
}

bool http_framing_value_ok(const char *s, size_t len)
{
    return all_in(s, len, VALUE);
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

static bool host_ok(const char *s, size_t len)
{
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--; /* trailing whitespace is not part of a field value */
    return all_in(s, len, HOST);
}

/* Compares `len` bytes of `s` with the lowercase literal `lower` (of length `len`), ignoring the
 * case of ASCII letters. */
static bool equals_lower(const char *s, size_t len, const char *lower)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + ('a' - 'A'));
        if (c != (unsigned char)lower[i]) return false;
    }
    return true;
}

static bool is_chunked(const char *s, size_t len)
{
    return len == 7 && equals_lower(s, 7, "chunked");
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
    if (name_len == 4 && equals_lower(name, name_len, "host")) {
        f->hosts++; /* host_ok() allows no control character either */
        return host_ok(value, value_len) || fail(f, HTTP_FRAMING_BAD_HOST);
    }
    if (!http_framing_value_ok(value, value_len)) return fail(f, HTTP_FRAMING_BAD_FIELD_VALUE);
    if (name_len == 14 && equals_lower(name, name_len, "content-length")) {
        if (f->lengths++ == 0) {
            f->length = value;
            f->length_len = value_len;
        }
    } else if (name_len == 17 && equals_lower(name, name_len, "transfer-encoding")) {
        if (f->codings++ == 0) {
            f->coding = value;
            f->coding_len = value_len;
        }
        add_codings(f, value, value_len);
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
