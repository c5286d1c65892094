"""Network namespaces for partition tests: every process in a namespace of its own, all joined by
a bridge that lives in a namespace of its own too, so the host's interfaces and firewall are
never touched. Partitions are nft drop rules inside the nodes' namespaces.

    net = Network(testcase, "rdur")        # removed by a cleanup, and at exit
    a = net.add_node("redis1")             # a namespace with eth0 at 10.77.0.x on the bridge
    proc = a.spawn("redis-1", ["redis-server", ...])   # a harness.Process inside it
    a.call(lambda: RedisClient(6379, host=a.ip).call("PING"))   # runs in a thread inside it
    net.partition([a], [b, c])             # drops everything between the two groups
    net.heal()

Needs root (ip netns, nft). Standard library only; names carry the prefix given, plus a short
random tag, so runs side by side never share a name.
"""

import atexit
import concurrent.futures
import ctypes
import os
import secrets
import subprocess

from harness import Process

CLONE_NEWNET = 0x40000000
SUBNET = "10.77.0"
_libc = ctypes.CDLL("libc.so.6", use_errno=True)
_live = set()  # networks not removed yet, for the atexit guard


def available():
    """None when namespaces and nft can be used here, else the reason."""
    if os.geteuid() != 0:
        return "needs root (ip netns, nft)"
    for tool in ("ip", "nft"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            return f"{tool} is not installed (make deps)"
    return None


def _run(*argv, stdin=None):
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {result.stderr.strip()}")
    return result.stdout


def _enter(name):
    """Moves the calling thread into the network namespace `name` (threads only, never main)."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


class Node:
    """One namespace with one interface on the bridge."""

    def __init__(self, net, label, index):
        self.net = net
        self.label = label
        self.index = index
        self.ns = f"{net.prefix}n{index}"
        self.ip = f"{SUBNET}.{10 + index}"
        self.blocked = set()  # IPs this node cannot talk to now
        self._pool = None

    def create(self):
        """Makes the namespace, its veth on the bridge, its address and its nft table."""
        index, net = self.index, self.net
        _run("ip", "netns", "add", self.ns)
        _run("ip", "link", "add", f"v{index}", "netns", net.bridge_ns, "type", "veth", "peer",
             "name", "eth0", "netns", self.ns)
        _run("ip", "-n", net.bridge_ns, "link", "set", f"v{index}", "master", "br0", "up")
        _run("ip", "-n", self.ns, "addr", "add", f"{self.ip}/24", "dev", "eth0")
        _run("ip", "-n", self.ns, "link", "set", "eth0", "up")
        _run("ip", "-n", self.ns, "link", "set", "lo", "up")
        # one table of ours; partitions only fill and flush its sets
        _run("ip", "netns", "exec", self.ns, "nft", "-f", "-", stdin="""
table inet rdur {
    set cut { type ipv4_addr; }
    chain input { type filter hook input priority 0; policy accept; ip saddr @cut drop; }
    chain output { type filter hook output priority 0; policy accept; ip daddr @cut drop; }
}
""")

    def spawn(self, name, argv, env=None, cwd=None):
        """Starts argv inside this namespace (`ip netns exec` execs it: the PID is the program's)."""
        return Process(name, ["ip", "netns", "exec", self.ns] + list(argv), env=env, cwd=cwd)

    def call(self, fn, timeout=30):
        """Runs fn() in a thread that lives inside this namespace; returns its result."""
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=4, initializer=_enter, initargs=(self.ns,))
        return self._pool.submit(fn).result(timeout)

    def thread(self, target, *args):
        """A daemon thread running target(*args) inside this namespace (not started)."""
        import threading

        def run():
            _enter(self.ns)
            target(*args)
        return threading.Thread(target=run, daemon=True)

    def block(self, ips):
        """Drops all traffic between this node and `ips` (replaces the previous set)."""
        ips = set(ips) - {self.ip}
        if ips == self.blocked:
            return
        script = "flush set inet rdur cut\n"
        if ips:
            script += "add element inet rdur cut { " + ", ".join(sorted(ips)) + " }\n"
        _run("ip", "netns", "exec", self.ns, "nft", "-f", "-", stdin=script)
        self.blocked = ips

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


class Network:
    """A bridge in a namespace of its own and the nodes on it; removed on every exit path."""

    def __init__(self, testcase, prefix):
        self.prefix = f"{prefix}{secrets.token_hex(2)}"
        self.bridge_ns = f"{self.prefix}b"
        self.nodes = []
        _live.add(self)
        testcase.addCleanup(self.remove)
        _run("ip", "netns", "add", self.bridge_ns)
        _run("ip", "-n", self.bridge_ns, "link", "add", "br0", "type", "bridge")
        _run("ip", "-n", self.bridge_ns, "link", "set", "br0", "up")

    def add_node(self, label):
        node = Node(self, label, len(self.nodes) + 1)
        self.nodes.append(node)  # first, so that a node made half way is removed too
        node.create()
        return node

    def partition(self, *groups):
        """Splits the nodes named in `groups` (lists of nodes) from each other; a node in no
        group keeps talking to everyone. Replaces any earlier partition."""
        where = {}
        for i, group in enumerate(groups):
            for node in group:
                where[node] = i
        for node in self.nodes:
            if node not in where:
                node.block(())
                continue
            node.block(other.ip for other, g in where.items() if g != where[node])

    def cut_links(self, pairs):
        """Drops traffic on the given (node, node) links only; replaces any earlier partition."""
        blocked = {node: set() for node in self.nodes}
        for a, b in pairs:
            blocked[a].add(b.ip)
            blocked[b].add(a.ip)
        for node in self.nodes:
            node.block(blocked[node])

    def heal(self):
        for node in self.nodes:
            node.block(())

    def remove(self):
        if self not in _live:
            return
        _live.discard(self)
        for node in self.nodes:
            node.close()
            subprocess.run(["ip", "netns", "del", node.ns], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.bridge_ns], capture_output=True)


@atexit.register
def _remove_left():
    for net in list(_live):
        net.remove()
