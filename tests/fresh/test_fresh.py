#!/usr/bin/python3
"""make test-fresh: the README's two commands on a plain Debian 12, in a container made for
this run.

docker/engine.sh readies an engine and the debootstrap image debian:bookworm-slim (shared:
built when absent, never removed here). From it, a container that can run a dockerd of its own
(every capability but SYS_RESOURCE, which this VM cannot grant, so no --privileged; seccomp,
AppArmor and system paths unconfined; all devices; the cgroup tree read-write; its
/var/lib/docker on a host folder under build/, since overlayfs does not stack on the
container's own). In it: apt installs git and make, nothing else; git clones the committed HEAD
of this checkout (from a bundle mounted read-only: uncommitted files never reach it); `make run`
starts in the background and must answer the ping with 1, then 2 (from the command to the
first answer is timed), and must have installed none of the test packages; it is stopped as
Ctrl-C would (SIGINT to its process group); then `make test` runs with FRESH_CONTAINER=1 and
must exit 0, after which no dockerd may be left running inside.

Everything made here is removed at the end, also when interrupted (SIGINT, SIGTERM, SIGHUP): the
processes of the two makes inside, a dockerd still running inside, the container, the host
folder with the inner /var/lib/docker (root-owned overlay layers), the bundle; and the host's
dockerd, if docker/engine.sh started one for this test. Nothing else is stopped.

Run: make test-fresh (as root, like the compose test).
"""
import http.client
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "compose"))
from test_compose import (TestFailure, catch_signals, check, ignore_signals, say,  # noqa: E402
                          wait_until)

ENGINE = os.path.join(ROOT, "docker", "engine.sh")
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
BASE_IMAGE = os.environ.get("BASE_IMAGE", "debian:bookworm-slim")
CHECKOUT = "/root/redisapp"  # where the clone goes inside
PING_PORT = 8000             # make run's default
# every capability the 20.10 daemon knows but SYS_RESOURCE, which this VM's bounding set lacks
CAPABILITIES = """CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE
SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_TIME SYS_TTY_CONFIG
MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM
BLOCK_SUSPEND AUDIT_READ""".split()
# packages that only `make test` may install: `make run` must leave them out
TEST_ONLY_PACKAGES = ["redis-sentinel", "haproxy", "chromium", "chromium-driver",
                      "python3-selenium", "clang"]
# Deadlines: far beyond the slowest run seen here, so only a hang reaches them.
APT_TIMEOUT_S = 600          # git and make
FIRST_ANSWER_TIMEOUT_S = 900  # make run: packages, build, Redis, the server
TEST_TIMEOUT_S = 50 * 60     # make test inside
STOP_TIMEOUT_S = 120         # each stop in the cleanup


def run(argv, timeout=120, check_rc=True):
    """Runs a command on the host; returns its stdout and stderr together."""
    result = subprocess.run(argv, cwd=ROOT, timeout=timeout, text=True,
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)  # a Ctrl-C reaches this test, not them
    if check_rc and result.returncode != 0:
        raise TestFailure(f"{shlex.join(argv)} exited {result.returncode}:\n"
                          + "\n".join(result.stdout.strip().splitlines()[-30:]))
    return result.stdout


def docker(*args, timeout=120, check_rc=True):
    return run([DOCKER, *args], timeout=timeout, check_rc=check_rc).strip()


def http_get(host, path):
    """(status, body) of GET path on the container's port 8000."""
    conn = http.client.HTTPConnection(host, PING_PORT, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    except http.client.HTTPException as err:
        raise OSError(f"GET {path}: {err!r}") from err
    finally:
        conn.close()


class Inner:
    """A command run inside the container in a process group of its own (setsid), whose id it
    writes to `pidfile` inside, so the group can be signalled as a terminal would signal it.
    Its output goes to `log` on the host, and to this test's output when `echo` is set."""

    def __init__(self, container, name, command, log, env=(), echo=False):
        self.container = container
        self.command = command
        self.pidfile = f"/run/redisapp-fresh-{name}.pid"
        script = (f"cd {CHECKOUT} && exec setsid -w sh -c "
                  + shlex.quote(f"echo $$ >{self.pidfile}; exec {command}"))
        env_args = [arg for pair in env for arg in ("-e", pair)]
        self.log = open(log, "w")
        self.proc = subprocess.Popen([DOCKER, "exec", *env_args, container, "sh", "-c", script],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.copier = threading.Thread(target=self._copy, args=(echo,), daemon=True)
        self.copier.start()

    def _copy(self, echo):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            self.log.write(line)
            self.log.flush()
            if echo:
                sys.stdout.write("  | " + line)
                sys.stdout.flush()

    def running(self):
        return self.proc.poll() is None

    def wait(self, timeout):
        """The exit status of the command inside, or None after `timeout` seconds."""
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self.copier.join(10)
        return status

    def signal_group(self, sig):
        """Sends sig to the command's process group inside; False when none is left."""
        out = run([DOCKER, "exec", self.container, "sh", "-c",
                   f"g=$(cat {self.pidfile} 2>/dev/null) && kill -{sig} -$g 2>/dev/null "
                   "&& echo sent"], timeout=60, check_rc=False)
        return out.strip() == "sent"

    def stop(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM to what is left of the group, SIGKILL after `timeout`; closes the log."""
        if self.signal_group("TERM"):
            deadline = time.monotonic() + timeout
            while self.signal_group("0"):
                if time.monotonic() > deadline:
                    self.signal_group("KILL")
                    break
                time.sleep(0.5)
        if self.wait(30) is None:
            self.proc.kill()  # the host's docker exec client only
            self.proc.wait(10)
        self.log.close()


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


class FreshMachine:
    def __init__(self):
        self.name = f"redisapp-fresh-{os.getpid()}-{secrets.token_hex(3)}"
        self.work = os.path.join(ROOT, "build", self.name)  # removed at the end
        self.docker_dir = os.path.join(self.work, "docker")  # the container's /var/lib/docker
        self.bundle = os.path.join(self.work, "redisapp.bundle")
        self.engine_pidfile = os.path.join(ROOT, "build", f"{self.name}-dockerd.pid")
        self.container = None  # set once `docker run` was tried: it may have made one
        self.inner = []
        self.timings = {}

    def start_container(self):
        os.makedirs(self.docker_dir)
        head = run(["git", "rev-parse", "HEAD"]).strip()
        if run(["git", "status", "--porcelain", "--untracked-files=no"]).strip():
            say("note: this checkout has uncommitted changes; the test clones HEAD without them")
        run(["git", "bundle", "create", self.bundle, "HEAD"])
        start = time.monotonic()
        run(["sh", ENGINE, "ensure", self.engine_pidfile], timeout=900)
        if os.path.exists(self.engine_pidfile):
            say(f"started dockerd (pid {open(self.engine_pidfile).read().strip()}) for this test")
        self.timings["host engine and base image ready"] = time.monotonic() - start
        argv = ["run", "-d", "--name", self.name, "--hostname", "fresh",
                "--label", "org.redisapp.test=fresh", "--init", "--shm-size", "1g"]
        argv += [arg for cap in CAPABILITIES for arg in ("--cap-add", cap)]
        argv += ["--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                 "--security-opt", "systempaths=unconfined", "--device-cgroup-rule", "a *:* rwm",
                 "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/tmp:exec",
                 "-v", f"{self.docker_dir}:/var/lib/docker",
                 "-v", f"{self.bundle}:/src/redisapp.bundle:ro",
                 BASE_IMAGE, "sleep", "infinity"]
        self.container = self.name
        cid = docker(*argv)
        self.ip = docker("inspect", "-f",
                         "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", self.name)
        say(f"container {self.name} ({cid[:12]}, {self.ip}) from {BASE_IMAGE}")

        start = time.monotonic()
        self.exec("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                  "--no-install-recommends git make >/dev/null", timeout=APT_TIMEOUT_S)
        self.exec(f"git clone -q -c advice.detachedHead=false /src/redisapp.bundle {CHECKOUT}")
        cloned = self.exec(f"git -C {CHECKOUT} rev-parse HEAD").strip()
        check(cloned == head, f"the clone is at {cloned}, the checkout at {head}")
        self.timings["git and make installed, HEAD cloned"] = time.monotonic() - start
        say(f"installed git and make only; cloned {head[:12]} into {CHECKOUT}")

    def exec(self, script, timeout=300):
        return run([DOCKER, "exec", self.name, "sh", "-c", script], timeout=timeout)

    def installed(self, package):
        return "install ok installed" in run(
            [DOCKER, "exec", self.name, "dpkg-query", "-W", "-f", "${Status}", package],
            check_rc=False)

    def make_run(self):
        """make run answers 1, then 2; it installed no test package; Ctrl-C stops it."""
        log = os.path.join(self.work, "make-run.log")
        start = time.monotonic()
        make = Inner(self.name, "run", "make run", log)
        self.inner.append(make)

        def ready():
            check(make.running(), f"make run exited {make.proc.returncode}:\n{tail(log)}")
            return http_get(self.ip, "/readyz")[0] == 200
        wait_until(ready, FIRST_ANSWER_TIMEOUT_S, "make run to serve (/readyz 200)")
        answers = [http_get(self.ip, "/")]
        self.timings["make run: command to first answer"] = time.monotonic() - start
        answers.append(http_get(self.ip, "/"))
        check(answers == [(200, "1\n"), (200, "2\n")], f"the ping answered {answers}")
        say(f"make run: the ping answered 1, then 2; the first answer "
            f"{self.timings['make run: command to first answer']:.1f} s after the command")
        extra = [p for p in TEST_ONLY_PACKAGES if self.installed(p)]
        check(not extra, f"make run installed test packages: {extra}")

        check(make.signal_group("INT"), "make run's process group is gone")
        status = make.wait(60)
        check(status is not None, "make run still runs 60 s after Ctrl-C")
        output = tail(log, 200)
        check("shutdown: done" in output, f"the server did not drain and exit 0:\n{tail(log)}")
        check(not make.signal_group("0"), "processes of make run outlived it")
        check(self.exec("redis-cli -p 6379 ping 2>&1 || true").strip() != "PONG",
              "the redis-server that make run started still answers")
        make.log.close()
        say(f"make run stopped by Ctrl-C (exit {status}): the server drained, its Redis stopped")

    def make_test(self):
        log = os.path.join(self.work, "make-test.log")
        say(f"make test inside, FRESH_CONTAINER=1 (output below, log {log})")
        start = time.monotonic()
        make = Inner(self.name, "test", "make test", log, env=["FRESH_CONTAINER=1"], echo=True)
        self.inner.append(make)
        status = make.wait(TEST_TIMEOUT_S)
        self.timings["make test inside"] = time.monotonic() - start
        check(status is not None, f"make test still runs after {TEST_TIMEOUT_S / 60:.0f} min")
        check(status == 0, f"make test exited {status}")
        make.log.close()
        check(self.dockerd_inside() is None, "make test left a dockerd running inside")
        say(f"make test passed inside: {self.timings['make test inside'] / 60:.1f} min")

    def dockerd_inside(self):
        """The PID of a dockerd running inside the container, or None."""
        out = run([DOCKER, "exec", self.name, "sh", "-c",
                   "p=$(cat /var/run/docker.pid 2>/dev/null) && kill -0 $p 2>/dev/null "
                   "&& echo $p"], timeout=60, check_rc=False).strip()
        return int(out) if out.isdigit() else None

    def cleanup(self):
        """Stops and removes everything this test made; returns the problems it met."""
        problems = []
        if self.container:
            for make in self.inner:
                try:
                    if make.running() or make.signal_group("0"):
                        say(f"stopping {make.command} inside")
                    make.stop()
                except (OSError, subprocess.SubprocessError, TestFailure) as err:
                    problems.append(f"stopping a make inside: {err!r}")
            try:  # the inner dockerd unmounts its layers and stops its containers
                pid = self.dockerd_inside()
                if pid is not None:
                    say(f"stopping the dockerd inside (pid {pid})")
                    self.exec(f"kill -TERM {pid}; while kill -0 {pid} 2>/dev/null; "
                              "do sleep 0.2; done", timeout=STOP_TIMEOUT_S)
            except (OSError, subprocess.SubprocessError, TestFailure) as err:
                problems.append(f"stopping the dockerd inside: {err!r}")
            out = run([DOCKER, "rm", "-f", "-v", self.name], timeout=STOP_TIMEOUT_S,
                      check_rc=False)
            if docker("ps", "-aq", "--filter", f"name=^{self.name}$", check_rc=False):
                problems.append(f"the container is still there: {out.strip()}")
        if os.path.exists(self.engine_pidfile):
            out = run(["sh", ENGINE, "stop", self.engine_pidfile], timeout=STOP_TIMEOUT_S,
                      check_rc=False)
            say(out.strip())
        if os.path.exists(self.work):
            self.remove_work(problems)
        return problems

    def remove_work(self, problems):
        """The host folder, with the inner engine's root-owned layers. Only mounts under it
        (none are expected: they lived in the container's mount namespace) are undone first."""
        with open("/proc/self/mounts") as f:
            mounts = [line.split()[1] for line in f]
        for mount in sorted((m for m in mounts if m.startswith(self.work + "/")), reverse=True):
            run(["umount", "-l", mount], check_rc=False)
        try:
            shutil.rmtree(self.work)
        except OSError as err:
            run(["rm", "-rf", self.work], check_rc=False)
            if os.path.exists(self.work):
                problems.append(f"{self.work} could not be removed: {err!r}")


def main():
    catch_signals()
    machine = FreshMachine()
    failed = True
    try:
        machine.start_container()
        machine.make_run()
        machine.make_test()
        failed = False
    except TestFailure as err:
        say(f"FAIL: {err}")
    except KeyboardInterrupt as err:
        say(f"interrupted ({err or 'SIGINT'})")
    except Exception:
        import traceback
        traceback.print_exc()
    finally:
        ignore_signals()  # the cleanup runs to its end
        start = time.monotonic()
        problems = machine.cleanup()
        for problem in problems:
            say(f"FAIL: cleanup: {problem}")
        failed = failed or bool(problems)
        say(f"removed the container, the inner engine's folder and the bundle "
            f"({time.monotonic() - start:.1f} s)")
        print("\ntimings:", flush=True)
        for name, seconds in machine.timings.items():
            print(f"  {name:<44} {seconds:7.1f} s")
        print("fresh-machine test " + ("FAILED" if failed else "passed"), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
