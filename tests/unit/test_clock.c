/* clock: the one ISO-8601 formatter (logs, access log, message and event times). */
#include "clock.h"

#include <string.h>

#include "check.h"

static void test_format(void)
{
    char out[CLOCK_ISO_MAX_BYTES];

    CHECK(clock_format_iso_ms(1700000000123LL, out, sizeof(out)) == 24);
    CHECK_STR(out, "2023-11-14T22:13:20.123Z");
    CHECK(clock_format_iso_ms(0, out, sizeof(out)) == 24);
    CHECK_STR(out, "1970-01-01T00:00:00.000Z");
    CHECK(clock_format_iso_ms(1700000000007LL, out, sizeof(out)) == 24);
    CHECK_STR(out, "2023-11-14T22:13:20.007Z"); /* milliseconds zero-padded */
    CHECK(clock_format_iso_s(1700000000, out, sizeof(out)) == 19);
    CHECK_STR(out, "2023-11-14T22:13:20");
    CHECK(clock_format_iso_ms(1700000000123LL, out, 24) == 0); /* no room for the NUL */
    CHECK(clock_format_iso_ms(1700000000123LL, out, 25) == 24);
    CHECK(clock_format_iso_s(1700000000, out, 10) == 0);
}

static void test_wall_clock(void)
{
    int64_t now = clock_wall_ms();

    CHECK(now > 1700000000000LL); /* after November 2023 */
}

int main(void)
{
    test_format();
    test_wall_clock();
    return check_summary("test_clock");
}
