/* Request header values the handlers read: Cookie, If-None-Match, If-Modified-Since,
 * Content-Type. Strict parsers: what does not parse counts as absent. No allocation, no I/O. */
#include "http_headers.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

static bool is_lower_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    }
    return true;
}

const char *http_cookie_hex_value(const char *header, const char *name, size_t value_len)
{
    size_t name_len = strlen(name);
    const char *p = header;

    while (p != NULL && *p != '\0') {
        size_t len;

        p += strspn(p, " \t;");
        len = strcspn(p, ";");
        if (len == name_len + 1 + value_len && strncmp(p, name, name_len) == 0 &&
            p[name_len] == '=' && is_lower_hex(p + name_len + 1, value_len))
            return p + name_len + 1;
        p += len;
    }
    return NULL;
}

static const char *skip_ows(const char *p)
{
    return p + strspn(p, " \t");
}

bool http_etag_matches(const char *if_none_match, const char *etag)
{
    size_t etag_len = strlen(etag);
    const char *p = if_none_match;

    if (p == NULL || etag_len < 2) return false;
    for (;;) {
        const char *end;
        bool match;

        p += strspn(p, " \t,"); /* OWS and empty list elements */
        if (*p == '\0') return false;
        if (*p == '*') {
            p = skip_ows(p + 1);
            return *p == '\0' || *p == ','; /* "*" alone matches any current representation */
        }
        if (p[0] == 'W' && p[1] == '/') p += 2; /* weak comparison: W/"x" matches "x" */
        if (*p != '"') return false;            /* not a list of entity tags: no match */
        end = strchr(p + 1, '"');
        if (end == NULL) return false;
        match = (size_t)(end + 1 - p) == etag_len && memcmp(p, etag, etag_len) == 0;
        p = skip_ows(end + 1);
        if (*p != ',' && *p != '\0') return false;
        if (match) return true;
    }
}

/* Reads exactly `n` decimal digits. */
static bool digits(const char *p, int n, int *out)
{
    int value = 0;

    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        value = value * 10 + (p[i] - '0');
    }
    *out = value;
    return true;
}

/* Days from 1970-01-01 to year-month-day of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

bool http_date_parse(const char *value, time_t *out)
{
    static const char days[] = "MonTueWedThuFriSatSun";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    static const unsigned char month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = value;
    const char *found;
    int day, year, hour, minute, second;
    unsigned month;

    /* "Sun, 06 Nov 1994 08:49:37 GMT": 29 bytes, then optional trailing whitespace */
    if (p == NULL || strnlen(p, 29) < 29 || p[3] != ',' || p[4] != ' ' || p[7] != ' ' ||
        p[11] != ' ' || p[16] != ' ' || p[19] != ':' || p[22] != ':' || memcmp(p + 25, " GMT", 4))
        return false;
    found = strstr(days, (char[]){p[0], p[1], p[2], '\0'});
    if (found == NULL || (found - days) % 3 != 0) return false;
    found = strstr(months, (char[]){p[8], p[9], p[10], '\0'});
    if (found == NULL || (found - months) % 3 != 0) return false;
    month = (unsigned)(found - months) / 3 + 1;
    if (!digits(p + 5, 2, &day) || !digits(p + 12, 4, &year) || !digits(p + 17, 2, &hour) ||
        !digits(p + 20, 2, &minute) || !digits(p + 23, 2, &second))
        return false;
    if (day < 1 || day > month_days[month - 1] || hour > 23 || minute > 59 || second > 60)
        return false;
    if (month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
        return false;
    if (*skip_ows(p + 29) != '\0') return false;
    *out = (time_t)(days_from_civil(year, month, (unsigned)day) * 86400 + hour * 3600 +
                    minute * 60 + second);
    return true;
}

bool http_not_modified(const char *if_none_match, const char *if_modified_since, const char *etag,
                       time_t mtime)
{
    time_t since;

    if (if_none_match != NULL) return http_etag_matches(if_none_match, etag);
    if (if_modified_since == NULL || !http_date_parse(if_modified_since, &since)) return false;
    return mtime <= since;
}

bool http_is_json_content_type(const char *value)
{
    size_t len = strlen("application/json");

    if (value == NULL || strncasecmp(value, "application/json", len) != 0) return false;
    value = skip_ows(value + len);
    return *value == '\0' || *value == ';';
}
