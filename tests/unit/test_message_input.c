/* message_input: the limit parameter and the posted message fields. */
#include "message_input.h"

#include "check.h"

static int limit_of(const char *query)
{
    int limit = -7;

    return message_input_limit(query, 20, 100, &limit) ? limit : -1;
}

static void test_limit(void)
{
    CHECK(limit_of("") == 20);
    CHECK(limit_of("a=1") == 20);
    CHECK(limit_of("xlimit=5") == 20); /* another parameter */
    CHECK(limit_of("limit=1") == 1);
    CHECK(limit_of("limit=100") == 100);
    CHECK(limit_of("a=b&limit=05&c") == 5);
    CHECK(limit_of("limit=7&limit=9") == 7); /* the first one counts */

    CHECK(limit_of("limit=") == -1);
    CHECK(limit_of("limit=0") == -1);
    CHECK(limit_of("limit=101") == -1);
    CHECK(limit_of("limit=ten") == -1);
    CHECK(limit_of("limit=+5") == -1);
    CHECK(limit_of("limit=-5") == -1);
    CHECK(limit_of("limit= 5") == -1);
    CHECK(limit_of("limit=5x") == -1);
    CHECK(limit_of("limit=%35") == -1);
    CHECK(limit_of("limit=99999999999999999999") == -1);
}

static enum message_field_status field(const char *s, size_t max, bool multiline, char *out)
{
    size_t start = 0, len = 0;
    enum message_field_status st = message_input_field(s, strlen(s), max, multiline, &start, &len);

    out[0] = '\0';
    if (st == MESSAGE_FIELD_OK) {
        memcpy(out, s + start, len);
        out[len] = '\0';
    }
    return st;
}

static void test_fields(void)
{
    char out[64];

    CHECK(field("Ada", 40, false, out) == MESSAGE_FIELD_OK);
    CHECK_STR(out, "Ada");
    CHECK(field(" \t\r\nAda Lovelace \n", 40, false, out) == MESSAGE_FIELD_OK);
    CHECK_STR(out, "Ada Lovelace");
    CHECK(field("caf\xc3\xa9", 4, false, out) == MESSAGE_FIELD_OK); /* 4 code points */
    CHECK_STR(out, "caf\xc3\xa9");
    CHECK(field("line 1\nline 2\tend", 40, true, out) == MESSAGE_FIELD_OK);
    CHECK_STR(out, "line 1\nline 2\tend");

    CHECK(field("", 40, false, out) == MESSAGE_FIELD_LENGTH);
    CHECK(field(" \n\t ", 40, false, out) == MESSAGE_FIELD_LENGTH);
    CHECK(field("abcde", 4, false, out) == MESSAGE_FIELD_LENGTH);
    CHECK(field("caf\xc3", 40, false, out) == MESSAGE_FIELD_NOT_UTF8);
    CHECK(field("\xc0\xae", 40, false, out) == MESSAGE_FIELD_NOT_UTF8); /* overlong */
    CHECK(field("a\nb", 40, false, out) == MESSAGE_FIELD_CONTROL);
    CHECK(field("a\tb", 40, false, out) == MESSAGE_FIELD_CONTROL);
    CHECK(field("a\rb", 40, true, out) == MESSAGE_FIELD_CONTROL);
    CHECK(field("a\x1b[31mb", 40, true, out) == MESSAGE_FIELD_CONTROL);
    CHECK(field("a\x7f", 40, true, out) == MESSAGE_FIELD_CONTROL);
}

int main(void)
{
    test_limit();
    test_fields();
    return check_summary("message_input");
}
