/* Startup configuration: one table of settings, each with a flag, an environment variable,
 * a default and its bounds. Loaded once in main() before any thread starts; read-only after. */
#ifndef APP_CONFIG_H
#define APP_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "log.h"

#define CONFIG_HOST_MAX_BYTES   255
#define CONFIG_SECRET_MAX_BYTES 512
#define CONFIG_NAME_MAX_BYTES   64
#define CONFIG_ERROR_MAX_BYTES  512
#define CONFIG_THREADS_MAX      256
#define CONFIG_SENTINELS_MAX    16

struct host_port {
    char host[CONFIG_HOST_MAX_BYTES + 1]; /* a name or an IP literal, without brackets */
    int port;
};

struct config {
    int port;
    char bind[CONFIG_HOST_MAX_BYTES + 1];
    struct host_port redis;
    char redis_username[CONFIG_NAME_MAX_BYTES + 1];   /* empty: AUTH as Redis's default user */
    char redis_password[CONFIG_SECRET_MAX_BYTES + 1]; /* empty: no AUTH */
    struct host_port sentinels[CONFIG_SENTINELS_MAX]; /* Sentinel mode when count > 0 */
    int sentinel_count;
    char master_name[CONFIG_NAME_MAX_BYTES + 1];
    char sentinel_username[CONFIG_NAME_MAX_BYTES + 1]; /* empty: the Sentinels' default user */
    char sentinel_password[CONFIG_SECRET_MAX_BYTES + 1];
    int sentinel_timeout_ms;
    int min_replicas_ack; /* WAIT for this many replicas before answering a ping */
    bool read_from_replicas;
    char instance_name[CONFIG_NAME_MAX_BYTES + 1];
    int threads;               /* resolved: at least 1 */
    char static_dir[PATH_MAX]; /* empty: static files disabled */
    int redis_timeout_ms;
    enum log_level log_level;
    int max_connections;
    int max_connections_per_ip;
    int idle_timeout_s;
    int shutdown_timeout_ms;
    int drain_quiet_ms;
    bool access_log;
    bool log_json; /* --log-format json */
    int session_ttl_s;
};

enum config_result {
    CONFIG_OK,
    CONFIG_SHOW_HELP,    /* --help: print config_print_help() and exit 0 */
    CONFIG_SHOW_VERSION, /* --version: print the version and exit 0 */
    CONFIG_INVALID       /* error[] says which setting and why: exit 2 */
};

/* Returns the value of an environment variable, or NULL. `getenv` fits; tests pass a fake. */
typedef char *(*config_env_fn)(const char *name);

/* Fills `cfg` from defaults, then the environment, then argv (flags win). On CONFIG_INVALID,
 * `error` holds one line naming the flag and the variable. Reads REDIS_PASSWORD_FILE and checks
 * STATIC_DIR on disk. A username needs a password (Redis's AUTH takes both). */
enum config_result config_load(struct config *cfg, int argc, const char *const *argv,
                               config_env_fn env, char error[CONFIG_ERROR_MAX_BYTES]);

/* Parses "host:port" or "[ipv6]:port" into `out`. Returns 0, or -1 with a reason in `why`. */
int config_parse_host_port(const char *text, struct host_port *out, const char **why);

/* Writes the usage text, generated from the settings table, to `out`. */
void config_print_help(FILE *out, const char *program);

#endif
