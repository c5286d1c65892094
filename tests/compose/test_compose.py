#!/usr/bin/python3
"""The compose stack (compose.yaml) in a real Docker engine, proven through HAProxy, under
compose v2 and under docker-compose 1.29, side by side.

Makes sure an engine runs (docker/engine.sh: packages, dockerd, the debootstrap base image) and
compose v2 is there (docker/compose-v2.sh: trixie's plugin under build/), checks compose.yaml
without the engine (check_compose_file.py), then for each compose version, with a unique
project name, free ports and a random password for every Redis user, the monitoring profile
on: `up --build`; every container healthy; the counter increments; from inside an app
container, with the app's own credentials, everything but the app's job is refused (NOPERM) on
the data nodes and the Sentinels, and the `default` user takes no password; /query/ answers
come from 2 instances; the stats page and HAProxy's /metrics need credentials; an HAProxy
reload loses no request; `--scale app=3` brings a third instance into rotation; Prometheus
scrapes every app instance (also the one scaled in), HAProxy and every Redis node, and counts
the pings; pausing the master fails over with only 200s and prompt 503s and values that never
go backwards, the old master rejoins as a replica, and Prometheus saw the failover and fired
FailoverFollowed; restarting the demoted node keeps it a replica; restarting the current master
loses no data; scaling down and stopping app instances under steady clients loses no request;
with two instances again, cutting the master's container off the network for 10 s loses no
acknowledged value; all data nodes still have the same users and no service was refused
anything (ACL LOG). Prints the timings per version and the image sizes.

The versions run at the same time, each in a process of its own (this script again, with
COMPOSE_TEST_ONE=label) with images of its own (REDISAPP_TAG suffixed with the label, so the
two builders never tag the same image); their lines are printed as they come, each after its
version's label. Most of a run is waiting for failovers, health checks and clients, so this
saves about half the time, and each version is proven on an engine busy with the other.

Always tears down (`down -v --remove-orphans`, dangling build images) and stops only what it
started: the dockerd, when docker/engine.sh started one for it.

Run: `make test-compose` (or /usr/bin/python3 tests/compose/test_compose.py) as root.
Environment: COMPOSE_VERSIONS (default "v2 v1": the versions to run), COMPOSE (one
compose command to run instead, e.g. "docker-compose"), COMPOSE_TEST_CLIENTS (steady clients,
default 4), COMPOSE_TEST_PROJECT (the projects' name prefix, default redisapptest),
REDISAPP_TAG (the images' tag, default latest).
"""
import base64
import http.client
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGINE = os.path.join(ROOT, "docker", "engine.sh")
COMPOSE_V2 = os.path.join(ROOT, "docker", "compose-v2.sh")
CHECK_FILE = os.path.join(ROOT, "tests", "compose", "check_compose_file.py")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402 (after the path): free ports and waiting, shared with the other tests
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
# REDISAPP_TAG: the images' tag (compose.yaml), so checkouts tested side by side on one engine
# never run each other's images
TAG = os.environ.get("REDISAPP_TAG", "latest")
IMAGES = [f"redisapp/{name}:{TAG}" for name in ("app", "redis", "haproxy", "monitoring")]
BASE_IMAGE = os.environ.get("BASE_IMAGE", "debian:bookworm-slim")
MASTER_NAME = "mymaster"
CLIENTS = int(os.environ.get("COMPOSE_TEST_CLIENTS", "4"))
# `up -d` + these + app=N app scales the app alone, as README says: without --no-deps both
# compose versions wait for every dependency to be healthy (and fail when one is not, as a
# replica is during a failover); without --no-recreate, v2 recreates the running instances
SCALE_APP = ["--no-deps", "--no-recreate", "--scale"]
# the compose projects' names start with this (then pid, version, random)
PROJECT_PREFIX = os.environ.get("COMPOSE_TEST_PROJECT", "redisapptest")
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
    """harness.wait_until, failing with TestFailure. A command that fails on the way (a
    redis-cli whose connection Sentinel's CLIENT KILL reset during a failover, say) is tried
    again at the next poll; the last such failure is named if time runs out."""
    try:
        return harness.wait_until(predicate, timeout, interval, what, retry=(
            OSError, subprocess.SubprocessError, ValueError, TestFailure))
    except AssertionError as err:
        raise TestFailure(str(err)) from None


free_port = harness.free_port


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


class Compose:
    """One compose implementation: its command, and the environment it needs."""

    def __init__(self, label, argv, env=None):
        self.label = label
        self.argv = argv
        self.env = env or {}

    def version(self):
        out = run([*self.argv, "version"], env=dict(os.environ, **self.env), timeout=60,
                  stderr_to_stdout=True)
        return out.strip().splitlines()[0]


def compose_versions():
    """The compose implementations to test, in order: COMPOSE (one command) or COMPOSE_VERSIONS
    (v2: trixie's plugin under build/, fetched when missing; v1: docker-compose 1.29)."""
    if os.environ.get("COMPOSE"):
        return [Compose("custom", shlex.split(os.environ["COMPOSE"]))]
    versions = []
    for name in os.environ.get("COMPOSE_VERSIONS", "v2 v1").split():
        if name == "v2":
            config = run(["sh", COMPOSE_V2, "ensure"], timeout=300).strip()
            versions.append(Compose("v2", [DOCKER, "compose"], {"DOCKER_CONFIG": config}))
        elif name == "v1":
            check(shutil.which("docker-compose"), "docker-compose (1.29) is not installed")
            versions.append(Compose("v1", ["docker-compose"]))
        else:
            raise TestFailure(f"COMPOSE_VERSIONS: unknown version '{name}' (v2, v1)")
    return versions


# --- HTTP clients ---------------------------------------------------------------------------

class Client:
    """Sequential GETs on one keep-alive connection (a new one after any error).

    retry_closed: when the server closes a reused keep-alive connection before any byte of the
    answer, send the request once more on a new connection, as browsers do (RFC 9112, 9.3.1).
    HAProxy closes a keep-alive client's connection that way, on purpose, when the app it
    forwarded the request to vanished mid-request (a killed Swarm node). Counted in `retried`."""

    def __init__(self, port, timeout=10.0, host="127.0.0.1", retry_closed=False):
        self.port = port
        self.host = host
        self.timeout = timeout
        self.retry_closed = retry_closed
        self.retried = 0
        self.conn = None
        self.answered = 0  # answers received on the current connection

    def get(self, path="/", headers=None):
        """Returns (status, body text, headers); raises OSError/HTTPException on failure."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.answered = 0
        reused = self.answered > 0
        try:
            self.conn.request("GET", path, headers=headers or {})
            response = self.conn.getresponse()
            body = response.read().decode("utf-8", "replace")
        except http.client.RemoteDisconnected:
            self.close()
            if self.retry_closed and reused:
                self.retried += 1
                return self.get(path, headers)
            raise
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        self.answered += 1
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

    def __init__(self, port, count=CLIENTS, host="127.0.0.1", retry_closed=False):
        self.port = port
        self.host = host
        self.retry_closed = retry_closed
        self.retried = 0  # requests sent again (Client.retry_closed)
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
        client = Client(self.port, host=self.host, retry_closed=self.retry_closed)
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
        with self.lock:
            self.retried += client.retried

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

    def check(self, allowed, phase, prompt_s=PROMPT_S):
        """Asserts every answer's status is allowed and prompt (within prompt_s) when 503, no
        request failed, and the values each client saw strictly increase (and no value was
        shown twice). Returns the records and the values of the 200s."""
        records = self.snapshot()
        errors = [r for r in records if r[3] is None]
        check(not errors, f"{phase}: {len(errors)} requests failed, first: {errors[:3]}")
        bad = [r for r in records if r[3] not in allowed]
        check(not bad, f"{phase}: unexpected answers {[(r[3], r[4][:80]) for r in bad[:5]]}")
        slow = [r for r in records if r[3] == 503 and r[2] - r[1] > prompt_s]
        check(not slow, f"{phase}: {len(slow)} 503s took over {prompt_s} s: "
                        f"{[(round(r[2] - r[1], 2), r[4][:60]) for r in slow[:5]]}")
        values = []
        for index in range(self.count):
            seen = [int(r[4]) for r in records if r[0] == index and r[3] == 200]
            check(all(a < b for a, b in zip(seen, seen[1:])),
                  f"{phase}: client {index} saw values go backwards: "
                  f"{[(a, b) for a, b in zip(seen, seen[1:]) if a >= b][:5]}")
            values += seen
        check(len(values) == len(set(values)), f"{phase}: a value was shown twice")
        return records, values


def check_only_redis_503s(records, phase):
    """For phases that must lose no request: every 503 is the app's own, saying that Redis did
    not answer within its deadline (on a busy machine Redis can be that slow, and a prompt 503
    is then the right answer); a 503 from HAProxy, a 502 or a dropped connection (which
    clients.check refuses) would be a lost request. Returns how many there were."""
    redis_slow = [r for r in records if r[3] == 503
                  and r[4].startswith("service unavailable: Redis")]
    other = [r for r in records if r[3] == 503 and r not in redis_slow]
    check(not other, f"{phase}: 503s that are not the app's Redis deadline: "
                     f"{[r[4][:80] for r in other[:3]]}")
    return len(redis_slow)


def summary(records):
    counts = {}
    for r in records:
        counts[r[3] or "error"] = counts.get(r[3] or "error", 0) + 1
    return ", ".join(f"{n} x {status}" for status, n in sorted(counts.items(), key=str))


# --- the stack ------------------------------------------------------------------------------

# every Redis user's password variable (compose.yaml), with the user it belongs to
PASSWORD_VARIABLES = ["REDIS_ADMIN_PASSWORD", "REDIS_APP_PASSWORD", "REDIS_REPLICATION_PASSWORD",
                      "REDIS_SENTINEL_USER_PASSWORD", "HEALTH_PASSWORD", "SENTINEL_ADMIN_PASSWORD",
                      "SENTINEL_APP_PASSWORD", "SENTINEL_PEER_PASSWORD",
                      "REDIS_EXPORTER_PASSWORD"]


class Stack:
    def __init__(self, workdir, compose):
        self.project = f"{PROJECT_PREFIX}{os.getpid()}{compose.label}{secrets.token_hex(2)}"
        self.http_port = free_port()
        self.stats_port = free_port()
        while self.stats_port == self.http_port:
            self.stats_port = free_port()
        self.prometheus_port = free_port()
        while self.prometheus_port in (self.http_port, self.stats_port):
            self.prometheus_port = free_port()
        self.passwords = {name: "p-" + secrets.token_hex(8) for name in PASSWORD_VARIABLES}
        self.stats_password = "h-" + secrets.token_hex(8)
        self.env = dict(os.environ, HTTP_PORT=str(self.http_port),
                        STATS_PORT=str(self.stats_port),
                        PROMETHEUS_PORT=str(self.prometheus_port), STATS_USER="admin",
                        STATS_PASSWORD=self.stats_password, **self.passwords, **compose.env)
        self.env.pop("COMPOSE_PROJECT_NAME", None)
        self.compose_cmd = compose.argv
        self.log = open(os.path.join(workdir, f"compose-{compose.label}.log"), "w")
        self.log_path = self.log.name

    def compose(self, *args, timeout=600, check_rc=True, new_session=False):
        argv = [*self.compose_cmd, "-p", self.project, "-f", os.path.join(ROOT, "compose.yaml"),
                "--profile", "monitoring", *args]
        return run(argv, timeout=timeout, env=self.env, log=self.log, check_rc=check_rc,
                   new_session=new_session)

    def containers(self, service):
        argv = [*self.compose_cmd, "-p", self.project, "-f", os.path.join(ROOT, "compose.yaml"),
                "--profile", "monitoring", "ps", "-q", service]
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

    def prometheus(self, query):
        """The result vector of an instant query to the monitoring profile's Prometheus."""
        status, body, _ = get(self.prometheus_port,
                              "/api/v1/query?" + urllib.parse.urlencode({"query": query}))
        check(status == 200, f"Prometheus answered {status} to {query}: {body[:200]}")
        return json.loads(body)["data"]["result"]

    def prometheus_sum(self, query):
        result = self.prometheus(f"sum({query})")
        return float(result[0]["value"][1]) if result else None

    def inspect(self, cid, fmt):
        return docker("inspect", "-f", fmt, cid)

    def hostname(self, cid):
        return self.inspect(cid, "{{.Config.Hostname}}")

    def health(self, cid):
        return self.inspect(cid, "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}")

    def redis_cli(self, cid, *args, sentinel=False, timeout=60):
        """redis-cli in the container, as the operator (`admin`)."""
        password = self.passwords["SENTINEL_ADMIN_PASSWORD" if sentinel else
                                  "REDIS_ADMIN_PASSWORD"]
        port = "26379" if sentinel else "6379"
        return docker("exec", "-e", f"REDISCLI_AUTH={password}", cid, "redis-cli", "--user",
                      "admin", "-p", port, *args, timeout=timeout)

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
              ("redis-master", "redis-replica", "sentinel", "app", "haproxy", "prometheus",
               "redis-exporter")}
    check(counts == {"redis-master": 1, "redis-replica": 2, "sentinel": 3, "app": 2,
                     "haproxy": 1, "prometheus": 1, "redis-exporter": 1},
          f"containers per service: {counts}")
    for cid in stack.all_containers():
        ports = json.loads(stack.inspect(cid, "{{json .HostConfig.PortBindings}}") or "null")
        service = stack.inspect(cid, '{{index .Config.Labels "com.docker.compose.service"}}')
        if service == "haproxy":
            bound = {p: [(b["HostIp"], b["HostPort"]) for b in v] for p, v in ports.items()}
            check(bound == {"8080/tcp": [("127.0.0.1", str(stack.http_port))],
                            "8404/tcp": [("127.0.0.1", str(stack.stats_port))]},
                  f"haproxy publishes {bound}")
        elif service == "prometheus":
            bound = {p: [(b["HostIp"], b["HostPort"]) for b in v] for p, v in ports.items()}
            check(bound == {"9090/tcp": [("127.0.0.1", str(stack.prometheus_port))]},
                  f"prometheus publishes {bound}")
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
        # the entrypoint sets this at start (SENTINEL DEBUG is not a config line): wait for it
        wait_until(lambda: (lambda d: d.get("INFO-PERIOD") == "1000")(dict(zip(
            *[iter(stack.redis_cli(cid, "SENTINEL", "DEBUG", sentinel=True).split())] * 2))),
            30, f"sentinel {cid[:12]}: INFO every 1000 ms (SENTINEL_INFO_PERIOD_MS)")
    check(len(myids) == 3, f"the Sentinels share an id: {myids}")
    check(stack.master_name() == "redis-master", "Sentinel does not name redis-master")
    say("layout: 1 master + 2 replicas (announcing their hostnames), 3 Sentinels with their own "
        "ids, 2 apps, HAProxy and Prometheus the only ones publishing, on 127.0.0.1")


def step_counter(stack):
    values = []
    for _ in range(5):
        status, body, _ = get(stack.http_port, "/")
        check(status == 200, f"GET / answered {status}: {body!r}")
        values.append(int(body))
    check(all(b == a + 1 for a, b in zip(values, values[1:])), f"counter went {values}")
    say(f"counter increments: {values}")


# --- least privilege: what the app's credentials can do, tried from inside an app container ---

# A RESP client in bash (the app image has bash and no redis-cli): `try HOST PORT USER PASSWORD
# COMMAND...` opens a connection, sends AUTH (USER may be empty: AUTH PASSWORD), then the
# command, and prints the two replies' first lines, tab-separated. The credentials are the
# container's own, from its environment (or the *_FILE it names).
PROBE_PRELUDE = r"""
set -u
user=${REDIS_USERNAME:-}
pass=${REDIS_PASSWORD:-$(head -n 1 "${REDIS_PASSWORD_FILE:-/dev/null}")}
suser=${REDIS_SENTINEL_USERNAME:-}
spass=${REDIS_SENTINEL_PASSWORD:-$(head -n 1 "${REDIS_SENTINEL_PASSWORD_FILE:-/dev/null}")}
send() {
    local a
    printf '*%d\r\n' $#
    for a in "$@"; do printf '$%d\r\n%s\r\n' "${#a}" "$a"; done
}
reply() {
    local line data
    IFS= read -r -t 5 line <&3 || { echo "(no reply)"; return; }
    line=${line%$'\r'}
    case $line in
    '$-1') echo "(nil)" ;;
    '$'*) IFS= read -r -t 5 data <&3; echo "${data%$'\r'}" ;;
    *) echo "$line" ;;
    esac
}
try() {
    local host=$1 port=$2 u=$3 p=$4 auth out
    shift 4
    if ! exec 3<>"/dev/tcp/$host/$port"; then echo "(cannot connect)"; return; fi
    if [ -n "$u" ]; then send AUTH "$u" "$p" >&3; else send AUTH "$p" >&3; fi
    auth=$(reply)
    send "$@" >&3
    out=$(reply)
    exec 3<&-
    printf '%s\t%s\n' "$auth" "$out"
}
"""
DEBUG_NOT_ALLOWED = "ERR DEBUG command not allowed"  # enable-debug-command no: before any ACL
# (where, command, expected): where is the service name and port seen from the app container;
# expected is "ok" (no error), "NOPERM", or the start of the error expected
APP_PROBES = [
    (("redis-master", 6379), ("GET", "count"), "ok"),
    (("redis-master", 6379), ("FLUSHALL",), "NOPERM"),
    (("redis-master", 6379), ("CONFIG", "SET", "maxmemory", "1"), "NOPERM"),
    (("redis-master", 6379), ("KEYS", "*"), "NOPERM"),
    (("redis-master", 6379), ("DEBUG", "SLEEP", "0"), DEBUG_NOT_ALLOWED),
    (("redis-master", 6379), ("SHUTDOWN", "NOSAVE"), "NOPERM"),
    (("redis-master", 6379), ("REPLICAOF", "NO", "ONE"), "NOPERM"),
    (("redis-master", 6379), ("ACL", "LIST"), "NOPERM"),
    (("redis-master", 6379), ("SET", "not-the-apps", "1"), "NOPERM"),
    (("redis-master", 6379), ("GET", "not-the-apps"), "NOPERM"),
    (("redis-master", 6379), ("DEL", "count"), "NOPERM"),
    (("redis-master", 6379), ("EXPIRE", "count", "1"), "NOPERM"),
    (("redis-master", 6379), ("CLIENT", "KILL", "TYPE", "normal"), "NOPERM"),
    (("redis-master", 6379), ("MONITOR",), "NOPERM"),
    (("redis-master", 6379), ("EVAL", "return redis.call('FLUSHALL')", "0"),
     "ERR The user executing the script can't run this command"),
    (("redis-replica", 6379), ("REPLICAOF", "NO", "ONE"), "NOPERM"),
    (("redis-replica", 6379), ("SHUTDOWN", "NOSAVE"), "NOPERM"),
    (("sentinel", 26379), ("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"), "ok"),
    (("sentinel", 26379), ("SENTINEL", "FAILOVER", "mymaster"), "NOPERM"),
    (("sentinel", 26379), ("SENTINEL", "SET", "mymaster", "quorum", "1"), "NOPERM"),
    (("sentinel", 26379), ("SENTINEL", "REMOVE", "mymaster"), "NOPERM"),
    (("sentinel", 26379), ("SENTINEL", "MONITOR", "x", "127.0.0.1", "1", "1"), "NOPERM"),
    (("sentinel", 26379), ("SENTINEL", "RESET", "*"), "NOPERM"),
    (("sentinel", 26379), ("SENTINEL", "CONFIG", "SET", "resolve-hostnames", "no"), "NOPERM"),
    (("sentinel", 26379), ("SHUTDOWN",), "NOPERM"),
    (("sentinel", 26379), ("ACL", "LIST"), "NOPERM"),
]


def probe_from_app(stack, cid, probes):
    """Runs `try` lines in the app container; returns the (auth reply, reply) of each."""
    lines = [PROBE_PRELUDE]
    for (host, port), command, credentials in probes:
        lines.append(f"try {host} {port} {credentials} "
                     + " ".join(shlex.quote(a) for a in command))
    result = subprocess.run([DOCKER, "exec", "-i", cid, "bash", "-s"], input="\n".join(lines),
                            text=True, capture_output=True, timeout=120)
    check(result.returncode == 0, f"probe in {cid[:12]} exited {result.returncode}: "
                                  f"{result.stderr.strip()[-500:]}")
    out = [line.split("\t", 1) for line in result.stdout.splitlines()]
    check(len(out) == len(probes) and all(len(o) == 2 for o in out),
          f"probe output: {result.stdout!r} {result.stderr!r}")
    return out


def step_acl(stack):
    """The app's credentials, taken from inside an app container, do the app's job only."""
    app = stack.containers("app")[0]
    env = docker("exec", app, "env").splitlines()
    held = {name for name, value in stack.passwords.items()
            if any(line.split("=", 1)[1:] == [value] for line in env)}
    check(held == {"REDIS_APP_PASSWORD", "SENTINEL_APP_PASSWORD"},
          f"the app container holds the passwords of {sorted(held)}")
    probes = [(where, command, '"$user" "$pass"' if where[1] == 6379 else '"$suser" "$spass"')
              for where, command, _ in APP_PROBES]
    # the `default` user takes no password: not the app's, given alone or with the name
    probes += [(("redis-master", 6379), ("PING",), '"" "$pass"'),
               (("redis-master", 6379), ("PING",), 'default "$pass"'),
               (("sentinel", 26379), ("PING",), '"" "$spass"')]
    answers = probe_from_app(stack, app, probes)
    problems, table = [], []
    for (where, command, expected), (auth, reply) in zip(APP_PROBES, answers):
        good = auth == "+OK" and (
            not reply.startswith("-") if expected == "ok" else reply[1:].startswith(expected))
        table.append(f"{where[0]}:{where[1]} {' '.join(command)} -> {reply[:60]}")
        if not good:
            problems.append(f"{where[0]} {' '.join(command)}: auth {auth!r}, reply {reply!r}")
    for auth, _ in answers[len(APP_PROBES):]:
        if not auth.startswith("-WRONGPASS"):
            problems.append(f"the default user answered {auth!r} to the app's password")
    check(not problems, "with the app's credentials:\n  " + "\n  ".join(problems))
    nodes, sentinels = data_nodes(stack), stack.containers("sentinel")
    master = nodes[0]
    # DEBUG is refused before the ACL is asked (enable-debug-command no); the ACL refuses it too
    dryrun = stack.redis_cli(master, "ACL", "DRYRUN", "app", "DEBUG", "SLEEP", "0")
    check("no permissions to run the 'debug' command" in dryrun, f"ACL DRYRUN: {dryrun}")
    check(stack.redis_cli(master, "GET", "count").isdigit(), "the counter is gone")
    # the users file on a volume holds hashes, never a password
    for cid in (master, sentinels[0]):
        users = docker("exec", cid, "cat", "/data/users.acl")
        check(not any(p in users for p in stack.passwords.values()),
              f"{cid[:12]}: /data/users.acl holds a password")
    # from here on, a refusal in ACL LOG is a service's (step_acl_after)
    for cid in nodes:
        stack.redis_cli(cid, "ACL", "LOG", "RESET")
    for cid in sentinels:
        stack.redis_cli(cid, "ACL", "LOG", "RESET", sentinel=True)
    say(f"least privilege: from inside an app container, with its own credentials, "
        f"{len(APP_PROBES) - 2} commands refused on master, replica and Sentinel "
        f"(NOPERM; DEBUG before the ACL too), GET count and SENTINEL get-master-addr-by-name "
        f"allowed; `default` takes no password; users.acl holds hashes only")
    if os.environ.get("COMPOSE_TEST_VERBOSE"):
        print("\n".join(table), flush=True)


def data_nodes(stack):
    """redis-master first, then the replicas."""
    return stack.containers("redis-master") + stack.containers("redis-replica")


def step_acl_after(stack):
    """After failovers and restarts: every data node has the same users (a promoted replica
    and a demoted master kept theirs), and no service was refused anything (ACL LOG empty)."""
    nodes = data_nodes(stack)
    users = {cid: stack.redis_cli(cid, "ACL", "USERS").split() for cid in nodes}
    check(all(sorted(u) == ["admin", "app", "default", "exporter", "health", "replication",
                            "sentinel"]
              for u in users.values()), f"users per data node: {users}")
    logs = {cid: stack.redis_cli(cid, "ACL", "LOG") for cid in nodes}
    logs.update({cid: stack.redis_cli(cid, "ACL", "LOG", sentinel=True)
                 for cid in stack.containers("sentinel")})
    refused = {cid[:12]: log[:300] for cid, log in logs.items() if log.strip()}
    check(not refused, f"ACL LOG entries (a service was refused something): {refused}")
    say("after failover and restarts: the same 7 users on every data node; ACL LOG empty on "
        "every node and Sentinel (no service was refused anything)")


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
    # the page's charts read the instances' own /metrics through the public port
    status, body, response = get(stack.http_port, "/metrics")
    check(status == 200 and "redisapp_http_requests_total" in body
          and response.getheader("X-Instance"),
          f"the public /metrics answered {status} from {response.getheader('X-Instance')}")
    off = haproxy_with(stack, PUBLIC_METRICS="off")
    try:
        # the same image with PUBLIC_METRICS=off: it reaches the instances, but not /metrics
        wait_until(lambda: docker("exec", off, "sh", "-c", "http-probe /healthz 8080 && echo up",
                                  check_rc=False) == "up",
                   30, "the PUBLIC_METRICS=off HAProxy to find an app instance")
        answer = docker("exec", off, "bash", "-c",
                        "exec 3<>/dev/tcp/127.0.0.1/8080; printf 'GET /metrics HTTP/1.1\\r\\n"
                        "Host: x\\r\\nConnection: close\\r\\n\\r\\n' >&3; head -n 1 <&3")
        check(answer.split()[1:2] == ["404"], f"with PUBLIC_METRICS=off /metrics: {answer!r}")
    finally:
        docker("rm", "-f", off, check_rc=False)
    say("stats page and HAProxy's /metrics: 401 without or with wrong credentials, 200 with, "
        "not on the public port; the instances' /metrics is public (404 with PUBLIC_METRICS=off)")


def haproxy_with(stack, **env):
    """A second HAProxy container of the stack's image on the stack's network, with `env` added;
    its id. The caller removes it."""
    main = stack.containers("haproxy")[0]
    network = stack.inspect(main, "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}"
                                  "{{end}}")
    image = stack.inspect(main, "{{.Config.Image}}")
    settings = [f"{k}={v}" for k, v in env.items()] + [
        "STATS_USER=admin", f"STATS_PASSWORD={stack.stats_password}"]
    return docker("run", "-d", "--network", network,
                  "--label", f"com.docker.compose.project={stack.project}-extra",
                  *[a for e in settings for a in ("-e", e)], image, timeout=60)


def container_logs(cid):
    return run([DOCKER, "logs", cid], timeout=60, log=None, check_rc=False,
               stderr_to_stdout=True)


def step_reload(stack, reloads=3):
    """master-worker: reloads (haproxy-reload: state file, then SIGUSR2) under steady clients
    lose no request (each answered 200, or 503 by the app when Redis missed its deadline)."""
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
    records, _ = clients.check({200, 503}, "HAProxy reload")
    check_only_redis_503s(records, "HAProxy reload")
    wait_until(lambda: stack.health(cid) == "healthy", 120, "HAProxy healthy after the reloads")
    say(f"{reloads} HAProxy reloads (master-worker) under steady clients: {summary(records)}")


def step_scale_up(stack, timings):
    before = {stack.hostname(c) for c in stack.containers("app")}
    start = time.monotonic()
    stack.compose("up", "-d", *SCALE_APP, "app=3", "app", timeout=300)
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


def prometheus_targets(stack):
    """job -> set of instance labels of the targets Prometheus scraped successfully."""
    status, body, _ = get(stack.prometheus_port, "/api/v1/targets?state=active")
    check(status == 200, f"Prometheus /api/v1/targets answered {status}")
    up = {}
    for target in json.loads(body)["data"]["activeTargets"]:
        if target["health"] == "up":
            up.setdefault(target["labels"]["job"], set()).add(target["labels"]["instance"])
    return up


def container_ips(stack, cid):
    return stack.inspect(cid, "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}").split()


def step_monitoring(stack, timings):
    """The monitoring profile: every app instance (the one scaled in too), HAProxy's exporter
    and every Redis node are scraped, and the request counters move in Prometheus."""
    want = {
        "redisapp": {f"{ip}:8000" for c in stack.containers("app") for ip in container_ips(stack, c)},
        "haproxy": {"haproxy:8406"},
        "redis": {f"{ip}:6379" for service in ("redis-master", "redis-replica")
                  for c in stack.containers(service) for ip in container_ips(stack, c)},
        "redis-exporter": {"redis-exporter:9121"},
    }
    check(len(want["redisapp"]) == 3 and len(want["redis"]) == 3, f"expected targets: {want}")
    start = time.monotonic()
    up = wait_until(lambda: (lambda t: t if t == want else None)(prometheus_targets(stack)), 60,
                    f"Prometheus to scrape every target: {want}", interval=0.5)
    timings["prometheus: every target up (after scale to 3)"] = time.monotonic() - start
    before = stack.prometheus_sum('redisapp_http_requests_total{route="/"}') or 0
    for _ in range(20):
        check(get(stack.http_port, "/")[0] == 200, "a ping failed")
    wait_until(lambda: (stack.prometheus_sum('redisapp_http_requests_total{route="/"}') or 0)
               >= before + 20, 30, "Prometheus to count the 20 pings", interval=0.5)
    say(f"monitoring: Prometheus scrapes {sum(len(v) for v in up.values())} targets "
        f"({', '.join(f'{job} {len(v)}' for job, v in sorted(up.items()))}), all up "
        f"{timings['prometheus: every target up (after scale to 3)']:.1f} s after the scale; "
        f"it counted 20 pings")
    return stack.prometheus_sum("redisapp_failovers_followed_total") or 0


def step_monitoring_failover(stack, failovers_before):
    """After the failover Prometheus saw the instances follow it, and the alert fired."""
    wait_until(lambda: (stack.prometheus_sum("redisapp_failovers_followed_total") or 0)
               > failovers_before, 30, "sum(redisapp_failovers_followed_total) to rise",
               interval=0.5)

    def alert_state():
        status, body, _ = get(stack.prometheus_port, "/api/v1/alerts")
        states = {a["state"] for a in json.loads(body)["data"]["alerts"]
                  if a["labels"]["alertname"] == "FailoverFollowed"}
        return states & {"firing", "pending"}
    states = wait_until(alert_state, 30, "the FailoverFollowed alert", interval=0.5)
    after = stack.prometheus_sum("redisapp_failovers_followed_total")
    say(f"monitoring: sum(redisapp_failovers_followed_total) {failovers_before:.0f} -> "
        f"{after:.0f}; FailoverFollowed {'/'.join(sorted(states))}")


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
    # a restart that outlasted down-after leaves a failover behind whose reconfiguration (the
    # old master turned replica at Sentinel's next INFO round, then a full resync) goes on
    # after the first 200s; until it ends the master cannot have writes confirmed
    wait_until(lambda: stack_settled(stack), 120, "a settled stack after the master restart",
               interval=0.5)
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
    more, under steady clients: every request answered (200, or 503 by the app when Redis missed
    its deadline), exactly one increment per 200 (and at most one per such 503)."""
    count_before = count_on_master(stack)
    with SteadyClients(stack.http_port) as clients:
        clients.wait_answers(0, "before the scale down")
        start = time.monotonic()
        stack.compose("up", "-d", *SCALE_APP, "app=2", "app", timeout=300)
        timings["scale down 3 -> 2 (compose returned)"] = time.monotonic() - start
        clients.wait_answers(time.monotonic(), "after the scale down")
        victim = stack.containers("app")[0]
        start = time.monotonic()
        docker("stop", victim, timeout=180)
        timings["docker stop of an app instance"] = time.monotonic() - start
        check(stack.inspect(victim, "{{.State.ExitCode}}") == "0",
              "the stopped app instance did not exit 0")
        clients.wait_answers(time.monotonic(), "after the docker stop")
    records, values = clients.check({200, 503}, "app stop")
    unanswered = check_only_redis_503s(records, "app stop")
    count_after = count_on_master(stack)
    # a ping the app gave up on may have reached Redis: it was not acknowledged either way
    check(len(values) <= count_after - count_before <= len(values) + unanswered,
          f"{len(values)} pings answered 200 and {unanswered} 503 (Redis slow), but the count "
          f"moved by {count_after - count_before}")
    check(len(values) > 100, f"only {len(values)} requests in the drain phase")
    say(f"scale down to 2, then docker stop of one more: {summary(records)}, the count moved by "
        f"exactly that; the stopped instance exited 0")


def stack_settled(stack):
    """The Sentinels agree on the master, which has both replicas online, and each replica's
    link to it is up."""
    names = set()
    for cid in stack.containers("sentinel"):
        out = stack.redis_cli(cid, "SENTINEL", "get-master-addr-by-name", MASTER_NAME,
                              sentinel=True, timeout=30).split()
        names.add(out[0] if len(out) == 2 else None)
    if len(names) != 1 or None in names:
        return False
    nodes = stack.redis_by_name()
    master = nodes[names.pop()]
    if stack.info(master).get("connected_slaves") != "2":
        return False
    for cid in set(nodes.values()) - {master}:
        info = stack.info(cid)
        if info.get("role") != "slave" or info.get("master_link_status") != "up" \
                or nodes.get(info.get("master_host")) != master:
            return False
    return True


def step_partition(stack, timings):
    """Two app instances behind HAProxy; the master's container is cut off its network for
    about 10 s (docker network disconnect), then reconnected under the same names. Clients
    record every answer: only 200s and prompt 503s, values strictly increasing per client, none
    acknowledged twice, and the count on the final master at least every value shown."""
    stack.compose("up", "-d", *SCALE_APP, "app=2", "app", timeout=300)
    wait_until(lambda: len(query_instances(stack.http_port, 6)) == 2, 90,
               "two app instances in rotation", interval=0.5)
    wait_until(lambda: stack_settled(stack), 90, "a settled stack before the partition")
    nodes = stack.redis_by_name()
    master_name = stack.master_name()
    cid = nodes[master_name]
    networks = json.loads(stack.inspect(cid, "{{json .NetworkSettings.Networks}}"))
    network, settings = next(iter(networks.items()))
    aliases = settings.get("Aliases") or []  # the service name, and the hostname others use
    with SteadyClients(stack.http_port) as clients:
        clients.wait_answers(0, "before the partition")
        cut_at = time.monotonic()
        docker("network", "disconnect", network, cid)
        say(f"cut {master_name} ({cid[:12]}) off {network} under {clients.count} clients")
        try:
            time.sleep(10)
        finally:
            args = [x for a in aliases for x in ("--alias", a)]
            docker("network", "connect", *args, network, cid)
        healed_at = time.monotonic()
        wait_until(lambda: stack_settled(stack), 120, "a settled stack after the partition",
                   interval=0.5)
        settled_at = time.monotonic()
        first = wait_until(lambda: clients.first_200_after(settled_at), 30,
                           "200s after the partition", interval=0.05)
        clients.wait_answers(first[1], "after the partition")
    records, values = clients.check({200, 503}, "partition")
    count = count_on_master(stack)
    check(count >= max(values), f"count is {count} on the master, {max(values)} was shown")
    ok_ends = sorted(r[2] for r in records if r[3] == 200 and r[1] >= cut_at)
    marks = [cut_at] + ok_ends
    longest = max(b - a for a, b in zip(marks, marks[1:]))
    after = [r[2] for r in records if r[3] == 200 and r[1] >= healed_at]
    back = min(after) - healed_at if after else first[2] - healed_at
    timings["partition: longest outage"] = longest
    timings["partition: first 200 after reconnect"] = back
    timings["partition: settled after reconnect"] = settled_at - healed_at
    say(f"partition of the master for 10 s: {summary(records)}, longest outage {longest:.1f} s, "
        f"first 200 {back:.1f} s after the reconnect, settled after "
        f"{settled_at - healed_at:.1f} s; master now {stack.master_name()}; values strictly "
        f"increasing per client, none twice, count {count} >= {max(values)} shown")


def image_sizes():
    sizes = {}
    for image in [*IMAGES, BASE_IMAGE]:
        out = docker("image", "inspect", "-f", "{{.Size}}", image, check_rc=False)
        if out.isdigit():
            sizes[image] = int(out) / 1e6
    return sizes


# --- main -----------------------------------------------------------------------------------

def on_signal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def catch_signals():
    # SIGINT too: a shell that starts us in the background leaves it ignored
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)


def ignore_signals():
    """For cleanups that must run to their end: no second Ctrl-C (nor any signal that
    catch_signals turns into an interrupt). The Swarm and fresh-machine tests use these too."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)


def tear_down(stack, failed, timings):
    """`down -v`, then checks nothing of the project is left. Returns whether anything failed."""
    if failed:
        stack.dump_diagnostics()
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
    return failed


def run_version(workdir, compose, timings):
    """The whole stack test under one compose implementation, torn down whatever happens.
    Returns True when it passed; an interrupt is passed on after the teardown."""
    stack = None
    failed = True
    catch_signals()
    try:
        say(f"=== compose {compose.label}: {compose.version()} ({' '.join(compose.argv)})")
        stack = Stack(workdir, compose)
        step_up(stack, timings)
        step_layout(stack)
        step_counter(stack)
        step_acl(stack)
        step_instances(stack)
        step_stats(stack)
        step_reload(stack)
        step_scale_up(stack, timings)
        failovers = step_monitoring(stack, timings)
        master = step_failover(stack, timings)
        step_monitoring_failover(stack, failovers)
        step_restart_demoted(stack, master)
        step_restart_master(stack, master, timings)
        step_stop_apps(stack, timings)
        step_partition(stack, timings)
        step_acl_after(stack)
        failed = False
    except TestFailure as err:
        say(f"FAIL: {err}")
    except KeyboardInterrupt:
        ignore_signals()
        if stack is not None:
            tear_down(stack, True, timings)
        raise
    except Exception:
        import traceback
        traceback.print_exc()
    ignore_signals()
    if stack is not None:
        failed = tear_down(stack, failed, timings)
    say(f"=== compose {compose.label}: {'passed' if not failed else 'FAILED'}")
    return not failed


def print_timings(engine_timings, timings):
    print("\ntimings:", flush=True)
    for name, seconds in engine_timings.items():
        print(f"  {name:<48} {seconds:7.2f} s")
    labels = list(timings)
    if not labels:
        return
    print(f"  {'':<48} " + " ".join(f"{label:>9}" for label in labels))
    names = []
    for per_version in timings.values():
        names += [n for n in per_version if n not in names]
    for name in names:
        cells = [f"{timings[l][name]:7.2f} s" if name in timings[l] else f"{'-':>9}"
                 for l in labels]
        print(f"  {name:<48} " + " ".join(cells))


def run_one(label):
    """A child of run_side_by_side: the engine and the plugin are ready, the file checked."""
    timings = {label: {}}
    catch_signals()
    versions = compose_versions()  # the parent passes COMPOSE_VERSIONS=label
    check([v.label for v in versions] == [label], f"COMPOSE_TEST_ONE: unknown version '{label}'")
    workdir = tempfile.mkdtemp(prefix=f"redisapp-compose-{label}-")
    start = time.monotonic()
    passed = run_version(workdir, versions[0], timings[label])
    timings[label]["whole run, up to the end of down -v"] = time.monotonic() - start
    if passed:
        shutil.rmtree(workdir, ignore_errors=True)
    print_timings({}, timings)
    for image, mb in image_sizes().items():
        print(f"image size: {image:<48} {mb:7.1f} MB")
    return passed


def run_side_by_side(versions):
    """Each version in a process of its own, at the same time; their lines printed as they
    come, after the version's label. An interrupt is passed on to them (each tears its stack
    down), and waited out. Returns {label: passed}."""
    children = {}
    for compose in versions:
        env = dict(os.environ, COMPOSE_TEST_ONE=compose.label, COMPOSE_VERSIONS=compose.label,
                   REDISAPP_TAG=f"{TAG}-{compose.label}")
        children[compose.label] = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__)], env=env, cwd=ROOT, text=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)  # a Ctrl-C reaches them through us, once

    def relay(label, proc):
        for line in proc.stdout:
            print(f"{label} | {line}", end="", flush=True)
    relays = [threading.Thread(target=relay, args=item) for item in children.items()]
    for thread in relays:
        thread.start()
    try:
        for proc in children.values():
            proc.wait()
    except KeyboardInterrupt:
        ignore_signals()
        for proc in children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in children.values():
            proc.wait()
        raise
    finally:
        for thread in relays:
            thread.join()
    return {label: proc.returncode == 0 for label, proc in children.items()}


def main():
    if os.environ.get("COMPOSE_TEST_ONE"):
        return 0 if run_one(os.environ["COMPOSE_TEST_ONE"]) else 1
    workdir = tempfile.mkdtemp(prefix="redisapp-compose-")
    pidfile = os.path.join(workdir, "dockerd.pid")
    engine_timings, timings, results = {}, {}, {}
    versions = []
    failed = True
    catch_signals()
    try:
        start = time.monotonic()
        run(["sh", ENGINE, "ensure", pidfile], timeout=900)
        engine_timings["engine ready (packages, dockerd, base image)"] = time.monotonic() - start
        if os.path.exists(pidfile):
            say(f"started dockerd (pid {open(pidfile).read().strip()}) for this test")
        start = time.monotonic()
        versions = compose_versions()
        engine_timings["compose v2 plugin ready"] = time.monotonic() - start
        print(run([sys.executable, CHECK_FILE]
                  + (["--require-v2"] if any(v.label == "v2" for v in versions) else []),
                  timeout=120, stderr_to_stdout=True).rstrip(), flush=True)
        start = time.monotonic()
        if len(versions) > 1:
            results = run_side_by_side(versions)
        else:
            for compose in versions:
                timings[compose.label] = {}
                results[compose.label] = run_version(workdir, compose, timings[compose.label])
                timings[compose.label]["whole run, up to the end of down -v"] = \
                    time.monotonic() - start
        engine_timings["every version, up to the last down -v"] = time.monotonic() - start
        failed = not versions or not all(results.values())
    except TestFailure as err:
        say(f"FAIL: {err}")
    except KeyboardInterrupt as err:
        say(f"interrupted ({err or 'SIGINT'})")
    except Exception:
        import traceback
        traceback.print_exc()
    finally:
        ignore_signals()
        sizes = image_sizes() if len(timings) == 1 else {}
        run([DOCKER, "image", "prune", "-f", "--filter", "label=org.redisapp.component"],
            timeout=120, check_rc=False, new_session=True)
        if os.path.exists(pidfile):
            out = run(["sh", ENGINE, "stop", pidfile], timeout=120, check_rc=False,
                      new_session=True, stderr_to_stdout=True)
            say(out.strip())
        if not failed:
            shutil.rmtree(workdir, ignore_errors=True)
        print_timings(engine_timings, timings)
        if sizes:
            print("image sizes:")
            for image, mb in sizes.items():
                print(f"  {image:<48} {mb:7.1f} MB")
        print("compose test " + ("FAILED" if failed else "passed") + " ("
              + ", ".join(f"{label}: {'passed' if ok else 'FAILED'}"
                          for label, ok in results.items()) + ")", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
