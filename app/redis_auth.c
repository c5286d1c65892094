/* AUTH arguments and the wording of a refused login (redis_auth.h). */
#include "redis_auth.h"

#include <stdio.h>
#include <string.h>

#include "config.h"

struct redis_credentials redis_auth_data_nodes(const struct config *cfg)
{
    return (struct redis_credentials){
        .username = cfg->redis_username,
        .password = cfg->redis_password,
        .username_setting = "--redis-username / REDIS_USERNAME",
        .password_setting = "--redis-password / REDIS_PASSWORD",
    };
}

struct redis_credentials redis_auth_sentinels(const struct config *cfg)
{
    return (struct redis_credentials){
        .username = cfg->sentinel_username,
        .password = cfg->sentinel_password,
        .username_setting = "--sentinel-username / REDIS_SENTINEL_USERNAME",
        .password_setting = "--sentinel-password / REDIS_SENTINEL_PASSWORD",
    };
}

static bool is_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

int redis_auth_argv(const struct redis_credentials *c, const char *argv[3], size_t argv_len[3])
{
    int argc = 0;

    if (!is_set(c->password)) return 0;
    argv[argc] = "AUTH";
    argv_len[argc++] = 4;
    if (is_set(c->username)) {
        argv[argc] = c->username;
        argv_len[argc++] = strlen(c->username);
    }
    argv[argc] = c->password;
    argv_len[argc++] = strlen(c->password);
    return argc;
}

bool redis_auth_explain(const char *error, const struct redis_credentials *c, char *why,
                        size_t why_size)
{
    bool refused = strncmp(error, "WRONGPASS", 9) == 0 ||
                   strstr(error, "invalid password") != NULL ||
                   strstr(error, "invalid username-password") != NULL;

    if (strncmp(error, "NOAUTH", 6) == 0)
        snprintf(why, why_size, "requires a password: set %s", c->password_setting);
    else if (refused && is_set(c->username)) /* Redis does not say which of the two was wrong */
        snprintf(why, why_size, "refused the username or password (WRONGPASS): check %s and %s",
                 c->username_setting, c->password_setting);
    else if (refused)
        snprintf(why, why_size, "refused the password (WRONGPASS): check %s", c->password_setting);
    else if (strstr(error, "without any password configured") != NULL)
        snprintf(why, why_size, "has no password, but one was given: unset %s",
                 c->password_setting);
    else {
        snprintf(why, why_size, "%s", error);
        return false;
    }
    return true;
}
