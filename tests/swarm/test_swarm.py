#!/usr/bin/python3
"""The stack on a three-node Docker Swarm (docker/swarm/swarm.py), surviving the loss of a node.

`swarm up` with a random password for every Redis user, then, through the nodes' URLs: what
was deployed is what compose.yaml says (environment, images, commands, healthchecks of every
service); the layout (Redis master, replicas and Sentinels one per node, HAProxy on every node,
the app spread); every part logs in to Redis as its own user (the app as `app`); the counter;
/query/ answers from instances on at least two nodes; `docker service scale` of the app to 6
puts every new task in rotation. Then, twice, with clients recording every answer
(tests/compose/test_compose.py's recorder and checker) through a node that stays up: `docker
kill` of a node; its app tasks run elsewhere; only 200s and prompt 503s, values strictly
increasing per client, none shown twice; `docker start` of the node: it rejoins and its Redis
comes back as a replica. First a node that holds only a replica and a Sentinel (no failover),
then the node that holds the Redis master: the Sentinels on the other nodes fail over and the
app follows. (In this order both nodes hold app tasks when killed: Swarm does not move tasks
back to a node that rejoined.) After both, every Redis node and Sentinel has its users and no
part of the stack was refused anything (ACL LOG empty). Prints the timings. `swarm down` at the
end and on every exit path (SIGINT, SIGTERM too), then checks the host engine holds nothing of
the test.

The swarm is started on the third node, so the leader never holds the first Redis master and is
never killed: a leader's loss costs about 40 s of raft election before Swarm notices the node
is down, which tests Swarm, not this stack. A follower's loss is noticed in about 12 s;
Sentinel does not wait for Swarm at all.

Run: `make test-swarm` (or /usr/bin/python3 tests/swarm/test_swarm.py) as root. Environment:
SWARM_NAME, SWARM_SUBNET, REDISAPP_TAG as for docker/swarm/swarm.py; SWARM_TEST_CLIENTS
(steady clients, default 4). On failure the nodes' and containers' logs and the clients'
records are kept in tests/artifacts/swarm/.
"""
import json
import os
import secrets
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "docker", "swarm"))
sys.path.insert(0, os.path.join(ROOT, "tests", "compose"))
import stack as stackfile  # noqa: E402
import swarm  # noqa: E402
from test_compose import (PASSWORD_VARIABLES, Client, SteadyClients, TestFailure,  # noqa: E402
                          catch_signals, check, ignore_signals, summary)

MASTER_NAME = "mymaster"
CLIENTS = int(os.environ.get("SWARM_TEST_CLIENTS", "4"))
APP_SCALE = 6
ARTIFACTS = os.path.join(ROOT, "tests", "artifacts", "swarm")
T0 = time.monotonic()


def haproxy_setting(pattern):
    """The groups of the first line of docker/haproxy/haproxy.cfg that matches."""
    import re
    with open(os.path.join(ROOT, "docker", "haproxy", "haproxy.cfg")) as f:
        match = re.search(pattern, f.read(), re.MULTILINE)
    if not match:
        raise TestFailure(f"docker/haproxy/haproxy.cfg has no {pattern!r}")
    return match.groups()


def haproxy_timeout(name):
    value, unit = haproxy_setting(rf"^\s*timeout {name} (\d+)(ms|s)\b")
    return int(value) / (1000 if unit == "ms" else 1)


# the app's longest answer to a ping while Redis does not answer: its INCR's deadline
# (REDIS_TIMEOUT_MS, 1 s by default, which compose.yaml keeps), then WAIT's, half of that
APP_DEADLINE_S = 1.5


def prompt_bound():
    """How long a 503 may take while a node is lost. The node's addresses black-hole
    connections (no refusal, as on one machine): HAProxy may give up on `retries` attempts
    into the dead node, each after `timeout connect`, before its last attempt fails too or
    reaches a live app that answers within APP_DEADLINE_S; a request already sent to an app on
    the node waits `timeout server`. Plus 1 s for a busy machine, as the compose test's 3 s
    does."""
    connect = haproxy_timeout("connect")
    retries = int(haproxy_setting(r"^\s*retries (\d+)")[0])
    return max(retries * connect + max(connect, APP_DEADLINE_S),
               haproxy_timeout("server")) + 1.0


def say(message):
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", flush=True)


def wait_until(predicate, timeout, what, interval=0.2):
    """swarm.wait_until, where a Sentinel that does not answer yet is a reason to wait too."""
    return swarm.wait_until(predicate, timeout, what, interval, tolerate=(TestFailure,))


class Stack:
    """The deployed stack, seen through the nodes' engines and the URLs."""

    def __init__(self, cluster, env):
        self.cluster = cluster
        self.env = env
        self.passwords = {name: env[name] for name in PASSWORD_VARIABLES}
        self.placement = {}

    def node_of(self, service):
        return self.cluster.nodes[self.placement[service] - 1]

    def alive(self):
        return [n for n in self.cluster.nodes if self.cluster.running(n)]

    def redis_cli(self, service, *args, sentinel=False, timeout=10):
        """redis-cli in the service's container, as the operator (`admin`)."""
        node = self.node_of(service)
        cid = self.cluster.container(node, service)
        password = self.passwords["SENTINEL_ADMIN_PASSWORD" if sentinel else
                                  "REDIS_ADMIN_PASSWORD"]
        return self.cluster.on(node, "exec", "-e", f"REDISCLI_AUTH={password}", cid,
                               "redis-cli", "--user", "admin", "-p",
                               "26379" if sentinel else "6379", *args, timeout=timeout).strip()

    def info(self, service):
        out = self.redis_cli(service, "INFO", "replication")
        return dict(line.split(":", 1) for line in out.replace("\r", "").splitlines()
                    if ":" in line)

    def sentinels(self):
        return sorted(s for s in self.placement if s.startswith("sentinel-"))

    def master(self, exclude_node=None):
        """The master's name according to the first Sentinel that answers (on a live node
        other than exclude_node)."""
        for sentinel in self.sentinels():
            node = self.node_of(sentinel)
            if node == exclude_node or not self.cluster.running(node):
                continue
            try:
                out = self.redis_cli(sentinel, "SENTINEL", "get-master-addr-by-name",
                                     MASTER_NAME, sentinel=True, timeout=5).split()
            except (swarm.SwarmError, subprocess.TimeoutExpired):
                continue
            if len(out) == 2:
                return out[0]
        raise TestFailure("no Sentinel knows the master")

    def instance_nodes(self):
        """App instance name (its container's hostname) -> node, for the running tasks."""
        names = {}
        for node in self.alive():
            try:
                for cid, _, _ in self.cluster.containers(node, "app"):
                    names[cid[:12]] = node
            except swarm.SwarmError:
                continue
        return names

    def app_tasks(self):
        return [t for t in self.cluster.tasks("app") if t["state"].startswith("Running")]

    def addresses(self):
        """Address on the stack's network -> service, for every running container."""
        network = f"{self.cluster.stack}_default"
        found = {}
        for node in self.alive():
            cids = [cid for cid, _, _ in self.cluster.containers(node)]
            if not cids:
                continue
            out = self.cluster.on(node, "inspect", "-f",
                                  '{{index .Config.Labels "com.docker.swarm.service.name"}} '
                                  f'{{{{with index .NetworkSettings.Networks "{network}"}}}}'
                                  '{{.IPAddress}}{{end}}', *cids)
            for line in out.splitlines():
                service, _, address = line.partition(" ")
                if address.strip():
                    found[address.strip()] = service[len(self.cluster.stack) + 1:]
        return found

    def clients(self, service, sentinel=False):
        """(address, user) of every connection to a Redis node or Sentinel but its own
        (loopback: this test's redis-cli, the healthcheck)."""
        out = self.redis_cli(service, "CLIENT", "LIST", sentinel=sentinel)
        result = []
        for line in out.splitlines():
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            address = fields.get("addr", "").rsplit(":", 1)[0]
            if address and not address.startswith("127."):
                result.append((address, fields.get("user")))
        return result


def query_instances(url_host, port, tries):
    names = set()
    client = Client(port, host=url_host)
    try:
        for _ in range(tries):
            status, body, _ = client.get("/query/")
            if status == 200 and body.startswith("hello world from "):
                names.add(body[len("hello world from "):].split(",")[0])
    finally:
        client.close()
    return names


# --- the steps ------------------------------------------------------------------------------

def step_deployed_as_composed(stack, deployed):
    """What runs is what compose.yaml says: the deployed services' environment, image,
    command and healthcheck, read back from Swarm, against compose's own reading of
    compose.yaml (docker-compose config) with the same environment."""
    compose = subprocess.run(["docker-compose", "-f", os.path.join(ROOT, "compose.yaml"),
                              "config"], env=stack.env, capture_output=True, text=True,
                             timeout=60, cwd=ROOT)
    check(compose.returncode == 0, f"docker-compose config: {compose.stderr[-500:]}")
    import yaml
    composed = yaml.safe_load(compose.stdout)["services"]
    names = list(deployed["services"])
    specs = json.loads(stack.cluster.on(stack.cluster.manager(), "service", "inspect",
                                        *[stack.cluster.service_name(n) for n in names]))
    checked = 0
    for name, inspected in zip(names, specs):
        check(inspected["Spec"]["Name"] == stack.cluster.service_name(name),
              f"inspected {inspected['Spec']['Name']} for {name}")
        base = stackfile.origin(name, {"services": composed})
        source = composed[base]
        spec = inspected["Spec"]["TaskTemplate"]["ContainerSpec"]
        env = dict(e.split("=", 1) for e in spec.get("Env", []))
        want = {k: str(v) for k, v in (source.get("environment") or {}).items()}
        want.update(stackfile.SWARM_ENVIRONMENT.get(base, {}))
        check(env == want, f"{name}: environment {env} != compose's {want}")
        check(spec["Image"].split("@")[0] == source["image"],
              f"{name}: image {spec['Image']} != {source['image']}")
        check((spec.get("Args") or None) == (source.get("command") or None),
              f"{name}: command {spec.get('Args')} != {source.get('command')}")
        want_test = stackfile.SWARM_HEALTHCHECK.get(tuple(source["healthcheck"]["test"]),
                                                    source["healthcheck"]["test"])
        check(spec["Healthcheck"]["Test"] == want_test,
              f"{name}: healthcheck {spec['Healthcheck']['Test']} != {want_test}")
        checked += 1
    say(f"deployed as composed: environment, image, command and healthcheck of all {checked} "
        "services match `docker-compose config` (but APP_HOST=tasks.app for HAProxy, and "
        "liveness healthchecks)")


def step_layout(stack):
    cluster = stack.cluster
    tasks = cluster.tasks()
    for service, slot in stack.placement.items():
        node = cluster.nodes[slot - 1]
        where = [t["node"] for t in tasks if t["service"] == service]
        check(where == [node], f"{service} runs on {where}, not {node}")
    haproxy = sorted(t["node"] for t in tasks if t["service"] == "haproxy")
    check(haproxy == cluster.nodes, f"HAProxy runs on {haproxy}")
    app_nodes = [t["node"] for t in tasks if t["service"] == "app"]
    check(len(set(app_nodes)) == len(app_nodes), f"app tasks share a node: {app_nodes}")
    info = stack.info("redis-master")
    check(info.get("role") == "master" and info.get("connected_slaves") == "2",
          f"redis-master: {info}")
    announced = {v.split("ip=")[1].split(",")[0] for k, v in info.items()
                 if k.startswith("slave")}
    check(announced == {"redis-replica-1", "redis-replica-2"},
          f"the replicas announce {announced}")
    for sentinel in stack.sentinels():
        fields = stack.redis_cli(sentinel, "SENTINEL", "master", MASTER_NAME,
                                 sentinel=True).split()
        state = dict(zip(fields[::2], fields[1::2]))
        check(state.get("num-other-sentinels") == "2", f"{sentinel}: {state}")
    check(stack.master() == "redis-master", "Sentinel does not name redis-master")
    leader = cluster.leader()
    check(leader != stack.node_of("redis-master"), "the leader holds the Redis master")
    say("layout: " + ", ".join(f"{s} on {stack.node_of(s)}" for s in stack.placement)
        + f"; HAProxy on every node; app on {sorted(app_nodes)}; swarm leader {leader}; "
          "the replicas announce their service names, each Sentinel sees 2 others")


def acl_users(template):
    """The users an ACL template of the Redis image defines (docker/redis/*.acl)."""
    with open(os.path.join(ROOT, "docker", "redis", template)) as f:
        return sorted(line.split()[1] for line in f if line.startswith("user "))


def step_users(stack):
    """Every part of the stack logs in as its own Redis user: on the master, each app task's
    connections are `app`'s, each replica's `replication`'s, each Sentinel's `sentinel`'s; on
    every Sentinel, each app task's are `app`'s and the other Sentinels' `peer`'s. The app
    service holds no password but its two. Then ACL LOG is emptied everywhere: from here on an
    entry is a refusal of something the stack itself did (step_acl_after)."""
    spec = json.loads(stack.cluster.on(stack.cluster.manager(), "service", "inspect",
                                       stack.cluster.service_name("app")))[0]
    env = spec["Spec"]["TaskTemplate"]["ContainerSpec"].get("Env", [])
    held = sorted(name for name, value in stack.passwords.items()
                  if any(e.split("=", 1)[1:] == [value] for e in env))
    check(held == ["REDIS_APP_PASSWORD", "SENTINEL_APP_PASSWORD"],
          f"the app service holds the passwords of {held}")
    # what each service's connections must log in as, on a data node and on a Sentinel
    want_data = {"app": "app", "redis-replica": "replication", "sentinel": "sentinel"}
    want_sentinel = {"app": "app", "sentinel": "peer"}

    def kind(service):
        return service.rsplit("-", 1)[0] if service.startswith(("redis-replica-",
                                                                "sentinel-")) else service

    def as_expected():
        addresses = stack.addresses()
        problems = []
        for target, want, sentinel in [("redis-master", want_data, False)] + \
                [(s, want_sentinel, True) for s in stack.sentinels()]:
            connected = stack.clients(target, sentinel=sentinel)
            users = {}
            for address, user in connected:
                users.setdefault(address, set()).add(user)
            for address, service in addresses.items():
                if service == target or kind(service) not in want:
                    continue
                expected = want[kind(service)]
                if users.get(address) != {expected}:
                    problems.append(f"{target}: {service} ({address}) connected as "
                                    f"{sorted(users.get(address, []))}, not {expected}")
            strangers = sorted(a for a in users if a not in addresses)
            if strangers:
                problems.append(f"{target}: connections from unknown addresses {strangers}")
        if problems:
            raise TestFailure("; ".join(problems))
        return addresses
    addresses = wait_until(as_expected, 30, "every connection as its own Redis user")
    apps = sum(1 for s in addresses.values() if s == "app")
    for service in ["redis-master", "redis-replica-1", "redis-replica-2"]:
        stack.redis_cli(service, "ACL", "LOG", "RESET")
    for sentinel in stack.sentinels():
        stack.redis_cli(sentinel, "ACL", "LOG", "RESET", sentinel=True)
    say(f"Redis users: the {apps} app tasks log in as `app` on the master and on every "
        "Sentinel, the replicas as `replication`, the Sentinels as `sentinel` on the master and "
        "`peer` among themselves; the app service holds only its two passwords")


def step_acl_after(stack):
    """After both nodes were lost and came back: every data node has the users of
    users.acl, every Sentinel those of sentinel-users.acl (a promoted replica and a demoted
    master kept theirs), and no part of the stack was refused anything (ACL LOG empty)."""
    data_nodes = ["redis-master", "redis-replica-1", "redis-replica-2"]
    users = {s: sorted(stack.redis_cli(s, "ACL", "USERS").split()) for s in data_nodes}
    users.update({s: sorted(stack.redis_cli(s, "ACL", "USERS", sentinel=True).split())
                  for s in stack.sentinels()})
    for service, names in users.items():
        template = "sentinel-users.acl" if service.startswith("sentinel") else "users.acl"
        check(names == acl_users(template), f"{service} has the users {names}")
    logs = {s: stack.redis_cli(s, "ACL", "LOG") for s in data_nodes}
    logs.update({s: stack.redis_cli(s, "ACL", "LOG", sentinel=True) for s in stack.sentinels()})
    refused = {s: log[:300] for s, log in logs.items() if log.strip()}
    check(not refused, f"ACL LOG entries (a part of the stack was refused something): {refused}")
    say(f"after the node losses: the {len(acl_users('users.acl'))} users on every data node, "
        f"the {len(acl_users('sentinel-users.acl'))} on every Sentinel; ACL LOG empty on all "
        "six (nothing the stack did was refused)")


def step_counter(stack):
    values = []
    for node in stack.cluster.nodes:
        client = Client(stack.cluster.http_port, host=stack.cluster.address(node))
        for _ in range(2):
            status, body, _ = client.get("/")
            check(status == 200, f"GET / through {node} answered {status}: {body!r}")
            values.append(int(body))
        client.close()
    check(all(b == a + 1 for a, b in zip(values, values[1:])), f"counter went {values}")
    say(f"counter through the 3 nodes' URLs: {values}")


def step_instances(stack):
    port = stack.cluster.http_port
    host = stack.cluster.address(stack.cluster.nodes[0])
    names = query_instances(host, port, 8)
    where = stack.instance_nodes()
    check(names <= set(where), f"/query/ names {names}, app containers {where}")
    nodes = {where[n] for n in names}
    check(len(nodes) >= 2, f"/query/ answers came from {nodes} only")
    say(f"/query/ answers from {sorted(names)} on {sorted(nodes)}")


def step_scale(stack, timings):
    cluster = stack.cluster
    start = time.monotonic()
    cluster.on(cluster.manager(), "service", "scale", "--detach",
               f"{cluster.service_name('app')}={APP_SCALE}")
    wait_until(lambda: len(stack.app_tasks()) == APP_SCALE and
               len(stack.instance_nodes()) == APP_SCALE, 120, f"{APP_SCALE} app tasks running")
    running = time.monotonic()
    names = set(stack.instance_nodes())
    host = cluster.address(cluster.nodes[0])
    seen = set()

    def all_in_rotation():
        seen.update(query_instances(host, cluster.http_port, APP_SCALE))
        return seen >= names
    wait_until(all_in_rotation, 60, f"all {APP_SCALE} instances answering", interval=0.1)
    timings[f"scale to {APP_SCALE}: tasks running"] = running - start
    timings[f"scale to {APP_SCALE}: all in rotation"] = time.monotonic() - start
    per_node = {}
    for node in stack.instance_nodes().values():
        per_node[node] = per_node.get(node, 0) + 1
    check(len(per_node) == 3, f"the app tasks are on {per_node}")
    say(f"scaled the app to {APP_SCALE}: tasks running after {running - start:.1f} s, all in "
        f"HAProxy's rotation after {timings[f'scale to {APP_SCALE}: all in rotation']:.1f} s; "
        f"per node {dict(sorted(per_node.items()))}")


def replica_victim(stack, master):
    """A node that holds a replica and a Sentinel (not the master) and is not the leader,
    with app tasks: one that has some already, else one that gets some from a rebalance
    (Swarm does not move tasks back to a node that rejoined; with the replica's node killed
    first and the master's second, both have theirs and no rebalance is needed)."""
    cluster = stack.cluster
    leader = cluster.leader()
    candidates = [n for n in cluster.nodes if n not in (stack.node_of(master), leader)]
    check(candidates, f"every node holds the master ({master}) or leads the swarm ({leader})")
    where = stack.instance_nodes().values()
    with_apps = [n for n in candidates if n in where]
    if with_apps:
        return with_apps[0]
    victim = candidates[0]
    start = time.monotonic()
    cluster.on(cluster.manager(), "service", "update", "--detach", "--force",
               "--update-parallelism", "2", cluster.service_name("app"))
    wait_until(lambda: len(stack.app_tasks()) == APP_SCALE and
               victim in stack.instance_nodes().values() and
               len(stack.instance_nodes()) == APP_SCALE, 180,
               f"app tasks on {victim} after a rebalance", interval=0.5)
    say(f"{victim} had no app task since it rejoined: `docker service update --force` spread "
        f"them again in {time.monotonic() - start:.1f} s")
    return victim


def step_kill(stack, victim, timings, label):
    """Kills node `victim` under steady clients, waits for the stack to heal, starts the node
    again and waits for it to rejoin with its Redis as a replica. Returns the master."""
    cluster = stack.cluster
    leader = cluster.leader()
    check(victim != leader, f"{victim} is the swarm leader")
    survivor = leader  # never killed
    old_master = stack.master()
    victim_services = [s for s in stack.placement if stack.node_of(s) == victim]
    victim_apps = [cid for cid, n in stack.instance_nodes().items() if n == victim]
    check(victim_apps, f"no app task on {victim}")
    host = cluster.address(survivor)
    # what runs on the other nodes must go on running: Swarm restarts a task whose liveness
    # check fails, and a check that fails for a replica whose master is gone kills the
    # replicas a failover needs
    survivors = {t["id"]: (t["service"], t["node"]) for t in cluster.tasks()
                 if t["node"] != victim}
    say(f"{label}: killing {victim} ({', '.join(victim_services)}, {len(victim_apps)} app "
        f"tasks, HAProxy; master {old_master}, leader {leader}); clients through {host}")
    with SteadyClients(cluster.http_port, CLIENTS, host=host, retry_closed=True) as clients:
        wait_until(lambda: clients.first_200_after(0), 10,
                   "the clients' first 200")
        time.sleep(1)
        killed_at = time.monotonic()
        swarm.run([swarm.DOCKER, "kill", victim])
        master_node = stack.node_of(old_master)
        if master_node == victim:
            new_master = wait_until(lambda: (lambda m: m if m != old_master else None)(
                stack.master(exclude_node=victim)), 120, "Sentinel to name a new master",
                interval=0.2)
            timings[f"{label}: Sentinel names a new master"] = time.monotonic() - killed_at
        else:
            new_master = old_master
        outage, first = wait_until(lambda: clients.recovery(killed_at), 150,
                                   "200s again after the kill", interval=0.05)
        timings[f"{label}: kill -> 200s again"] = first[2] - killed_at

        def moved():
            tasks = stack.app_tasks()
            return len(tasks) == APP_SCALE and all(t["node"] != victim for t in tasks)
        wait_until(moved, 120, f"the app tasks of {victim} running elsewhere", interval=0.5)
        timings[f"{label}: kill -> dead node's app tasks run elsewhere"] = \
            time.monotonic() - killed_at
        states = cluster.node_states()
        check(states[victim][0] == "Down", f"{victim} is {states[victim]}")
        running = {t["id"] for t in cluster.tasks()}
        replaced = sorted(f"{svc} on {node}" for tid, (svc, node) in survivors.items()
                          if tid not in running)
        check(not replaced, f"{label}: Swarm replaced tasks on the other nodes: {replaced}")
        time.sleep(1)
        clients.stop()
    try:
        records, values = clients.check({200, 503}, label, prompt_s=prompt_bound())
    except TestFailure:
        dump_records(clients, label, killed_at)
        raise
    worst_503 = max((r[2] - r[1] for r in records if r[3] == 503), default=None)
    dropped = sum(1 for r in records if r[3] == 503 and "service unavailable: the instance"
                  in r[4])
    moved_after = timings[f"{label}: kill -> dead node's app tasks run elsewhere"]
    say(f"{label}: {summary(records)}; "
        + (f"slowest 503 {worst_503:.2f} s (bound {prompt_bound():.1f} s), {dropped} of them "
           "for a request an instance died holding; " if worst_503 else "")
        + f"{clients.retried} requests retried after a closed keep-alive connection; "
        f"values strictly increasing per client, none shown twice; "
        + (f"first failed answer after {outage[2] - killed_at:.2f} s, " if outage else
           "no request failed, ")
        + f"200s again after {first[2] - killed_at:.2f} s; master {new_master}; the app tasks "
          f"of {victim} run elsewhere after {moved_after:.1f} s")
    count = int(stack.redis_cli(new_master, "GET", "count"))
    check(count >= max(values), f"count {count} on {new_master}, {max(values)} was shown")

    started = time.monotonic()
    swarm.run([swarm.DOCKER, "start", victim])
    wait_until(lambda: cluster.node_states().get(victim, ("",))[0] == "Ready" and
               cluster.node_states()[victim][2] == "Reachable", 180,
               f"{victim} to rejoin the swarm", interval=0.5)
    timings[f"{label}: start -> node rejoined (Ready, Reachable)"] = time.monotonic() - started
    data_node = next(s for s in victim_services if s.startswith("redis-"))

    def replica_again():
        info = stack.info(data_node)
        return info.get("role") == "slave" and info.get("master_link_status") == "up" \
            and info.get("master_host") == new_master
    wait_until(replica_again, 180, f"{data_node} a replica of {new_master} again", interval=0.5)
    timings[f"{label}: start -> its Redis a replica again"] = time.monotonic() - started
    check(stack.master() == new_master, "the master changed after the rejoin")
    rejoined = timings[f"{label}: start -> node rejoined (Ready, Reachable)"]
    replica = timings[f"{label}: start -> its Redis a replica again"]
    say(f"{label}: {victim} rejoined after {rejoined:.1f} s, {data_node} a replica of "
        f"{new_master} after {replica:.1f} s")
    return new_master


def dump_records(clients, label, fault_at):
    """Every answer the clients recorded, for a failed check: tests/artifacts/swarm/."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, label.replace(" ", "-") + ".records")
    with open(path, "w") as f:
        f.write("client start_s duration_s status body (times from the fault)\n")
        for r in clients.snapshot():
            f.write(f"{r[0]} {r[1] - fault_at:.3f} {r[2] - r[1]:.3f} {r[3]} {r[4][:100]!r}\n")
    say(f"the clients' records are in {path}")


def step_liveness_check(stack, deployed):
    """The Redis image's liveness check (the one the stack runs on Swarm) passes for a replica
    whose master is unreachable, where the compose (readiness) check fails: a container of the
    image on the host engine, with the passwords a replica of the stack gets, a replica of an
    address that answers nobody (TEST-NET-1)."""
    cluster = stack.cluster
    name = f"{cluster.name}-liveness"
    image = f"redisapp/redis:{cluster.tag}"
    variables = [v for v in deployed["services"]["redis-replica-1"]["environment"]
                 if v.endswith("_PASSWORD")]
    check("HEALTH_PASSWORD" in variables, f"a replica's passwords: {variables}")
    passwords = [arg for v in variables for arg in ("-e", f"{v}={stack.passwords[v]}")]
    admin = ["-e", f"REDISCLI_AUTH={stack.passwords['REDIS_ADMIN_PASSWORD']}"]
    swarm.run([swarm.DOCKER, "run", "-d", "--name", name, "--label", cluster.label, *passwords,
               "-e", "REDIS_MASTER_HOST=192.0.2.1", image, "replica"])
    try:
        def link_down():
            out = swarm.run([swarm.DOCKER, "exec", *admin, name, "redis-cli", "--user", "admin",
                             "INFO", "replication"], check=False)
            return "master_link_status:down" in out
        wait_until(link_down, 30, "the replica to report its link down")

        def rc(*argv):
            return subprocess.run([swarm.DOCKER, "exec", name, *argv], capture_output=True,
                                  timeout=30).returncode
        ping = swarm.run([swarm.DOCKER, "exec", *admin, name, "redis-cli", "--user", "admin",
                          "PING"], check=False).strip()
        check(ping.startswith("MASTERDOWN"), f"PING of a replica without its master: {ping}")
        check(rc("/usr/local/bin/redis-health", "alive") == 0,
              f"redis-health alive fails for a replica whose master is away (PING: {ping})")
        check(rc("/usr/local/bin/redis-health") != 0,
              "redis-health (readiness) passes for a replica with no master")
    finally:
        swarm.run([swarm.DOCKER, "rm", "-f", "-v", name], check=False)
    say(f"liveness check: a replica whose master is away answers PING with {ping.split()[0]}; "
        "`redis-health alive` passes, the compose check fails")


# an "app" that passes HAProxy's health check and drops every other request unanswered, as an
# instance does when its node dies with the request in hand (perl-base is in the slim base)
DROPPER = r"""
use IO::Socket::INET;
my $s = IO::Socket::INET->new(LocalPort => 8000, Listen => 64, ReuseAddr => 1) or die "$!";
while (my $c = $s->accept) {
    my $line = <$c> // "";
    while (my $h = <$c>) { last if $h eq "\r\n"; }
    print $c "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
        if $line =~ m{^GET /readyz };
    sleep 60 if $line =~ m{^GET /hang };
    close $c;
}
"""


def step_instance_dies_mid_request(cluster):
    """The stack's HAProxy answers a request whose instance closed without answering, or did
    not answer within `timeout server`, with a 503 and Retry-After, as the app answers when
    Redis does not (not HAProxy's default 502 and 504): its image and config on the host
    engine, in front of an instance that drops requests, or holds them unanswered."""
    network, app, proxy = (f"{cluster.name}-{n}" for n in ("dropnet", "dropper", "proxy"))
    label = ["--label", cluster.label]
    swarm.run([swarm.DOCKER, "network", "create", *label, network])
    try:
        swarm.run([swarm.DOCKER, "run", "-d", "--name", app, *label, "--network", network,
                   "--network-alias", "app", "--init", "--entrypoint", "perl",
                   f"redisapp/redis:{cluster.tag}", "-e", DROPPER])
        swarm.run([swarm.DOCKER, "run", "-d", "--name", proxy, *label, "--network", network,
                   "-e", "STATS_PASSWORD=s", f"redisapp/haproxy:{cluster.tag}"])
        address = swarm.run([swarm.DOCKER, "inspect", "-f",
                             "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                             proxy]).strip()
        client = Client(8080, host=address)
        wait_until(lambda: client.get("/readyz")[0] == 200, 30,
                   "HAProxy to find the dropping instance")
        client.close()
        status, body, response = Client(8080, host=address).get("/")
        check(status == 503 and response.getheader("Retry-After") == "1"
              and "failed before answering" in body,
              f"a dropped request: {status} {response.getheader('Retry-After')} {body!r}")
        start = time.monotonic()
        hung = Client(8080, host=address).get("/hang")
        waited = time.monotonic() - start
        # HAProxy's `timeout server` ends it (the client's own timeout is 10 s)
        check(hung[0] == 503 and hung[2].getheader("Retry-After") == "1"
              and "did not answer in time" in hung[1]
              and waited >= haproxy_timeout("server") - 0.1,
              f"a request left unanswered: {hung[0]} after {waited:.1f} s, {hung[1]!r}")
    finally:
        swarm.run([swarm.DOCKER, "rm", "-f", "-v", app, proxy], check=False)
        swarm.run([swarm.DOCKER, "network", "rm", network], check=False)
    say(f"an instance that drops a request: HAProxy answers {status}, Retry-After: 1, "
        f"{body.strip()!r}; one that never answers: {hung[0]} after {waited:.1f} s, "
        f"{hung[1].strip()!r}")


# --- main -----------------------------------------------------------------------------------

def host_state(cluster):
    """What the host engine holds of this test: containers and networks with its label."""
    containers = swarm.run([swarm.DOCKER, "ps", "-aq", "--filter",
                            f"label={cluster.label}"]).split()
    networks = swarm.run([swarm.DOCKER, "network", "ls", "-q", "--filter",
                          f"label={cluster.label}"]).split()
    return containers, networks


def main():
    # a random password for every Redis user, as the compose test does
    env = dict(os.environ, STATS_PASSWORD="h-" + secrets.token_hex(8),
               **{name: "p-" + secrets.token_hex(8) for name in PASSWORD_VARIABLES})
    cluster = swarm.Cluster(env)
    stack = Stack(cluster, env)
    timings = {}
    failed = True
    started_up = False
    catch_signals()
    try:
        started_up = True
        start = time.monotonic()
        deployed, stack.placement = cluster.up()
        timings.update(cluster.timings)
        timings["swarm up in all"] = time.monotonic() - start
        step_liveness_check(stack, deployed)
        step_instance_dies_mid_request(cluster)
        step_deployed_as_composed(stack, deployed)
        step_layout(stack)
        step_users(stack)
        step_counter(stack)
        step_instances(stack)
        step_scale(stack, timings)
        step_kill(stack, replica_victim(stack, stack.master()), timings, "replica node")
        step_kill(stack, stack.node_of(stack.master()), timings, "master node")
        step_acl_after(stack)
        failed = False
    except (TestFailure, swarm.SwarmError) as err:
        say(f"FAIL: {err}")
    except KeyboardInterrupt as err:
        say(f"interrupted ({err or 'SIGINT'})")
    except Exception:
        import traceback
        traceback.print_exc()
    finally:
        ignore_signals()
        if started_up:
            if failed:
                diagnostics(cluster)
            try:
                failed = clean_up(cluster, timings) or failed
            except (swarm.SwarmError, subprocess.SubprocessError, OSError) as err:
                failed = True
                say(f"FAIL: cleaning up: {err}")
            finally:
                # only now: the checks above ask the host engine what is left
                cluster.stop_engine()
        print("\ntimings:", flush=True)
        for name, seconds in timings.items():
            print(f"  {name:<60} {seconds:7.2f} s")
        print(f"  {'whole test':<60} {time.monotonic() - T0:7.2f} s")
        print("swarm test " + ("FAILED" if failed else "passed"), flush=True)
    return 1 if failed else 0


def clean_up(cluster, timings):
    """Removes the swarm, then checks the host engine holds nothing of it (when `up` never got
    an engine, `down` removes the files only and there is no engine to ask); True when
    something is left."""
    engine = cluster.engine_answers(timeout=60)
    start = time.monotonic()
    volumes = cluster.host_volumes() if engine else []
    problems = cluster.down(stop_engine=False)
    timings["swarm down"] = time.monotonic() - start
    if engine:
        containers, networks = host_state(cluster)
        left = set(volumes) & set(swarm.run([swarm.DOCKER, "volume", "ls", "-q"]).split())
        problems += ([f"containers {containers}"] if containers else []) + \
            ([f"networks {networks}"] if networks else []) + \
            ([f"volumes {sorted(left)}"] if left else [])
    for problem in problems:
        say(f"FAIL: left on the host: {problem}")
    return bool(problems)


def diagnostics(cluster):
    """The swarm's view, and every node's engine log in tests/artifacts/swarm/."""
    artifacts = ARTIFACTS
    os.makedirs(artifacts, exist_ok=True)
    for node in cluster.nodes:
        result = subprocess.run([swarm.DOCKER, "logs", node], capture_output=True, text=True,
                                timeout=60)
        with open(os.path.join(artifacts, f"{node}.log"), "w") as f:
            f.write(result.stdout + result.stderr)
    for node in cluster.nodes:
        if not cluster.running(node):
            continue
        try:
            for cid, service, _ in cluster.containers(node):
                out = subprocess.run([swarm.DOCKER, "-H", f"unix://{cluster.socket(node)}",
                                      "logs", "--tail", "300", "-t", cid], capture_output=True,
                                     text=True, timeout=60)
                with open(os.path.join(artifacts, f"{node}-{service}-{cid}.log"), "w") as f:
                    f.write(out.stdout + out.stderr)
        except (swarm.SwarmError, subprocess.SubprocessError) as err:
            say(f"(logs of {node}'s containers: {err})")
    say(f"the nodes' engine logs and their containers' logs are in {artifacts}")
    try:
        node = cluster.manager()
        print(cluster.on(node, "node", "ls", check=False), flush=True)
        print(cluster.on(node, "service", "ps", "--no-trunc", "--format",
                         "{{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}",
                         *cluster.on(node, "service", "ls", "-q").split(), check=False),
              flush=True)
    except Exception as err:  # diagnostics must never hide the real failure
        print(f"(diagnostics failed: {err!r})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
