/* Message board input: the limit parameter and the posted text fields. No allocation, no I/O. */
#include "message_input.h"

#include "escape.h"
#include "urlpath.h"

bool message_input_limit(const char *query, int default_limit, int max, int *limit)
{
    /* the whole query fits, so -1 means absent, never too long */
    char text[URLPATH_MAX_BYTES + 1];
    int len = urlpath_query_param(query, "limit", text, sizeof(text));
    int value = 0;

    if (len < 0) {
        *limit = default_limit;
        return true;
    }
    if (len == 0 || len > 9) return false;
    for (int i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') return false;
        value = value * 10 + (text[i] - '0');
    }
    if (value < 1 || value > max) return false;
    *limit = value;
    return true;
}

static bool is_trimmed_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

enum message_field_status message_input_field(const char *value, size_t len, size_t max_chars,
                                              bool multiline, size_t *start, size_t *trimmed_len)
{
    size_t from = 0, to = len, chars;

    while (from < to && is_trimmed_space(value[from]))
        from++;
    while (to > from && is_trimmed_space(value[to - 1]))
        to--;
    if (!escape_utf8_check(value + from, to - from, &chars)) return MESSAGE_FIELD_NOT_UTF8;
    if (chars == 0 || chars > max_chars) return MESSAGE_FIELD_LENGTH;
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)value[i];

        if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t'))) || c == 0x7f)
            return MESSAGE_FIELD_CONTROL;
    }
    *start = from;
    *trimmed_len = to - from;
    return MESSAGE_FIELD_OK;
}
