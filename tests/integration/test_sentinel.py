"""Sentinel mode against a real master, two replicas and three Sentinels on loopback (down-after
1 s): clients record every answer while masters are paused, failed over on command, killed; the
values they were shown must strictly increase, every answer must be a 200 or a prompt 503, and
the server must follow each failover without a restart. Also: Sentinel problems (first one down,
a stale one, wrong master name, wrong passwords) give distinct clear errors."""

import concurrent.futures
import json
import re
import signal
import socket
import threading
import time

from harness import (SLOW, KeepAliveClient, RedisClient, RedisServer, SentinelCluster,
                     ServerTestCase, free_port, request, wait_until)

TIMEOUT_MS = 500
DOWN_AFTER_S = 1.0  # SentinelCluster's down-after-milliseconds
LOCATOR_CHECK_INTERVAL_S = 1.0  # app/sentinel.c CHECK_INTERVAL_MS: the routine discovery
# the longest a ping may take: its INCR and the batch's WAIT, each bounded by the timeout
DEADLINE_S = 2 * TIMEOUT_MS / 1000 + 1.0 * SLOW


def master_in_use(server):
    """The master address the server uses now, per /api/status (None while none is known)."""
    master = json.loads(server.get("/api/status").text)["redis"]["master"]
    return master["address"] if master else None


class MasterMonitor:
    """MONITOR on a Redis node, keeping the times (the server's clock) at which a client sent
    ROLE and then INFO replication: the locator's discoveries, when the node is the master."""

    LINE = re.compile(r'^\+(\d+\.\d+) \[\d+ ([^\]]+)\] "(\w+)"(?: "(\w+)")?')

    def __init__(self, testcase, port):
        self.client = RedisClient(port, timeout=1.0)
        self.client.call("MONITOR")
        self.lock = threading.Lock()
        self.role_at = {}  # client address -> time of its last ROLE
        self.discoveries = []
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        testcase.addCleanup(self.stop)

    def _run(self):
        while not self.stop_flag.is_set():
            try:
                line = self.client._line().decode("utf-8", "replace")
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            match = self.LINE.match(line)
            if match is None:
                continue
            when, client, command, argument = match.groups()
            command = command.upper()
            if command == "ROLE":
                self.role_at[client] = float(when)
            elif command == "INFO" and (argument or "").lower() == "replication" \
                    and client in self.role_at:
                with self.lock:
                    self.discoveries.append(self.role_at.pop(client))

    def count(self):
        with self.lock:
            return len(self.discoveries)

    def times(self):
        with self.lock:
            return list(self.discoveries)

    def stop(self):
        self.stop_flag.set()
        self.thread.join(5)
        self.client.close()


class Recorder:
    """Clients that send GET / one after another and record every answer."""

    def __init__(self, port, clients=2):
        self.port = port
        self.records = [[] for _ in range(clients)]  # per client: (start, end, status, value)
        self.errors = []
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(clients)]
        for t in self.threads:
            t.start()

    def _run(self, index):
        client = KeepAliveClient(self.port, timeout=10)
        while not self.stop_flag.is_set():
            start = time.monotonic()
            try:
                answer = client.get("/")
            except OSError as err:
                self.errors.append(repr(err))
                continue
            value = int(answer.text) if answer.status == 200 else None
            self.records[index].append((start, time.monotonic(), answer.status, value))
            if answer.status != 200:
                time.sleep(0.01)
        client.close()

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(30)

    def wait_successes(self, since, count, what):
        """Waits until every client got `count` 200s for requests sent at or after `since`
        (a time.monotonic() value)."""
        def each_got():
            return all(sum(1 for start, _, status, _ in list(records)
                           if status == 200 and start >= since) >= count
                       for records in self.records)
        wait_until(each_got, 30 * SLOW, what=what)

    def first_success_after(self, moment):
        ends = [end for records in self.records for start, end, status, _ in records
                if status == 200 and start >= moment]
        return min(ends) if ends else None

    def check(self, testcase):
        """Every answer 200 or a prompt 503; each client's values strictly increase."""
        testcase.assertEqual(self.errors, [])
        shown = []
        for records in self.records:
            values = [v for _, _, status, v in records if status == 200]
            testcase.assertEqual(values, sorted(set(values)), "values went backwards or repeated")
            shown += values
            for start, end, status, _ in records:
                testcase.assertIn(status, (200, 503))
                testcase.assertLess(end - start, DEADLINE_S, f"an answer took {end - start:.2f}s")
        testcase.assertEqual(len(shown), len(set(shown)), "a value was shown twice")
        testcase.assertGreater(len(shown), 0)
        return max(shown)

    def summary(self):
        all_records = [r for records in self.records for r in records]
        ok = sum(1 for r in all_records if r[2] == 200)
        return f"{ok} x 200, {len(all_records) - ok} x 503"


class SentinelFailoverTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.cluster = SentinelCluster(self)
        self.server = self.app(None, args=self.cluster.sentinel_args() +
                               ["--redis-timeout-ms", str(TIMEOUT_MS)])
        wait_until(self.server.ready, 10 * SLOW, what="readiness")

    def status(self):
        return json.loads(self.server.get("/api/status").text)

    def recorder(self):
        recorder = Recorder(self.server.port)
        self.addCleanup(recorder.stop)
        return recorder

    def follow(self, fault, name):
        """Runs `fault` under load. Prints the seconds from the fault to the first successful
        write on the new master; returns the old and new master ports."""
        old = self.cluster.master_port()
        recorder = self.recorder()
        recorder.wait_successes(0, 5, "5 answers to each client before the fault")
        fault_at = time.monotonic()
        fault(old)
        switched_at = None
        while switched_at is None:  # the moment this server uses the new master
            self.assertLess(time.monotonic() - fault_at, 30 * SLOW, "no failover followed")
            in_use = master_in_use(self.server)
            if in_use is not None and in_use != f"127.0.0.1:{old}":
                switched_at = time.monotonic()
            time.sleep(0.02)
        new = self.cluster.wait_failover(old)
        self.assertEqual(master_in_use(self.server), f"127.0.0.1:{new}")
        wait_until(lambda: recorder.first_success_after(switched_at), 10 * SLOW,
                   what="a successful write after the failover")
        recorder.wait_successes(switched_at, 5, "5 answers to each client after the failover")
        recorder.stop()
        highest = recorder.check(self)
        follow_s = recorder.first_success_after(switched_at) - fault_at
        # nothing shown was lost: the new master's counter is at least every value shown
        self.assertGreaterEqual(int(self.cluster.nodes[new].call("GET", "count")), highest)
        print(f"\n    {name}: first successful write {follow_s:.2f} s after the fault "
              f"({recorder.summary()})", flush=True)
        return old, new

    def test_paused_master(self):
        def pause(old):
            self.cluster.nodes[old].pause()  # like docker pause: TCP up, no answers

        old, new = self.follow(pause, "paused master (SIGSTOP)")
        # resumed, the old master still says "master" for a while: nothing it accepts may show
        recorder = self.recorder()
        self.cluster.nodes[old].resume()
        self.cluster.wait_replica(old)
        recorder.wait_successes(time.monotonic(), 5, "5 answers to each client after the rejoin")
        recorder.stop()
        highest = recorder.check(self)
        self.assertGreaterEqual(int(self.cluster.nodes[new].call("GET", "count")), highest)
        status = self.status()
        self.assertGreaterEqual(status["redis"]["failovers_followed"], 1)
        self.assertEqual(status["redis"]["master"]["address"], f"127.0.0.1:{new}")
        self.assertTrue(self.server.process.running())  # followed without a restart

    def test_sentinel_failover_command(self):
        def command(old):
            self.cluster.sentinel_call(self.cluster.sentinel_ports[0], "SENTINEL", "FAILOVER",
                                       "mymaster")

        old, new = self.follow(command, "SENTINEL FAILOVER")
        self.cluster.wait_replica(old)

    def test_killed_master_then_restarted(self):
        def kill(old):
            self.cluster.nodes[old].kill()

        old, new = self.follow(kill, "killed master (SIGKILL)")
        self.cluster.nodes[old].start()  # comes back empty: Sentinel must demote it
        recorder = self.recorder()
        self.cluster.wait_replica(old)
        recorder.wait_successes(time.monotonic(), 5, "5 answers to each client after the rejoin")
        recorder.stop()
        highest = recorder.check(self)
        current = self.cluster.master_port()
        self.assertGreaterEqual(int(self.cluster.nodes[current].call("GET", "count")), highest,
                                f"old {old}, new {new}, now {current}\n"
                                + self.server.process.stderr())

    def test_two_failovers_in_a_row(self):
        first_old, first_new = self.follow(lambda old: self.cluster.nodes[old].pause(),
                                           "first of two failovers (pause)")
        self.cluster.nodes[first_old].resume()
        self.cluster.wait_replica(first_old)
        self.follow(lambda old: self.cluster.nodes[old].kill(), "second of two failovers (kill)")
        self.assertGreaterEqual(self.status()["redis"]["failovers_followed"], 2)


class SentinelDiscoveryTest(ServerTestCase):
    def test_first_sentinel_down_and_list_refresh(self):
        cluster = SentinelCluster(self)
        first = cluster.sentinel_ports[0]
        cluster.sentinels[first].stop(signal.SIGKILL)
        server = self.app(None, args=cluster.sentinel_args() + ["--redis-timeout-ms", "500"])
        wait_until(server.ready, 10 * SLOW, what="readiness through the second Sentinel")
        self.assertEqual(server.get("/").status, 200)

    def test_a_single_configured_sentinel_is_enough_once_others_are_learned(self):
        cluster = SentinelCluster(self)
        only = cluster.sentinel_ports[0]
        server = self.app(None, args=["--sentinels", f"127.0.0.1:{only}",
                                      "--redis-timeout-ms", "500"])
        wait_until(server.ready, 10 * SLOW, what="readiness")
        wait_until(lambda: server.process.stderr().count("learned Sentinel") == 2, 10 * SLOW,
                   what="the other Sentinels learned")
        cluster.sentinels[only].stop(signal.SIGKILL)
        old = cluster.master_port()
        cluster.nodes[old].kill()
        new = cluster.wait_failover(old)
        wait_until(lambda: master_in_use(server) == f"127.0.0.1:{new}", 15 * SLOW,
                   what="following a failover through learned Sentinels")
        wait_until(lambda: server.get("/").status == 200, 10 * SLOW, what="writes again")

    def test_stale_sentinel_first_in_the_list(self):
        cluster = SentinelCluster(self)
        replica = [p for p in cluster.nodes if p != cluster.master_port()][0]
        # a throwaway Sentinel that believes a replica is the master, first in the list
        stale = free_port()
        cluster.start_sentinel(stale, replica, 60000)
        server = self.app(None, args=["--sentinels", f"127.0.0.1:{stale},"
                                      + ",".join(f"127.0.0.1:{p}" for p in cluster.sentinel_ports),
                                      "--redis-timeout-ms", "500"])
        wait_until(server.ready, 10 * SLOW, what="readiness despite the stale Sentinel")
        self.assertEqual(master_in_use(server), f"127.0.0.1:{cluster.master_port()}")
        self.assertEqual(server.get("/").status, 200)

    def test_wrong_master_name_is_named(self):
        cluster = SentinelCluster(self)
        server = self.app(None, args=cluster.sentinel_args() + ["--master-name", "nosuch"])
        answer = server.get("/")
        self.assertEqual(answer.status, 503)
        self.assertLess(answer.elapsed, DEADLINE_S)
        wait_until(lambda: "no Sentinel knows master 'nosuch'" in server.process.stderr(), 10,
                   what="the unknown-name error")
        self.assertEqual(server.get("/healthz").status, 200)

    def test_no_sentinel_reachable_then_one_returns(self):
        ports = [free_port(), free_port()]
        server = self.app(None, args=["--sentinels", ",".join(f"127.0.0.1:{p}" for p in ports),
                                      "--redis-timeout-ms", "500"])
        answer = server.get("/")
        self.assertEqual(answer.status, 503)
        self.assertLess(answer.elapsed, DEADLINE_S)
        wait_until(lambda: "no Sentinel reachable for master 'mymaster'" in
                   server.process.stderr(), 10, what="the unreachable error")
        self.assertTrue(server.process.running())

    def test_passwords_wrong_and_right(self):
        cluster = SentinelCluster(self, password="data-pw", sentinel_password="sentinel-pw")
        base = cluster.sentinel_args() + ["--redis-timeout-ms", "500"]
        no_sentinel_pw = self.app(None, args=base, env={"REDIS_PASSWORD": "data-pw"}, name="a")
        wrong_sentinel_pw = self.app(None, args=base, env={
            "REDIS_PASSWORD": "data-pw", "REDIS_SENTINEL_PASSWORD": "nope"}, name="b")
        wrong_data_pw = self.app(None, args=base, env={
            "REDIS_PASSWORD": "nope", "REDIS_SENTINEL_PASSWORD": "sentinel-pw"}, name="c")
        right = self.app(None, args=base, env={
            "REDIS_PASSWORD": "data-pw", "REDIS_SENTINEL_PASSWORD": "sentinel-pw"}, name="d")
        wait_until(right.ready, 10 * SLOW, what="readiness with both passwords")
        self.assertEqual(right.get("/").status, 200)
        for server, message in (
                (no_sentinel_pw, "requires a password: set --sentinel-password"),
                (wrong_sentinel_pw, "refused the password (WRONGPASS): check --sentinel-password"),
                (wrong_data_pw, "refused the password (WRONGPASS): check --redis-password")):
            self.assertEqual(server.get("/").status, 503)
            wait_until(lambda: message in server.process.stderr(), 10, what=message)

    def test_redis_and_sentinels_together_is_a_config_error(self):
        import subprocess
        from harness import BINARY
        run = subprocess.run([BINARY, "--redis", "127.0.0.1:6379", "--sentinels",
                              "127.0.0.1:26379"], capture_output=True, text=True, timeout=10)
        self.assertEqual(run.returncode, 2)
        self.assertIn("--redis and --sentinels are both set", run.stderr)


class DurabilityTest(ServerTestCase):
    def test_pings_fail_while_no_replica_acknowledges(self):
        cluster = SentinelCluster(self, sentinels=1)
        server = self.app(None, args=cluster.sentinel_args() + ["--redis-timeout-ms", "500"])
        wait_until(lambda: server.get("/").status == 200, 10 * SLOW, what="a first ping")
        replicas = [p for p in cluster.nodes if p != cluster.master_port()]
        for port in replicas:
            cluster.nodes[port].pause()
        try:
            answers = [server.get("/") for _ in range(5)]
        finally:
            for port in replicas:
                cluster.nodes[port].resume()
        for answer in answers:
            self.assertEqual(answer.status, 503, answer.text)  # never a number WAIT did not see
            self.assertLess(answer.elapsed, DEADLINE_S)
        wait_until(lambda: server.get("/").status == 200, 20 * SLOW,
                   what="writes once replicas acknowledge again")
        self.assertIn("replicas acknowledged", server.process.stderr())

    def test_parallel_durable_pings_are_confirmed_in_batches(self):
        master = RedisServer(self)
        replica = RedisServer(self, replica_of=master.port)
        # after a full sync the master streams writes to the replica (and WAITs can succeed) only
        # once the replica's first periodic ACK came, up to a second after its link is up
        def replica_acknowledges():
            with RedisClient(master.port) as client:
                client.call("SET", "warm-up", "1")
                return client.call("WAIT", "1", "100") == 1

        wait_until(replica_acknowledges, 10, what="the replica acknowledging writes")
        # a deadline no WAIT comes near, even on a busy machine: this test is about batching
        server = self.app(master.port, args=["--min-replicas-ack", "1", "--threads", "2",
                                             "--redis-timeout-ms", "20000"])
        wait_until(server.ready, 10, what="readiness")
        master.call("SET", "count", 1000)
        master.call("CONFIG", "RESETSTAT")

        def ping(_):
            return server.get("/")

        with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
            answers = list(pool.map(ping, range(800)))
        self.assertEqual([(a.status, a.text) for a in answers if a.status != 200], [],
                         server.process.stderr()[-2000:])
        self.assertEqual(sorted(int(a.text) for a in answers), list(range(1001, 1801)))
        self.assertEqual(master.call("GET", "count"), "1800")
        wait_until(lambda: replica.call("GET", "count") == "1800", 5, what="replication")

        def calls(command):
            stats = master.call("INFO", "commandstats")
            line = [l for l in stats.splitlines() if l.startswith(f"cmdstat_{command}:")]
            return int(line[0].split("calls=")[1].split(",")[0]) if line else 0

        incrs, waits = calls("incr"), calls("wait")
        self.assertEqual(incrs, 800)
        # every INCR was confirmed by a WAIT sent after it, but not one WAIT each
        self.assertGreater(waits, 0)
        self.assertLess(waits, incrs)
        print(f"\n    800 durable pings from 64 clients: {waits} WAITs", flush=True)

    def test_regression_guard_never_shows_less_and_repairs_forward(self):
        redis = RedisServer(self)
        server = self.app(redis.port)
        wait_until(server.ready, 10, what="readiness")
        values = [int(server.get("/").text) for _ in range(5)]
        self.assertEqual(values, [1, 2, 3, 4, 5])
        redis.call("SET", "count", 2)  # Redis "lost" writes
        answer = server.get("/")
        self.assertEqual(answer.status, 503)  # 3 would go backwards: not shown
        wait_until(lambda: int(redis.call("GET", "count")) >= 5, 5, what="the repair")
        self.assertEqual(server.get("/").text, "6\n")
        self.assertIn("counter regression", server.process.stderr())


class ReadReplicaTest(ServerTestCase):
    def test_query_reads_from_a_replica(self):
        cluster = SentinelCluster(self)
        server = self.app(None, args=cluster.sentinel_args() + ["--read-from-replicas", "on",
                                                                "--threads", "1"])
        wait_until(lambda: json.loads(server.get("/api/status").text)["redis"]["read_replica"],
                   15 * SLOW, what="a replica for reads")
        replica = json.loads(server.get("/api/status").text)["redis"]["read_replica"]
        replica_port = int(replica["address"].split(":")[1])
        self.assertNotEqual(replica_port, cluster.master_port())
        cluster.master().call("SET", "redis_app", "from the master")
        wait_until(lambda: cluster.nodes[replica_port].call("GET", "redis_app"), 5,
                   what="replication")

        def gets_on_replica():
            stats = cluster.nodes[replica_port].call("INFO", "commandstats")
            line = [l for l in stats.splitlines() if l.startswith("cmdstat_get:")]
            return int(line[0].split("calls=")[1].split(",")[0]) if line else 0

        before = gets_on_replica()
        for _ in range(5):
            self.assertEqual(server.get("/query/").text,
                             "hello world from app, with value: from the master\n")
        self.assertGreaterEqual(gets_on_replica() - before, 5)

    def test_a_failed_read_replica_wakes_the_locator_at_once(self):
        """The read replica's connection failing reaches the locator, which looks again at once.

        Every discovery asks the master's ROLE (then its INFO replication) on the locator's own
        connection, so MONITOR on the master shows when each one ran. Without a report, the
        discovery after the replica's death comes from the routine check, at least
        LOCATOR_CHECK_INTERVAL_S after the previous one ended, or from Sentinel, at least
        down-after-milliseconds after the death; with it, at once (within the locator's 100 ms
        spacing of discoveries)."""
        cluster = SentinelCluster(self)
        server = self.app(None, args=cluster.sentinel_args() + ["--read-from-replicas", "on",
                                                                "--threads", "1"])

        def read_replica_port():
            replica = json.loads(server.get("/api/status").text)["redis"]["read_replica"]
            return int(replica["address"].split(":")[1]) if replica else None

        wait_until(read_replica_port, 15 * SLOW, what="a replica for reads")
        dead = read_replica_port()
        other = next(p for p in cluster.nodes if p not in (dead, cluster.master_port()))
        discoveries = MasterMonitor(self, cluster.master_port())
        # a discovery that runs after the worker's read connection is up: the next one is due
        # a full check interval later (no /api call from here on: it would ask ROLE too)
        wait_until(lambda: discoveries.count() >= 2, 10 * SLOW, what="two routine discoveries")
        seen = discoveries.count()
        wait_until(lambda: discoveries.count() > seen, 10 * SLOW, what="a routine discovery")
        last_before = discoveries.times()[-1]
        cluster.nodes[dead].kill()
        killed = time.time()
        wait_until(lambda: discoveries.count() > seen + 1, 10 * SLOW,
                   what="the discovery after the replica died")
        first_after = discoveries.times()[seen + 1]
        # without the report the gap is the interval (plus the discovery's own time): a margin of
        # a tenth of it keeps the two apart
        self.assertLess(first_after - last_before, 0.9 * LOCATOR_CHECK_INTERVAL_S,
                        f"the replica died {killed - last_before:.3f} s after a discovery; the "
                        f"next one came {first_after - killed:.3f} s after its death: the "
                        "routine check, not the failure report")
        self.assertLess(first_after - killed, DOWN_AFTER_S)  # not Sentinel's +sdown either
        wait_until(lambda: read_replica_port() == other, 10 * SLOW,
                   what="reads moving to the other replica")
