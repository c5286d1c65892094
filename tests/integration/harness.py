"""Test harness: real servers on free loopback ports, stopped by PID.

Starts redis-server, redis-sentinel, haproxy and the redisapp binary under test as child
processes of the test, talks HTTP over raw sockets (so malformed requests can be sent as-is)
and RESP over a tiny client. Every process started here is stopped by its PID, also when a
test fails (unittest cleanups plus an atexit guard). Standard library only.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

BINARY = os.environ.get("REDISAPP_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "redisapp")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Sanitizer builds are slower; bounds scale with this (never below 1).
SLOW = float(os.environ.get("REDISAPP_TEST_SLOWDOWN", "3" if "asan" in BINARY else "1"))

_started = {}  # pid -> Popen, for the atexit guard
_ports_lock = threading.Lock()
_ports_given = set()


def _stop_all_left():
    for proc in list(_started.values()):
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
                proc.wait(5)
            except OSError:
                pass


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


atexit.register(_stop_all_left)
# A run stopped with SIGTERM ends like one stopped with Ctrl-C: unittest lets a
# KeyboardInterrupt through (it would count a SystemExit as one test's error and go on), and
# the atexit guard then stops what the run started.
signal.signal(signal.SIGTERM, _interrupt)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (and not handed out before)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with _ports_lock:
            if port not in _ports_given:
                _ports_given.add(port)
                return port
    raise RuntimeError("no free port")


def wait_until(predicate, timeout, interval=0.05, what="condition", retry=(OSError, ValueError)):
    """Polls predicate() until it returns a truthy value, which is returned; fails after timeout
    seconds. An exception of a class in `retry` counts as "not yet" (and is named if time runs
    out). The test harnesses of bench/ and tests/compose/ wait with this one too."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except retry as err:
            last_error = err
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}"
                         + (f" (last error: {last_error})" if last_error else ""))


class Process:
    """A child process whose output goes to files in a private folder."""

    def __init__(self, name, argv, env=None, cwd=None, folder=None):
        self.name = name
        self.dir = folder or tempfile.mkdtemp(prefix=f"redisapp-{name}-")
        self.stdout_path = os.path.join(self.dir, "stdout")
        self.stderr_path = os.path.join(self.dir, "stderr")
        self._stdout = open(self.stdout_path, "wb")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._stdout, stderr=self._stderr,
                                     env=env, cwd=cwd or self.dir, stdin=subprocess.DEVNULL)
        _started[self.proc.pid] = self.proc

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc.poll() is None

    def send(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends `sig`, waits, kills if needed. Returns the exit status."""
        if self.running():
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(sig)
            if self.wait(timeout) is None:
                self.proc.kill()
                self.proc.wait(5)
        self._stdout.close()
        self._stderr.close()
        _started.pop(self.proc.pid, None)
        return self.proc.returncode

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def cleanup_files(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# --- Redis ------------------------------------------------------------------------------

class RespError(Exception):
    pass


class RedisClient:
    """Just enough RESP2 for assertions: commands in, decoded replies out."""

    def __init__(self, port, password=None, timeout=5.0, host="127.0.0.1", username=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        if password:
            self.call("AUTH", *([username] if username else []), password)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RespError(f"bad reply {line!r}")


def redis_call(port, *args, password=None, timeout=5.0, username=None):
    with RedisClient(port, password=password, timeout=timeout, username=username) as c:
        return c.call(*args)


class RedisServer:
    """A redis-server on a loopback port, with pause/resume/kill/restart.

    It runs from a config file in its own folder, so CONFIG REWRITE (which Sentinel sends
    when it changes a node's role) works and survives a restart, like a node's volume. With a
    `username`, the test talks to it as that ACL user, and `lines` set up the users (aclfile,
    masteruser, masterauth) instead of requirepass."""

    def __init__(self, testcase, port=None, password=None, extra=(), config_file=None,
                 replica_of=None, lines=(), username=None):
        self.port = port or free_port()
        self.password = password
        self.username = username
        self.testcase = testcase
        self.process = None
        self.folder = tempfile.mkdtemp(prefix=f"redisapp-redis-{self.port}-")
        testcase.addCleanup(shutil.rmtree, self.folder, True)
        self.config_file = config_file or os.path.join(self.folder, "redis.conf")
        if config_file is None:
            conf = [f"port {self.port}", "bind 127.0.0.1", "save \"\"", "appendonly no",
                    "daemonize no", 'logfile ""', f"dir {self.folder}", "protected-mode no",
                    "repl-diskless-sync yes", "repl-diskless-sync-delay 0",
                    "enable-debug-command local"]
            if password and not username:
                conf += [f"requirepass {password}", f"masterauth {password}"]
            if replica_of:
                conf.append(f"replicaof 127.0.0.1 {replica_of}")
            conf += list(lines)
            with open(self.config_file, "w") as f:
                f.write("\n".join(conf) + "\n")
            self.extra = list(extra)
        else:
            self.extra = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--daemonize", "no", "--logfile", "",
                          "--protected-mode", "no"] + list(extra)
        self.start()

    def start(self):
        argv = ["redis-server", self.config_file] + self.extra
        self.process = Process(f"redis-{self.port}", argv, folder=tempfile.mkdtemp(
            prefix=f"redisapp-redis-{self.port}-run-"))
        self.testcase.addCleanup(self._cleanup, self.process)
        wait_until(self.ping, 10, what=f"redis-server on port {self.port}")

    def _cleanup(self, process):
        process.stop(signal.SIGKILL)
        process.cleanup_files()

    def ping(self):
        try:
            return redis_call(self.port, "PING", password=self.password, timeout=1,
                              username=self.username) == "PONG"
        except (OSError, RespError):
            return False

    def call(self, *args):
        return redis_call(self.port, *args, password=self.password, username=self.username)

    def role(self):
        return self.call("ROLE")[0]

    def unread_bytes(self):
        """Bytes clients sent this Redis that it has not read yet (while it is paused: the
        commands waiting for it), summed over its connections in the kernel's socket table."""
        total = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                rows = [line.split() for line in f.readlines()[1:]]
            for row in rows:  # sl local remote st tx_queue:rx_queue ...
                if int(row[1].rsplit(":", 1)[1], 16) == self.port and row[3] == "01":
                    total += int(row[4].split(":")[1], 16)  # ESTABLISHED: its receive queue
        return total

    def pause(self):
        self.process.send(signal.SIGSTOP)

    def resume(self):
        self.process.send(signal.SIGCONT)

    def kill(self):
        self.process.stop(signal.SIGKILL)

    def restart(self):
        self.kill()
        self.start()


class SentinelCluster:
    """A master, replicas and Sentinels on loopback, with fast failure detection.

    With passwords only, every node has `requirepass`, `masterauth` and `sentinel auth-pass`.
    With ACL users (`username`, `sentinel_username`: the test's own users on the data nodes and
    on the Sentinels), `node_lines` and `sentinel_lines` set up the users instead."""

    def __init__(self, testcase, replicas=2, sentinels=3, password=None,
                 sentinel_password=None, down_after_ms=1000, master_name="mymaster",
                 username=None, sentinel_username=None, node_lines=(), sentinel_lines=()):
        self.testcase = testcase
        self.password = password
        self.sentinel_password = sentinel_password
        self.username = username
        self.sentinel_username = sentinel_username
        self.sentinel_lines = list(sentinel_lines)
        self.master_name = master_name
        durable = ["min-replicas-to-write 1", "min-replicas-max-lag 3"] + list(node_lines)
        master = RedisServer(testcase, password=password, lines=durable, username=username)
        self.nodes = {master.port: master}
        for _ in range(replicas):
            node = RedisServer(testcase, password=password, replica_of=master.port, lines=durable,
                               username=username)
            self.nodes[node.port] = node
        self.sentinel_ports = [free_port() for _ in range(sentinels)]
        self.sentinels = {}
        for port in self.sentinel_ports:
            self.start_sentinel(port, master.port, down_after_ms)
        wait_until(self.settled, 30 * SLOW, what="Sentinels agreeing on the topology")

    def start_sentinel(self, port, master_port, down_after_ms):
        folder = tempfile.mkdtemp(prefix=f"redisapp-sentinel-{port}-")
        self.testcase.addCleanup(shutil.rmtree, folder, True)
        conf = [f"port {port}", "bind 127.0.0.1", "daemonize no", 'logfile ""', f"dir {folder}",
                f"sentinel monitor {self.master_name} 127.0.0.1 {master_port} "
                f"{min(2, len(self.sentinel_ports))}",
                f"sentinel down-after-milliseconds {self.master_name} {down_after_ms}",
                f"sentinel failover-timeout {self.master_name} {max(3000, down_after_ms * 3)}",
                f"sentinel parallel-syncs {self.master_name} 1"]
        if self.password and not self.username:
            conf.append(f"sentinel auth-pass {self.master_name} {self.password}")
        if self.sentinel_password and not self.sentinel_username:
            conf.append(f"requirepass {self.sentinel_password}")
        conf += self.sentinel_lines
        path = os.path.join(folder, "sentinel.conf")
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        process = Process(f"sentinel-{port}", ["redis-sentinel", path], folder=folder)
        self.sentinels[port] = process

        def cleanup():
            process.stop(signal.SIGKILL)
        self.testcase.addCleanup(cleanup)
        wait_until(lambda: self.sentinel_call(port, "PING") == "PONG", 10,
                   what=f"redis-sentinel on port {port}")

    def sentinel_call(self, port, *args):
        return redis_call(port, *args, password=self.sentinel_password, timeout=2,
                          username=self.sentinel_username)

    def settled(self):
        replicas = len(self.nodes) - 1
        for port in self.sentinel_ports:
            try:
                self.sentinel_call(port, "SENTINEL", "CKQUORUM", self.master_name)
            except RespError:  # NOQUORUM while they discover each other
                return False
            if len(self.sentinel_call(port, "SENTINEL", "replicas", self.master_name)) < replicas:
                return False
            peers = self.sentinel_call(port, "SENTINEL", "sentinels", self.master_name)
            if len(peers) < len(self.sentinel_ports) - 1:
                return False
            if any("disconnected" in dict(zip(p[::2], p[1::2]))["flags"] for p in peers):
                return False
        return True

    def master_port(self, sentinel_port=None):
        for port in ([sentinel_port] if sentinel_port else self.sentinel_ports):
            try:
                return int(self.sentinel_call(port, "SENTINEL", "get-master-addr-by-name",
                                              self.master_name)[1])
            except (OSError, RespError, TypeError):
                continue
        raise AssertionError("no Sentinel answers")

    def master(self):
        return self.nodes[self.master_port()]

    def wait_failover(self, old_port, timeout=30):
        """Waits until every running Sentinel names a new master that says it is one."""
        def moved():
            for port, process in self.sentinels.items():
                if process.running() and self.master_port(port) == old_port:
                    return False
            new = self.master_port()
            return new != old_port and self.nodes[new].role() == "master"
        wait_until(moved, timeout * SLOW, interval=0.1, what="a failover")
        return self.master_port()

    def wait_replica(self, port, timeout=40):
        """Waits until the node on `port` is a replica with a live link."""
        def rejoined():
            info = self.nodes[port].call("INFO", "replication")
            return "role:slave" in info and "master_link_status:up" in info
        wait_until(rejoined, timeout * SLOW, interval=0.2, what=f"node {port} rejoining as replica")

    def sentinel_args(self):
        return ["--sentinels", ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)]


# --- HTTP -------------------------------------------------------------------------------

class HttpResponse:
    def __init__(self, status, reason, headers, body, elapsed):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case name -> value
        self.body = body
        self.elapsed = elapsed

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return f"<HTTP {self.status} {self.text[:80]!r}>"


def _read_response(sock, buf, method):
    """Reads one response from sock (buf: bytes already read). Returns (response, rest)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a full response head"
                                  + (f": {buf[:60]!r}" if buf else ""))
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    version, status, *reason = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(status)
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return HttpResponse(status, reason[0] if reason else "", headers, b"", 0), buf
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside the body")
            buf += chunk
        body, buf = buf[:n], buf[n:]
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            while b"\r\n" not in buf:
                buf += sock.recv(65536)
            size_line, buf = buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(buf) < size + 2:
                buf += sock.recv(65536)
            body, buf = body + buf[:size], buf[size + 2:]
            if size == 0:
                break
    else:
        body = buf
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        buf = b""
    return HttpResponse(status, reason[0] if reason else "", headers, body, 0), buf


def raw_request(port, data, timeout=10.0, method="GET", host="127.0.0.1"):
    """Sends raw bytes, returns the first response (elapsed set) or raises."""
    start = time.monotonic()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        response, _ = _read_response(sock, b"", method)
    response.elapsed = time.monotonic() - start
    return response


def request(port, path="/", method="GET", headers=None, body=None, timeout=10.0,
            host="127.0.0.1"):
    """One HTTP/1.1 request on a new connection (Connection: close)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    payload = body if isinstance(body, bytes) else (body or "").encode()
    if body is not None:
        lines.append(f"Content-Length: {len(payload)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
    return raw_request(port, data, timeout=timeout, method=method, host=host)


class KeepAliveClient:
    """Sends requests one after another on one keep-alive connection."""

    def __init__(self, port, timeout=10.0, host="127.0.0.1"):
        self.port = port
        self.host = host
        self.timeout = timeout
        self.sock = None
        self.buf = b""

    def get(self, path="/", method="GET"):
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.buf = b""
        start = time.monotonic()
        try:
            self.sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            response, self.buf = _read_response(self.sock, self.buf, method)
        except OSError:
            self.close()
            raise
        response.elapsed = time.monotonic() - start
        if response.headers.get("connection", "").lower() == "close":
            self.close()
        return response

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None


# --- the server under test ---------------------------------------------------------------

class App:
    """The redisapp binary on a free port. stop() returns its exit status."""

    def __init__(self, testcase, redis_port=None, args=(), env=None, port=None,
                 wait_healthy=True, name="app"):
        self.port = port or free_port()
        self.testcase = testcase
        argv = [BINARY, "--port", str(self.port), "--bind", "127.0.0.1",
                "--instance-name", name] + list(args)
        if redis_port is not None:
            argv += ["--redis", f"127.0.0.1:{redis_port}"]
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99",
                    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=98"}
        full_env.update(env or {})
        self.process = Process(name, argv, env=full_env, cwd=ROOT)
        self.stopped_status = None
        testcase.addCleanup(self._cleanup)
        if wait_healthy:
            wait_until(self.healthy, 10 * SLOW, what=f"{name} /healthz")

    def healthy(self):
        if not self.process.running():
            raise AssertionError(f"server exited with {self.process.proc.returncode}:\n"
                                 + self.process.stderr())
        try:
            return request(self.port, "/healthz", timeout=1).status == 200
        except OSError:
            return False

    def ready(self):
        try:
            return request(self.port, "/readyz", timeout=2 * SLOW).status == 200
        except OSError:
            return False

    def get(self, path="/", **kw):
        return request(self.port, path, **kw)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.stopped_status is None:
            self.stopped_status = self.process.stop(sig, timeout * SLOW)
        return self.stopped_status

    def assert_clean_exit(self):
        """Stops the server and asserts exit 0 without sanitizer reports."""
        status = self.stop()
        err = self.process.stderr()
        self.testcase.assertNotIn("AddressSanitizer", err)
        self.testcase.assertNotIn("runtime error", err)
        self.testcase.assertNotIn("LeakSanitizer", err)
        self.testcase.assertEqual(status, 0, f"exit status {status}; stderr:\n{err[-3000:]}")

    def _cleanup(self):
        self.stop(signal.SIGKILL)  # a no-op when the test already stopped it
        self.process.cleanup_files()

    def rss_kib(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


class ServerTestCase(unittest.TestCase):
    """Base class: every app started through self.app() must exit cleanly at the end."""

    def setUp(self):
        self._apps = []

    def app(self, *args, **kw):
        a = App(self, *args, **kw)
        self._apps.append(a)
        return a

    def tearDown(self):
        for a in self._apps:
            if a.stopped_status is None and a.process.running():
                a.assert_clean_exit()


class HAProxy:
    """haproxy in the foreground (-db) with a config built from `backend_servers`."""

    def __init__(self, testcase, backend_ports, check_path="/readyz", extra_backend=""):
        self.port = free_port()
        self.stats_port = free_port()
        servers = "\n".join(f"    server app{i} 127.0.0.1:{p} check"
                            for i, p in enumerate(backend_ports))
        config = f"""
global
    maxconn 2000
defaults
    mode http
    timeout connect 500ms
    timeout client 10s
    timeout server 10s
    timeout queue 5s
    # without it a check must answer within `inter` (100 ms): on a loaded machine (ASan, other
    # work) a slow /readyz took both servers out at once (fall 1), and HAProxy answered 503
    timeout check 2s
    retries 3
    option redispatch
frontend web
    bind 127.0.0.1:{self.port}
    default_backend app
backend app
    balance roundrobin
    option httpchk GET {check_path}
    http-check expect status 200
    default-server inter 100ms fall 1 rise 2
{extra_backend}
{servers}
"""
        self.dir = tempfile.mkdtemp(prefix="redisapp-haproxy-")
        self.config_path = os.path.join(self.dir, "haproxy.cfg")
        with open(self.config_path, "w") as f:
            f.write(config)
        self.process = Process("haproxy", ["haproxy", "-db", "-f", self.config_path])
        testcase.addCleanup(self._cleanup)
        wait_until(self._listening, 10, what="haproxy listening")

    def _listening(self):
        if not self.process.running():
            raise AssertionError("haproxy exited:\n" + self.process.stderr())
        with socket.create_connection(("127.0.0.1", self.port), 1):
            return True

    def _cleanup(self):
        self.process.stop(signal.SIGTERM)
        self.process.cleanup_files()
        shutil.rmtree(self.dir, ignore_errors=True)
