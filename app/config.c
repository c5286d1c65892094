/* Settings table and loader: every setting is declared once below with its flag, variable,
 * default and bounds; --help is printed from the same table. Pure apart from reading the
 * password file, checking the static folder and asking for the hostname and CPU count. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIELD(name)                                                                                \
    .offset = offsetof(struct config, name), .size = sizeof(((struct config *)0)->name)

enum option_type {
    OPT_INT,
    OPT_BOOL,
    OPT_LOG_LEVEL,
    OPT_LOG_FORMAT,  /* text or json, into a bool */
    OPT_BIND,        /* IP literal */
    OPT_ADDR,        /* host:port */
    OPT_ADDR_LIST,   /* host:port[,host:port...] */
    OPT_NAME,        /* printable, no spaces */
    OPT_MASTER_NAME, /* letters, digits, '.', '-', '_' (Sentinel's rule) */
    OPT_SECRET,      /* any bytes but newlines */
    OPT_FILE,        /* a file whose first line fills `target` */
    OPT_DIR,         /* a directory that must exist */
};

struct config_option {
    const char *flag; /* without the leading -- */
    const char *env;
    enum option_type type;
    size_t offset;
    size_t size;
    const char *default_value; /* NULL: unset unless given */
    long min, max;             /* OPT_INT bounds */
    const char *metavar;
    const char *help;
    const char *target;                       /* OPT_FILE: flag of the setting it fills */
    void (*compute_default)(struct config *); /* default known only at load time */
};

static void default_threads(struct config *cfg);
static void default_instance_name(struct config *cfg);
static void default_min_replicas_ack(struct config *cfg);

static const struct config_option options[] = {
    {.flag = "port",
     .env = "PORT",
     .type = OPT_INT,
     FIELD(port),
     .default_value = "8000",
     .min = 1,
     .max = 65535,
     .metavar = "N",
     .help = "HTTP port to listen on"},
    {.flag = "bind",
     .env = "BIND",
     .type = OPT_BIND,
     FIELD(bind),
     .default_value = "0.0.0.0",
     .metavar = "ADDR",
     .help = "IP address to listen on (IPv4 or IPv6 literal; :: takes both)"},
    {.flag = "redis",
     .env = "REDIS_ADDR",
     .type = OPT_ADDR,
     FIELD(redis),
     .default_value = "127.0.0.1:6379",
     .metavar = "HOST:PORT",
     .help = "Redis master address (a name is resolved again after failures)"},
    {.flag = "redis-username",
     .env = "REDIS_USERNAME",
     .type = OPT_NAME,
     FIELD(redis_username),
     .metavar = "NAME",
     .help = "Redis ACL user (AUTH username password; needs --redis-password or its file)"},
    {.flag = "redis-password",
     .env = "REDIS_PASSWORD",
     .type = OPT_SECRET,
     FIELD(redis_password),
     .metavar = "PASSWORD",
     .help = "Redis password (AUTH); prefer the _FILE variant, flags show in ps"},
    {.flag = "redis-password-file",
     .env = "REDIS_PASSWORD_FILE",
     .type = OPT_FILE,
     .metavar = "PATH",
     .help = "read the Redis password from the first line of this file",
     .target = "redis-password"},
    {.flag = "sentinels",
     .env = "REDIS_SENTINELS",
     .type = OPT_ADDR_LIST,
     .metavar = "HOST:PORT,...",
     .help = "find the Redis master through these Sentinels (instead of --redis) and follow "
             "its failovers"},
    {.flag = "master-name",
     .env = "REDIS_MASTER_NAME",
     .type = OPT_MASTER_NAME,
     FIELD(master_name),
     .default_value = "mymaster",
     .metavar = "NAME",
     .help = "the master group the Sentinels monitor"},
    {.flag = "sentinel-username",
     .env = "REDIS_SENTINEL_USERNAME",
     .type = OPT_NAME,
     FIELD(sentinel_username),
     .metavar = "NAME",
     .help = "ACL user on the Sentinels (needs --sentinel-password or its file)"},
    {.flag = "sentinel-password",
     .env = "REDIS_SENTINEL_PASSWORD",
     .type = OPT_SECRET,
     FIELD(sentinel_password),
     .metavar = "PASSWORD",
     .help = "password of the Sentinels (not the data password)"},
    {.flag = "sentinel-password-file",
     .env = "REDIS_SENTINEL_PASSWORD_FILE",
     .type = OPT_FILE,
     .metavar = "PATH",
     .help = "read the Sentinel password from the first line of this file",
     .target = "sentinel-password"},
    {.flag = "sentinel-timeout-ms",
     .env = "SENTINEL_TIMEOUT_MS",
     .type = OPT_INT,
     FIELD(sentinel_timeout_ms),
     .default_value = "300",
     .min = 10,
     .max = 60000,
     .metavar = "MS",
     .help = "connect and reply timeout for each Sentinel"},
    {.flag = "min-replicas-ack",
     .env = "MIN_REPLICAS_ACK",
     .type = OPT_INT,
     FIELD(min_replicas_ack),
     .min = 0,
     .max = 16,
     .metavar = "N",
     .help = "answer a ping only after WAIT saw this many replicas acknowledge it "
             "(default 1 with --sentinels, 0 with --redis)",
     .compute_default = default_min_replicas_ack},
    {.flag = "read-from-replicas",
     .env = "READ_FROM_REPLICAS",
     .type = OPT_BOOL,
     FIELD(read_from_replicas),
     .default_value = "off",
     .metavar = "on|off",
     .help = "send /query/ reads to a healthy replica found through Sentinel (falls back to "
             "the master)"},
    {.flag = "redis-timeout-ms",
     .env = "REDIS_TIMEOUT_MS",
     .type = OPT_INT,
     FIELD(redis_timeout_ms),
     .default_value = "1000",
     .min = 10,
     .max = 60000,
     .metavar = "MS",
     .help = "Redis connect and per-command timeout; no request waits longer for Redis"},
    {.flag = "instance-name",
     .env = "INSTANCE_NAME",
     .type = OPT_NAME,
     FIELD(instance_name),
     .metavar = "NAME",
     .help = "name shown in answers and logs (default: the hostname)",
     .compute_default = default_instance_name},
    {.flag = "threads",
     .env = "THREADS",
     .type = OPT_INT,
     FIELD(threads),
     .min = 1,
     .max = CONFIG_THREADS_MAX,
     .metavar = "N",
     .help = "worker threads, each with its own HTTP loop and Redis connection "
             "(default: CPU count)",
     .compute_default = default_threads},
    {.flag = "static-dir",
     .env = "STATIC_DIR",
     .type = OPT_DIR,
     FIELD(static_dir),
     .default_value = "static",
     .metavar = "DIR",
     .help = "folder served under /static/ (default ./static, skipped when absent)"},
    {.flag = "log-level",
     .env = "LOG_LEVEL",
     .type = OPT_LOG_LEVEL,
     FIELD(log_level),
     .default_value = "info",
     .metavar = "LEVEL",
     .help = "error, warn, info or debug (diagnostics go to stderr)"},
    {.flag = "access-log",
     .env = "ACCESS_LOG",
     .type = OPT_BOOL,
     FIELD(access_log),
     .default_value = "on",
     .metavar = "on|off",
     .help = "one line per request on stdout"},
    {.flag = "log-format",
     .env = "LOG_FORMAT",
     .type = OPT_LOG_FORMAT,
     FIELD(log_json),
     .default_value = "text",
     .metavar = "text|json",
     .help = "access log lines as text or as one JSON object each"},
    {.flag = "session-ttl-s",
     .env = "SESSION_TTL_S",
     .type = OPT_INT,
     FIELD(session_ttl_s),
     .default_value = "1800",
     .min = 60,
     .max = 604800,
     .metavar = "S",
     .help = "a browser session (/api/status) expires after this long without a visit"},
    {.flag = "max-connections",
     .env = "MAX_CONNECTIONS",
     .type = OPT_INT,
     FIELD(max_connections),
     .default_value = "4096",
     .min = 1,
     .max = 1000000,
     .metavar = "N",
     .help = "open HTTP connections at most; more wait in the listen backlog"},
    {.flag = "max-connections-per-ip",
     .env = "MAX_CONNECTIONS_PER_IP",
     .type = OPT_INT,
     FIELD(max_connections_per_ip),
     .default_value = "1024",
     .min = 1,
     .max = 1000000,
     .metavar = "N",
     .help = "open HTTP connections from one client address at most"},
    {.flag = "idle-timeout-s",
     .env = "IDLE_TIMEOUT_S",
     .type = OPT_INT,
     FIELD(idle_timeout_s),
     .default_value = "30",
     .min = 1,
     .max = 3600,
     .metavar = "S",
     .help = "close a connection that sends nothing for this long"},
    {.flag = "drain-quiet-ms",
     .env = "DRAIN_QUIET_MS",
     .type = OPT_INT,
     FIELD(drain_quiet_ms),
     .default_value = "1000",
     .min = 0,
     .max = 600000,
     .metavar = "MS",
     .help = "after SIGTERM, stop accepting once no request came for this long"},
    {.flag = "shutdown-timeout-ms",
     .env = "SHUTDOWN_TIMEOUT_MS",
     .type = OPT_INT,
     FIELD(shutdown_timeout_ms),
     .default_value = "8000",
     .min = 100,
     .max = 600000,
     .metavar = "MS",
     .help = "after SIGTERM, exit at the latest after this long"},
};

#define OPTION_COUNT (sizeof(options) / sizeof(options[0]))

struct given_value {
    const char *text;
    const char *source; /* "--port" or "PORT" */
};

static void fail(char error[CONFIG_ERROR_MAX_BYTES], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(char error[CONFIG_ERROR_MAX_BYTES], const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(error, CONFIG_ERROR_MAX_BYTES, fmt, ap);
    va_end(ap);
}

static const struct config_option *find_option(const char *flag, size_t len)
{
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        if (strlen(options[i].flag) == len && strncmp(options[i].flag, flag, len) == 0)
            return &options[i];
    }
    return NULL;
}

static bool has_control_chars(const char *s)
{
    for (; *s != '\0'; s++) {
        if (iscntrl((unsigned char)*s)) return true;
    }
    return false;
}

static bool is_host_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

int config_parse_host_port(const char *text, struct host_port *out, const char **why)
{
    const char *host = text;
    const char *colon;
    size_t host_len;
    char *end;
    long port;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        struct in6_addr ignored;
        char literal[INET6_ADDRSTRLEN];

        if (close == NULL || close[1] != ':') {
            *why = "expected [IPv6]:PORT";
            return -1;
        }
        host = text + 1;
        host_len = (size_t)(close - host);
        if (host_len == 0 || host_len >= sizeof(literal)) {
            *why = "not an IPv6 address";
            return -1;
        }
        memcpy(literal, host, host_len);
        literal[host_len] = '\0';
        if (inet_pton(AF_INET6, literal, &ignored) != 1) {
            *why = "not an IPv6 address";
            return -1;
        }
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL) {
            *why = "expected HOST:PORT";
            return -1;
        }
        host_len = (size_t)(colon - text);
        if (host_len == 0) {
            *why = "the host is empty";
            return -1;
        }
        for (size_t i = 0; i < host_len; i++) {
            if (!is_host_char(text[i])) {
                *why = "the host may hold only letters, digits, '-', '.' and '_'";
                return -1;
            }
        }
    }
    if (host_len > CONFIG_HOST_MAX_BYTES) {
        *why = "the host is longer than 255 characters";
        return -1;
    }
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 1 || port > 65535 ||
        !isdigit((unsigned char)colon[1])) {
        *why = "the port must be a number from 1 to 65535";
        return -1;
    }
    memcpy(out->host, host, host_len);
    out->host[host_len] = '\0';
    out->port = (int)port;
    return 0;
}

static int parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static int copy_string(const struct config_option *opt, struct config *cfg, const char *text)
{
    char *field = (char *)cfg + opt->offset;
    size_t len = strlen(text);

    if (len >= opt->size) return -1;
    memcpy(field, text, len + 1);
    return 0;
}

/* Reads the first line of `path` (a password file) into `out`. */
static int read_first_line(const char *path, char *out, size_t out_size, const char **why)
{
    char buf[CONFIG_SECRET_MAX_BYTES + 2];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len;

    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0) {
        *why = strerror(errno);
        return -1;
    }
    buf[n] = '\0';
    len = strcspn(buf, "\r\n");
    if (len == (size_t)n && (size_t)n == sizeof(buf) - 1) {
        *why = "the password is longer than 512 bytes";
        return -1;
    }
    buf[len] = '\0';
    if (len == 0) {
        *why = "the file is empty";
        return -1;
    }
    if (len >= out_size) {
        *why = "the password is longer than 512 bytes";
        return -1;
    }
    memcpy(out, buf, len + 1);
    return 0;
}

static int count_cpus(void)
{
    cpu_set_t set;
    long n;

    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Fills cfg->sentinels from "host:port,host:port". Returns NULL, or why it is invalid. */
static const char *parse_sentinel_list(const char *text, struct config *cfg)
{
    const char *p = text;
    const char *why = NULL;

    cfg->sentinel_count = 0;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        char item[CONFIG_HOST_MAX_BYTES + 16];

        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        if (len == 0 || len >= sizeof(item)) return "expected HOST:PORT[,HOST:PORT...]";
        if (cfg->sentinel_count == CONFIG_SENTINELS_MAX) return "at most 16 Sentinels";
        memcpy(item, p, len);
        item[len] = '\0';
        while (len > 0 && item[len - 1] == ' ')
            item[--len] = '\0';
        if (config_parse_host_port(item, &cfg->sentinels[cfg->sentinel_count], &why) != 0)
            return why;
        cfg->sentinel_count++;
        p += strcspn(p, ",");
        if (*p == ',') p++;
    }
    return cfg->sentinel_count == 0 ? "expected HOST:PORT[,HOST:PORT...]" : NULL;
}

/* Applies `text` to the setting; on failure writes the reason to `error`. */
static int apply_value(const struct config_option *opt, struct config *cfg, const char *text,
                       const char *source, char error[CONFIG_ERROR_MAX_BYTES])
{
    void *field = (char *)cfg + opt->offset;
    const char *why = NULL;
    bool echo = true; /* secrets are never echoed */

    switch (opt->type) {
    case OPT_INT: {
        char *end;
        long v;

        errno = 0;
        v = strtol(text, &end, 10);
        if (text[0] == '\0' || *end != '\0' || errno != 0 || v < opt->min || v > opt->max) {
            fail(error, "invalid %s '%s': expected an integer from %ld to %ld (--%s / %s)", source,
                 text, opt->min, opt->max, opt->flag, opt->env);
            return -1;
        }
        *(int *)field = (int)v;
        return 0;
    }
    case OPT_NAME:
        if (text[0] == '\0' || strlen(text) > CONFIG_NAME_MAX_BYTES)
            why = "expected 1 to 64 characters";
        for (const char *p = text; why == NULL && *p != '\0'; p++) {
            if (!isgraph((unsigned char)*p)) why = "expected printable characters, no spaces";
        }
        break;
    case OPT_BOOL:
        if (parse_bool(text, (bool *)field) != 0) why = "expected on or off";
        break;
    case OPT_LOG_FORMAT:
        if (strcmp(text, "json") == 0)
            *(bool *)field = true;
        else if (strcmp(text, "text") == 0)
            *(bool *)field = false;
        else
            why = "expected text or json";
        break;
    case OPT_LOG_LEVEL:
        if (log_level_parse(text, (enum log_level *)field) != 0)
            why = "expected error, warn, info or debug";
        break;
    case OPT_BIND: {
        unsigned char addr[sizeof(struct in6_addr)];

        if (inet_pton(AF_INET, text, addr) != 1 && inet_pton(AF_INET6, text, addr) != 1)
            why = "expected an IPv4 or IPv6 address such as 0.0.0.0 or ::";
        break;
    }
    case OPT_ADDR:
        config_parse_host_port(text, field, &why);
        break;
    case OPT_ADDR_LIST:
        why = parse_sentinel_list(text, cfg);
        break;
    case OPT_MASTER_NAME:
        if (text[0] == '\0' || strlen(text) > CONFIG_NAME_MAX_BYTES)
            why = "expected 1 to 64 characters";
        for (const char *p = text; why == NULL && *p != '\0'; p++) {
            if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
                why = "Sentinel master names hold only letters, digits, '.', '-' and '_'";
        }
        break;
    case OPT_SECRET:
        echo = false;
        if (has_control_chars(text)) why = "control characters are not allowed";
        break;
    case OPT_FILE: {
        const struct config_option *target = find_option(opt->target, strlen(opt->target));
        char *dest = (char *)cfg + target->offset;

        if (read_first_line(text, dest, target->size, &why) == 0 && has_control_chars(dest))
            why = "control characters in the password";
        break;
    }
    case OPT_DIR:
        if (text[0] == '\0') why = "expected a folder";
        break;
    }
    if (why == NULL && (opt->type == OPT_NAME || opt->type == OPT_MASTER_NAME ||
                        opt->type == OPT_BIND || opt->type == OPT_SECRET || opt->type == OPT_DIR)) {
        if (copy_string(opt, cfg, text) != 0) why = "value too long";
    }
    if (why == NULL) return 0;
    if (echo)
        fail(error, "invalid %s '%s': %s (--%s / %s)", source, text, why, opt->flag, opt->env);
    else
        fail(error, "invalid %s: %s (--%s / %s)", source, why, opt->flag, opt->env);
    return -1;
}

static void default_threads(struct config *cfg)
{
    cfg->threads = count_cpus();
    if (cfg->threads > CONFIG_THREADS_MAX) cfg->threads = CONFIG_THREADS_MAX;
}

static void default_min_replicas_ack(struct config *cfg)
{
    /* Sentinel mode promises a counter that never goes back: acknowledge after one replica */
    cfg->min_replicas_ack = cfg->sentinel_count > 0 ? 1 : 0;
}

static void default_instance_name(struct config *cfg)
{
    if (gethostname(cfg->instance_name, sizeof(cfg->instance_name)) != 0 ||
        cfg->instance_name[0] == '\0')
        snprintf(cfg->instance_name, sizeof(cfg->instance_name), "redisapp");
    cfg->instance_name[sizeof(cfg->instance_name) - 1] = '\0';
}

/* Collects --flag VALUE and --flag=VALUE pairs. Returns CONFIG_OK or another result. */
static enum config_result scan_argv(int argc, const char *const *argv,
                                    struct given_value given[OPTION_COUNT],
                                    char flag_names[OPTION_COUNT][48],
                                    char error[CONFIG_ERROR_MAX_BYTES])
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *name, *eq, *value;
        const struct config_option *opt;
        size_t name_len, index;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) return CONFIG_SHOW_HELP;
        if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) return CONFIG_SHOW_VERSION;
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            fail(error, "unexpected argument '%s' (see --help)", arg);
            return CONFIG_INVALID;
        }
        name = arg + 2;
        eq = strchr(name, '=');
        name_len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        opt = find_option(name, name_len);
        if (opt == NULL) {
            fail(error, "unknown option '--%.*s' (see --help)", (int)name_len, name);
            return CONFIG_INVALID;
        }
        if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fail(error, "option --%s needs a value (see --help)", opt->flag);
            return CONFIG_INVALID;
        }
        index = (size_t)(opt - options);
        snprintf(flag_names[index], sizeof(flag_names[index]), "--%s", opt->flag);
        given[index].text = value;
        given[index].source = flag_names[index];
    }
    return CONFIG_OK;
}

static int check_static_dir(struct config *cfg, bool explicit, char error[CONFIG_ERROR_MAX_BYTES])
{
    struct stat st;
    char resolved[PATH_MAX];

    if (stat(cfg->static_dir, &st) == 0 && S_ISDIR(st.st_mode) &&
        realpath(cfg->static_dir, resolved) != NULL) {
        /* absolute and free of symlinks: the base that served paths must stay inside */
        snprintf(cfg->static_dir, sizeof(cfg->static_dir), "%s", resolved);
        return 0;
    }
    if (!explicit) {
        cfg->static_dir[0] = '\0'; /* default folder absent: serve no static files */
        return 0;
    }
    fail(error, "invalid static folder '%s': %s (--static-dir / STATIC_DIR)", cfg->static_dir,
         errno != 0 && stat(cfg->static_dir, &st) != 0 ? strerror(errno) : "not a directory");
    return -1;
}

/* A username without a password: Redis's AUTH needs both. */
static int check_usernames(const struct config *cfg, char error[CONFIG_ERROR_MAX_BYTES])
{
    if (cfg->redis_username[0] != '\0' && cfg->redis_password[0] == '\0') {
        fail(error, "--redis-username / REDIS_USERNAME needs a password: set --redis-password / "
                    "REDIS_PASSWORD or --redis-password-file / REDIS_PASSWORD_FILE");
        return -1;
    }
    if (cfg->sentinel_username[0] != '\0' && cfg->sentinel_password[0] == '\0') {
        fail(error, "--sentinel-username / REDIS_SENTINEL_USERNAME needs a password: set "
                    "--sentinel-password / REDIS_SENTINEL_PASSWORD or --sentinel-password-file / "
                    "REDIS_SENTINEL_PASSWORD_FILE");
        return -1;
    }
    return 0;
}

/* Settings that exclude each other: a secret and its file; --redis and --sentinels. */
static int check_conflicts(const struct given_value given[OPTION_COUNT],
                           char error[CONFIG_ERROR_MAX_BYTES])
{
    const struct config_option *redis = find_option("redis", 5);
    const struct config_option *sentinels = find_option("sentinels", 9);

    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct config_option *target;

        if (options[i].type != OPT_FILE || given[i].text == NULL) continue;
        target = find_option(options[i].target, strlen(options[i].target));
        if (given[target - options].text != NULL) {
            fail(error, "give --%s once: %s and %s are both set", target->flag,
                 given[target - options].source, given[i].source);
            return -1;
        }
    }
    if (given[redis - options].text != NULL && given[sentinels - options].text != NULL) {
        fail(error,
             "give either the master address or the Sentinels, not both: %s and %s are both set "
             "(with --sentinels / REDIS_SENTINELS the master is found through Sentinel)",
             given[redis - options].source, given[sentinels - options].source);
        return -1;
    }
    return 0;
}

enum config_result config_load(struct config *cfg, int argc, const char *const *argv,
                               config_env_fn env, char error[CONFIG_ERROR_MAX_BYTES])
{
    struct given_value given[OPTION_COUNT];
    char flag_names[OPTION_COUNT][48];
    enum config_result result;
    bool static_explicit = false;

    memset(cfg, 0, sizeof(*cfg));
    memset(given, 0, sizeof(given));
    error[0] = '\0';
    result = scan_argv(argc, argv, given, flag_names, error);
    if (result != CONFIG_OK) return result;

    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const char *from_env = env(options[i].env);

        if (given[i].text == NULL && from_env != NULL && from_env[0] != '\0') {
            given[i].text = from_env;
            given[i].source = options[i].env;
        }
    }
    if (check_conflicts(given, error) != 0) return CONFIG_INVALID;

    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct config_option *opt = &options[i];

        if (given[i].text != NULL) {
            if (apply_value(opt, cfg, given[i].text, given[i].source, error) != 0)
                return CONFIG_INVALID;
            if (opt->type == OPT_DIR) static_explicit = true;
        } else if (opt->compute_default != NULL) {
            opt->compute_default(cfg);
        } else if (opt->default_value != NULL) {
            if (apply_value(opt, cfg, opt->default_value, "default", error) != 0)
                return CONFIG_INVALID;
        }
    }
    if (check_usernames(cfg, error) != 0) return CONFIG_INVALID;
    if (cfg->static_dir[0] != '\0' && check_static_dir(cfg, static_explicit, error) != 0)
        return CONFIG_INVALID;
    if (cfg->max_connections_per_ip > cfg->max_connections)
        cfg->max_connections_per_ip = cfg->max_connections;
    return CONFIG_OK;
}

void config_print_help(FILE *out, const char *program)
{
    fprintf(out,
            "Usage: %s [OPTIONS]\n"
            "\n"
            "redisapp: the web tier of the Docker application stack, in C. Serves the ping\n"
            "counter (GET /), /query/, /helloworld, health probes and static files, backed by\n"
            "Redis through pipelined connections, one per worker thread.\n"
            "\n"
            "Every option can also be set through the environment variable shown; a flag wins\n"
            "over its variable. Invalid values stop the server with exit status 2.\n"
            "\n",
            program);
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct config_option *opt = &options[i];
        char left[64];

        snprintf(left, sizeof(left), "--%s %s", opt->flag, opt->metavar);
        fprintf(out, "  %-34s %s\n", left, opt->env);
        fprintf(out, "      %s", opt->help);
        if (opt->default_value != NULL && opt->type != OPT_DIR)
            fprintf(out, " (default %s)", opt->default_value);
        fputc('\n', out);
    }
    fprintf(out, "\n  %-34s %s\n  %-34s %s\n", "--help", "show this text and exit", "--version",
            "show the version and the libraries in use, then exit");
}
