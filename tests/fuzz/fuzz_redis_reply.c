/* libFuzzer target: what a Redis server or Sentinel may send back, as raw RESP bytes, decoded by
 * hiredis's reader (as on a real connection) and handed to every parser of redis_info.c and to
 * the acknowledgement rule; the raw bytes also go to the text parsers (INFO replication, event
 * payloads, integers). The invariants checked: no crash, no read out of bounds (ASan), and the
 * rule's results stay within their bounds. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "ack_rule.h"
#include "redis_info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore_line(void *arg, const struct redis_info_replica_line *line)
{
    size_t *seen = arg;

    if (line->port < 1 || line->port > 65535 || strlen(line->ip) == 0) abort();
    (*seen)++;
}

struct online_lines {
    struct redis_info_replica_line *list;
    int count;
};

static void keep_line(void *arg, const struct redis_info_replica_line *line)
{
    struct online_lines *lines = arg;

    if (line->port < 1 || line->port > 65535 || strlen(line->ip) == 0) abort();
    if (lines->count < ACK_RULE_ONLINE_MAX) lines->list[lines->count++] = *line;
}

static void parse_reply(const redisReply *r)
{
    static struct ack_view view;
    static struct redis_info_replica_line online[ACK_RULE_ONLINE_MAX];
    struct ack_input in = {"M", 6379, &view, 1, 3, online, 0, 1, 1};
    struct ack_result result;
    long long value;

    memset(&view, 0, sizeof(view));
    snprintf(view.master_host, sizeof(view.master_host), "M");
    view.master_port = 6379;
    if (redis_info_sentinel_master(r, &view.master) == 0 && view.master.other_sentinels < 0)
        abort();
    view.replica_count = redis_info_sentinel_replicas(r, view.replicas, REDIS_INFO_REPLICAS_MAX);
    if (view.replica_count >= 0) {
        ack_rule_compute(&in, &result);
        if (result.required < 1 || result.left_out > result.candidates) abort();
    }
    (void)redis_info_field(r, "flags");
    if (r->type == REDIS_REPLY_STRING && r->str != NULL) {
        struct online_lines lines = {online, 0};

        redis_info_replication(r->str, r->len, keep_line, &lines, &value);
        in.online_count = lines.count;
        if (view.replica_count < 0) {
            view.replica_count = 0;
            ack_rule_compute(&in, &result);
            if (result.required < 1 || result.left_out > result.candidates) abort();
        }
        (void)redis_info_event_is_for(r->str, r->len, "mymaster");
        (void)redis_info_parse_ll(r->str, r->len, &value);
    }
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++)
            parse_reply(r->element[i]);
    }
}

/* True when a line announces an array of more than 4096 elements. hiredis 0.14's reader
 * allocates a multi-bulk's element array up front (it has no maxelements yet), so such a header
 * makes it ask for gigabytes: the reader's limit, not our parsers', and left out here. */
static bool announces_huge_array(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        unsigned long long n = 0;
        size_t j = i + 1;

        if (data[i] != '*' || (i > 0 && data[i - 1] != '\n')) continue;
        while (j < size && data[j] >= '0' && data[j] <= '9' && n <= 4096)
            n = n * 10 + (unsigned)(data[j++] - '0');
        if (n > 4096) return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    redisReader *reader = redisReaderCreate();
    void *reply = NULL;
    size_t seen = 0;
    long long value;

    if (announces_huge_array(data, size)) {
        redisReaderFree(reader);
        return 0;
    }
    redisReaderFeed(reader, (const char *)data, size);
    while (redisReaderGetReply(reader, &reply) == REDIS_OK && reply != NULL) {
        parse_reply(reply);
        freeReplyObject(reply);
        reply = NULL;
    }
    redisReaderFree(reader);
    redis_info_replication((const char *)data, size, ignore_line, &seen, &value);
    (void)redis_info_event_is_for((const char *)data, size, "mymaster");
    (void)redis_info_parse_ll((const char *)data, size, &value);
    return 0;
}
