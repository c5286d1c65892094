/* Sentinel discovery and failover following (see sentinel.h): the Sentinels asked, the master
 * verified and published, the replica for reads chosen. Locator thread only: every hiredis
 * context here is blocking with timeouts (redis_sync.h); the event subscription is
 * sentinel_events.c's, the durable counter's number sentinel_acks.c's. */
#include "sentinel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "ack_rule.h"
#include "clock.h"
#include "log.h"
#include "redis_auth.h"
#include "redis_info.h"
#include "redis_sync.h"
#include "resolve.h"
#include "sentinel_acks.h"
#include "sentinel_events.h"
#include "xmalloc.h"

#define SENTINEL_NODES_MAX        32
#define CHECK_INTERVAL_MS         1000 /* routine check while a master is known */
#define RETRY_INTERVAL_MS         250  /* while none is */
#define DISCOVERY_MIN_INTERVAL_MS 100
#define NODE_RETRY_MS             3000 /* a Sentinel that failed is asked again after this */
#define LIST_REFRESH_MS           10000
#define REASON_BYTES              200

struct sentinel_node {
    char host[CONFIG_HOST_MAX_BYTES + 1];
    int port;
    redisContext *ctx; /* query connection, NULL while down */
    int64_t retry_at_ms;
    char reason[REASON_BYTES]; /* why it did not answer last time */
};

enum answer_kind { ANSWER_ADDRESS, ANSWER_UNKNOWN_NAME, ANSWER_FAILED };

/* One Sentinel's view of the master. */
struct answer {
    enum answer_kind kind;
    int node_index;                       /* in nodes[] during this discovery */
    char node[CONFIG_HOST_MAX_BYTES + 8]; /* "host:port" of the Sentinel */
    char host[CONFIG_HOST_MAX_BYTES + 1];
    int port;
    long long epoch;
    bool has_view; /* `view` parsed whole: SENTINEL master and SENTINEL replicas */
    struct ack_view view;
};

struct sentinel_client {
    const struct config *cfg;
    struct redis_credentials sentinel_auth; /* to the Sentinels */
    struct redis_credentials data_auth;     /* to the data nodes (ROLE) */
    struct redis_target *master_target;
    struct redis_target *replica_target;
    struct topology *topology;
    struct sentinel_node nodes[SENTINEL_NODES_MAX]; /* the one that answered last comes first */
    int node_count;
    struct sentinel_events events;
    struct redis_sync_probe master_probe;
    struct redis_sync_probe replica_probe;
    bool have_master;
    char master_host[CONFIG_HOST_MAX_BYTES + 1];
    char master_ip[REDIS_TARGET_IP_MAX_BYTES];
    int master_port;
    int64_t next_check_ms;
    int64_t last_discovery_ms;
    int64_t last_list_refresh_ms;
    bool urgent;
    struct log_dedupe problem_log;
    struct sentinel_acks acks; /* the durable counter's number (sentinel_acks.h) */
};

static void node_down(struct sentinel_node *node, const char *reason, int64_t now)
{
    if (node->ctx != NULL) redisFree(node->ctx);
    node->ctx = NULL;
    node->retry_at_ms = now + NODE_RETRY_MS;
    snprintf(node->reason, sizeof(node->reason), "%s", reason);
}

static bool node_connect(struct sentinel_client *sc, struct sentinel_node *node, int64_t now)
{
    char why[REASON_BYTES];

    if (node->ctx != NULL) return true;
    node->ctx = redis_sync_connect(node->host, node->port, sc->cfg->sentinel_timeout_ms,
                                   &sc->sentinel_auth, why, sizeof(why));
    if (node->ctx == NULL) {
        node_down(node, why, now);
        return false;
    }
    return true;
}

/* Asks one Sentinel for the master's address and config epoch, in one round trip. */
static void query_node(struct sentinel_client *sc, int node_index, int64_t now, struct answer *out)
{
    struct sentinel_node *node = &sc->nodes[node_index];
    const char *name = sc->cfg->master_name;
    redisReply *addr = NULL, *master = NULL, *replicas = NULL;
    char why[REASON_BYTES];

    memset(out, 0, sizeof(*out));
    out->kind = ANSWER_FAILED;
    out->node_index = node_index;
    snprintf(out->node, sizeof(out->node), "%s:%d", node->host, node->port);
    if (!node_connect(sc, node, now)) return;
    /* one round trip: the address, and the view the acknowledgement rule needs */
    redisAppendCommand(node->ctx, "SENTINEL get-master-addr-by-name %s", name);
    redisAppendCommand(node->ctx, "SENTINEL master %s", name);
    redisAppendCommand(node->ctx, "SENTINEL replicas %s", name);
    if (redisGetReply(node->ctx, (void **)&addr) != REDIS_OK ||
        redisGetReply(node->ctx, (void **)&master) != REDIS_OK ||
        redisGetReply(node->ctx, (void **)&replicas) != REDIS_OK) {
        redis_sync_describe_failure(node->ctx, sc->cfg->sentinel_timeout_ms, why, sizeof(why));
        node_down(node, why, now);
        goto done;
    }
    if (addr->type == REDIS_REPLY_ERROR) {
        redis_auth_explain(addr->str, &sc->sentinel_auth, why, sizeof(why));
        node_down(node, why, now);
        goto done;
    }
    if (addr->type == REDIS_REPLY_NIL) {
        out->kind = ANSWER_UNKNOWN_NAME; /* it works, but does not monitor that name */
        snprintf(node->reason, sizeof(node->reason), "does not know master '%s'", name);
        goto done;
    }
    if (addr->type != REDIS_REPLY_ARRAY || addr->elements != 2 ||
        addr->element[0]->type != REDIS_REPLY_STRING ||
        addr->element[1]->type != REDIS_REPLY_STRING || addr->element[0]->len == 0 ||
        addr->element[0]->len >= sizeof(out->host) ||
        !redis_info_parse_port(addr->element[1]->str, addr->element[1]->len, &out->port)) {
        node_down(node, "unexpected reply to get-master-addr-by-name", now);
        goto done;
    }
    out->kind = ANSWER_ADDRESS;
    snprintf(out->host, sizeof(out->host), "%s", addr->element[0]->str);
    out->epoch = -1;
    if (redis_info_sentinel_master(master, &out->view.master) == 0) {
        out->epoch = out->view.master.config_epoch;
        out->view.replica_count =
            redis_info_sentinel_replicas(replicas, out->view.replicas, REDIS_INFO_REPLICAS_MAX);
        out->has_view = out->view.replica_count >= 0;
        snprintf(out->view.master_host, sizeof(out->view.master_host), "%s", out->host);
        out->view.master_port = out->port;
    }
    node->reason[0] = '\0';
done:
    if (addr != NULL) freeReplyObject(addr);
    if (master != NULL) freeReplyObject(master);
    if (replicas != NULL) freeReplyObject(replicas);
}

static void move_to_front(struct sentinel_client *sc, int index)
{
    struct sentinel_node chosen = sc->nodes[index];

    memmove(&sc->nodes[1], &sc->nodes[0], (size_t)index * sizeof(sc->nodes[0]));
    sc->nodes[0] = chosen;
}

static int find_node(const struct sentinel_client *sc, const char *host, int port)
{
    for (int i = 0; i < sc->node_count; i++) {
        if (sc->nodes[i].port == port && strcmp(sc->nodes[i].host, host) == 0) return i;
    }
    return -1;
}

static void add_node(struct sentinel_client *sc, const char *host, int port)
{
    struct sentinel_node *node;

    if (find_node(sc, host, port) >= 0 || sc->node_count == SENTINEL_NODES_MAX) return;
    node = &sc->nodes[sc->node_count++];
    memset(node, 0, sizeof(*node));
    snprintf(node->host, sizeof(node->host), "%s", host);
    node->port = port;
}

/* Adds every address the configured Sentinel names resolve to: a name such as a Docker service
 * stands for several Sentinels, and the first one alone may be the one that is down. */
static void expand_configured_names(struct sentinel_client *sc)
{
    for (int i = 0; i < sc->cfg->sentinel_count; i++) {
        const struct host_port *configured = &sc->cfg->sentinels[i];
        char ips[SENTINEL_NODES_MAX][RESOLVE_ADDRESS_BYTES];
        const char *why;
        int count = resolve_all(configured->host, ips, SENTINEL_NODES_MAX, &why);

        for (int j = 0; j < count; j++) {
            if (strcmp(ips[j], configured->host) == 0 ||
                find_node(sc, ips[j], configured->port) >= 0 ||
                sc->node_count == SENTINEL_NODES_MAX)
                continue;
            add_node(sc, ips[j], configured->port);
            log_info("redis: Sentinel name %s stands for %s:%d too", configured->host, ips[j],
                     configured->port);
        }
    }
}

/* True when host:port (resolved into `ip`) answers ROLE as a master; `online` receives the
 * replicas it reports online. */
static bool verify_master(struct sentinel_client *sc, const char *host, int port,
                          char ip[REDIS_TARGET_IP_MAX_BYTES], struct sentinel_acks_online *online,
                          char *why, size_t why_size)
{
    const char *resolve_why;
    redisReply *r;
    bool is_master;

    if (resolve_host(host, ip, REDIS_TARGET_IP_MAX_BYTES, &resolve_why) != 0) {
        snprintf(why, why_size, "cannot resolve: %s", resolve_why);
        return false;
    }
    r = redis_sync_role(&sc->master_probe, ip, port, why, why_size);
    if (r == NULL) return false;
    is_master = strcmp(r->element[0]->str, "master") == 0;
    if (!is_master && r->elements >= 3 && r->element[1]->type == REDIS_REPLY_STRING &&
        r->element[2]->type == REDIS_REPLY_INTEGER)
        snprintf(why, why_size, "is a replica (of %s:%lld), not a master", r->element[1]->str,
                 r->element[2]->integer);
    else if (!is_master)
        snprintf(why, why_size, "ROLE says %s, not master", r->element[0]->str);
    freeReplyObject(r);
    online->count = -1;
    if (is_master) sentinel_acks_read_online(&sc->master_probe, online);
    return is_master;
}

static int answer_order(const void *a, const void *b)
{
    const struct answer *x = a, *y = b;

    if (x->kind != y->kind) return (int)x->kind - (int)y->kind;    /* addresses first */
    if (x->epoch != y->epoch) return x->epoch > y->epoch ? -1 : 1; /* newest view first */
    return 0;
}

/* Logs what stands in the way, once per distinct problem. */
static void report_problem(struct sentinel_client *sc, const struct answer *answers, int count,
                           const char *verify_reasons, const char *consequence)
{
    char message[1400];
    size_t used;
    int unknown = 0, failed = 0;

    for (int i = 0; i < count; i++) {
        unknown += answers[i].kind == ANSWER_UNKNOWN_NAME;
        failed += answers[i].kind == ANSWER_FAILED;
    }
    if (verify_reasons[0] != '\0') {
        snprintf(message, sizeof(message), "redis: no verified master for '%s' (%s): %s",
                 sc->cfg->master_name, consequence, verify_reasons);
    } else if (unknown > 0 && unknown + failed == count) {
        snprintf(message, sizeof(message),
                 "redis: no Sentinel knows master '%s' (%s): check --master-name / "
                 "REDIS_MASTER_NAME",
                 sc->cfg->master_name, consequence);
    } else {
        used = (size_t)snprintf(message, sizeof(message),
                                "redis: no Sentinel reachable for master '%s' (%s):",
                                sc->cfg->master_name, consequence);
        for (int i = 0; i < sc->node_count && used < sizeof(message); i++) {
            used += (size_t)snprintf(message + used, sizeof(message) - used, " %s:%d %s;",
                                     sc->nodes[i].host, sc->nodes[i].port,
                                     sc->nodes[i].reason[0] ? sc->nodes[i].reason : "not asked");
        }
    }
    log_dedupe_report(&sc->problem_log, LOG_WARN, message);
}

/* Publishes the verified master; returns its generation. */
static uint64_t publish_master(struct sentinel_client *sc, const struct answer *a, const char *ip)
{
    char ended[256];
    bool withdrawn = redis_target_generation(sc->master_target) == 0;
    bool moved = sc->have_master && (strcmp(sc->master_ip, ip) != 0 || sc->master_port != a->port);
    uint64_t gen = redis_target_publish(sc->master_target, a->host, ip, a->port);

    log_dedupe_clear(&sc->problem_log, ended, sizeof(ended));
    if (moved) {
        log_info("redis: failover followed: master '%s' moved from %s:%d to %s:%d (%s), config "
                 "epoch %lld, generation %llu",
                 sc->cfg->master_name, sc->master_host, sc->master_port, a->host, a->port, ip,
                 a->epoch, (unsigned long long)gen);
        topology_event(sc->topology, "failover followed: master moved from %s:%d to %s:%d",
                       sc->master_host, sc->master_port, a->host, a->port);
    } else if (!sc->have_master) {
        log_info("redis: master '%s' is %s:%d (%s), per Sentinel %s, config epoch %lld",
                 sc->cfg->master_name, a->host, a->port, ip, a->node, a->epoch);
        topology_event(sc->topology, "master found at %s:%d (Sentinel %s)", a->host, a->port,
                       a->node);
    } else if (withdrawn) {
        log_info("redis: master '%s' verified again at %s:%d", sc->cfg->master_name, a->host,
                 a->port);
        topology_event(sc->topology, "master verified again at %s:%d", a->host, a->port);
    }
    sc->have_master = true;
    snprintf(sc->master_host, sizeof(sc->master_host), "%s", a->host);
    snprintf(sc->master_ip, sizeof(sc->master_ip), "%s", ip);
    sc->master_port = a->port;
    return gen;
}

/* Works out how many replicas a WAIT on the master of `gen` must count from the Sentinels'
 * answers of this discovery and the master's own ROLE, and publishes it (sentinel_acks.h). */
static void update_acks(struct sentinel_client *sc, uint64_t gen, const struct answer *answers,
                        int count, struct sentinel_acks_online *online)
{
    struct ack_view *views = xcalloc((size_t)count + 1, sizeof(*views));
    struct sentinel_acks_input in = {
        .generation = gen,
        .master_host = sc->master_host,
        .master_port = sc->master_port,
        .views = views,
        .online = online,
        .min_acks = sc->cfg->min_replicas_ack,
    };

    for (int i = 0; i < count; i++) {
        if (answers[i].kind == ANSWER_ADDRESS && answers[i].has_view)
            views[in.view_count++] = answers[i].view;
    }
    sentinel_acks_update(&sc->acks, &in, sc->master_target, sc->topology);
    free(views);
}

/* Runs `SENTINEL <subcommand> <master name>` on the Sentinel that answered last. Returns the
 * reply (caller frees), or NULL when it is down (marked so). */
static redisReply *ask_front(struct sentinel_client *sc, const char *subcommand, int64_t now)
{
    struct sentinel_node *front = &sc->nodes[0];
    redisReply *r;
    char why[REASON_BYTES];

    if (front->ctx == NULL) return NULL;
    r = redisCommand(front->ctx, "SENTINEL %s %s", subcommand, sc->cfg->master_name);
    if (r == NULL) {
        redis_sync_describe_failure(front->ctx, sc->cfg->sentinel_timeout_ms, why, sizeof(why));
        node_down(front, why, now);
    }
    return r;
}

/* Adds the other Sentinels that the front one knows of (SENTINEL sentinels <name>). */
static void refresh_node_list(struct sentinel_client *sc, int64_t now)
{
    const struct sentinel_node *front = &sc->nodes[0];
    redisReply *r;

    sc->last_list_refresh_ms = now;
    r = ask_front(sc, "sentinels", now);
    if (r == NULL) return;
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++) {
            const char *ip = redis_info_field(r->element[i], "ip");
            const char *port = redis_info_field(r->element[i], "port");
            int port_number;

            /* even one flagged down or disconnected now: it is only a candidate to ask */
            if (ip == NULL || port == NULL || strlen(ip) > CONFIG_HOST_MAX_BYTES ||
                !redis_info_parse_port(port, strlen(port), &port_number))
                continue;
            if (sc->node_count < SENTINEL_NODES_MAX && find_node(sc, ip, port_number) < 0) {
                add_node(sc, ip, port_number);
                log_info("redis: learned Sentinel %s:%s from %s:%d", ip, port, front->host,
                         front->port);
            }
        }
    }
    freeReplyObject(r);
}

/* Picks a replica for reads: SENTINEL replicas, a healthy one, confirmed by its own ROLE. */
static void choose_replica(struct sentinel_client *sc, int64_t now)
{
    redisReply *list;
    bool found = false;

    if (!sc->cfg->read_from_replicas) return;
    list = ask_front(sc, "replicas", now);
    if (list == NULL) return;
    for (size_t i = 0; !found && list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
        const char *ip = redis_info_field(list->element[i], "ip");
        const char *port = redis_info_field(list->element[i], "port");
        const char *flags = redis_info_field(list->element[i], "flags");
        const char *link = redis_info_field(list->element[i], "master-link-status");
        int port_number = 0;
        char resolved[REDIS_TARGET_IP_MAX_BYTES], why[REASON_BYTES];
        const char *resolve_why;
        redisReply *role;

        if (ip == NULL || port == NULL || flags == NULL || strcmp(flags, "slave") != 0 ||
            link == NULL || strcmp(link, "ok") != 0 ||
            !redis_info_parse_port(port, strlen(port), &port_number))
            continue;
        if (resolve_host(ip, resolved, sizeof(resolved), &resolve_why) != 0) continue;
        role = redis_sync_role(&sc->replica_probe, resolved, port_number, why, sizeof(why));
        if (role == NULL) continue;
        /* ["slave", master host, master port, state, offset]: connected to our master */
        if (strcmp(role->element[0]->str, "slave") == 0 && role->elements >= 4 &&
            role->element[2]->type == REDIS_REPLY_INTEGER &&
            role->element[2]->integer == sc->master_port &&
            role->element[3]->type == REDIS_REPLY_STRING &&
            strcmp(role->element[3]->str, "connected") == 0) {
            redis_target_publish(sc->replica_target, ip, resolved, port_number);
            found = true;
        }
        freeReplyObject(role);
    }
    freeReplyObject(list);
    if (!found) redis_target_withdraw(sc->replica_target);
}

/* Tells the status pages which Sentinels answer. */
static void record_sentinels(struct sentinel_client *sc)
{
    struct topology_sentinel list[SENTINEL_NODES_MAX];

    for (int i = 0; i < sc->node_count; i++) {
        snprintf(list[i].address, sizeof(list[i].address), "%s:%d", sc->nodes[i].host,
                 sc->nodes[i].port);
        list[i].answering = sc->nodes[i].ctx != NULL;
        snprintf(list[i].problem, sizeof(list[i].problem), "%s",
                 list[i].answering ? "" : sc->nodes[i].reason);
    }
    topology_set_sentinels(sc->topology, list, sc->node_count);
}

static bool any_address(const struct answer *answers, int count)
{
    for (int i = 0; i < count; i++) {
        if (answers[i].kind == ANSWER_ADDRESS) return true;
    }
    return false;
}

static void discover(struct sentinel_client *sc, int64_t now)
{
    /* on the heap: each answer carries a view of up to REDIS_INFO_REPLICAS_MAX replicas */
    struct answer *answers = xcalloc(SENTINEL_NODES_MAX, sizeof(*answers));
    struct sentinel_acks_online online;
    bool asked[SENTINEL_NODES_MAX] = {false};
    char verify_reasons[1000] = "";
    size_t used = 0;
    int count = 0;

    for (int i = 0; i < sc->node_count; i++) {
        /* a Sentinel that just failed is skipped, unless no other one names an address */
        if (sc->nodes[i].ctx == NULL && now < sc->nodes[i].retry_at_ms) continue;
        query_node(sc, i, now, &answers[count++]);
        asked[i] = true;
    }
    if (!any_address(answers, count)) {
        expand_configured_names(sc); /* a name may stand for Sentinels not asked yet */
        for (int i = 0; i < sc->node_count; i++) {
            if (!asked[i]) query_node(sc, i, now, &answers[count++]);
        }
    }
    record_sentinels(sc);
    qsort(answers, (size_t)count, sizeof(answers[0]), answer_order);
    for (int i = 0; i < count && answers[i].kind == ANSWER_ADDRESS; i++) {
        char ip[REDIS_TARGET_IP_MAX_BYTES], why[REASON_BYTES];
        bool tried = false;

        for (int j = 0; j < i; j++) {
            tried |=
                answers[j].port == answers[i].port && strcmp(answers[j].host, answers[i].host) == 0;
        }
        if (tried) continue;
        if (verify_master(sc, answers[i].host, answers[i].port, ip, &online, why, sizeof(why))) {
            uint64_t gen;

            if (answers[i].node_index > 0) move_to_front(sc, answers[i].node_index);
            gen = publish_master(sc, &answers[i], ip);
            update_acks(sc, gen, answers, count, &online);
            if (now - sc->last_list_refresh_ms >= LIST_REFRESH_MS) {
                refresh_node_list(sc, now);
                expand_configured_names(sc);
            }
            choose_replica(sc, now);
            goto done;
        }
        if (used < sizeof(verify_reasons))
            used += (size_t)snprintf(verify_reasons + used, sizeof(verify_reasons) - used,
                                     "%s%s:%d (named by Sentinel %s) %s", used ? "; " : "",
                                     answers[i].host, answers[i].port, answers[i].node, why);
    }
    if (!any_address(answers, count) && sc->have_master) {
        char ip[REDIS_TARGET_IP_MAX_BYTES], why[REASON_BYTES];

        /* no Sentinel to ask: a master that still says so stays in use (writes stay safe:
         * WAIT and min-replicas-to-write refuse them on a master cut off from its replicas) */
        if (verify_master(sc, sc->master_host, sc->master_port, ip, &online, why, sizeof(why))) {
            char consequence[CONFIG_HOST_MAX_BYTES + 64];
            uint64_t gen;

            snprintf(consequence, sizeof(consequence), "keeping the verified master %s:%d",
                     sc->master_host, sc->master_port);
            gen = redis_target_publish(sc->master_target, sc->master_host, ip, sc->master_port);
            update_acks(sc, gen, answers, 0, &online); /* no view: the number is not lowered */
            report_problem(sc, answers, count, "", consequence);
            goto done;
        }
    }
    /* no address verifies: fail fast rather than send requests to a dead or demoted master */
    if (redis_target_generation(sc->master_target) != 0)
        topology_event(sc->topology, "no verified master: requests answer 503");
    redis_target_withdraw(sc->master_target);
    redis_target_withdraw(sc->replica_target);
    report_problem(sc, answers, count, verify_reasons, "requests answer 503");
done:
    free(answers);
}

/* Subscribes to Sentinel's events on the first Sentinel that answers now and accepts. */
static void ensure_subscription(struct sentinel_client *sc)
{
    for (int i = 0; sc->events.ctx == NULL && i < sc->node_count; i++) {
        if (sc->nodes[i].ctx != NULL)
            sentinel_events_subscribe(&sc->events, sc->nodes[i].host, sc->nodes[i].port,
                                      sc->cfg->sentinel_timeout_ms, &sc->sentinel_auth);
    }
}

struct sentinel_client *sentinel_client_new(const struct config *cfg, struct redis_target *master,
                                            struct redis_target *replica, struct topology *topology)
{
    struct sentinel_client *sc = xcalloc(1, sizeof(*sc));

    sc->cfg = cfg;
    sc->sentinel_auth = redis_auth_sentinels(cfg);
    sc->data_auth = redis_auth_data_nodes(cfg);
    sc->topology = topology;
    sc->master_target = master;
    sc->replica_target = replica;
    sc->master_probe.timeout_ms = sc->replica_probe.timeout_ms = cfg->redis_timeout_ms;
    sc->master_probe.auth = sc->replica_probe.auth = &sc->data_auth;
    pthread_mutex_init(&sc->problem_log.lock, NULL);
    for (int i = 0; i < cfg->sentinel_count; i++)
        add_node(sc, cfg->sentinels[i].host, cfg->sentinels[i].port);
    sc->last_list_refresh_ms = -LIST_REFRESH_MS;
    sc->urgent = true; /* discover at the first step */
    return sc;
}

void sentinel_client_free(struct sentinel_client *sc)
{
    if (sc == NULL) return;
    for (int i = 0; i < sc->node_count; i++) {
        if (sc->nodes[i].ctx != NULL) redisFree(sc->nodes[i].ctx);
    }
    sentinel_events_drop(&sc->events);
    redis_sync_probe_close(&sc->master_probe);
    redis_sync_probe_close(&sc->replica_probe);
    pthread_mutex_destroy(&sc->problem_log.lock);
    free(sc);
}

int sentinel_client_event_fd(const struct sentinel_client *sc)
{
    return sentinel_events_fd(&sc->events);
}

int64_t sentinel_client_next_check_ms(const struct sentinel_client *sc)
{
    if (sc->urgent) return sc->last_discovery_ms + DISCOVERY_MIN_INTERVAL_MS;
    return sc->next_check_ms;
}

void sentinel_client_step(struct sentinel_client *sc, bool failure_reported, bool events_ready,
                          int64_t now_ms)
{
    if (events_ready && sentinel_events_read(&sc->events, sc->cfg->master_name)) sc->urgent = true;
    if (failure_reported) sc->urgent = true;
    if ((sc->urgent && now_ms - sc->last_discovery_ms >= DISCOVERY_MIN_INTERVAL_MS) ||
        now_ms >= sc->next_check_ms) {
        sc->urgent = false;
        discover(sc, now_ms);
        now_ms = clock_now_ms(); /* discovery may have waited on timeouts */
        sc->last_discovery_ms = now_ms;
        sc->next_check_ms =
            now_ms + (redis_target_generation(sc->master_target) != 0 ? CHECK_INTERVAL_MS
                                                                      : RETRY_INTERVAL_MS);
    }
    /* a subscription on a Sentinel that stopped answering delivers nothing: move it */
    for (int i = 0; i < sc->node_count; i++) {
        if (sc->nodes[i].ctx == NULL &&
            sentinel_events_on(&sc->events, sc->nodes[i].host, sc->nodes[i].port))
            sentinel_events_drop(&sc->events);
    }
    ensure_subscription(sc);
}
