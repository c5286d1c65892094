/* libFuzzer target: the header value parsers of http_headers.c on arbitrary bytes. Invariants: no
 * crash; a cookie value found lies inside the header, after "sid=", and is 32 lowercase hex
 * digits; a parsed date prints back to the same text (weekday, leap seconds and years
 * before 1000 aside); an
 * If-None-Match holding the tag's own quoted text, alone, always matches. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    char printed[64], tag[80];
    const char *sid;
    struct tm tm;
    time_t t;

    memcpy(in, data, size);
    in[size] = '\0';
    sid = http_cookie_hex_value(in, "sid", 32);
    if (sid != NULL) {
        if (sid < in + 4 || sid + 32 > in + size || memcmp(sid - 4, "sid=", 4) != 0) abort();
        for (int i = 0; i < 32; i++) {
            if (!((sid[i] >= '0' && sid[i] <= '9') || (sid[i] >= 'a' && sid[i] <= 'f'))) abort();
        }
    }
    if (http_date_parse(in, &t)) {
        gmtime_r(&t, &tm);
        strftime(printed, sizeof(printed), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        /* %Y prints years before 1000 without their leading zeros */
        if (memcmp(in + 23, "60", 2) != 0 && in[12] != '0' && memcmp(printed + 3, in + 3, 26) != 0)
            abort();
    }
    http_etag_matches(in, "\"6-17a\"");
    http_not_modified(in, in, "\"6-17a\"", 784111777);
    if (size < 64 && memchr(in, '"', size) == NULL && strlen(in) == size && size > 0) {
        snprintf(tag, sizeof(tag), "\"%s\"", in);
        if (!http_etag_matches(tag, tag)) abort();
    }
    http_is_json_content_type(in);
    free(in);
    return 0;
}
