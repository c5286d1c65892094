"""SIGTERM and SIGINT: /readyz turns 503, requests in flight finish, the process exits 0; behind
a real HAProxy no client request fails while an instance drains."""

import concurrent.futures
import signal
import threading
import time

from harness import (SLOW, HAProxy, KeepAliveClient, RedisServer, ServerTestCase, request,
                     wait_until)


class ShutdownTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.redis = RedisServer(self)

    def test_sigterm_answers_requests_in_flight_then_exits_0(self):
        server = self.app(self.redis.port, args=["--redis-timeout-ms", "3000",
                                                 "--drain-quiet-ms", "1500"])
        wait_until(server.ready, 10, what="readiness")
        self.redis.pause()  # hold the requests in flight
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            in_flight = [pool.submit(server.get, "/") for _ in range(8)]
            time.sleep(0.3)
            server.process.send(signal.SIGTERM)
            time.sleep(0.2)
            draining = server.get("/readyz")
            self.assertEqual(draining.status, 503)
            self.assertIn("shutting down", draining.text)
            self.assertEqual(server.get("/healthz").status, 200)  # still serving
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
        server = self.app(self.redis.port, args=["--redis-timeout-ms", "5000",
                                                 "--shutdown-timeout-ms", "60000",
                                                 "--drain-quiet-ms", "60000"])
        wait_until(server.ready, 10, what="readiness")
        self.redis.pause()
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            stuck = pool.submit(server.get, "/")
            time.sleep(0.3)
            server.process.send(signal.SIGTERM)
            time.sleep(0.3)
            self.assertIsNone(server.process.wait(0.5))  # still draining
            server.process.send(signal.SIGTERM)
            self.assertEqual(server.process.wait(10 * SLOW), 0)
            self.assertEqual(stuck.result().status, 503)  # answered, not dropped
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
        time.sleep(1.0)
        first.process.send(signal.SIGTERM)
        status = first.process.wait(20 * SLOW)
        time.sleep(0.5)
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
        self.assertGreater(len(values), 200)
        print(f"\n    drain behind haproxy: {len(values)} requests, 0 failed; "
              f"first instance exited 0", flush=True)
