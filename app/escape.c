/* HTML and log escaping. No allocation: callers own every buffer. */
#include "escape.h"

#include <string.h>

size_t html_escape(const char *in, size_t len, char *out, size_t out_size)
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

size_t log_escape(const char *in, char *out, size_t out_size)
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
