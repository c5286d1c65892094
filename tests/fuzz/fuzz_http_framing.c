/* libFuzzer target: the request-framing rules (http_framing.c) on arbitrary heads. The input is
 * split into lines at LF; every line with a ':' is fed as a field line, the way libmicrohttpd
 * splits it (leading whitespace of the value dropped, anything else kept); the first byte picks
 * HTTP/1.1 or 1.0. Invariants: no crash, and an accepted head is framed one way only: at most one
 * Host (exactly one in 1.1), never Content-Length with Transfer-Encoding, a chunked body only for
 * one Transfer-Encoding line that is exactly "chunked", a length only from one plain decimal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool name_is(const char *name, size_t len, const char *lower)
{
    return len == strlen(lower) && strncasecmp(name, lower, len) == 0;
}

/* The decimal value of s[0..len), or -1 when it is not 1..19 digits. */
static long long small_decimal(const char *s, size_t len)
{
    long long v = 0;

    if (len == 0 || len > 18) return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data + 1, *end = (const char *)data + size;
    struct http_framing f;
    unsigned hosts = 0, lengths = 0, codings = 0;
    const char *coding = NULL, *length = NULL;
    size_t coding_len = 0, length_len = 0;
    bool http11, fed_all = true;
    enum http_framing_error error;
    uint64_t n;

    if (size == 0) return 0;
    http11 = data[0] & 1;
    http_framing_init(&f);
    while (text < end) {
        const char *eol = memchr(text, '\n', (size_t)(end - text));
        const char *line_end = eol != NULL ? eol : end;
        const char *colon = memchr(text, ':', (size_t)(line_end - text));

        if (colon != NULL) {
            const char *value = colon + 1;
            size_t name_len = (size_t)(colon - text);

            while (value < line_end && (*value == ' ' || *value == '\t'))
                value++;
            if (fed_all &&
                !http_framing_add_field(&f, text, name_len, value, (size_t)(line_end - value)))
                fed_all = false;
            if (name_is(text, name_len, "host")) hosts++;
            if (name_is(text, name_len, "content-length") && lengths++ == 0) {
                length = value;
                length_len = (size_t)(line_end - value);
            }
            if (name_is(text, name_len, "transfer-encoding") && codings++ == 0) {
                coding = value;
                coding_len = (size_t)(line_end - value);
            }
        }
        text = line_end + 1;
    }
    error = http_framing_finish(&f, http11);
    if (http_framing_status(error) != 200 && http_framing_status(error) != 400 &&
        http_framing_status(error) != 501)
        abort();
    if (http_framing_reason(error) == NULL) abort();
    if (error != HTTP_FRAMING_OK) return 0;
    if (!fed_all || hosts > 1 || (http11 && hosts != 1)) abort();
    if (lengths > 0 && codings > 0) abort();
    switch (f.body) {
    case HTTP_BODY_NONE:
        if (lengths != 0 || codings != 0) abort();
        break;
    case HTTP_BODY_CHUNKED:
        if (codings != 1 || !http11 || coding_len != 7 || strncasecmp(coding, "chunked", 7) != 0)
            abort();
        break;
    case HTTP_BODY_LENGTH:
        if (lengths != 1 || http_framing_content_length(length, length_len, &n) != 0 ||
            n != f.content_length)
            abort();
        if (small_decimal(length, length_len) >= 0 &&
            (uint64_t)small_decimal(length, length_len) != f.content_length)
            abort();
        break;
    }
    return 0;
}
