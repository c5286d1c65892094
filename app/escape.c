/* HTML and log escaping. No allocation: callers own every buffer. */
#include "escape.h"

#include <string.h>

size_t escape_html(const char *in, size_t len, char *out, size_t out_size)
{
    size_t need = 0;

    for (size_t i = 0; i < len; i++) {
        const char *rep = &in[i];
        size_t rep_len = 1;

        switch (in[i]) {
        case '&':
            rep = "&amp;", rep_len = 5;
            break;
        case '<':
            rep = "&lt;", rep_len = 4;
            break;
        case '>':
            rep = "&gt;", rep_len = 4;
            break;
        case '"':
            rep = "&quot;", rep_len = 6;
            break;
        case '\'':
            rep = "&#39;", rep_len = 5;
            break;
        default:
            break;
        }
        for (size_t k = 0; k < rep_len; k++, need++) {
            if (need + 1 < out_size) out[need] = rep[k];
        }
    }
    if (out_size > 0) out[need < out_size ? need : out_size - 1] = '\0';
    return need;
}

size_t escape_log(const char *in, char *out, size_t out_size)
{
    static const char hex[] = "0123456789abcdef";
    size_t used = 0;

    if (out_size == 0) return 0;
    for (; *in != '\0'; in++) {
        unsigned char c = (unsigned char)*in;

        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            if (used + 4 >= out_size) break;
            out[used++] = '\\';
            out[used++] = 'x';
            out[used++] = hex[c >> 4];
            out[used++] = hex[c & 15];
        } else {
            if (used + 1 >= out_size) break;
            out[used++] = (char)c;
        }
    }
    out[used] = '\0';
    return used;
}

bool escape_utf8_check(const char *in, size_t len, size_t *code_points)
{
    const unsigned char *p = (const unsigned char *)in, *end = p + len;
    size_t count = 0;

    while (p < end) {
        unsigned c = *p;
        size_t extra;
        unsigned value, min;

        if (c < 0x80) {
            p++;
            count++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            extra = 1, value = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2, value = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3, value = c & 0x07, min = 0x10000;
        } else {
            return false; /* a continuation byte or 0xf8..0xff where a character starts */
        }
        if ((size_t)(end - p) <= extra) return false;
        for (size_t i = 1; i <= extra; i++) {
            if ((p[i] & 0xc0) != 0x80) return false;
            value = (value << 6) | (p[i] & 0x3f);
        }
        if (value < min || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return false;
        p += extra + 1;
        count++;
    }
    *code_points = count;
    return true;
}

size_t escape_json(const char *in, char *out, size_t out_size)
{
    static const char hex[] = "0123456789abcdef";
    size_t used = 0;

    if (out_size == 0) return 0;
    for (; *in != '\0'; in++) {
        unsigned char c = (unsigned char)*in;
        char buf[6];
        size_t n = 0;

        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c < 0x20) {
            buf[n++] = '\\';
            buf[n++] = 'u';
            buf[n++] = '0';
            buf[n++] = '0';
            buf[n++] = hex[c >> 4];
            buf[n++] = hex[c & 15];
        } else {
            buf[n++] = (char)c;
        }
        if (used + n >= out_size) break;
        memcpy(out + used, buf, n);
        used += n;
    }
    out[used] = '\0';
    return used;
}
