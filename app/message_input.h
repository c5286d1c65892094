/* The message board's input checks: the `limit` query parameter of GET /api/messages and the text
 * fields of a posted message. Everything here comes from the client. Pure functions, no
 * allocation; any thread. */
#ifndef APP_MESSAGE_INPUT_H
#define APP_MESSAGE_INPUT_H

#include <stdbool.h>
#include <stddef.h>

/* Reads `limit` from a query string ("a=1&limit=5", at most URLPATH_MAX_BYTES as in every request
 * target): its decimal value, or `default_limit` when the parameter is absent. Returns false when
 * it is present but empty, not plain decimal digits, or outside 1..max. */
bool message_input_limit(const char *query, int default_limit, int max, int *limit);

enum message_field_status {
    MESSAGE_FIELD_OK,
    MESSAGE_FIELD_NOT_UTF8, /* not well-formed UTF-8 */
    MESSAGE_FIELD_LENGTH,   /* empty after trimming, or more than max_chars code points */
    MESSAGE_FIELD_CONTROL,  /* a control character (newline and tab allowed when multiline) */
};

/* Checks a text field of `len` bytes: trims spaces, tabs, CR and LF at both ends, then requires
 * well-formed UTF-8 of 1..max_chars code points without control characters. On MESSAGE_FIELD_OK
 * the trimmed part is value[*start .. *start + *trimmed_len). */
enum message_field_status message_input_field(const char *value, size_t len, size_t max_chars,
                                              bool multiline, size_t *start, size_t *trimmed_len);

#endif
