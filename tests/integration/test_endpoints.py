"""The tutorial endpoints against a real redis-server: bodies, exact counting, probes, logs."""

import concurrent.futures
import os
import shutil
import tempfile
import time

from harness import KeepAliveClient, RedisServer, ServerTestCase, raw_request, wait_until


class EndpointTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.redis = RedisServer(self)
        self.server = self.app(self.redis.port, name="web-1")
        wait_until(self.server.ready, 10, what="readiness")

    def test_ping_increments_and_returns_the_new_value(self):
        self.redis.call("SET", "count", 41)
        first = self.server.get("/")
        self.assertEqual(first.status, 200, first.text + self.server.process.stderr())
        self.assertEqual(first.text, "42\n")
        self.assertTrue(first.headers["content-type"].startswith("text/plain"))
        pong = self.server.get("/ping")
        self.assertEqual(pong.text, "43\n", self.server.process.stderr())
        self.assertEqual(self.redis.call("GET", "count"), "43")

    def test_query_says_when_the_key_is_missing_and_shows_it_when_set(self):
        for path in ("/query/", "/query"):
            missing = self.server.get(path)
            self.assertEqual(missing.status, 200)
            self.assertEqual(missing.text,
                             "hello world from web-1, with value: "
                             "(none: key redis_app is not set)\n")
        self.redis.call("SET", "redis_app", "tutorial value")
        shown = self.server.get("/query/")
        self.assertEqual(shown.text, "hello world from web-1, with value: tutorial value\n")

    def test_helloworld_sets_hi_and_shows_info_escaped(self):
        page = self.server.get("/helloworld")
        self.assertEqual(page.status, 200)
        self.assertTrue(page.headers["content-type"].startswith("text/html"))
        self.assertIn("<h1>HelloWorld-web-1</h1>", page.text)
        self.assertEqual(self.redis.call("GET", "Hi"), "HelloWorld-web-1")
        self.assertIn(f"tcp_port: {self.redis.port}\n", page.text)
        self.assertRegex(page.text, r"redis_version: \d+\.\d+\.\d+")

    def test_helloworld_escapes_what_info_reports(self):
        # INFO shows the config file path; put markup in it
        folder = tempfile.mkdtemp(prefix="cfg<b>&'")
        self.addCleanup(shutil.rmtree, folder, True)
        config = os.path.join(folder, "redis.conf")
        open(config, "w").close()
        redis = RedisServer(self, config_file=config)
        server = self.app(redis.port, name="web-2")
        wait_until(server.ready, 10, what="readiness")
        page = server.get("/helloworld").text
        self.assertIn("config_file: ", page)
        self.assertIn("cfg&lt;b&gt;&amp;&#39;", page)
        self.assertNotIn("<b>", page)

    def test_probes(self):
        self.assertEqual(self.server.get("/healthz").text, "ok\n")
        ready = self.server.get("/readyz")
        self.assertEqual((ready.status, ready.text), (200, "ready\n"))
        self.assertEqual(self.server.get("/healthz", method="HEAD").status, 200)

    def test_400_parallel_pings_move_the_counter_by_exactly_400(self):
        self.redis.call("SET", "count", 1000)

        def ping(_):
            return self.server.get("/").text

        with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
            values = list(pool.map(ping, range(400)))
        self.assertEqual(self.redis.call("GET", "count"), "1400")
        numbers = sorted(int(v) for v in values)
        self.assertEqual(numbers, list(range(1001, 1401)))  # each value shown exactly once

    def test_keep_alive_and_pipelined_requests(self):
        client = KeepAliveClient(self.server.port)
        values = [int(client.get("/").text) for _ in range(50)]
        self.assertEqual(values, list(range(values[0], values[0] + 50)))
        client.close()
        # three requests in one write: three answers, in order, on one connection
        data = b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                        for p in ("/healthz", "/query/", "/healthz"))
        import socket
        from harness import _read_response
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
            sock.sendall(data)
            rest = b""
            answers = []
            for _ in range(3):
                response, rest = _read_response(sock, rest, "GET")
                answers.append(response.text)
        self.assertEqual(answers[0], "ok\n")
        self.assertTrue(answers[1].startswith("hello world from web-1"))
        self.assertEqual(answers[2], "ok\n")

    def test_access_log_has_one_line_per_request(self):
        self.server.get("/ping")
        self.server.get("/nowhere")
        self.server.assert_clean_exit()  # flushes everything
        lines = self.server.process.stdout().splitlines()
        ping = [l for l in lines if '"GET /ping"' in l]
        missing = [l for l in lines if '"GET /nowhere"' in l]
        self.assertEqual(len(ping), 1, lines)
        self.assertEqual(len(missing), 1, lines)
        # time, instance, client, request, status, bytes, duration
        self.assertRegex(ping[0], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z web-1 127\.0\.0\.1 '
                                  r'"GET /ping" 200 \d+ \d+\.\d{3}ms$')
        self.assertRegex(missing[0], r' 404 ')
        self.assertNotIn('"GET', self.server.process.stderr())  # requests never on stderr


class PasswordTest(ServerTestCase):
    def test_password_from_env_and_from_file(self):
        redis = RedisServer(self, password="s3cret")
        server = self.app(redis.port, env={"REDIS_PASSWORD": "s3cret"})
        wait_until(server.ready, 10, what="readiness with a password")
        self.assertEqual(server.get("/").status, 200)
        server.assert_clean_exit()

        path = f"{redis.process.dir}/pw"
        with open(path, "w") as f:
            f.write("s3cret\n")
        from_file = self.app(redis.port, args=["--redis-password-file", path], name="b")
        wait_until(from_file.ready, 10, what="readiness with a password file")
        self.assertEqual(from_file.get("/").status, 200)

    def test_wrong_password_is_a_503_and_one_clear_log_line(self):
        redis = RedisServer(self, password="right")
        server = self.app(redis.port, env={"REDIS_PASSWORD": "wrong"},
                          args=["--redis-timeout-ms", "300"])
        for _ in range(20):
            answer = server.get("/")
            self.assertEqual(answer.status, 503)
            self.assertNotIn("WRONGPASS", answer.text)  # never shown raw to the client
            time.sleep(0.05)
        server.assert_clean_exit()
        err = server.process.stderr()
        self.assertEqual(err.count("Redis refused the password"), 1, err)

    def test_missing_password_is_named(self):
        redis = RedisServer(self, password="right")
        server = self.app(redis.port)
        wait_until(lambda: "requires a password" in server.process.stderr(), 10,
                   what="the NOAUTH explanation")
        self.assertEqual(server.get("/").status, 503)


class ConfigErrorTest(ServerTestCase):
    def test_bad_values_exit_2_naming_the_setting(self):
        import subprocess
        from harness import BINARY
        cases = [
            (["--port", "0"], {}, "--port / PORT"),
            ([], {"PORT": "http"}, "--port / PORT"),
            ([], {"REDIS_ADDR": "redis"}, "--redis / REDIS_ADDR"),
            ([], {"REDIS_TIMEOUT_MS": "0"}, "--redis-timeout-ms / REDIS_TIMEOUT_MS"),
            (["--threads", "-1"], {}, "--threads / THREADS"),
            ([], {"LOG_LEVEL": "loud"}, "--log-level / LOG_LEVEL"),
            (["--static-dir", "/nonexistent"], {}, "--static-dir / STATIC_DIR"),
            (["--nope"], {}, "unknown option '--nope'"),
        ]
        for args, env, message in cases:
            run = subprocess.run([BINARY] + args, env={"PATH": "/usr/bin:/bin", **env},
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(run.returncode, 2, (args, env, run.stderr))
            self.assertIn(message, run.stderr)
        version = subprocess.run([BINARY, "--version"], capture_output=True, text=True)
        self.assertEqual(version.returncode, 0)
        self.assertRegex(version.stdout, r"^redisapp \d+\.\d+\.\d+ \(libmicrohttpd 0\.9\.\d+, "
                                         r"hiredis 0\.14\.\d+, cJSON \d")
        helptext = subprocess.run([BINARY, "--help"], capture_output=True, text=True)
        self.assertEqual(helptext.returncode, 0)
        for setting in ("--port", "PORT", "--redis-timeout-ms", "REDIS_PASSWORD_FILE",
                        "INSTANCE_NAME", "--threads", "STATIC_DIR", "LOG_LEVEL"):
            self.assertIn(setting, helptext.stdout)

    def test_port_in_use_is_reported(self):
        import socket
        import subprocess
        from harness import BINARY
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            run = subprocess.run([BINARY, "--bind", "127.0.0.1", "--port", str(port)],
                                 capture_output=True, text=True, timeout=10)
        self.assertEqual(run.returncode, 1)
        self.assertIn("Address already in use", run.stderr)


class InstanceHeaderTest(ServerTestCase):
    def test_every_answer_names_the_instance(self):
        redis = RedisServer(self)
        server = self.app(redis.port, name="web-9")
        wait_until(server.ready, 10, what="readiness")
        for path in ("/", "/query/", "/healthz", "/nowhere", "/api/status", "/static/"):
            self.assertEqual(server.get(path).headers.get("x-instance"), "web-9", path)
