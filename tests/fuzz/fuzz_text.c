/* libFuzzer target: the escaping and UTF-8 checks of escape.c on arbitrary bytes. Invariants:
 * no crash, outputs NUL-terminated within their buffers, escaped outputs free of the characters
 * they must escape, and escape_html's reported length equal to a full-buffer run's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    char small[16], big[4096];
    size_t chars, need;

    memcpy(in, data, size);
    in[size] = '\0';
    escape_utf8_check(in, size, &chars);
    need = escape_html(in, size, small, sizeof(small));
    if (strlen(small) >= sizeof(small)) abort();
    if (need < sizeof(big) &&
        (escape_html(in, size, big, sizeof(big)) != need || strpbrk(big, "<>\"'") != NULL))
        abort();
    escape_log(in, big, sizeof(big));
    if (strpbrk(big, "\"\n\r") != NULL) abort();
    escape_json(in, small, sizeof(small));
    if (strlen(small) >= sizeof(small)) abort();
    free(in);
    return 0;
}
