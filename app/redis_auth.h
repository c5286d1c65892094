/* Logging in to a Redis server or a Sentinel: the AUTH command for a set of credentials, and the
 * explanation of a refusal in words that name the settings a person must fix. Shared by the
 * workers' connections (redis_pipe.c) and the locator's (sentinel.c). Pure; any thread. */
#ifndef APP_REDIS_AUTH_H
#define APP_REDIS_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct config;

struct redis_credentials {
    const char *username;         /* "" or NULL: AUTH with the password alone (the default user) */
    const char *password;         /* "" or NULL: no AUTH */
    const char *username_setting; /* how a person sets them: "--redis-username / REDIS_USERNAME" */
    const char *password_setting;
};

/* The credentials for the Redis data nodes, and for the Sentinels, from `cfg` (borrowed). */
struct redis_credentials redis_auth_data_nodes(const struct config *cfg);
struct redis_credentials redis_auth_sentinels(const struct config *cfg);

/* The arguments of AUTH [username] password into argv/argv_len (borrowing the strings). Returns
 * how many, or 0 when no password is set (nothing to send). */
int redis_auth_argv(const struct redis_credentials *c, const char *argv[3], size_t argv_len[3]);

/* Explains `error`, a server's refusal of AUTH or of a command that needs it, without a subject:
 * "refused the password (WRONGPASS): check --redis-password / REDIS_PASSWORD". Returns true when
 * the error is about the credentials; otherwise `why` holds the error as it came. */
bool redis_auth_explain(const char *error, const struct redis_credentials *c, char *why,
                        size_t why_size);

#endif
