/* config: defaults, environment, flags winning over it, and every kind of invalid value. */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "check.h"

/* A fake environment: NULL-terminated name/value pairs. */
static const char *const *fake_env;

static char *lookup(const char *name)
{
    for (const char *const *p = fake_env; p != NULL && p[0] != NULL; p += 2) {
        if (strcmp(p[0], name) == 0) return (char *)p[1];
    }
    return NULL;
}

static enum config_result load(struct config *cfg, const char *const *env, const char **argv,
                               char error[CONFIG_ERROR_MAX_BYTES])
{
    int argc = 0;

    while (argv[argc] != NULL)
        argc++;
    fake_env = env;
    return config_load(cfg, argc, argv, lookup, error);
}

static void test_defaults(void)
{
    struct config cfg;
    char error[CONFIG_ERROR_MAX_BYTES];
    const char *argv[] = {"redisapp", NULL};
    char hostname[256];

    CHECK(load(&cfg, NULL, argv, error) == CONFIG_OK);
    CHECK(cfg.port == 8000);
    CHECK_STR(cfg.bind, "0.0.0.0");
    CHECK_STR(cfg.redis.host, "127.0.0.1");
    CHECK(cfg.redis.port == 6379);
    CHECK_STR(cfg.redis_password, "");
    CHECK_STR(cfg.redis_username, "");
    CHECK_STR(cfg.sentinel_username, "");
    CHECK(cfg.redis_timeout_ms == 1000);
    CHECK(cfg.threads >= 1);
    CHECK(cfg.log_level == LOG_INFO);
    CHECK(cfg.access_log);
    gethostname(hostname, sizeof(hostname));
    hostname[CONFIG_NAME_MAX_BYTES] = '\0';
    CHECK_STR(cfg.instance_name, hostname);
}

static void test_env_and_flags(void)
{
    struct config cfg;
    char error[CONFIG_ERROR_MAX_BYTES];
    const char *env[] = {"PORT",
                         "9000",
                         "REDIS_ADDR",
                         "redis-master:6380",
                         "INSTANCE_NAME",
                         "web-1",
                         "THREADS",
                         "3",
                         "LOG_LEVEL",
                         "debug",
                         "ACCESS_LOG",
                         "off",
                         "BIND",
                         "::",
                         "REDIS_TIMEOUT_MS",
                         "",
                         NULL};
    const char *argv[] = {"redisapp", "--port", "9100", "--threads=4", NULL};

    CHECK(load(&cfg, env, argv, error) == CONFIG_OK);
    CHECK(cfg.port == 9100); /* the flag wins */
    CHECK(cfg.threads == 4);
    CHECK_STR(cfg.redis.host, "redis-master");
    CHECK(cfg.redis.port == 6380);
    CHECK_STR(cfg.instance_name, "web-1");
    CHECK(cfg.log_level == LOG_DEBUG);
    CHECK(!cfg.access_log);
    CHECK_STR(cfg.bind, "::");
    CHECK(cfg.redis_timeout_ms == 1000); /* an empty variable counts as unset */
}

static void test_host_port(void)
{
    struct host_port hp;
    const char *why;

    CHECK(config_parse_host_port("[::1]:6379", &hp, &why) == 0);
    CHECK_STR(hp.host, "::1");
    CHECK(hp.port == 6379);
    CHECK(config_parse_host_port("redis_1.local:1", &hp, &why) == 0);
    CHECK(config_parse_host_port("redis", &hp, &why) != 0);
    CHECK(config_parse_host_port(":6379", &hp, &why) != 0);
    CHECK(config_parse_host_port("redis:", &hp, &why) != 0);
    CHECK(config_parse_host_port("redis:0", &hp, &why) != 0);
    CHECK(config_parse_host_port("redis:65536", &hp, &why) != 0);
    CHECK(config_parse_host_port("redis:+5", &hp, &why) != 0);
    CHECK(config_parse_host_port("redis:6379x", &hp, &why) != 0);
    CHECK(config_parse_host_port("a b:6379", &hp, &why) != 0);
    CHECK(config_parse_host_port("[zz]:6379", &hp, &why) != 0);
    CHECK(config_parse_host_port("[::1]6379", &hp, &why) != 0);
}

/* Each invalid setting: CONFIG_INVALID and a message naming the flag and the variable. */
static void expect_invalid(const char *const *env, const char **argv, const char *must_mention)
{
    struct config cfg;
    char error[CONFIG_ERROR_MAX_BYTES];

    CHECK(load(&cfg, env, argv, error) == CONFIG_INVALID);
    if (strstr(error, must_mention) == NULL) {
        check_failures++;
        fprintf(stderr, "error \"%s\" does not mention \"%s\"\n", error, must_mention);
    }
}

static void test_invalid(void)
{
    const char *plain[] = {"redisapp", NULL};
    const char *bad_port[] = {"redisapp", "--port", "abc", NULL};
    const char *missing_value[] = {"redisapp", "--port", NULL};
    const char *unknown[] = {"redisapp", "--colour", "red", NULL};
    const char *positional[] = {"redisapp", "extra", NULL};
    const char *bad_static[] = {"redisapp", "--static-dir", "/nonexistent/folder", NULL};
    const char *port_zero[] = {"PORT", "0", NULL};
    const char *port_big[] = {"PORT", "65536", NULL};
    const char *bad_redis[] = {"REDIS_ADDR", "localhost", NULL};
    const char *bad_level[] = {"LOG_LEVEL", "verbose", NULL};
    const char *bad_bool[] = {"ACCESS_LOG", "maybe", NULL};
    const char *bad_bind[] = {"BIND", "localhost", NULL};
    const char *bad_threads[] = {"THREADS", "0", NULL};
    const char *bad_timeout[] = {"REDIS_TIMEOUT_MS", "5", NULL};
    const char *bad_name[] = {"INSTANCE_NAME", "two words", NULL};
    const char *secret[] = {"REDIS_PASSWORD", "sec\nret", NULL};
    const char *missing_file[] = {"REDIS_PASSWORD_FILE", "/nonexistent/pw", NULL};
    const char *both[] = {"REDIS_PASSWORD", "a", "REDIS_PASSWORD_FILE", "/etc/hostname", NULL};

    expect_invalid(NULL, bad_port, "--port / PORT");
    expect_invalid(NULL, missing_value, "--port");
    expect_invalid(NULL, unknown, "--colour");
    expect_invalid(NULL, positional, "extra");
    expect_invalid(NULL, bad_static, "--static-dir / STATIC_DIR");
    expect_invalid(port_zero, plain, "PORT '0'");
    expect_invalid(port_big, plain, "--port / PORT");
    expect_invalid(bad_redis, plain, "--redis / REDIS_ADDR");
    expect_invalid(bad_level, plain, "--log-level / LOG_LEVEL");
    expect_invalid(bad_bool, plain, "--access-log / ACCESS_LOG");
    expect_invalid(bad_bind, plain, "--bind / BIND");
    expect_invalid(bad_threads, plain, "--threads / THREADS");
    expect_invalid(bad_timeout, plain, "--redis-timeout-ms / REDIS_TIMEOUT_MS");
    expect_invalid(bad_name, plain, "--instance-name / INSTANCE_NAME");
    expect_invalid(secret, plain, "--redis-password / REDIS_PASSWORD");
    expect_invalid(missing_file, plain, "--redis-password-file / REDIS_PASSWORD_FILE");
    expect_invalid(both, plain, "REDIS_PASSWORD and REDIS_PASSWORD_FILE");
}

static void test_secret_never_echoed(void)
{
    struct config cfg;
    char error[CONFIG_ERROR_MAX_BYTES];
    const char *env[] = {"REDIS_PASSWORD", "hunter2\x01", NULL};
    const char *argv[] = {"redisapp", NULL};

    CHECK(load(&cfg, env, argv, error) == CONFIG_INVALID);
    CHECK(strstr(error, "hunter2") == NULL);
}

static void test_password_file(void)
{
    struct config cfg;
    char error[CONFIG_ERROR_MAX_BYTES];
    char path[] = "/tmp/redisapp-test-pw-XXXXXX";
    int fd = mkstemp(path);
    const char *env[] = {"REDIS_PASSWORD_FILE", path, NULL};
    const char *argv[] = {"redisapp", NULL};

    CHECK(fd >= 0);
    CHECK(write(fd, "s3cret pass\nsecond line\n", 24) == 24);
    close(fd);
    CHECK(load(&cfg, env, argv, error) == CONFIG_OK);
    CHECK_STR(cfg.redis_password, "s3cret pass");
    unlink(path);
}

static void test_usernames(void)
{
    struct config cfg;
    char error[CONFIG_ERROR_MAX_BYTES];
    char path[] = "/tmp/redisapp-test-pw-XXXXXX";
    int fd = mkstemp(path);
    const char *env[] = {"REDIS_USERNAME",
                         "app",
                         "REDIS_PASSWORD",
                         "pw",
                         "REDIS_SENTINEL_USERNAME",
                         "app-s",
                         "REDIS_SENTINEL_PASSWORD_FILE",
                         path,
                         NULL};
    const char *plain[] = {"redisapp", NULL};
    const char *flags[] = {"redisapp", "--redis-username", "other", "--sentinel-username=peer",
                           NULL};
    const char *user_alone[] = {"REDIS_USERNAME", "app", NULL};
    const char *sentinel_user_alone[] = {"REDIS_SENTINEL_USERNAME", "app", "REDIS_PASSWORD", "pw",
                                         NULL};
    const char *spaced[] = {"REDIS_USERNAME", "my app", "REDIS_PASSWORD", "pw", NULL};
    const char *empty_user[] = {"REDIS_USERNAME", "", "REDIS_PASSWORD", "pw", NULL};

    CHECK(fd >= 0);
    CHECK(write(fd, "s-pw\n", 5) == 5);
    close(fd);
    CHECK(load(&cfg, env, plain, error) == CONFIG_OK);
    CHECK_STR(cfg.redis_username, "app");
    CHECK_STR(cfg.redis_password, "pw");
    CHECK_STR(cfg.sentinel_username, "app-s");
    CHECK_STR(cfg.sentinel_password, "s-pw"); /* a username with a password from a file */
    CHECK(load(&cfg, env, flags, error) == CONFIG_OK);
    CHECK_STR(cfg.redis_username, "other"); /* the flags win */
    CHECK_STR(cfg.sentinel_username, "peer");
    /* an empty variable is unset: AUTH with the password alone, as before */
    CHECK(load(&cfg, empty_user, plain, error) == CONFIG_OK);
    CHECK_STR(cfg.redis_username, "");
    unlink(path);
    expect_invalid(user_alone, plain,
                   "--redis-username / REDIS_USERNAME needs a password: set --redis-password");
    expect_invalid(sentinel_user_alone, plain,
                   "--sentinel-username / REDIS_SENTINEL_USERNAME needs a password");
    expect_invalid(spaced, plain, "invalid REDIS_USERNAME 'my app'");
}

static void test_help_and_version(void)
{
    struct config cfg;
    char error[CONFIG_ERROR_MAX_BYTES];
    const char *help[] = {"redisapp", "--port", "1", "--help", NULL};
    const char *version[] = {"redisapp", "--version", NULL};

    char *text = NULL;
    size_t text_len = 0;
    FILE *out = open_memstream(&text, &text_len);

    CHECK(load(&cfg, NULL, help, error) == CONFIG_SHOW_HELP);
    CHECK(load(&cfg, NULL, version, error) == CONFIG_SHOW_VERSION);
    CHECK(out != NULL);
    config_print_help(out, "redisapp");
    fclose(out);
    CHECK(strstr(text, "--redis-username NAME") != NULL && strstr(text, "REDIS_USERNAME") != NULL);
    CHECK(strstr(text, "--sentinel-username NAME") != NULL &&
          strstr(text, "REDIS_SENTINEL_USERNAME") != NULL);
    free(text);
}

static void test_static_dir(void)
{
    struct config cfg;
    char error[CONFIG_ERROR_MAX_BYTES];
    const char *explicit[] = {"redisapp", "--static-dir", "/tmp/", NULL};
    const char *absent_default[] = {NULL};
    const char *argv[] = {"redisapp", NULL};
    char cwd[4096];

    CHECK(load(&cfg, NULL, explicit, error) == CONFIG_OK);
    CHECK_STR(cfg.static_dir, "/tmp"); /* resolved */
    /* the default ./static is skipped, not an error, where it does not exist */
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    CHECK(chdir("/") == 0);
    CHECK(load(&cfg, absent_default, argv, error) == CONFIG_OK);
    CHECK_STR(cfg.static_dir, "");
    CHECK(chdir(cwd) == 0);
}

static void test_sentinel_settings(void)
{
    struct config cfg;
    char error[CONFIG_ERROR_MAX_BYTES];
    const char *env[] = {"REDIS_SENTINELS", "sentinel-1:26379, sentinel-2:26379,[::1]:26380",
                         "REDIS_MASTER_NAME", "app.master-1", NULL};
    const char *argv[] = {"redisapp", NULL};
    const char *direct[] = {"redisapp", "--redis", "r:1", NULL};
    const char *explicit_ack[] = {"redisapp", "--min-replicas-ack", "0", NULL};

    CHECK(load(&cfg, env, argv, error) == CONFIG_OK);
    CHECK(cfg.sentinel_count == 3);
    CHECK_STR(cfg.sentinels[0].host, "sentinel-1");
    CHECK_STR(cfg.sentinels[1].host, "sentinel-2");
    CHECK_STR(cfg.sentinels[2].host, "::1");
    CHECK(cfg.sentinels[2].port == 26380);
    CHECK_STR(cfg.master_name, "app.master-1");
    CHECK(cfg.min_replicas_ack == 1); /* durable by default with Sentinel */
    CHECK(cfg.sentinel_timeout_ms == 300);
    CHECK(!cfg.read_from_replicas);
    CHECK(load(&cfg, env, explicit_ack, error) == CONFIG_OK);
    CHECK(cfg.min_replicas_ack == 0);
    CHECK(load(&cfg, NULL, direct, error) == CONFIG_OK);
    CHECK(cfg.sentinel_count == 0);
    CHECK(cfg.min_replicas_ack == 0); /* direct mode answers after INCR */
    CHECK_STR(cfg.master_name, "mymaster");
}

static void test_sentinel_errors(void)
{
    const char *plain[] = {"redisapp", NULL};
    const char *both[] = {"redisapp", "--redis", "r:1", NULL};
    const char *sentinels[] = {"REDIS_SENTINELS", "s:26379", NULL};
    const char *bad_list[] = {"REDIS_SENTINELS", "s:26379,,t:1", NULL};
    const char *bad_port[] = {"REDIS_SENTINELS", "s:26379,t", NULL};
    const char *bad_name[] = {"REDIS_MASTER_NAME", "my master", NULL};
    const char *two_pw[] = {"REDIS_SENTINEL_PASSWORD", "a", "REDIS_SENTINEL_PASSWORD_FILE",
                            "/etc/hostname", NULL};
    const char *bad_ack[] = {"MIN_REPLICAS_ACK", "-1", NULL};

    expect_invalid(sentinels, both, "--redis and REDIS_SENTINELS are both set");
    expect_invalid(bad_list, plain, "--sentinels / REDIS_SENTINELS");
    expect_invalid(bad_port, plain, "--sentinels / REDIS_SENTINELS");
    expect_invalid(bad_name, plain, "--master-name / REDIS_MASTER_NAME");
    expect_invalid(two_pw, plain,
                   "REDIS_SENTINEL_PASSWORD and REDIS_SENTINEL_PASSWORD_FILE are both set");
    expect_invalid(bad_ack, plain, "--min-replicas-ack / MIN_REPLICAS_ACK");
}

int main(void)
{
    test_defaults();
    test_env_and_flags();
    test_host_port();
    test_invalid();
    test_secret_never_echoed();
    test_password_file();
    test_usernames();
    test_help_and_version();
    test_static_dir();
    test_sentinel_settings();
    test_sentinel_errors();
    return check_summary("test_config");
}
