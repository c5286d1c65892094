#!/usr/bin/python3
"""The stack on a three-node Docker Swarm on this one machine: `make swarm-up`, `make swarm-down`.

    docker/swarm/swarm.py up     readies the engine (docker/engine.sh, as `make up`), builds
                                 the images (with the compose `make up` uses), starts three
                                 node containers (each its own dockerd) on a network of their
                                 own with fixed addresses, makes all three managers (no
                                 ingress network: the stack publishes in host mode), labels
                                 them, loads the images into every node, deploys the stack
                                 derived from compose.yaml (docker/swarm/stack.py), without
                                 the monitoring profile (not made for Swarm: its Prometheus
                                 publishes on 127.0.0.1 only, which Swarm cannot bind), and
                                 waits until every task runs, every container passes its
                                 compose healthcheck and every node's HAProxy answers. Writes
                                 the URLs (one per node) to build/swarm/url and the node
                                 containers' names to build/swarm/nodes, and prints both. On
                                 failure or SIGINT it removes what it started.
    docker/swarm/swarm.py down   removes the nodes (the stack, its volumes and the nodes'
                                 engines live inside them), their network, the cgroups their
                                 containers left, build/swarm, and the dockerd `up` started.

Environment: SWARM_NAME [redisapp-swarm] prefix of the node containers (NAME-node1..3) and
of their network (NAME-net); SWARM_SUBNET [10.231.0.0/24] that network, nodes at .11-.13;
SWARM_STACK [redisapp] the stack's name; HTTP_PORT [8080] the port HAProxy publishes on
every node; REDISAPP_TAG [latest] the images' tag; the stack's own settings (passwords ...)
as for compose.yaml.

Node containers: `--privileged` is refused on this machine, so they get every capability but
SYS_RESOURCE, no seccomp/AppArmor confinement, the host's cgroups, and /var/lib/docker on a
host folder (build/swarm/nodeN/docker; overlay2 cannot sit on the container's overlay root).
Their engines put their containers' cgroups under NAME-nodeN, which `down` removes. The images
are saved once and loaded into every node in parallel (no registry is needed).
"""
import ipaddress
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import stack as stackfile  # noqa: E402  (docker/swarm/stack.py)

DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
ENGINE = os.path.join(ROOT, "docker", "engine.sh")
COMPOSE_V2 = os.path.join(ROOT, "docker", "compose-v2.sh")
STATE = os.path.join(ROOT, "build", "swarm")
NODE_COUNT = 3
SLOT_LABEL = stackfile.SLOT_LABEL
# every capability but SYS_RESOURCE, which this machine's bounding set lacks (so --privileged
# and --cap-add ALL are refused); the 20.10 engine does not know PERFMON, BPF, CHECKPOINT_RESTORE
CAPABILITIES = """CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE
SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_TIME SYS_TTY_CONFIG
MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM
BLOCK_SUSPEND AUDIT_READ""".split()
T0 = time.monotonic()


class SwarmError(Exception):
    pass


def say(message):
    print(f"[{time.monotonic() - T0:6.1f}s] swarm: {message}", flush=True)


def run(argv, timeout=120, check=True, env=None, stdin=None, log=None):
    """Runs a command; returns its stdout (stderr too when `log` is given, where it is
    written). Raises SwarmError when it fails."""
    result = subprocess.run(argv, cwd=ROOT, env=env, timeout=timeout, text=True,
                            stdin=stdin if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT if log else subprocess.PIPE,
                            start_new_session=True)
    if log is not None:
        log.write(f"$ {shlex.join(argv)}\n{result.stdout}\n")
        log.flush()
    if check and result.returncode != 0:
        detail = result.stdout if log else result.stderr
        raise SwarmError(f"{shlex.join(argv)} exited {result.returncode}:\n"
                         + "\n".join(detail.strip().splitlines()[-20:]))
    return result.stdout


def wait_until(predicate, timeout, what, interval=0.25, tolerate=()):
    """Polls predicate() until it returns a true value, which is returned. Errors of a node
    that is down or of a container not there yet (and those in `tolerate`) are reasons to
    wait, not to fail; SwarmError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, subprocess.SubprocessError, SwarmError, ValueError, KeyError,
                *tolerate) as err:
            last = err
        if time.monotonic() > deadline:
            raise SwarmError(f"timed out after {timeout:.0f} s waiting for {what}"
                             + (f" (last error: {last})" if last else ""))
        time.sleep(interval)


class Cluster:
    """The three node containers, their swarm and the stack, named from the environment."""

    def __init__(self, environ=None):
        self.env = dict(environ if environ is not None else os.environ)
        self.name = self.env.get("SWARM_NAME", "redisapp-swarm")
        self.subnet = ipaddress.ip_network(self.env.get("SWARM_SUBNET", "10.231.0.0/24"))
        self.stack = self.env.get("SWARM_STACK", "redisapp")
        self.tag = self.env.get("REDISAPP_TAG", "latest")
        self.http_port = int(self.env.get("HTTP_PORT", "8080"))
        self.env["REDISAPP_TAG"] = self.tag
        self.env["HTTP_PORT"] = str(self.http_port)
        self.network = f"{self.name}-net"
        self.nodes = [f"{self.name}-node{i}" for i in range(1, NODE_COUNT + 1)]
        self.node_image = f"redisapp/swarm-node:{self.tag}"
        self.label = f"org.redisapp.swarm={self.name}"
        self.pidfile = os.path.join(STATE, "dockerd.pid")
        self.timings = {}
        self.log = None

    # --- addresses and per-node clients ---------------------------------------------------

    def address(self, node):
        return str(self.subnet[10 + self.nodes.index(node) + 1])

    def url(self, node):
        return f"http://{self.address(node)}:{self.http_port}/"

    def slot(self, node):
        return self.nodes.index(node) + 1

    def node_dir(self, node):
        return os.path.join(STATE, node)

    def socket(self, node):
        return os.path.join(self.node_dir(node), "api", "docker.sock")

    def on(self, node, *args, timeout=60, check=True, stdin=None):
        """Runs a docker command against one node's engine (through its socket, which the
        node container makes in a host folder)."""
        return run([DOCKER, "-H", f"unix://{self.socket(node)}", *args], timeout=timeout,
                   check=check, env=self.env, stdin=stdin)

    def engine_answers(self, node=None, timeout=10):
        """Whether one node's engine answers, or with no node the host's."""
        host = [] if node is None else ["-H", f"unix://{self.socket(node)}"]
        return run([DOCKER, *host, "version", "--format", "{{.Server.Version}}"],
                   timeout=timeout, check=False, env=self.env).strip() != ""

    def running(self, node):
        out = run([DOCKER, "inspect", "-f", "{{.State.Running}}", node], check=False)
        return out.strip() == "true"

    def manager(self):
        """A node whose engine answers and is a reachable manager."""
        for node in self.nodes:
            if not self.running(node):
                continue
            out = self.on(node, "info", "--format", "{{.Swarm.ControlAvailable}}", timeout=30,
                          check=False)
            if out.strip() == "true":
                return node
        raise SwarmError("no manager answers")

    def leader(self):
        out = self.on(self.manager(), "node", "ls", "--format",
                      "{{.Hostname}} {{.ManagerStatus}}")
        for line in out.splitlines():
            hostname, _, status = line.partition(" ")
            if status.strip() == "Leader":
                return hostname
        raise SwarmError(f"no leader in: {out}")

    def node_states(self):
        """Hostname -> (status, availability, manager status), as the managers see it."""
        out = self.on(self.manager(), "node", "ls", "--format",
                      "{{.Hostname}}|{{.Status}}|{{.Availability}}|{{.ManagerStatus}}")
        return {f[0]: tuple(f[1:]) for f in (line.split("|") for line in out.splitlines())}

    def service_name(self, service):
        return f"{self.stack}_{service}"

    def tasks(self, service=None):
        """The tasks meant to run now: dicts with service, node, state (e.g. "Running 3
        seconds ago"), error, id."""
        manager = self.manager()
        services = [self.service_name(service)] if service else \
            self.on(manager, "service", "ls", "-q", "--filter",
                    f"label=com.docker.stack.namespace={self.stack}").split()
        if not services:
            return []
        out = self.on(manager, "service", "ps", "--no-trunc", "--filter",
                      "desired-state=running", "--format", "{{json .}}", *services)
        result = []
        for line in out.splitlines():
            task = json.loads(line)
            result.append({"service": task["Name"].rsplit(".", 1)[0][len(self.stack) + 1:],
                           "node": task["Node"], "state": task["CurrentState"],
                           "error": task["Error"], "id": task["ID"]})
        return result

    def containers(self, node, service=None):
        """(container id, service, health) of the stack's containers running on a node."""
        args = ["ps", "--filter", f"label=com.docker.stack.namespace={self.stack}",
                "--format", '{{.ID}}|{{.Label "com.docker.swarm.service.name"}}|{{.Status}}']
        if service:
            args += ["--filter",
                     f"label=com.docker.swarm.service.name={self.service_name(service)}"]
        result = []
        for line in self.on(node, *args, timeout=20).splitlines():
            cid, name, status = line.split("|")
            health = "healthy" if "(healthy)" in status else \
                "starting" if "starting" in status else \
                "unhealthy" if "unhealthy" in status else "none"
            result.append((cid, name[len(self.stack) + 1:], health))
        return result

    def container(self, node, service):
        found = self.containers(node, service)
        if len(found) != 1:
            raise SwarmError(f"{len(found)} containers of {service} on {node}")
        return found[0][0]

    # --- up -----------------------------------------------------------------------------

    def up(self):
        os.makedirs(STATE, exist_ok=True)
        if len(self.socket(self.nodes[-1])) > 100:  # sun_path holds 108 bytes
            raise SwarmError(f"{self.socket(self.nodes[-1])} is too long for a unix socket: "
                             "use a checkout with a shorter path")
        self.log = open(os.path.join(STATE, "swarm.log"), "a")
        # the engine first: on a machine where no dockerd runs yet (a CI run, a fresh
        # machine, after the compose test stopped the one it started) nothing can be asked
        # of the host engine before this
        start = time.monotonic()
        run(["sh", ENGINE, "ensure", self.pidfile], timeout=900)
        if os.path.exists(self.pidfile):
            say(f"started dockerd (pid {open(self.pidfile).read().strip()}); swarm-down stops it")
        self.timings["engine ready"] = time.monotonic() - start
        existing = run([DOCKER, "ps", "-aq", "--filter", f"label={self.label}"]).split()
        if existing:
            raise SwarmError(f"{self.name} has node containers already: make swarm-down first")

        stack, placement = self.derive()
        images = sorted({stackfile.interpolate(s["image"], self.env)
                         for s in stack["services"].values()})
        start = time.monotonic()
        self.build_images()
        self.timings["images built (node image and the stack's)"] = time.monotonic() - start

        start = time.monotonic()
        self.start_nodes()
        self.timings["node engines answering"] = time.monotonic() - start
        start = time.monotonic()
        self.form_swarm()
        self.timings["swarm formed (init, 2 manager joins, labels)"] = time.monotonic() - start
        start = time.monotonic()
        self.load_images(images)
        self.timings["images loaded into the 3 nodes"] = time.monotonic() - start
        self.deploy(stack, placement)
        with open(os.path.join(STATE, "url"), "w") as f:
            f.write("".join(self.url(n) + "\n" for n in self.nodes))
        with open(os.path.join(STATE, "nodes"), "w") as f:
            f.write("".join(n + "\n" for n in self.nodes))
        self.log.close()
        return stack, placement

    def derive(self):
        compose = stackfile.load(os.path.join(ROOT, "compose.yaml"))
        stack, placement = stackfile.derive(compose, ROOT, NODE_COUNT)
        path = os.path.join(STATE, "stack.yaml")
        with open(path, "w") as f:
            f.write(stackfile.dump(stack))
        return stack, placement

    def compose_command(self):
        """The compose command and its environment, chosen as `make up` chooses: COMPOSE if
        set, else compose v2 (docker/compose-v2.sh: Debian trixie's plugin under build/,
        fetched once), else docker-compose 1.29."""
        if self.env.get("COMPOSE"):
            return shlex.split(self.env["COMPOSE"]), self.env
        result = subprocess.run(["sh", COMPOSE_V2, "ensure"], cwd=ROOT, env=self.env,
                                timeout=300, text=True, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if result.returncode == 0 and result.stdout.strip():
            return [DOCKER, "compose"], dict(self.env, DOCKER_CONFIG=result.stdout.strip())
        say(f"compose v2 cannot be had ({result.stderr.strip()[-200:]}): docker-compose 1.29")
        return ["docker-compose"], self.env

    def build_images(self):
        """The node image and the stack's images (compose builds those, without the
        monitoring profile, so the build definitions stay in compose.yaml), side by side."""
        compose, compose_env = self.compose_command()
        node = subprocess.Popen([DOCKER, "build", "-q", "-f", "docker/swarm/node.Dockerfile",
                                 "-t", self.node_image, "."], cwd=ROOT, env=self.env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        say(f"building {self.node_image} and the stack's images with {shlex.join(compose)} "
            f"(REDISAPP_TAG={self.tag})")
        try:
            run([*compose, "-p", self.name, "-f", os.path.join(ROOT, "compose.yaml"), "build",
                 "-q"], timeout=1200, env=compose_env, log=self.log)
        except BaseException:
            node.kill()
            node.wait()
            raise
        out, _ = node.communicate(timeout=1200)
        self.log.write(f"$ docker build {self.node_image}\n{out}\n")
        if node.returncode != 0:
            raise SwarmError(f"building {self.node_image} failed:\n{out[-2000:]}")

    def start_nodes(self):
        """Three node containers on their own network, fixed addresses, each engine's data on
        a host folder; returns once every engine answers."""
        run([DOCKER, "network", "create", "--label", self.label, "--subnet", str(self.subnet),
             self.network])
        caps = [arg for cap in CAPABILITIES for arg in ("--cap-add", cap)]
        for node in self.nodes:
            for sub in ("docker", "api"):
                os.makedirs(os.path.join(self.node_dir(node), sub), exist_ok=True)
            run([DOCKER, "run", "-d", "--name", node, "--hostname", node, "--label", self.label,
                 "--network", self.network, "--ip", self.address(node), "--init", *caps,
                 "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                 "--security-opt", "systempaths=unconfined",
                 "--device-cgroup-rule", "a *:* rwm", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
                 "--tmpfs", "/tmp:exec", "--tmpfs", "/run:exec",
                 "-v", f"{self.node_dir(node)}/docker:/var/lib/docker",
                 "-v", f"{self.node_dir(node)}/api:/node-api",
                 "-e", f"NODE_CGROUP_PARENT={node}", self.node_image])
        for node in self.nodes:
            wait_until(lambda: self.engine_answers(node), 60, f"the engine of {node}")
        say(f"nodes {', '.join(f'{n} ({self.address(n)})' for n in self.nodes)}: engines answer")

    def form_swarm(self):
        """All three nodes managers (losing one keeps the quorum). The swarm starts on the
        last node, so the first, which holds the first Redis master, is not the leader."""
        first = self.nodes[-1]
        self.on(first, "swarm", "init", "--advertise-addr", self.address(first))
        # The routing mesh needs IPVS, and the stack publishes in host mode: without the
        # ingress network, a node has one sandbox less to make, and to clean up after a kill
        # (about 4 s of a restarted node's start here), and logs no IPVS errors.
        with subprocess.Popen([DOCKER, "-H", f"unix://{self.socket(first)}", "network", "rm",
                               "ingress"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) as rm:
            out, _ = rm.communicate("y\n", timeout=60)  # it asks for a confirmation
        if rm.returncode != 0:
            raise SwarmError(f"removing the ingress network: {out}")
        token = self.on(first, "swarm", "join-token", "-q", "manager").strip()
        for node in self.nodes[:-1]:
            self.on(node, "swarm", "join", "--advertise-addr", self.address(node), "--token",
                    token, f"{self.address(first)}:2377")
        for node in self.nodes:
            self.on(first, "node", "update", "--label-add", f"{SLOT_LABEL}={self.slot(node)}",
                    node)
        say(f"swarm: 3 managers, leader {self.leader()}; nodes labelled "
            + ", ".join(f"{n} {SLOT_LABEL}={self.slot(n)}" for n in self.nodes))

    def load_images(self, images):
        """`docker save` once (the images share their base layers), then `docker load` into
        the three nodes side by side."""
        tar = os.path.join(STATE, "images.tar")
        run([DOCKER, "save", "-o", tar, *images], timeout=300)
        size = os.path.getsize(tar) / 1e6
        errors = []

        def load(node):
            try:
                with open(tar, "rb") as f:
                    self.on(node, "load", "-q", timeout=300, stdin=f)
            except (SwarmError, subprocess.SubprocessError) as err:
                errors.append(f"{node}: {err}")
        threads = [threading.Thread(target=load, args=(n,)) for n in self.nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        os.unlink(tar)
        if errors:
            raise SwarmError("loading images failed: " + "; ".join(errors))
        say(f"loaded {', '.join(images)} ({size:.0f} MB saved) into every node")

    def deploy(self, stack, placement):
        """`docker stack deploy`, then waits for every task healthy and every node's
        HAProxy answering."""
        start = time.monotonic()
        out = self.on(self.manager(), "stack", "deploy", "--resolve-image", "never", "-c",
                      os.path.join(STATE, "stack.yaml"), self.stack, timeout=120)
        self.log.write(out)
        ignored = [line for line in out.splitlines() if line.startswith("Ignoring")]
        if ignored:
            raise SwarmError("docker stack deploy ignored parts of the stack file (translate "
                             "them in docker/swarm/stack.py): " + "; ".join(ignored))
        expected = sum(NODE_COUNT if s["deploy"].get("mode") == "global"
                       else int(s["deploy"].get("replicas", 1))
                       for s in stack["services"].values())
        wait_until(lambda: self.converged(expected), 300, f"{expected} tasks running, healthy",
                   interval=0.5)
        wait_until(self.ready, 300, "every container to pass its compose healthcheck",
                   interval=1)
        self.timings["stack deploy until every task is healthy"] = time.monotonic() - start
        for node in self.nodes:  # /readyz: through HAProxy to a ready app, counting nothing
            wait_until(lambda: http_status(self.url(node) + "readyz") == 200, 60,
                       f"a 200 from {self.url(node)}readyz")
        self.timings["stack deploy until every node's URL answers 200"] = \
            time.monotonic() - start
        say(f"stack {self.stack} deployed: {expected} tasks healthy after "
            f"{self.timings['stack deploy until every task is healthy']:.1f} s; "
            + ", ".join(f"{s} on {self.nodes[k - 1]}" for s, k in placement.items()))

    def ready(self):
        """Every container passes the healthcheck compose.yaml gives its service: on Swarm the
        tasks run a liveness check instead (docker/swarm/stack.py), so readiness (replicas in
        sync, Sentinels with quorum, apps with a master) is checked here."""
        compose = stackfile.load(os.path.join(ROOT, "compose.yaml"))
        for node in self.nodes:
            for cid, service, _ in self.containers(node):
                check = compose["services"][stackfile.origin(service, compose)].get(
                    "healthcheck") or {}
                test = check.get("test") or ["NONE"]
                if isinstance(test, str):
                    test = ["CMD-SHELL", test]
                if test[0] == "NONE" or check.get("disable"):
                    continue
                argv = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
                result = subprocess.run([DOCKER, "-H", f"unix://{self.socket(node)}", "exec",
                                         cid, *argv], capture_output=True, text=True,
                                        timeout=30, stdin=subprocess.DEVNULL)
                if result.returncode != 0:
                    return False
        return True

    def converged(self, expected):
        tasks = self.tasks()
        if len(tasks) != expected or not all(t["state"].startswith("Running") for t in tasks):
            return False
        health = [c[2] for n in self.nodes for c in self.containers(n)]
        return len(health) == expected and all(h in ("healthy", "none") for h in health)

    def host_volumes(self):
        """The host engine's volumes the node containers mount (none: their folders are
        bind mounts; a volume here would be one `down` must remove)."""
        names = []
        for cid in run([DOCKER, "ps", "-aq", "--filter", f"label={self.label}"]).split():
            names += run([DOCKER, "inspect", "-f", '{{range .Mounts}}{{if eq .Type "volume"}}'
                          '{{.Name}} {{end}}{{end}}', cid], check=False).split()
        return names

    # --- down -------------------------------------------------------------------------------

    def down(self, stop_engine=True):
        """Removes everything `up` made, also after a partial `up`; returns what could not be
        removed (empty when the host is as it was). With stop_engine=False the dockerd `up`
        started keeps running (the caller still asks the host engine what is left, then
        calls stop_engine())."""
        problems = []
        if self.log is not None and not self.log.closed:
            self.log.close()
        if not self.engine_answers(timeout=60):
            # no engine: no node container can run; the files are all there is to remove
            say("down: no Docker engine answers on this host: removing the files only")
            self.remove_files()
            problems = [f"folder {self.node_dir(n)} left" for n in self.nodes
                        if os.path.exists(self.node_dir(n))]
            if stop_engine:
                self.stop_engine()
            return problems
        start = time.monotonic()
        nodes = run([DOCKER, "ps", "-aq", "--filter", f"label={self.label}"]).split()
        if nodes:
            run([DOCKER, "rm", "-f", "-v", *nodes], timeout=120, check=False)
        say(f"down: nodes removed after {time.monotonic() - start:.1f} s")
        for node in self.nodes:
            remove_cgroups(node)
        networks = run([DOCKER, "network", "ls", "-q", "--filter", f"label={self.label}"])
        if networks.split():
            run([DOCKER, "network", "rm", *networks.split()], check=False)
        self.remove_files()
        say(f"down: folders removed after {time.monotonic() - start:.1f} s")
        left = run([DOCKER, "ps", "-aq", "--filter", f"label={self.label}"]).split()
        if left:
            problems.append(f"containers left: {left}")
        networks = run([DOCKER, "network", "ls", "--format", "{{.Name}}", "--filter",
                        f"label={self.label}"]).split()
        if networks:
            problems.append(f"networks left: {networks}")
        for node in self.nodes:
            if os.path.exists(self.node_dir(node)):
                problems.append(f"folder {self.node_dir(node)} left")
            if cgroups_of(node):
                problems.append(f"cgroups left: {cgroups_of(node)[:3]}")
        if stop_engine:
            self.stop_engine()
        return problems

    def remove_files(self):
        """The nodes' folders and what `up` wrote under build/swarm."""
        if not os.path.isdir(STATE):
            return
        for node in self.nodes:
            shutil.rmtree(self.node_dir(node), ignore_errors=True)
        for name in ("url", "nodes", "stack.yaml", "swarm.log"):
            path = os.path.join(STATE, name)
            if os.path.exists(path):
                os.unlink(path)

    def stop_engine(self):
        """Stops the dockerd `up` started (none when one was running before), then removes
        build/swarm when nothing else is in it."""
        if os.path.exists(self.pidfile):
            say(run(["sh", ENGINE, "stop", self.pidfile], timeout=120, check=False,
                    log=None).strip() or "stopped the dockerd swarm-up started")
        if os.path.isdir(STATE) and not os.listdir(STATE):
            os.rmdir(STATE)


def cgroups_of(node):
    """The cgroup folders a node's engine made for its containers outside the node's own
    cgroup (the v1 hierarchies nest them in it; the unified one does not)."""
    found = []
    root = "/sys/fs/cgroup"
    if os.path.isdir(root):
        for hierarchy in os.listdir(root):
            path = os.path.join(root, hierarchy, node)
            if os.path.isdir(path):
                found.append(path)
    return found


def remove_cgroups(node):
    for top in cgroups_of(node):
        for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


def http_status(url, timeout=2):
    import http.client
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/")
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def main(argv):
    if len(argv) != 2 or argv[1] not in ("up", "down"):
        print("usage: swarm.py up|down", file=sys.stderr)
        return 2
    cluster = Cluster()
    if argv[1] == "down":
        problems = cluster.down()
        for problem in problems:
            say(f"FAIL: {problem}")
        say("removed" if not problems else "could not remove everything")
        return 1 if problems else 0
    import signal

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        start = time.monotonic()
        cluster.up()
        cluster.timings["swarm-up in all"] = time.monotonic() - start
    except (SwarmError, KeyboardInterrupt, subprocess.SubprocessError, OSError) as err:
        say(f"FAIL: {err}; removing what was started")
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cluster.down()
        return 1
    for name, seconds in cluster.timings.items():
        print(f"  {name:<52} {seconds:6.1f} s")
    print("URLs (build/swarm/url), HAProxy on every node:")
    print("".join(f"  {cluster.url(n)}\n" for n in cluster.nodes), end="")
    print("nodes (build/swarm/nodes):")
    print("".join(f"  {n}\n" for n in cluster.nodes), end="", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
