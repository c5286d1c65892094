/* Parsers of Redis and Sentinel replies (see redis_info.h). Pure functions over the reply
 * structures and texts they are given; nothing here keeps state or talks to a server. */
#include "redis_info.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

bool redis_info_parse_ll(const char *s, size_t len, long long *out)
{
    unsigned long long v = 0, limit;
    bool negative = false;
    size_t i = 0;

    if (s == NULL || len == 0 || len > 20) return false;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return true;
    }
    if (s[0] == '-') {
        negative = true;
        if (++i == len) return false;
    }
    if (s[i] < '1' || s[i] > '9') return false; /* no leading zero, no '+', no space */
    limit = negative ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    for (; i < len; i++) {
        unsigned digit;

        if (s[i] < '0' || s[i] > '9') return false;
        digit = (unsigned)(s[i] - '0');
        if (v > (limit - digit) / 10) return false;
        v = v * 10 + digit;
    }
    if (negative)
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    else
        *out = (long long)v;
    return true;
}

bool redis_info_parse_port(const char *s, size_t len, int *out)
{
    long long v;

    if (!redis_info_parse_ll(s, len, &v) || v < 1 || v > 65535) return false;
    *out = (int)v;
    return true;
}

static bool is_string(const redisReply *r)
{
    return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
           r->str != NULL;
}

const char *redis_info_field(const redisReply *r, const char *field)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        if (is_string(r->element[i]) && strcmp(r->element[i]->str, field) == 0)
            return is_string(r->element[i + 1]) ? r->element[i + 1]->str : NULL;
    }
    return NULL;
}

bool redis_info_has_flag(const char *flags, const char *flag)
{
    size_t n = strlen(flag);

    for (const char *p = flags; p != NULL && *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

        if (len == n && strncmp(p, flag, n) == 0) return true;
        p = comma != NULL ? comma + 1 : NULL;
    }
    return false;
}

/* A field holding an integer. */
static bool field_ll(const redisReply *r, const char *field, long long *out)
{
    const char *v = redis_info_field(r, field);

    return v != NULL && redis_info_parse_ll(v, strlen(v), out);
}

int redis_info_sentinel_master(const redisReply *r, struct redis_info_sentinel_master *out)
{
    const char *flags = redis_info_field(r, "flags");
    long long others;

    memset(out, 0, sizeof(*out));
    if (flags == NULL || !field_ll(r, "config-epoch", &out->config_epoch) ||
        !field_ll(r, "num-other-sentinels", &others) || others < 0 || others > INT_MAX - 1)
        return -1;
    out->other_sentinels = (int)others;
    out->failover_in_progress = redis_info_has_flag(flags, "failover_in_progress");
    return 0;
}

/* True when v[0..n) is non-empty printable text (no NUL, no control bytes, no spaces). */
static bool printable(const char *v, size_t n)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] == 0x7f) return false;
    }
    return true;
}

/* Copies a string field into a host buffer; false when missing or too long. */
static bool copy_host(char dst[REDIS_INFO_HOST_BYTES], const char *src)
{
    size_t len = src != NULL ? strlen(src) : 0;

    if (!printable(src, len) || len >= REDIS_INFO_HOST_BYTES) return false;
    memcpy(dst, src, len + 1);
    return true;
}

int redis_info_sentinel_replicas(const redisReply *r, struct redis_info_sentinel_replica *out,
                                 int max)
{
    int kept = 0;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements > INT_MAX) return -1;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *entry = r->element[i];
        const char *flags = redis_info_field(entry, "flags");
        const char *role = redis_info_field(entry, "role-reported");
        const char *port = redis_info_field(entry, "port");
        const char *runid = redis_info_field(entry, "runid");
        struct redis_info_sentinel_replica replica;

        memset(&replica, 0, sizeof(replica));
        if (flags == NULL || port == NULL ||
            !copy_host(replica.host, redis_info_field(entry, "ip")) ||
            !redis_info_parse_port(port, strlen(port), &replica.port))
            return -1;
        replica.down = redis_info_has_flag(flags, "s_down") ||
                       redis_info_has_flag(flags, "o_down") ||
                       redis_info_has_flag(flags, "disconnected");
        replica.reports_master = role != NULL && strcmp(role, "master") == 0;
        replica.never_answered = runid == NULL || runid[0] == '\0';
        if (kept < max) out[kept++] = replica;
    }
    return (int)r->elements;
}

/* True when p[0..len) starts with `word` followed by a space. */
static bool starts_with_word(const char *p, size_t len, const char *word, size_t word_len)
{
    return len > word_len && memcmp(p, word, word_len) == 0 && p[word_len] == ' ';
}

bool redis_info_event_is_for(const char *payload, size_t len, const char *name)
{
    size_t name_len = strlen(name);

    if (payload == NULL || name_len == 0) return false;
    if (starts_with_word(payload, len, name, name_len)) return true; /* +switch-master */
    if (len > 7 && memcmp(payload, "master ", 7) == 0 &&
        starts_with_word(payload + 7, len - 7, name, name_len))
        return true;
    for (size_t i = 0; i + 3 + name_len < len; i++) { /* "... @ <name> <ip> <port>" */
        if (memcmp(payload + i, " @ ", 3) == 0)
            return starts_with_word(payload + i + 3, len - i - 3, name, name_len);
    }
    return false;
}

/* Reads "key=value" from the comma-separated fields [p, end); false when absent. */
static bool kv(const char *p, const char *end, const char *key, const char **value, size_t *len)
{
    size_t key_len = strlen(key);

    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma != NULL ? comma : end;

        if ((size_t)(stop - p) > key_len && memcmp(p, key, key_len) == 0 && p[key_len] == '=') {
            *value = p + key_len + 1;
            *len = (size_t)(stop - *value);
            return true;
        }
        p = stop + 1;
    }
    return false;
}

/* Parses the fields of one replica line (after "slaveN:"). */
static bool replica_line(const char *p, const char *end, struct redis_info_replica_line *out)
{
    const char *v;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (!kv(p, end, "ip", &v, &n) || !printable(v, n) || n >= sizeof(out->ip)) return false;
    memcpy(out->ip, v, n);
    if (!kv(p, end, "port", &v, &n) || !redis_info_parse_port(v, n, &out->port)) return false;
    if (!kv(p, end, "state", &v, &n) || !printable(v, n) || n >= sizeof(out->state)) return false;
    memcpy(out->state, v, n);
    if (!kv(p, end, "offset", &v, &n) || !redis_info_parse_ll(v, n, &out->offset)) return false;
    if (!kv(p, end, "lag", &v, &n) || !redis_info_parse_ll(v, n, &out->lag)) return false;
    return true;
}

int redis_info_replication(const char *text, size_t len, redis_info_replica_fn fn, void *arg,
                           long long *master_repl_offset)
{
    const char *line = text, *end = text + len;
    int seen = 0;

    *master_repl_offset = -1;
    while (text != NULL && line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *stop = eol != NULL ? eol : end;
        const char *colon;
        size_t n = 5;

        if (stop > line && stop[-1] == '\r') stop--;
        colon = memchr(line, ':', (size_t)(stop - line));
        if (colon != NULL && (size_t)(colon - line) > 5 && memcmp(line, "slave", 5) == 0) {
            struct redis_info_replica_line replica;
            long long index;

            n = (size_t)(colon - line) - 5;
            if (redis_info_parse_ll(line + 5, n, &index) && index >= 0 &&
                replica_line(colon + 1, stop, &replica)) {
                seen++;
                fn(arg, &replica);
            }
        } else if (colon != NULL && (size_t)(colon - line) == 18 &&
                   memcmp(line, "master_repl_offset", 18) == 0) {
            long long offset;

            if (redis_info_parse_ll(colon + 1, (size_t)(stop - colon - 1), &offset))
                *master_repl_offset = offset;
        }
        line = eol != NULL ? eol + 1 : end;
    }
    return seen;
}
