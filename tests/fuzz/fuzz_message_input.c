/* libFuzzer target: the message board's input checks (message_input.c) on arbitrary bytes, as a
 * query string and as a posted text field. Invariants: no crash; an accepted limit is within
 * 1..100; an accepted field lies within the input, is trimmed, and holds no control character
 * other than newline and tab (and those only when multiline). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message_input.h"
#include "urlpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    size_t start, len;
    bool multiline = size > 0 && (data[0] & 1);
    int limit;

    memcpy(in, data, size);
    in[size] = '\0';
    if (strlen(in) <= URLPATH_MAX_BYTES && message_input_limit(in, 20, 100, &limit) &&
        (limit < 1 || limit > 100))
        abort();
    if (message_input_field(in, size, 40, multiline, &start, &len) == MESSAGE_FIELD_OK) {
        if (start + len > size || len == 0) abort();
        if (strchr(" \t\r\n", in[start]) != NULL || strchr(" \t\r\n", in[start + len - 1]) != NULL)
            abort();
        for (size_t i = start; i < start + len; i++) {
            unsigned char c = (unsigned char)in[i];

            if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t'))) || c == 0x7f) abort();
        }
    }
    free(in);
    return 0;
}
