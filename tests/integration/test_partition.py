"""The durable counter under network partitions, pauses and crashes, Jepsen-style.

A master, two replicas, three Sentinels (quorum 2, down-after 1000 ms) and two redisapp instances
in Sentinel mode with default settings, each process in a network namespace of its own, joined
by a bridge in a namespace of its own (netns.py). Four clients, two per instance, each in its
instance's namespace (never cut off from it), record every answer. Scenarios, each healed and
then settled (an event, not a sleep: the Sentinels agree on one master, which says so, and every
other data node replicates from it with its link up and is seen healthy by every Sentinel):

  the master alone cut off; the master with one replica and one app instance cut off from the
  rest (healed Redis first, and app first); the app instances cut off from the Sentinels only;
  the master cut and healed every 1.5 s for 10 s; a replica cut off alone; one Sentinel cut off;
  the master paused (SIGSTOP); the master killed (SIGKILL) and restarted empty.

The checker, over every answer of every client together: no value acknowledged twice, values
strictly increasing per client, the count on the final master at least the highest value
acknowledged, every answer a 200 or a 503 within its deadline (a client timeout fails). Prints
per scenario: acknowledged values, 503s, the longest stretch without a 200, and the time from
the heal to the first 200 after it. Needs root (network namespaces, nft).

PARTITION_SCENARIOS=word,word runs only the scenarios whose names contain one of the words;
PARTITION_VERBOSE=1 prints the instances' logs at the end; PARTITION_APP_ARGS adds flags to both
instances (e.g. "--min-replicas-ack 0", to measure what that mode gives up);
PARTITION_SENTINEL_INFO_PERIOD_MS (default 1000, as the stack; 0: Sentinel's own 10 s).
"""

import json
import os
import signal
import threading
import time
import unittest

import netns
from harness import (BINARY, ROOT, SLOW, KeepAliveClient, RedisClient, RespError, request,
                     wait_until)

DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000  # as harness.SentinelCluster: max(3000, 3 x down-after)
APP_PORT = 8000
# the longest a ping may take with the default --redis-timeout-ms 1000: its INCR and its WAIT
DEADLINE_S = 2.0 + 1.0 * SLOW
# Sentinel asks replicas for INFO every 10 s (src/sentinel.c sentinel_info_period), and only
# then converts an old master or fixes a replica that follows it; the stack sets 1 s
INFO_PERIOD_MS = os.environ.get("PARTITION_SENTINEL_INFO_PERIOD_MS", "1000")
if INFO_PERIOD_MS == "0":
    INFO_PERIOD_MS = None
# the number each instance waits for is checked with the default --min-replicas-ack only
DEFAULT_ACK = "--min-replicas-ack" not in os.environ.get("PARTITION_APP_ARGS", "")
HOLD_S = 6.0  # a partition lasts long enough for a failover (down-after + election)
NAME = "mymaster"


def redis(node, port, *args, timeout=2.0):
    """One command to the server on node:port, sent from inside node's own namespace."""
    def call():
        with RedisClient(port, host=node.ip, timeout=timeout) as client:
            return client.call(*args)
    return node.call(call)


def fields(flat):
    return dict(zip(flat[::2], flat[1::2]))


class Recorder:
    """Clients that send GET / back to back, two per instance, each recording every answer as
    (client, instance, start, end, status, body); status None when the request failed."""

    def __init__(self, apps, per_app=2):
        self.records = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []
        for app in apps:
            for _ in range(per_app):
                index = len(self.threads)
                self.threads.append(app.node.thread(self._run, index, app))
        for t in self.threads:
            t.start()

    def _run(self, index, app):
        client = KeepAliveClient(APP_PORT, timeout=2 * DEADLINE_S, host=app.node.ip)
        while not self.stopping.is_set():
            start = time.monotonic()
            try:
                answer = client.get("/")
                record = (index, app.name, start, time.monotonic(), answer.status,
                          answer.text.strip())
            except OSError as err:
                record = (index, app.name, start, time.monotonic(), None, repr(err))
            with self.lock:
                self.records.append(record)
            if record[4] != 200:
                time.sleep(0.02)
        client.close()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(30)

    def snapshot(self):
        with self.lock:
            return list(self.records)

    def saw_200_after(self, moment, instance):
        return any(r[4] == 200 and r[2] >= moment and r[1] == instance for r in self.snapshot())


class App:
    """redisapp in its own namespace, Sentinel mode, default settings."""

    def __init__(self, testcase, node, name, sentinels):
        self.node = node
        self.name = name
        argv = [BINARY, "--port", str(APP_PORT), "--bind", node.ip, "--instance-name", name,
                "--sentinels", ",".join(f"{s.ip}:26379" for s in sentinels)]
        argv += os.environ.get("PARTITION_APP_ARGS", "").split()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99",
               "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=98"}
        self.process = node.spawn(name, argv, env=env, cwd=ROOT)
        testcase.addCleanup(self.process.stop, signal.SIGKILL)

    def get(self, path):
        return self.node.call(lambda: request(APP_PORT, path, timeout=5, host=self.node.ip))

    def acks(self):
        """How many replicas a ping waits for now, per /api/status (None while unknown)."""
        return json.loads(self.get("/api/status").text)["redis"].get("replicas_to_ack")


class PartitionTest(unittest.TestCase):
    def setUp(self):
        reason = netns.available()
        if reason:
            self.skipTest(reason)  # CI runs as root with nft from tests/deps.sh
        self.net = netns.Network(self, "rdur")
        self.data = [self.net.add_node(f"redis{i}") for i in (1, 2, 3)]
        self.sentinels = [self.net.add_node(f"sentinel{i}") for i in (1, 2, 3)]
        self.app_nodes = [self.net.add_node(f"app{i}") for i in (1, 2)]
        self.redis = {}
        for i, node in enumerate(self.data):
            self.start_redis(node, None if i == 0 else self.data[0])
        for node in self.sentinels:
            self.start_sentinel(node, self.data[0])
        wait_until(self.settled, 60 * SLOW, interval=0.2, what="the first settled state")
        self.apps = [App(self, node, f"app{i + 1}", self.sentinels)
                     for i, node in enumerate(self.app_nodes)]
        for app in self.apps:
            wait_until(lambda: app.get("/").status == 200, 20 * SLOW, interval=0.1,
                       what=f"{app.name} answering pings")

    # --- the servers ---------------------------------------------------------------------

    def start_redis(self, node, master):
        folder = self.folder(node)
        path = os.path.join(folder, "redis.conf")
        if not os.path.exists(path):
            conf = ["port 6379", "bind 0.0.0.0", "protected-mode no", "daemonize no",
                    'logfile ""', f"dir {folder}", 'save ""', "appendonly no",
                    "repl-diskless-sync yes", "repl-diskless-sync-delay 0",
                    "min-replicas-to-write 1", "min-replicas-max-lag 3"]
            if master is not None:
                conf.append(f"replicaof {master.ip} 6379")
            with open(path, "w") as f:
                f.write("\n".join(conf) + "\n")
        self.redis[node] = node.spawn(node.label, ["redis-server", path])
        self.addCleanup(self.redis[node].stop, signal.SIGKILL)
        wait_until(lambda: redis(node, 6379, "PING") == "PONG", 10 * SLOW,
                   what=f"{node.label} answering")

    def start_sentinel(self, node, master):
        folder = self.folder(node)
        path = os.path.join(folder, "sentinel.conf")
        with open(path, "w") as f:
            f.write("\n".join([
                "port 26379", "bind 0.0.0.0", "daemonize no", 'logfile ""', f"dir {folder}",
                f"sentinel monitor {NAME} {master.ip} 6379 2",
                f"sentinel down-after-milliseconds {NAME} {DOWN_AFTER_MS}",
                f"sentinel failover-timeout {NAME} {FAILOVER_TIMEOUT_MS}",
                f"sentinel parallel-syncs {NAME} 1"]) + "\n")
        process = node.spawn(node.label, ["redis-sentinel", path])
        self.addCleanup(process.stop, signal.SIGKILL)
        wait_until(lambda: redis(node, 26379, "PING") == "PONG", 10 * SLOW,
                   what=f"{node.label} answering")
        if INFO_PERIOD_MS:  # as the compose stack does (docker/redis/redis-node)
            redis(node, 26379, "SENTINEL", "DEBUG", "info-period", INFO_PERIOD_MS)

    def folder(self, node):
        import shutil
        import tempfile
        if not hasattr(self, "_folders"):
            self._folders = {}
        if node not in self._folders:
            self._folders[node] = tempfile.mkdtemp(prefix=f"redisapp-{node.label}-")
            self.addCleanup(shutil.rmtree, self._folders[node], True)
        return self._folders[node]

    def master_node(self):
        ip = redis(self.sentinels[0], 26379, "SENTINEL", "get-master-addr-by-name", NAME)[0]
        return next(n for n in self.data if n.ip == ip)

    def settled(self):
        """The Sentinels agree on one master, which says it is one with both replicas online;
        every other data node replicates from it with its link up; every Sentinel sees the
        master and both replicas healthy, knows the other two and has no failover running."""
        try:
            names = {redis(s, 26379, "SENTINEL", "get-master-addr-by-name", NAME)[0]
                     for s in self.sentinels}
            if len(names) != 1:
                return False
            ip = names.pop()
            master = next(n for n in self.data if n.ip == ip)
            role = redis(master, 6379, "ROLE")
            if role[0] != "master" or len(role[2]) != len(self.data) - 1:
                return False
            for node in self.data:
                if node is master:
                    continue
                info = redis(node, 6379, "INFO", "replication")
                if (f"master_host:{ip}" not in info or "master_link_status:up" not in info):
                    return False
            for s in self.sentinels:
                redis(s, 26379, "SENTINEL", "CKQUORUM", NAME)
                if fields(redis(s, 26379, "SENTINEL", "master", NAME))["flags"] != "master":
                    return False
                replicas = [fields(r) for r in redis(s, 26379, "SENTINEL", "replicas", NAME)]
                healthy = [r for r in replicas if r["flags"] == "slave"
                           and r["master-link-status"] == "ok" and r["master-host"] == ip
                           and r["role-reported"] == "slave"]
                if len(healthy) != len(self.data) - 1:
                    return False
                peers = [fields(p) for p in redis(s, 26379, "SENTINEL", "sentinels", NAME)]
                if len(peers) != 2 or any(p["flags"] != "sentinel" for p in peers):
                    return False
            return True
        except (OSError, RespError, StopIteration, IndexError, KeyError, TypeError):
            return False

    def settle(self, recorder):
        wait_until(self.settled, 90 * SLOW, interval=0.2, what="a settled state after the heal")
        moment = time.monotonic()
        for app in self.apps:  # both instances wait for both replicas, and answer pings again
            if DEFAULT_ACK:
                wait_until(lambda: app.acks() == 2, 30 * SLOW, interval=0.1,
                           what=f"{app.name} waiting for both replicas again")
            wait_until(lambda: recorder.saw_200_after(moment, app.name), 30 * SLOW,
                       interval=0.05, what=f"{app.name} answering 200 after the heal")

    # --- the scenarios -------------------------------------------------------------------

    def scenarios(self):
        net, s = self.net, self.sentinels
        a1, a2 = self.app_nodes

        def split(with_app):
            master = self.master_node()
            replica, other = [n for n in self.data if n is not master]
            minority = [master, replica, a1]
            majority = [other, *s, a2]
            net.partition(minority, majority)
            time.sleep(HOLD_S)
            if with_app:   # the app instance rejoins first, its master and replica later
                net.partition([master, replica], majority)
            else:          # the Redis nodes rejoin first, the app instance later
                net.partition([a1], [other, *s, a2])
            time.sleep(HOLD_S / 2)

        def master_alone():
            master = self.master_node()
            net.partition([master], [n for n in net.nodes if n is not master])
            time.sleep(HOLD_S)

        def apps_from_sentinels():
            net.cut_links([(a, sentinel) for a in self.app_nodes for sentinel in s])
            time.sleep(HOLD_S)
            # no Sentinel majority to ask: the number is kept, never lowered
            if DEFAULT_ACK:
                self.assertEqual([app.acks() for app in self.apps], [2, 2])

        def flapping():
            master = self.master_node()
            end = time.monotonic() + 10
            while time.monotonic() < end:
                net.partition([master], [n for n in net.nodes if n is not master])
                time.sleep(1.5)
                net.heal()
                time.sleep(1.5)

        def replica_alone():
            master = self.master_node()
            replica = next(n for n in self.data if n is not master)
            net.partition([replica], [n for n in net.nodes if n is not replica])
            end = time.monotonic() + HOLD_S
            # every Sentinel sees it down and the master no longer hears from it: left out
            for app in self.apps if DEFAULT_ACK else ():
                wait_until(lambda: app.acks() == 1, HOLD_S * SLOW, interval=0.1,
                           what=f"{app.name} leaving the cut-off replica out")
            time.sleep(max(0.0, end - time.monotonic()))

        def sentinel_minority():
            net.partition([s[0]], [n for n in net.nodes if n is not s[0]])
            time.sleep(HOLD_S)

        def paused_master():
            master = self.master_node()
            self.redis[master].send(signal.SIGSTOP)
            time.sleep(HOLD_S)
            self.redis[master].send(signal.SIGCONT)

        def killed_master():
            master = self.master_node()
            self.redis[master].stop(signal.SIGKILL)
            time.sleep(HOLD_S)
            self.start_redis(master, None)  # comes back empty, as a master

        return [
            ("master alone cut off", master_alone),
            ("master+replica+app1 cut off, Redis healed first", lambda: split(False)),
            ("master+replica+app1 cut off, app healed first", lambda: split(True)),
            ("app instances cut off from the Sentinels", apps_from_sentinels),
            ("master cut and healed every 1.5 s for 10 s", flapping),
            ("a replica cut off alone", replica_alone),
            ("one Sentinel cut off", sentinel_minority),
            ("master paused (SIGSTOP)", paused_master),
            ("master killed (SIGKILL), restarted empty", killed_master),
        ]

    def test_no_acknowledged_increment_is_lost(self):
        recorder = Recorder(self.apps)
        self.addCleanup(recorder.stop)
        self.addCleanup(self.net.heal)
        time.sleep(1)
        rows = []
        only = [w for w in os.environ.get("PARTITION_SCENARIOS", "").split(",") if w]
        for name, fault in self.scenarios():
            if only and not any(w in name for w in only):
                continue
            fault_at = time.monotonic()
            if os.environ.get("PARTITION_VERBOSE"):
                print(f"\n{time.strftime('%H:%M:%S')} {name}", flush=True)
            fault()
            self.net.heal()
            healed_at = time.monotonic()
            if os.environ.get("PARTITION_VERBOSE"):
                print(f"{time.strftime('%H:%M:%S')} healed", flush=True)
            self.settle(recorder)
            rows.append((name, fault_at, healed_at, time.monotonic()))
        time.sleep(0.5)
        recorder.stop()
        records = sorted(recorder.snapshot(), key=lambda r: r[2])
        print("\n" + self.table(records, rows), flush=True)
        if os.environ.get("PARTITION_VERBOSE"):
            for app in self.apps:
                print(f"--- {app.name} stderr\n{app.process.stderr()}", flush=True)
        self.check(records)

    def table(self, records, rows):
        lines = [f"    {'scenario':<50} {'acked':>6} {'503s':>5} {'longest outage':>15} "
                 f"{'200 after heal':>15}"]
        for name, fault_at, healed_at, settled_at in rows:
            window = [r for r in records if fault_at <= r[2] < settled_at]
            ok_ends = sorted(r[3] for r in window if r[4] == 200)
            marks = [fault_at] + ok_ends + [settled_at]
            longest = max(b - a for a, b in zip(marks, marks[1:]))
            after = [r[3] for r in window if r[4] == 200 and r[2] >= healed_at]
            back = f"{min(after) - healed_at:.2f} s" if after else "-"
            lines.append(f"    {name:<50} {len(ok_ends):>6} "
                         f"{sum(1 for r in window if r[4] == 503):>5} {longest:>13.2f} s "
                         f"{back:>15}")
        return "\n".join(lines)

    def check(self, records):
        failed = [r for r in records if r[4] is None]
        self.assertEqual(failed[:5], [], f"{len(failed)} requests failed (client timeout)")
        odd = [r for r in records if r[4] not in (200, 503)]
        self.assertEqual(odd[:5], [], "answers other than 200 and 503")
        slow = [r for r in records if r[3] - r[2] > DEADLINE_S]
        self.assertEqual([(r[1], r[4], round(r[3] - r[2], 2)) for r in slow[:5]], [],
                         f"{len(slow)} answers over the {DEADLINE_S:.1f} s deadline")
        values = [int(r[5]) for r in records if r[4] == 200]
        seen, twice = {}, []
        for r in records:
            if r[4] == 200:
                if int(r[5]) in seen:
                    twice.append((int(r[5]), seen[int(r[5])], r[1]))
                seen[int(r[5])] = r[1]
        self.assertEqual(twice[:10], [],
                         f"{len(twice)} values acknowledged twice (value, first, second instance)")
        for client in {r[0] for r in records}:
            mine = [int(r[5]) for r in records if r[0] == client and r[4] == 200]
            back = [(a, b) for a, b in zip(mine, mine[1:]) if a >= b]
            self.assertEqual(back[:5], [], f"client {client} saw values go backwards")
        final = int(redis(self.master_node(), 6379, "GET", "count"))
        self.assertGreaterEqual(final, max(values), "the final count lost acknowledged values")
        for app in self.apps:
            status = app.process.stop(signal.SIGTERM, 20 * SLOW)
            err = app.process.stderr()
            for marker in ("AddressSanitizer", "runtime error", "LeakSanitizer"):
                self.assertNotIn(marker, err)
            self.assertEqual(status, 0, f"{app.name} exit status {status}:\n{err[-3000:]}")
        print(f"    {len(values)} values acknowledged, none twice; final count {final}",
              flush=True)


if __name__ == "__main__":
    unittest.main()
