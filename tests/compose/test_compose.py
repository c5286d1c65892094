#!/usr/bin/python3
"""The compose stack (compose.yaml) in a real Docker engine, proven through HAProxy.

Makes sure an engine runs (docker/engine.sh: packages, dockerd, the debootstrap base image),
then, with a unique project name, free ports and random passwords: `up --build`; every
container healthy; the counter increments; /query/ answers come from 2 instances; the stats
page and /metrics need credentials; an HAProxy reload loses no request; `--scale app=3` brings a third instance into rotation;
pausing the master fails over with only 200s and prompt 503s and values that never go
backwards, and the old master rejoins as a replica; restarting the demoted node keeps it a
replica; restarting the current master loses no data; scaling down and stopping app
instances under steady clients loses no request. Prints the timings and image sizes.

Always tears down (`down -v --remove-orphans`, dangling build images) and stops only what it
started: the dockerd, when docker/engine.sh started one for it.

Run: `make test-compose` (or /usr/bin/python3 tests/compose/test_compose.py) as root.
Environment: COMPOSE (the compose command, e.g. "docker compose"; default docker-compose when
installed), COMPOSE_TEST_CLIENTS (steady clients, default 4), REDISAPP_TAG (the images' tag,
default latest).
"""
import base64
import http.client
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGINE = os.path.join(ROOT, "docker", "engine.sh")
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
# REDISAPP_TAG: the images' tag (compose.yaml), so checkouts tested side by side on one engine
# never run each other's images
TAG = os.environ.get("REDISAPP_TAG", "latest")
IMAGES = [f"redisapp/{name}:{TAG}" for name in ("app", "redis", "haproxy")]
BASE_IMAGE = os.environ.get("BASE_IMAGE", "debian:bookworm-slim")
MASTER_NAME = "mymaster"
CLIENTS = int(os.environ.get("COMPOSE_TEST_CLIENTS", "4"))
# a 503 must come at once or within the app's Redis deadline (1 s), plus HAProxy's retries
PROMPT_S = 3.0
PACE_S = 0.005  # pause between one client's requests
T0 = time.monotonic()


class TestFailure(Exception):
    pass


def say(message):
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", flush=True)


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def wait_until(predicate, timeout, what, interval=0.2):
    """Polls predicate() until it returns a true value, which is returned."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, subprocess.SubprocessError, ValueError) as err:
            last_error = err
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout:.0f} s waiting for {what}"
                              + (f" (last error: {last_error})" if last_error else ""))
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv, timeout=120, check_rc=True, env=None, log=None, new_session=False,
        stderr_to_stdout=False):
    """Runs a command; returns its stdout (with stderr when logging to `log`)."""
    result = subprocess.run(argv, cwd=ROOT, env=env, timeout=timeout, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT if log or stderr_to_stdout
                            else subprocess.PIPE,
                            start_new_session=new_session)
    if log is not None:
        log.write(f"$ {shlex.join(argv)}\n{result.stdout}\n")
        log.flush()
    if check_rc and result.returncode != 0:
        detail = result.stdout if log or stderr_to_stdout else result.stderr
        raise TestFailure(f"{shlex.join(argv)} exited {result.returncode}:\n"
                          + "\n".join(detail.strip().splitlines()[-30:]))
    return result.stdout


def docker(*args, timeout=120, check_rc=True):
    return run([DOCKER, *args], timeout=timeout, check_rc=check_rc).strip()


def compose_command():
    if os.environ.get("COMPOSE"):
        return shlex.split(os.environ["COMPOSE"])
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return [DOCKER, "compose"]


# --- HTTP clients ---------------------------------------------------------------------------

class Client:
    """Sequential GETs on one keep-alive connection (a new one after any error)."""

    def __init__(self, port, timeout=10.0):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def get(self, path="/", headers=None):
        """Returns (status, body text, headers); raises OSError/HTTPException on failure."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request("GET", path, headers=headers or {})
            response = self.conn.getresponse()
            body = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if response.will_close:
            self.close()
        return response.status, body, response

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def get(port, path="/", headers=None):
    client = Client(port)
    try:
        return client.get(path, headers)
    finally:
        client.close()


class SteadyClients:
    """N threads sending GET / back to back, each recording every answer:
    (client, start, end, status, body) or (client, start, end, None, error)."""

    def __init__(self, port, count=CLIENTS):
        self.port = port
        self.count = count
        self.records = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._loop, args=(i,), daemon=True)
                        for i in range(count)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(30)

    def _loop(self, index):
        client = Client(self.port)
        while not self.stopping.is_set():
            start = time.monotonic()
            try:
                status, body, _ = client.get("/")
                record = (index, start, time.monotonic(), status, body.strip())
            except (OSError, http.client.HTTPException) as err:
                record = (index, start, time.monotonic(), None, repr(err))
                time.sleep(0.05)
            with self.lock:
                self.records.append(record)
            # steady, not flat out: the machine is shared, and a 503 says "retry after"
            time.sleep(0.05 if record[3] == 503 else PACE_S)
        client.close()

    def snapshot(self):
        with self.lock:
            return sorted(self.records, key=lambda r: r[1])

    def wait_answers(self, since, what, count=10):
        """Waits until every client got `count` 200s for requests sent at or after `since` (a
        time.monotonic() value): the traffic flows. Returns the moment it did."""
        def each_got():
            records = self.snapshot()
            return all(sum(1 for r in records if r[0] == i and r[3] == 200 and r[1] >= since)
                       >= count for i in range(self.count))
        wait_until(each_got, 60, f"{count} answers to each client {what}", interval=0.05)
        return time.monotonic()

    def first_200_after(self, t):
        return next((r for r in self.snapshot() if r[3] == 200 and r[1] >= t), None)

    def recovery(self, fault_at, stable_s=1.0):
        """After a fault at fault_at: (first failed answer, first 200 of the recovery), where
        the recovery is the first 200 followed by stable_s of nothing but 200s; None while
        there is none. The first failed answer is None when no answer failed."""
        records = [r for r in self.snapshot() if r[1] >= fault_at]
        first_bad = next((r for r in records if r[3] != 200), None)
        if records and records[-1][1] - records[0][1] < stable_s:
            return None
        for i, r in enumerate(records):
            if r[3] != 200 or (first_bad is not None and r[1] < first_bad[1]):
                continue
            window = [x for x in records[i:] if x[1] <= r[1] + stable_s]
            if records[-1][1] >= r[1] + stable_s and all(x[3] == 200 for x in window):
                return first_bad, r
        return None

    def check(self, allowed, phase):
        """Asserts every answer's status is allowed and prompt when 503, no request failed,
        and the values each client saw strictly increase (and no value was shown twice).
        Returns the records and the values of the 200s."""
        records = self.snapshot()
        errors = [r for r in records if r[3] is None]
        check(not errors, f"{phase}: {len(errors)} requests failed, first: {errors[:3]}")
        bad = [r for r in records if r[3] not in allowed]
        check(not bad, f"{phase}: unexpected answers {[(r[3], r[4][:80]) for r in bad[:5]]}")
        slow = [r for r in records if r[3] == 503 and r[2] - r[1] > PROMPT_S]
        check(not slow, f"{phase}: {len(slow)} 503s took over {PROMPT_S} s: "
                        f"{[round(r[2] - r[1], 2) for r in slow[:5]]}")
        values = []
        for index in range(self.count):
            seen = [int(r[4]) for r in records if r[0] == index and r[3] == 200]
            check(all(a < b for a, b in zip(seen, seen[1:])),
                  f"{phase}: client {index} saw values go backwards: "
                  f"{[(a, b) for a, b in zip(seen, seen[1:]) if a >= b][:5]}")
            values += seen
        check(len(values) == len(set(values)), f"{phase}: a value was shown twice")
        return records, values


def summary(records):
    counts = {}
    for r in records:
        counts[r[3] or "error"] = counts.get(r[3] or "error", 0) + 1
    return ", ".join(f"{n} x {status}" for status, n in sorted(counts.items(), key=str))


# --- the stack ------------------------------------------------------------------------------

class Stack:
    def __init__(self, workdir):
        self.project = f"redisapptest{os.getpid()}{secrets.token_hex(2)}"
        self.http_port = free_port()
        self.stats_port = free_port()
        while self.stats_port == self.http_port:
            self.stats_port = free_port()
        self.redis_password = "r-" + secrets.token_hex(8)
        self.sentinel_password = "s-" + secrets.token_hex(8)
        self.stats_password = "h-" + secrets.token_hex(8)
        self.env = dict(os.environ, HTTP_PORT=str(self.http_port),
                        STATS_PORT=str(self.stats_port), REDIS_PASSWORD=self.redis_password,
                        SENTINEL_PASSWORD=self.sentinel_password, STATS_USER="admin",
                        STATS_PASSWORD=self.stats_password)
        self.env.pop("COMPOSE_PROJECT_NAME", None)
        self.compose_cmd = compose_command()
        self.log = open(os.path.join(workdir, "compose.log"), "w")
        self.log_path = self.log.name

    def compose(self, *args, timeout=600, check_rc=True, new_session=False):
        argv = [*self.compose_cmd, "-p", self.project, "-f", os.path.join(ROOT, "compose.yaml"),
                *args]
        return run(argv, timeout=timeout, env=self.env, log=self.log, check_rc=check_rc,
                   new_session=new_session)

    def containers(self, service):
        argv = [*self.compose_cmd, "-p", self.project, "-f", os.path.join(ROOT, "compose.yaml"),
                "ps", "-q", service]
        out = run(argv, env=self.env, timeout=60)
        return [line for line in out.split() if line]

    def all_containers(self):
        out = docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}")
        return out.split()

    def volumes(self):
        """The volumes mounted by the project's containers."""
        names = set()
        for cid in self.all_containers():
            names.update(self.inspect(
                cid, '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}').split())
        return sorted(names)

    def inspect(self, cid, fmt):
        return docker("inspect", "-f", fmt, cid)

    def hostname(self, cid):
        return self.inspect(cid, "{{.Config.Hostname}}")

    def health(self, cid):
        return self.inspect(cid, "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}")

    def redis_cli(self, cid, *args, sentinel=False, timeout=60):
        password = self.sentinel_password if sentinel else self.redis_password
        port = "26379" if sentinel else "6379"
        return docker("exec", "-e", f"REDISCLI_AUTH={password}", cid, "redis-cli", "-p", port,
                      *args, timeout=timeout)

    def info(self, cid, section="replication"):
        out = self.redis_cli(cid, "INFO", section)
        return dict(line.split(":", 1) for line in out.replace("\r", "").splitlines()
                    if ":" in line)

    def master_name(self):
        """The master's name according to the first Sentinel that answers."""
        for cid in self.containers("sentinel"):
            try:
                out = self.redis_cli(cid, "SENTINEL", "get-master-addr-by-name", MASTER_NAME,
                                     sentinel=True, timeout=30).split()
            except (TestFailure, subprocess.TimeoutExpired):
                continue
            if len(out) == 2:
                return out[0]
        raise TestFailure("no Sentinel knows the master")

    def redis_by_name(self):
        """Announced name (and IP address) -> container id, for every data node."""
        names = {}
        for service in ("redis-master", "redis-replica"):
            for cid in self.containers(service):
                names[service if service == "redis-master" else self.hostname(cid)] = cid
                for ip in self.inspect(
                        cid, "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}").split():
                    names[ip] = cid
        return names

    def all_healthy(self):
        states = {cid: self.health(cid) for cid in self.all_containers()}
        return bool(states) and all(s == "healthy" for s in states.values())

    def dump_diagnostics(self):
        try:
            say("diagnostics: compose ps / logs")
            print(self.compose("ps", timeout=60, check_rc=False), flush=True)
            print(self.compose("logs", "--no-color", "--tail=40", timeout=60, check_rc=False)[-20000:],
                  flush=True)
        except Exception as err:  # diagnostics must never hide the real failure
            print(f"(diagnostics failed: {err!r})", flush=True)


# --- the steps ------------------------------------------------------------------------------

def step_up(stack, timings):
    say(f"project {stack.project}: {' '.join(stack.compose_cmd)} up -d --build "
        f"(HTTP_PORT={stack.http_port}, STATS_PORT={stack.stats_port})")
    start = time.monotonic()
    stack.compose("up", "-d", "--build", timeout=1200)
    timings["up --build (returned)"] = time.monotonic() - start
    up_returned = time.monotonic()
    wait_until(lambda: get(stack.http_port, "/")[0] == 200, 60, "a first 200 through HAProxy",
               interval=0.02)
    timings["first 200 after up returned"] = time.monotonic() - up_returned
    wait_until(stack.all_healthy, 120, "every container healthy")
    timings["all healthy after up returned"] = time.monotonic() - up_returned
    say(f"up: {timings['up --build (returned)']:.1f} s, first 200 "
        f"{timings['first 200 after up returned']:.2f} s later")


def step_layout(stack):
    """The services, their health, what is published and where, names and Sentinels."""
    counts = {s: len(stack.containers(s)) for s in
              ("redis-master", "redis-replica", "sentinel", "app", "haproxy")}
    check(counts == {"redis-master": 1, "redis-replica": 2, "sentinel": 3, "app": 2,
                     "haproxy": 1}, f"containers per service: {counts}")
    for cid in stack.all_containers():
        ports = json.loads(stack.inspect(cid, "{{json .HostConfig.PortBindings}}") or "null")
        service = stack.inspect(cid, '{{index .Config.Labels "com.docker.compose.service"}}')
        if service == "haproxy":
            bound = {p: [(b["HostIp"], b["HostPort"]) for b in v] for p, v in ports.items()}
            check(bound == {"8080/tcp": [("127.0.0.1", str(stack.http_port))],
                            "8404/tcp": [("127.0.0.1", str(stack.stats_port))]},
                  f"haproxy publishes {bound}")
        else:
            check(not ports, f"{service} publishes ports: {ports}")
    master = stack.containers("redis-master")[0]
    info = stack.info(master)
    check(info.get("role") == "master" and info.get("connected_slaves") == "2",
          f"redis-master: {info}")
    replica_names = {stack.hostname(c) for c in stack.containers("redis-replica")}
    announced = {v.split("ip=")[1].split(",")[0] for k, v in info.items() if k.startswith("slave")}
    check(announced == replica_names, f"replicas announce {announced}, hostnames {replica_names}")
    check(stack.info(master, "persistence").get("aof_enabled") == "1", "the master has no AOF")
    myids = set()
    for cid in stack.containers("sentinel"):
        fields = stack.redis_cli(cid, "SENTINEL", "master", MASTER_NAME, sentinel=True).split()
        state = dict(zip(fields[::2], fields[1::2]))
        check(state.get("num-other-sentinels") == "2" and state.get("quorum") == "2",
              f"sentinel {cid[:12]}: {state}")
        myids.add(stack.redis_cli(cid, "SENTINEL", "myid", sentinel=True))
    check(len(myids) == 3, f"the Sentinels share an id: {myids}")
    check(stack.master_name() == "redis-master", "Sentinel does not name redis-master")
    say("layout: 1 master + 2 replicas (announcing their hostnames), 3 Sentinels with their own "
        "ids, 2 apps, HAProxy the only one publishing, on 127.0.0.1")


def step_counter(stack):
    values = []
    for _ in range(5):
        status, body, _ = get(stack.http_port, "/")
        check(status == 200, f"GET / answered {status}: {body!r}")
        values.append(int(body))
    check(all(b == a + 1 for a, b in zip(values, values[1:])), f"counter went {values}")
    say(f"counter increments: {values}")


def query_instances(port, tries):
    names = set()
    for _ in range(tries):
        status, body, _ = get(port, "/query/")
        if status == 200 and body.startswith("hello world from "):
            names.add(body[len("hello world from "):].split(",")[0])
    return names


def step_instances(stack):
    hostnames = {stack.hostname(c) for c in stack.containers("app")}
    names = query_instances(stack.http_port, 8)
    check(len(names) >= 2, f"/query/ answered from {names} only")
    check(names <= hostnames, f"instance names {names} are not the hostnames {hostnames}")
    status, body, _ = get(stack.http_port, "/static/")
    check(status == 200 and "<html" in body.lower(), f"/static/ answered {status}")
    say(f"/query/ answers come from {sorted(names)} (the containers' hostnames); "
        f"/static/ serves the page")


def step_stats(stack):
    status, _, _ = get(stack.stats_port, "/stats")
    check(status == 401, f"stats page without credentials answered {status}")
    wrong = "Basic " + base64.b64encode(b"admin:wrong").decode()
    check(get(stack.stats_port, "/metrics", {"Authorization": wrong})[0] == 401,
          "/metrics accepted a wrong password")
    auth = "Basic " + base64.b64encode(
        f"admin:{stack.stats_password}".encode()).decode()
    status, body, _ = get(stack.stats_port, "/stats;csv", {"Authorization": auth})
    check(status == 200, f"stats page with credentials answered {status}")
    up = [line for line in body.splitlines() if line.startswith("app,app") and ",UP," in line]
    check(len(up) == 2, f"stats page lists {len(up)} app servers UP")
    status, body, _ = get(stack.stats_port, "/metrics", {"Authorization": auth})
    check(status == 200 and "haproxy_backend_active_servers" in body,
          f"/metrics answered {status}")
    check(get(stack.http_port, "/stats")[0] == 404, "the stats page is on the public port")
    check(get(stack.http_port, "/metrics")[0] == 404,
          "the instances' /metrics is reachable on the public port")
    say("stats page and /metrics: 401 without or with wrong credentials, 200 with; "
        "not on the public port")


def container_logs(cid):
    return run([DOCKER, "logs", cid], timeout=60, log=None, check_rc=False,
               stderr_to_stdout=True)


def step_reload(stack, reloads=3):
    """master-worker: reloads (haproxy-reload: state file, then SIGUSR2) under steady clients
    lose no request."""
    cid = stack.containers("haproxy")[0]
    loads = container_logs(cid).count("Loading success")
    with SteadyClients(stack.http_port) as clients:
        since = 0
        for n in range(1, reloads + 1):
            clients.wait_answers(since, "before the reload")
            docker("exec", cid, "haproxy-reload")
            wait_until(lambda: container_logs(cid).count("Loading success") >= loads + n, 60,
                       "HAProxy to reload")
            since = time.monotonic()
        clients.wait_answers(since, "after the last reload")
    records, _ = clients.check({200}, "HAProxy reload")
    wait_until(lambda: stack.health(cid) == "healthy", 120, "HAProxy healthy after the reloads")
    say(f"{reloads} HAProxy reloads (master-worker) under steady clients: {summary(records)}")


def step_scale_up(stack, timings):
    before = {stack.hostname(c) for c in stack.containers("app")}
    start = time.monotonic()
    stack.compose("up", "-d", "--scale", "app=3", timeout=300)
    returned = time.monotonic()
    timings["scale to 3 (compose returned)"] = returned - start
    after = {stack.hostname(c) for c in stack.containers("app")}
    new = after - before
    check(len(after) == 3 and len(new) == 1, f"app instances {before} -> {after}")
    new_name = new.pop()
    wait_until(lambda: new_name in query_instances(stack.http_port, 3), 60,
               f"the new instance {new_name} in rotation", interval=0.05)
    timings["scale pickup after compose returned"] = time.monotonic() - returned
    names = query_instances(stack.http_port, 9)
    check(names == after, f"with 3 instances, /query/ answers came from {names}")
    say(f"scale to 3: compose took {timings['scale to 3 (compose returned)']:.1f} s, "
        f"{new_name} answered {timings['scale pickup after compose returned']:.2f} s later; "
        f"round robin over all 3")


def step_failover(stack, timings):
    nodes = stack.redis_by_name()
    old_name = stack.master_name()
    check(old_name == "redis-master", f"the master is {old_name} before the failover")
    old = nodes[old_name]
    with SteadyClients(stack.http_port) as clients:
        clients.wait_answers(0, "before the pause")
        paused_at = time.monotonic()
        docker("pause", old)
        say(f"paused redis-master ({old[:12]}) under {clients.count} steady clients")
        try:
            new_name = wait_until(lambda: (lambda n: n if n != old_name else None)(
                stack.master_name()), 60, "Sentinel to name a new master", interval=0.1)
            switched_at = time.monotonic()
            outage, first = wait_until(lambda: clients.recovery(paused_at), 60,
                                       "200s again after the failover", interval=0.05)
        finally:
            docker("unpause", old)
        unpaused_at = time.monotonic()
        check(outage is not None, "no request failed while the master was paused")
        say(f"first failed answer {outage[2] - paused_at:.1f} s after the pause, Sentinel named "
            f"{new_name} after {switched_at - paused_at:.1f} s, 200s again after "
            f"{first[2] - paused_at:.1f} s; unpaused")

        def rejoined():
            info = stack.info(old)
            return info.get("role") == "slave" and info.get("master_link_status") == "up" \
                and nodes.get(info.get("master_host")) == nodes[new_name]
        wait_until(rejoined, 90, "the old master to rejoin as a replica", interval=0.5)
        rejoined_at = time.monotonic()
        clients.wait_answers(rejoined_at, "after the rejoin")
    records, values = clients.check({200, 503}, "failover")
    after = [r for r in records if r[1] >= first[1]]
    check(any(r[3] == 200 for r in after[-20:]), "no 200s at the end of the failover phase")
    count = int(stack.redis_cli(nodes[new_name], "GET", "count"))
    check(count >= max(values), f"count is {count} on the new master, {max(values)} was shown")
    timings["failover: Sentinel names the new master"] = switched_at - paused_at
    timings["failover follow: pause -> first 200"] = first[2] - paused_at
    timings["failover: old master rejoined after unpause"] = rejoined_at - unpaused_at
    worst_503 = max((r[2] - r[1] for r in records if r[3] == 503), default=0)
    say(f"failover: {summary(records)}; slowest 503 {worst_503:.2f} s; values strictly "
        f"increasing per client, none shown twice, count {count} >= {max(values)} shown; "
        f"old master a replica of {new_name} {rejoined_at - unpaused_at:.1f} s after unpause")
    return new_name


def step_restart_demoted(stack, master_name):
    """The old master's rewritten config (on its named volume) keeps it a replica."""
    cid = stack.containers("redis-master")[0]
    docker("restart", "-t", "15", cid, timeout=180)
    wait_until(lambda: stack.health(cid) == "healthy", 120, "redis-master healthy again")
    info = stack.info(cid)
    check(info.get("role") == "slave"
          and stack.redis_by_name().get(info.get("master_host")) == stack.redis_by_name()[master_name],
          f"restarted redis-master: role {info.get('role')}, master {info.get('master_host')}")
    check(stack.master_name() == master_name, "Sentinel changed its master")
    say(f"restarted the demoted redis-master: still a replica of {master_name}")


def wait_settled(stack, what):
    """Waits until the master Sentinel names has both replicas online: a restart that
    outlasted down-after leaves a failover behind whose reconfiguration (the old master turned
    replica, a full resync) takes Sentinel's INFO period and more, and until it ends the master
    cannot confirm writes to min-replicas-to-write replicas."""
    def settled():
        info = stack.info(stack.redis_by_name()[stack.master_name()])
        online = [v for k, v in info.items() if k.startswith("slave") and "state=online" in v]
        return info.get("role") == "master" and len(online) == 2
    wait_until(settled, 120, f"the master with both replicas online {what}", interval=0.5)


def step_restart_master(stack, master_name, timings):
    cid = stack.redis_by_name()[master_name]
    with SteadyClients(stack.http_port) as clients:
        clients.wait_answers(0, "before the restart")
        before = [int(r[4]) for r in clients.snapshot() if r[3] == 200]
        check(before, "no 200 before the restart")
        restart_at = time.monotonic()
        docker("restart", "-t", "15", cid, timeout=180)
        say(f"restarted the master {master_name} after {len(before)} pings, "
            f"last {max(before)}")
        restarted_at = time.monotonic()
        outage, first = wait_until(lambda: clients.recovery(restart_at), 90,
                                   "200s again after the restart", interval=0.05)
        clients.wait_answers(first[1], "after the restart")
    records, values = clients.check({200, 503}, "master restart")
    later = [int(r[4]) for r in records if r[3] == 200 and r[1] > restart_at]
    check(later and min(later) > max(before), f"after the restart the counter went from "
                                               f"{max(before)} to {min(later or [0])}")
    now_master = stack.master_name()
    wait_settled(stack, "after the master restart")
    timings["master restart: 200s again after"] = first[2] - restart_at
    say(f"master restart: {summary(records)}; docker restart took "
        f"{restarted_at - restart_at:.1f} s, "
        + (f"first failed answer after {outage[2] - restart_at:.1f} s, " if outage else "")
        + f"200s again after {first[2] - restart_at:.1f} s; the counter went on from "
        f"{max(before)} to {min(later)}; master now {now_master}"
        f"{' (failed over)' if now_master != master_name else ' (no failover)'}")


def count_on_master(stack):
    return int(stack.redis_cli(stack.redis_by_name()[stack.master_name()], "GET", "count"))


def step_stop_apps(stack, timings):
    """Scale down 3 -> 2 (SIGTERM, then the container is removed), then `docker stop` one
    more, under steady clients: every request answered 200, exactly one increment each."""
    count_before = count_on_master(stack)
    with SteadyClients(stack.http_port) as clients:
        clients.wait_answers(0, "before the scale down")
        start = time.monotonic()
        stack.compose("up", "-d", "--scale", "app=2", timeout=300)
        timings["scale down 3 -> 2 (compose returned)"] = time.monotonic() - start
        clients.wait_answers(time.monotonic(), "after the scale down")
        victim = stack.containers("app")[0]
        start = time.monotonic()
        docker("stop", victim, timeout=180)
        timings["docker stop of an app instance"] = time.monotonic() - start
        check(stack.inspect(victim, "{{.State.ExitCode}}") == "0",
              "the stopped app instance did not exit 0")
        clients.wait_answers(time.monotonic(), "after the docker stop")
    records, values = clients.check({200}, "app stop")
    count_after = count_on_master(stack)
    check(count_after - count_before == len(values),
          f"{len(values)} pings answered, but the count moved by {count_after - count_before}")
    check(len(values) > 100, f"only {len(values)} requests in the drain phase")
    say(f"scale down to 2, then docker stop of one more: {summary(records)}, the count moved by "
        f"exactly that; the stopped instance exited 0")


def image_sizes():
    sizes = {}
    for image in [*IMAGES, BASE_IMAGE]:
        out = docker("image", "inspect", "-f", "{{.Size}}", image, check_rc=False)
        if out.isdigit():
            sizes[image] = int(out) / 1e6
    return sizes


# --- main -----------------------------------------------------------------------------------

def main():
    workdir = tempfile.mkdtemp(prefix="redisapp-compose-")
    pidfile = os.path.join(workdir, "dockerd.pid")
    timings = {}
    stack = None
    failed = True

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    # SIGINT too: a shell that starts us in the background leaves it ignored
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)

    try:
        start = time.monotonic()
        run(["sh", ENGINE, "ensure", pidfile], timeout=900)
        timings["engine ready (packages, dockerd, base image)"] = time.monotonic() - start
        if os.path.exists(pidfile):
            say(f"started dockerd (pid {open(pidfile).read().strip()}) for this test")
        stack = Stack(workdir)
        step_up(stack, timings)
        step_layout(stack)
        step_counter(stack)
        step_instances(stack)
        step_stats(stack)
        step_reload(stack)
        step_scale_up(stack, timings)
        master = step_failover(stack, timings)
        step_restart_demoted(stack, master)
        step_restart_master(stack, master, timings)
        step_stop_apps(stack, timings)
        failed = False
    except TestFailure as err:
        say(f"FAIL: {err}")
    except KeyboardInterrupt as err:
        say(f"interrupted ({err or 'SIGINT'})")
    except Exception:
        import traceback
        traceback.print_exc()
    finally:
        # the cleanup must run to its end: no second Ctrl-C, its commands in their own session
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sizes = {}
        if stack is not None:
            if failed:
                stack.dump_diagnostics()
            sizes = image_sizes()
            start = time.monotonic()
            try:
                # a paused container cannot be stopped (an interrupt may have come mid-pause)
                paused = docker("ps", "-q", "--filter", "status=paused", "--filter",
                                f"label=com.docker.compose.project={stack.project}")
                if paused:
                    docker("unpause", *paused.split())
                volumes = stack.volumes()
                stack.compose("down", "-v", "--remove-orphans", "-t", "20", timeout=300,
                              new_session=True)
                timings["down -v"] = time.monotonic() - start
                existing = set(docker("volume", "ls", "-q").split())
                left = [v for v in volumes if v in existing]
                if left:
                    docker("volume", "rm", *left, check_rc=False)
                    raise TestFailure(f"volumes left after down -v: {left}")
            except Exception as err:
                failed = True
                say(f"FAIL: down: {err}")
            left = stack.all_containers()
            if left:
                failed = True
                say(f"FAIL: containers left after down: {left}")
            stack.log.close()
            if not failed:
                os.unlink(stack.log_path)
            else:
                say(f"compose output kept in {stack.log_path}")
            run([DOCKER, "image", "prune", "-f", "--filter", "label=org.redisapp.component"],
                timeout=120, check_rc=False, new_session=True)
        if os.path.exists(pidfile):
            out = run(["sh", ENGINE, "stop", pidfile], timeout=120, check_rc=False,
                      new_session=True, stderr_to_stdout=True)
            say(out.strip())
        if not failed:
            shutil.rmtree(workdir, ignore_errors=True)
        print("\ntimings:", flush=True)
        for name, seconds in timings.items():
            print(f"  {name:<48} {seconds:7.2f} s")
        if sizes:
            print("image sizes:")
            for image, mb in sizes.items():
                print(f"  {image:<48} {mb:7.1f} MB")
        print("compose test " + ("FAILED" if failed else "passed"), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
