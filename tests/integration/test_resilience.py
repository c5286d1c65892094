"""Redis down, hung or restarted: answers stay prompt (503 within the timeout), liveness stays
200, and the server recovers by itself."""

import concurrent.futures
import time

from harness import SLOW, RedisServer, ServerTestCase, free_port, wait_until

TIMEOUT_MS = 300
# A request may wait for Redis at most the timeout; allow for scheduling (and sanitizers).
DEADLINE_S = TIMEOUT_MS / 1000 + 1.0 * SLOW


class ResilienceTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.redis = RedisServer(self)
        self.server = self.app(self.redis.port, args=["--redis-timeout-ms", str(TIMEOUT_MS)])
        wait_until(self.server.ready, 10, what="readiness")

    def recovered(self):
        return all(self.server.get("/").status == 200 for _ in range(8))

    def test_paused_redis_gives_prompt_503_and_liveness_stays_up(self):
        self.redis.pause()  # like `docker pause`: TCP stays up, nothing answers
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
                answers = list(pool.map(lambda _: self.server.get("/"), range(32)))
            for answer in answers:
                self.assertEqual(answer.status, 503, answer.text)
                self.assertLess(answer.elapsed, DEADLINE_S)
                self.assertEqual(answer.headers.get("retry-after"), "1")
            health = self.server.get("/healthz")
            self.assertEqual(health.status, 200)
            self.assertLess(health.elapsed, DEADLINE_S)
            ready = self.server.get("/readyz")
            self.assertEqual(ready.status, 503)
            self.assertLess(ready.elapsed, DEADLINE_S)
        finally:
            self.redis.resume()
        wait_until(self.recovered, 10 * SLOW, what="recovery after the pause")
        self.assertEqual(self.server.get("/readyz").status, 200)

    def test_no_request_hangs_while_redis_stays_paused(self):
        self.redis.pause()
        try:
            worst = 0.0
            end = time.monotonic() + 3
            while time.monotonic() < end:
                answer = self.server.get("/")
                self.assertEqual(answer.status, 503)
                worst = max(worst, answer.elapsed)
            self.assertLess(worst, DEADLINE_S)
        finally:
            self.redis.resume()
        wait_until(self.recovered, 10 * SLOW, what="recovery after a long pause")

    def test_recovers_after_a_redis_restart(self):
        self.redis.call("SET", "count", 7)
        self.redis.kill()
        down = self.server.get("/")
        self.assertEqual(down.status, 503)
        self.assertLess(down.elapsed, DEADLINE_S)
        self.assertEqual(self.server.get("/healthz").status, 200)
        self.redis.start()  # same port, empty dataset
        wait_until(self.recovered, 10 * SLOW, what="recovery after a restart")

    def test_one_outage_is_logged_once_with_its_cause(self):
        self.redis.kill()
        for _ in range(30):
            self.server.get("/")
            time.sleep(0.02)
        self.redis.start()
        wait_until(self.recovered, 10 * SLOW, what="recovery")
        self.server.assert_clean_exit()
        err = self.server.process.stderr()
        self.assertEqual(err.count("Connection refused"), 1, err)
        self.assertIn("connected to", err)


class StartWithoutRedisTest(ServerTestCase):
    def test_starts_serves_503_then_recovers_when_redis_appears(self):
        port = free_port()
        server = self.app(port, args=["--redis-timeout-ms", str(TIMEOUT_MS)])
        self.assertEqual(server.get("/healthz").status, 200)
        answer = server.get("/")
        self.assertEqual(answer.status, 503)
        self.assertIn("Redis", answer.text)
        RedisServer(self, port=port)
        wait_until(lambda: all(server.get("/").status == 200 for _ in range(8)), 10 * SLOW,
                   what="recovery once Redis starts")

    def test_unresolvable_redis_host_is_logged_not_fatal(self):
        server = self.app(args=["--redis", "no-such-host.invalid:6379",
                                "--redis-timeout-ms", str(TIMEOUT_MS)])
        self.assertEqual(server.get("/").status, 503)
        self.assertEqual(server.get("/healthz").status, 200)
        wait_until(lambda: "cannot resolve 'no-such-host.invalid'" in server.process.stderr(),
                   10, what="the resolver error in the log")


class OrphanTest(ServerTestCase):
    def test_connection_closed_while_its_command_waits(self):
        # the idle timeout (1 s) cuts the connection while Redis (paused) holds the command
        redis = RedisServer(self)
        server = self.app(redis.port, args=["--redis-timeout-ms", "3000", "--idle-timeout-s", "1",
                                            "--threads", "1"])
        wait_until(server.ready, 10, what="readiness")
        redis.pause()
        try:
            import socket
            sockets = []
            for _ in range(5):
                s = socket.create_connection(("127.0.0.1", server.port), 5)
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                sockets.append(s)
            for s in sockets:
                s.settimeout(10)
                self.assertEqual(s.recv(100), b"")  # closed by the server, no answer
                s.close()
        finally:
            redis.resume()
        # the commands complete after their connections are gone; the server carries on
        wait_until(lambda: server.get("/").status == 200, 10 * SLOW, what="service afterwards")
        server.assert_clean_exit()
        self.assertIn("idle-timeout", server.process.stdout())
