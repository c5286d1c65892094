/* redis_auth: the AUTH arguments, and a refused login explained with the settings to fix. */
#include "redis_auth.h"

#include <string.h>

#include "check.h"

static const struct redis_credentials data = {
    .username = "",
    .password = "secret",
    .username_setting = "--redis-username / REDIS_USERNAME",
    .password_setting = "--redis-password / REDIS_PASSWORD",
};

static void test_argv(void)
{
    struct redis_credentials c = data;
    const char *argv[3];
    size_t len[3];

    CHECK(redis_auth_argv(&c, argv, len) == 2);
    CHECK_STR(argv[0], "AUTH");
    CHECK(len[0] == 4);
    CHECK_STR(argv[1], "secret");
    CHECK(len[1] == 6);
    c.username = "app";
    CHECK(redis_auth_argv(&c, argv, len) == 3);
    CHECK_STR(argv[1], "app");
    CHECK(len[1] == 3);
    CHECK_STR(argv[2], "secret");
    c.password = "";
    CHECK(redis_auth_argv(&c, argv, len) == 0); /* a username alone sends nothing */
    c.password = NULL;
    c.username = NULL;
    CHECK(redis_auth_argv(&c, argv, len) == 0);
}

static void test_explain(void)
{
    struct redis_credentials c = data;
    char why[200];

    CHECK(redis_auth_explain("NOAUTH Authentication required.", &c, why, sizeof(why)));
    CHECK_STR(why, "requires a password: set --redis-password / REDIS_PASSWORD");
    CHECK(redis_auth_explain("WRONGPASS invalid username-password pair or user is disabled.", &c,
                             why, sizeof(why)));
    CHECK_STR(why, "refused the password (WRONGPASS): check --redis-password / REDIS_PASSWORD");
    CHECK(redis_auth_explain("ERR invalid password", &c, why, sizeof(why))); /* Redis 5 */
    CHECK_STR(why, "refused the password (WRONGPASS): check --redis-password / REDIS_PASSWORD");
    CHECK(redis_auth_explain("ERR AUTH <password> called without any password configured for the "
                             "default user. Are you sure your configuration is correct?",
                             &c, why, sizeof(why)));
    CHECK_STR(why, "has no password, but one was given: unset --redis-password / REDIS_PASSWORD");
    c.username = "app";
    CHECK(redis_auth_explain("WRONGPASS invalid username-password pair or user is disabled.", &c,
                             why, sizeof(why)));
    CHECK_STR(why, "refused the username or password (WRONGPASS): check --redis-username / "
                   "REDIS_USERNAME and --redis-password / REDIS_PASSWORD");
    CHECK(!redis_auth_explain("NOPERM this user has no permissions", &c, why, sizeof(why)));
    CHECK_STR(why, "NOPERM this user has no permissions"); /* not about the credentials */
}

int main(void)
{
    test_argv();
    test_explain();
    return check_summary("test_redis_auth");
}
