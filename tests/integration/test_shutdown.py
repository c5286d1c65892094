"""SIGTERM and SIGINT: /readyz turns 503, requests in flight finish, the process exits 0; behind
a real HAProxy no client request fails while an instance drains."""

import concurrent.futures
import signal
import threading

from harness import (SLOW, HAProxy, KeepAliveClient, RedisServer, ServerTestCase, request,
                     wait_until)


# what a ping sends Redis in direct mode
INCR = b"*2\r\n$4\r\nINCR\r\n$5\r\ncount\r\n"


class ShutdownTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.redis = RedisServer(self)

    def in_flight(self, server, pings):
        """Sends `pings` GET / to a server whose Redis is paused; returns their futures once
        their INCRs wait, unread, in Redis's socket (the pings are then in flight)."""
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=pings)
        self.addCleanup(pool.shutdown)
        futures = [pool.submit(server.get, "/", timeout=60 * SLOW) for _ in range(pings)]
        wait_until(lambda: self.redis.unread_bytes() >= pings * len(INCR), 10 * SLOW,
                   what=f"{pings} INCRs waiting in the paused Redis")
        return futures

    def sigterm(self, server):
        """SIGTERM, then waits until the server drains: its answers (here /healthz, which never
        asks Redis) carry Connection: close."""
        server.process.send(signal.SIGTERM)
        wait_until(lambda: server.get("/healthz").headers.get("connection") == "close",
                   10 * SLOW, what="the server to drain after SIGTERM")

    def test_sigterm_answers_requests_in_flight_then_exits_0(self):
        # No deadline can cut this test's requests short: Redis's and the drain's are far
        # beyond the time this test keeps Redis paused, even on a busy machine. A 503 can
        # only come from a drain that drops its requests.
        server = self.app(self.redis.port, args=["--redis-timeout-ms", "60000",
                                                 "--shutdown-timeout-ms", "120000",
                                                 "--drain-quiet-ms", "1500"])
        wait_until(server.ready, 10 * SLOW, what="readiness")
        self.redis.pause()  # hold the requests in flight
        try:
            in_flight = self.in_flight(server, 8)
            self.sigterm(server)
            draining = server.get("/readyz")
            self.assertEqual(draining.status, 503)
            self.assertIn("shutting down", draining.text)
            self.assertEqual(server.get("/healthz").status, 200)  # still serving
        finally:
            self.redis.resume()
        answers = [f.result() for f in in_flight]
        self.assertEqual([a.status for a in answers], [200] * 8)
        self.assertEqual(sorted(int(a.text) for a in answers), list(range(1, 9)))
        self.assertEqual(server.process.wait(15 * SLOW), 0)
        server.assert_clean_exit()
        self.assertIn("shutdown: done", server.process.stderr())

    def test_sigint_and_idle_keepalive_connections(self):
        server = self.app(self.redis.port)
        idle = KeepAliveClient(server.port)
        self.assertEqual(idle.get("/healthz").status, 200)  # stays open, idle
        server.process.send(signal.SIGINT)
        self.assertEqual(server.process.wait(15 * SLOW), 0)
        server.assert_clean_exit()
        idle.close()

    def test_a_second_signal_stops_at_once(self):
        # Redis's deadline and the drain's are beyond the test: only the second signal can end
        # the waiting request
        server = self.app(self.redis.port, args=["--redis-timeout-ms", "60000",
                                                 "--shutdown-timeout-ms", "120000",
                                                 "--drain-quiet-ms", "120000"])
        wait_until(server.ready, 10 * SLOW, what="readiness")
        self.redis.pause()
        try:
            stuck, = self.in_flight(server, 1)
            self.sigterm(server)
            self.assertIsNone(server.process.wait(0.5))  # still draining
            self.assertFalse(stuck.done())
            server.process.send(signal.SIGTERM)
            self.assertEqual(server.process.wait(10 * SLOW), 0)
            self.assertEqual(stuck.result().status, 503)  # answered, not dropped
        finally:
            self.redis.resume()
        server.assert_clean_exit()


class HAProxyDrainTest(ServerTestCase):
    def test_no_request_fails_while_an_instance_drains_behind_haproxy(self):
        redis = RedisServer(self)
        first = self.app(redis.port, name="first", args=["--drain-quiet-ms", "1000"])
        second = self.app(redis.port, name="second", args=["--drain-quiet-ms", "1000"])
        wait_until(lambda: first.ready() and second.ready(), 10, what="both ready")
        proxy = HAProxy(self, [first.port, second.port])

        def both_in_rotation():
            names = {request(proxy.port, "/query/").text.split(",")[0] for _ in range(6)}
            return names == {"hello world from first", "hello world from second"}

        wait_until(both_in_rotation, 15 * SLOW, what="both instances behind haproxy")

        results = []
        failures = []
        stop = threading.Event()

        def client():
            conn = KeepAliveClient(proxy.port)
            while not stop.is_set():
                try:
                    answer = conn.get("/")
                    results.append((answer.status, answer.text))
                except OSError as err:
                    failures.append(repr(err))
            conn.close()

        threads = [threading.Thread(target=client) for _ in range(6)]
        for t in threads:
            t.start()
        try:
            # answers flow before the signal, and go on after the first instance has gone
            wait_until(lambda: len(results) >= 100, 30 * SLOW, what="100 answers before")
            first.process.send(signal.SIGTERM)
            status = first.process.wait(20 * SLOW)
            at_exit = len(results)
            wait_until(lambda: len(results) >= at_exit + 100, 30 * SLOW,
                       what="100 answers after the first instance exited")
        finally:
            stop.set()
        for t in threads:
            t.join(30)

        self.assertEqual(status, 0, first.process.stderr())
        first.assert_clean_exit()
        self.assertEqual(failures, [])
        bad = [r for r in results if r[0] != 200]
        self.assertEqual(bad, [], f"{len(bad)} of {len(results)} answers were not 200")
        values = [int(text) for _, text in results]
        self.assertEqual(len(values), len(set(values)))  # no value shown twice
        self.assertEqual(int(redis.call("GET", "count")), len(values))  # none lost or extra
        self.assertGreaterEqual(len(values), 200)
        print(f"\n    drain behind haproxy: {len(values)} requests, 0 failed; "
              f"first instance exited 0", flush=True)
