/* redis_info: strict integers, Sentinel's flat replies, event payloads, INFO replication;
 * and ack_rule: the number of replicas a durable ping waits for, case by case. Replies are built
 * from RESP text with hiredis's reader, exactly as they arrive from a server. */
#include "ack_rule.h"
#include "redis_info.h"

#include <limits.h>
#include <stdlib.h>

#include <hiredis/hiredis.h>

#include "check.h"

/* A reply decoded from RESP text (the caller frees it); aborts on malformed test input. */
static redisReply *resp(const char *text)
{
    redisReader *reader = redisReaderCreate();
    void *reply = NULL;

    redisReaderFeed(reader, text, strlen(text));
    if (redisReaderGetReply(reader, &reply) != REDIS_OK || reply == NULL) abort();
    redisReaderFree(reader);
    return reply;
}

static void test_integers(void)
{
    long long v = 42;
    int port = 0;

    CHECK(redis_info_parse_ll("0", 1, &v) && v == 0);
    CHECK(redis_info_parse_ll("6379", 4, &v) && v == 6379);
    CHECK(redis_info_parse_ll("-12", 3, &v) && v == -12);
    CHECK(redis_info_parse_ll("9223372036854775807", 19, &v) && v == LLONG_MAX);
    CHECK(redis_info_parse_ll("-9223372036854775808", 20, &v) && v == LLONG_MIN);
    CHECK(!redis_info_parse_ll("9223372036854775808", 19, &v));
    CHECK(!redis_info_parse_ll("-9223372036854775809", 20, &v));
    CHECK(!redis_info_parse_ll("99999999999999999999", 20, &v));
    CHECK(!redis_info_parse_ll("", 0, &v));
    CHECK(!redis_info_parse_ll("-", 1, &v));
    CHECK(!redis_info_parse_ll("-0", 2, &v));
    CHECK(!redis_info_parse_ll("007", 3, &v));
    CHECK(!redis_info_parse_ll("+1", 2, &v));
    CHECK(!redis_info_parse_ll(" 1", 2, &v));
    CHECK(!redis_info_parse_ll("12a", 3, &v));
    CHECK(!redis_info_parse_ll(NULL, 0, &v));
    CHECK(redis_info_parse_ll("123", 2, &v) && v == 12); /* the length given, not the NUL */
    CHECK(redis_info_parse_port("65535", 5, &port) && port == 65535);
    CHECK(!redis_info_parse_port("0", 1, &port));
    CHECK(!redis_info_parse_port("65536", 5, &port));
    CHECK(!redis_info_parse_port("-1", 2, &port));
}

static void test_flags_and_fields(void)
{
    redisReply *r =
        resp("*6\r\n$2\r\nip\r\n$8\r\n10.0.0.1\r\n$5\r\nflags\r\n$12\r\ns_down,slave\r\n"
             "$4\r\nport\r\n:6379\r\n");

    CHECK_STR(redis_info_field(r, "ip"), "10.0.0.1");
    CHECK(redis_info_field(r, "port") == NULL); /* an integer, not the string it must be */
    CHECK(redis_info_field(r, "nope") == NULL);
    CHECK(redis_info_has_flag(redis_info_field(r, "flags"), "s_down"));
    CHECK(redis_info_has_flag(redis_info_field(r, "flags"), "slave"));
    CHECK(!redis_info_has_flag(redis_info_field(r, "flags"), "down"));
    CHECK(!redis_info_has_flag("master_down", "down"));
    CHECK(!redis_info_has_flag("", "slave"));
    CHECK(!redis_info_has_flag(NULL, "slave"));
    freeReplyObject(r);
    r = resp(":1\r\n");
    CHECK(redis_info_field(r, "ip") == NULL);
    freeReplyObject(r);
}

static void test_sentinel_master(void)
{
    struct redis_info_sentinel_master m;
    redisReply *r =
        resp("*8\r\n$5\r\nflags\r\n$27\r\nmaster,failover_in_progress\r\n"
             "$12\r\nconfig-epoch\r\n$1\r\n7\r\n$19\r\nnum-other-sentinels\r\n$1\r\n2\r\n"
             "$6\r\nquorum\r\n$1\r\n2\r\n");

    CHECK(redis_info_sentinel_master(r, &m) == 0);
    CHECK(m.config_epoch == 7 && m.other_sentinels == 2 && m.failover_in_progress);
    freeReplyObject(r);
    r = resp("*4\r\n$5\r\nflags\r\n$6\r\nmaster\r\n$12\r\nconfig-epoch\r\n$1\r\n7\r\n");
    CHECK(redis_info_sentinel_master(r, &m) == -1); /* no num-other-sentinels */
    freeReplyObject(r);
    r = resp("*6\r\n$5\r\nflags\r\n$6\r\nmaster\r\n$12\r\nconfig-epoch\r\n$2\r\nx7\r\n"
             "$19\r\nnum-other-sentinels\r\n$1\r\n2\r\n");
    CHECK(redis_info_sentinel_master(r, &m) == -1); /* a malformed epoch */
    freeReplyObject(r);
    r = resp("-ERR No such master with that name\r\n");
    CHECK(redis_info_sentinel_master(r, &m) == -1);
    freeReplyObject(r);
}

#define REPLICA(ip, flags, role)                                                                   \
    "*10\r\n$2\r\nip\r\n$8\r\n" ip "\r\n$4\r\nport\r\n$4\r\n6379\r\n$5\r\nflags\r\n$" flags        \
    "\r\n$13\r\nrole-reported\r\n" role "\r\n$5\r\nrunid\r\n$2\r\nab\r\n"

static void test_sentinel_replicas(void)
{
    struct redis_info_sentinel_replica list[2];
    redisReply *r = resp("*3\r\n" REPLICA("10.0.0.2", "5\r\nslave", "$5\r\nslave")
                             REPLICA("10.0.0.3", "12\r\ns_down,slave", "$5\r\nslave")
                                 REPLICA("10.0.0.4", "5\r\nslave", "$6\r\nmaster"));

    CHECK(redis_info_sentinel_replicas(r, list, 2) == 3); /* all counted, two kept */
    CHECK_STR(list[0].host, "10.0.0.2");
    CHECK(list[0].port == 6379 && !list[0].down && !list[0].reports_master);
    CHECK(!list[0].never_answered);
    CHECK(list[1].down && !list[1].reports_master);
    freeReplyObject(r);
    r = resp("*1\r\n" REPLICA("10.0.0.4", "5\r\nslave", "$6\r\nmaster"));
    CHECK(redis_info_sentinel_replicas(r, list, 2) == 1 && list[0].reports_master);
    freeReplyObject(r);
    r = resp("*1\r\n" REPLICA("10.0.0.4", "25\r\nslave,disconnected,o_down", "$5\r\nslave"));
    CHECK(redis_info_sentinel_replicas(r, list, 2) == 1 && list[0].down);
    freeReplyObject(r);
    r = resp("*1\r\n*4\r\n$2\r\nip\r\n$1\r\nx\r\n$4\r\nport\r\n$5\r\n99999\r\n");
    CHECK(redis_info_sentinel_replicas(r, list, 2) == -1); /* no flags, a bad port */
    freeReplyObject(r);
    r = resp(
        "*1\r\n*8\r\n$2\r\nip\r\n$1\r\nx\r\n$4\r\nport\r\n$1\r\n1\r\n$5\r\nflags\r\n$5\r\nslave\r\n"
        "$5\r\nrunid\r\n$0\r\n\r\n");
    CHECK(redis_info_sentinel_replicas(r, list, 2) == 1 && list[0].never_answered);
    CHECK(!list[0].down && !list[0].reports_master);
    freeReplyObject(r);
    r = resp("*0\r\n");
    CHECK(redis_info_sentinel_replicas(r, list, 2) == 0);
    freeReplyObject(r);
}

static void test_events(void)
{
    const char *switch_master = "mymaster 10.0.0.1 6379 10.0.0.2 6379";
    const char *sdown = "slave 10.0.0.3:6379 10.0.0.3 6379 @ mymaster 10.0.0.1 6379";
    const char *master = "master mymaster 10.0.0.1 6379 #quorum 2/2";

    CHECK(redis_info_event_is_for(switch_master, strlen(switch_master), "mymaster"));
    CHECK(!redis_info_event_is_for(switch_master, strlen(switch_master), "my"));
    CHECK(!redis_info_event_is_for(switch_master, strlen(switch_master), "mymaster2"));
    CHECK(redis_info_event_is_for(sdown, strlen(sdown), "mymaster"));
    CHECK(!redis_info_event_is_for(sdown, strlen(sdown), "other"));
    CHECK(redis_info_event_is_for(master, strlen(master), "mymaster"));
    CHECK(!redis_info_event_is_for("mymaster", 8, "mymaster")); /* the name alone: no space */
    CHECK(!redis_info_event_is_for("x @ mymaster", 12, "mymaster"));
    CHECK(!redis_info_event_is_for("", 0, "mymaster"));
}

static void count_line(void *arg, const struct redis_info_replica_line *line)
{
    struct redis_info_replica_line *last = arg;

    *last = *line;
}

#define NUL_LINE   "slave0:ip=\0x,port=1,state=online,offset=1,lag=0"
#define SPACE_LINE "slave0:ip=a b,port=1,state=online,offset=1,lag=0"
#define GOOD_LINE  "slave0:ip=ab,port=1,state=online,offset=1,lag=0"

static void test_info_replication(void)
{
    const char *info = "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n"
                       "slave0:ip=10.0.0.2,port=6379,state=online,offset=3129,lag=0\r\n"
                       "slave1:ip=10.0.0.3,port=6379,state=online,offset=x,lag=0\r\n"
                       "slavex:ip=10.0.0.4,port=6379,state=online,offset=1,lag=0\r\n"
                       "slave2:ip=10.0.0.5,port=7000,state=wait_bgsave,offset=0,lag=1\r\n"
                       "master_repl_offset:3129\r\n";
    struct redis_info_replica_line last;
    long long offset;

    CHECK(redis_info_replication(info, strlen(info), count_line, &last, &offset) == 2);
    CHECK_STR(last.ip, "10.0.0.5");
    CHECK_STR(last.state, "wait_bgsave");
    CHECK(last.port == 7000 && last.offset == 0 && last.lag == 1);
    CHECK(offset == 3129);
    CHECK(redis_info_replication("role:slave\n", 11, count_line, &last, &offset) == 0);
    /* found by the fuzzer: a NUL inside a field is not an address */
    CHECK(redis_info_replication(NUL_LINE, sizeof(NUL_LINE) - 1, count_line, &last, &offset) == 0);
    CHECK(redis_info_replication(SPACE_LINE, sizeof(SPACE_LINE) - 1, count_line, &last, &offset) ==
          0);
    CHECK(redis_info_replication(GOOD_LINE, sizeof(GOOD_LINE) - 1, count_line, &last, &offset) ==
          1);
}

/* --- ack_rule ------------------------------------------------------------------------------ */

static struct ack_view view(const char *master, bool failover)
{
    struct ack_view v;

    memset(&v, 0, sizeof(v));
    snprintf(v.master_host, sizeof(v.master_host), "%s", master);
    v.master_port = 6379;
    v.master.other_sentinels = 2;
    v.master.failover_in_progress = failover;
    return v;
}

static void lists(struct ack_view *v, const char *host, bool down, bool reports_master)
{
    struct redis_info_sentinel_replica *r = &v->replicas[v->replica_count++];

    snprintf(r->host, sizeof(r->host), "%s", host);
    r->port = 6379;
    r->down = down;
    r->reports_master = reports_master;
}

static struct redis_info_replica_line online_list[4];

/* The master's INFO replication lists a and b online and acknowledging. */
static int online(const char *a, const char *b)
{
    int n = 0;

    memset(online_list, 0, sizeof(online_list));
    if (a != NULL) snprintf(online_list[n++].ip, sizeof(online_list[0].ip), "%s", a);
    if (b != NULL) snprintf(online_list[n++].ip, sizeof(online_list[0].ip), "%s", b);
    for (int i = 0; i < n; i++) {
        online_list[i].port = 6379;
        snprintf(online_list[i].state, sizeof(online_list[i].state), "online");
    }
    return n;
}

static int required(const struct ack_view *views, int count, int group, int online_count,
                    int previous, struct ack_result *result)
{
    struct ack_input in = {"M", 6379, views, count, group, online_list, online_count, previous, 1};

    ack_rule_compute(&in, result);
    return result->required;
}

static void test_ack_rule(void)
{
    struct ack_view v[3];
    struct ack_result res;

    /* all healthy: both replicas must hold a value */
    for (int i = 0; i < 3; i++) {
        v[i] = view("M", false);
        lists(&v[i], "R1", false, false);
        lists(&v[i], "R2", false, false);
    }
    CHECK(required(v, 3, 3, online("R1", "R2"), -1, &res) == 2 && res.fresh);
    /* a replica cut off alone: every Sentinel flags it, the master lost it: left out */
    for (int i = 0; i < 3; i++)
        v[i].replicas[1].down = true;
    CHECK(required(v, 3, 3, online("R1", NULL), 2, &res) == 1 && res.left_out == 1);
    /* the same with two of three answering: still a majority */
    CHECK(required(v, 2, 3, online("R1", NULL), 2, &res) == 1);
    /* one answering Sentinel still reaches it: counted */
    v[2].replicas[1].down = false;
    CHECK(required(v, 3, 3, online("R1", NULL), 2, &res) == 2);
    v[2].replicas[1].down = true;
    /* one of three answering (a minority): never lowered */
    CHECK(required(v, 1, 3, online("R1", NULL), 2, &res) == 2 && !res.fresh);
    /* the group is larger than those answering: 2 of 5 is no majority */
    CHECK(required(v, 2, 5, online("R1", NULL), 2, &res) == 2 && !res.fresh);
    CHECK(required(v, 3, 5, online("R1", NULL), 2, &res) == 1 && res.fresh);
    /* left out by every Sentinel, yet online at the master: it could stand in for R1 in WAIT */
    CHECK(required(v, 3, 3, online("R1", "R2"), 1, &res) == 2);
    /* online in the master's list but silent for longer than ACK_RULE_LAG_MAX_S: cut off */
    online("R1", "R2");
    online_list[1].lag = ACK_RULE_LAG_MAX_S + 1;
    CHECK(required(v, 3, 3, 2, 2, &res) == 1);
    /* still syncing (not online yet), and reached by the majority: counted */
    v[0].replicas[1].down = false;
    snprintf(online_list[1].state, sizeof(online_list[1].state), "wait_bgsave");
    online_list[1].lag = 0;
    CHECK(required(v, 3, 3, 2, 1, &res) == 2);
    v[0].replicas[1].down = true;
    /* the master's ROLE is unknown: not lowered */
    CHECK(required(v, 3, 3, -1, 2, &res) == 2 && !res.fresh);
    /* no Sentinel answers at all (the app cut off from them): the old number stays */
    CHECK(required(v, 0, 3, online("R1", NULL), 2, &res) == 2);
    /* ...and a replica the master reports online is counted even then */
    CHECK(required(v, 0, 3, online("R1", "R2"), 1, &res) == 2);
    /* never below --min-replicas-ack */
    for (int i = 0; i < 3; i++)
        v[i].replicas[0].down = true;
    CHECK(required(v, 3, 3, online(NULL, NULL), 2, &res) == 1 && res.left_out == 2);
    /* a Sentinel that does not list a replica cannot promote it */
    for (int i = 0; i < 3; i++) {
        v[i] = view("M", false);
        lists(&v[i], "R1", false, false);
        if (i < 2) lists(&v[i], "R2", true, false);
    }
    CHECK(required(v, 3, 3, online("R1", NULL), 2, &res) == 1);
}

static void test_ack_rule_failover(void)
{
    struct ack_view v[3];
    struct ack_result res;

    /* the old master is back and still says "master": a majority names M with no failover
     * running: left out (Sentinel ranks it last and converts it within seconds) */
    for (int i = 0; i < 3; i++) {
        v[i] = view("M", false);
        lists(&v[i], "R2", false, false);
        lists(&v[i], "OLD", false, true);
    }
    CHECK(required(v, 3, 3, online("R2", NULL), 2, &res) == 1 && res.left_out == 1);
    /* a failover runs at two of three: no agreeing majority, not lowered; a newly found master
     * starts from everything listed */
    v[0].master.failover_in_progress = v[1].master.failover_in_progress = true;
    CHECK(required(v, 3, 3, online("R2", NULL), -1, &res) == 2 && !res.fresh);
    /* right after a failover every Sentinel lists the old master anew: until it answers their
     * INFO it has no runid and cannot be promoted (before any flag shows it down) */
    for (int i = 0; i < 3; i++) {
        v[i].master.failover_in_progress = false;
        v[i].replicas[1].reports_master = false;
        v[i].replicas[1].never_answered = true;
    }
    CHECK(required(v, 3, 3, online("R2", NULL), -1, &res) == 1 && res.left_out == 1);
    for (int i = 0; i < 3; i++) {
        v[i].replicas[1].reports_master = true;
        v[i].replicas[1].never_answered = false;
    }
    v[0].master.failover_in_progress = true;
    /* one failover still running, two agree: fresh */
    v[1].master.failover_in_progress = false;
    CHECK(required(v, 3, 3, online("R2", NULL), 2, &res) == 1 && res.fresh);
    /* two Sentinels still name the old master (they list its replicas, and take no part in a
     * failover of M): no majority names M, so nothing is lowered */
    for (int i = 0; i < 3; i++) {
        v[i] = view(i == 0 ? "M" : "OLD", false);
        lists(&v[i], i == 0 ? "OLD" : "M", i == 0, false);
        lists(&v[i], "R2", false, false);
        if (i > 0) lists(&v[i], "R3", false, false);
    }
    CHECK(required(v, 3, 3, online("R2", NULL), -1, &res) == 2 && !res.fresh);
    CHECK(res.candidates == 2 && res.agreeing == 1);
    CHECK(required(v, 3, 3, online("R2", NULL), 1, &res) == 2);
    /* more replicas than a view keeps: the others count, unknown, and nothing is lowered */
    v[0] = view("M", false);
    v[0].replica_count = REDIS_INFO_REPLICAS_MAX + 3;
    for (int i = 0; i < REDIS_INFO_REPLICAS_MAX; i++)
        snprintf(v[0].replicas[i].host, REDIS_INFO_HOST_BYTES, "R%d", i);
    CHECK(required(v, 1, 1, online(NULL, NULL), -1, &res) == REDIS_INFO_REPLICAS_MAX + 3);
    CHECK(!res.fresh);
}

int main(void)
{
    test_integers();
    test_flags_and_fields();
    test_sentinel_master();
    test_sentinel_replicas();
    test_events();
    test_info_replication();
    test_ack_rule();
    test_ack_rule_failover();
    return check_summary("test_redis_info");
}
