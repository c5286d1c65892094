"""The JSON API against a real redis-server: /api/status with its Redis-backed session, shared by
two instances; /api/messages with every bad input refused and nothing stored; /api/topology;
/metrics as Prometheus text whose counters move; the JSON access log."""

import json
import os
import re
import shutil
import subprocess
import time
import unittest

from harness import (RedisServer, ServerTestCase, KeepAliveClient, raw_request, request,
                     wait_until)

STATUS_FIELDS = {"status", "instance", "version", "redis", "counter", "session"}


def cookie_of(answer):
    """The sid cookie's value and attributes from Set-Cookie."""
    header = answer.headers["set-cookie"]
    parts = [p.strip() for p in header.split(";")]
    name, _, value = parts[0].partition("=")
    return value, {p.split("=")[0].lower(): (p.split("=", 1)[1] if "=" in p else True)
                   for p in parts[1:]}


class SessionTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.redis = RedisServer(self)
        self.a = self.app(self.redis.port, name="web-a", args=["--session-ttl-s", "300"])
        self.b = self.app(self.redis.port, name="web-b", args=["--session-ttl-s", "300"])
        wait_until(lambda: self.a.ready() and self.b.ready(), 10, what="readiness")

    def status(self, server, cookie=None):
        answer = server.get("/api/status", headers={"Cookie": cookie} if cookie else None)
        self.assertEqual(answer.status, 200, answer.text)
        self.assertEqual(answer.headers["content-type"], "application/json")
        return answer, json.loads(answer.text)

    def test_status_fields_and_a_new_session(self):
        self.redis.call("SET", "count", 41)
        answer, body = self.status(self.a)
        self.assertTrue(STATUS_FIELDS <= set(body), body)
        self.assertEqual(body["status"], "ok")
        self.assertEqual(body["instance"], "web-a")
        self.assertEqual(body["counter"], 41)
        self.assertEqual(body["redis"]["role"], "master")
        self.assertEqual(body["redis"]["master"]["address"], f"127.0.0.1:{self.redis.port}")
        self.assertEqual(body["session"], {"visits": 1, "new": True, "expires_in_s": 300})
        sid, attributes = cookie_of(answer)
        self.assertRegex(sid, r"^[0-9a-f]{32}$")
        self.assertIs(attributes["httponly"], True)
        self.assertEqual(attributes["samesite"], "Lax")
        self.assertEqual(attributes["path"], "/")
        self.assertEqual(attributes["max-age"], "300")
        ttl = self.redis.call("TTL", f"session:{sid}")
        self.assertTrue(290 <= ttl <= 300, ttl)

    def test_the_session_is_shared_by_two_instances_and_slides(self):
        answer, first = self.status(self.a)
        sid, _ = cookie_of(answer)
        self.redis.call("EXPIRE", f"session:{sid}", 100)
        answer, second = self.status(self.b, cookie=f"theme=dark; sid={sid}; other=1")
        self.assertEqual(second["instance"], "web-b")
        self.assertEqual(second["session"]["visits"], 2)
        self.assertFalse(second["session"]["new"])
        self.assertEqual(cookie_of(answer)[0], sid)  # the same session, cookie refreshed
        self.assertGreater(self.redis.call("TTL", f"session:{sid}"), 250)  # expiry slid
        _, third = self.status(self.a, cookie=f"sid={sid}")
        self.assertEqual(third["session"]["visits"], 3)

    def test_bad_or_unknown_cookies_start_a_new_session(self):
        for cookie in ("sid=not-hex", "sid=", "sid=" + "A" * 32, "sid=" + "0" * 31,
                       "sid=" + "0" * 33, "garbage;;;=", "sid=\x80"):
            answer, body = self.status(self.a, cookie=cookie)
            self.assertTrue(body["session"]["new"], cookie)
        # a control character is no field value at all: refused before any handler runs
        self.assertEqual(self.a.get("/api/status", headers={"Cookie": "sid=\x7f"}).status, 400)
        unknown = "0123456789abcdef" * 2  # well formed, never issued
        answer, body = self.status(self.a, cookie=f"sid={unknown}")
        self.assertTrue(body["session"]["new"])
        self.assertNotEqual(cookie_of(answer)[0], unknown)  # a client cannot pick its id
        self.assertEqual(self.redis.call("EXISTS", f"session:{unknown}"), 0)

    def test_status_when_redis_is_down(self):
        self.redis.kill()
        answer = self.a.get("/api/status")
        self.assertEqual(answer.status, 503)
        body = json.loads(answer.text)
        self.assertEqual(body["status"], "degraded")
        self.assertIn("error", body)
        self.assertEqual(body["instance"], "web-a")
        self.assertIsNone(body["session"])
        self.assertNotIn("set-cookie", answer.headers)


class MessagesTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.redis = RedisServer(self)
        self.server = self.app(self.redis.port, name="board")
        wait_until(self.server.ready, 10, what="readiness")

    def post(self, body, content_type="application/json"):
        headers = {"Content-Type": content_type} if content_type else {}
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.server.get("/api/messages", method="POST", headers=headers, body=data)

    def stored(self):
        return self.redis.call("XLEN", "messages")

    def test_post_then_list_newest_first(self):
        first = self.post({"name": "Ann", "text": "first <b>bold</b>"})
        self.assertEqual(first.status, 201, first.text)
        message = json.loads(first.text)
        self.assertEqual(message["name"], "Ann")
        self.assertEqual(message["text"], "first <b>bold</b>")
        self.assertEqual(message["instance"], "board")
        self.assertRegex(message["id"], r"^\d+-\d+$")
        self.assertRegex(message["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        second = json.loads(self.post({"name": "  Bob  ", "text": "line one\nline two",
                                       "extra": 1}).text)
        self.assertEqual(second["name"], "Bob")  # trimmed
        listing = self.server.get("/api/messages")
        self.assertEqual(listing.status, 200)
        body = json.loads(listing.text)
        self.assertEqual([m["name"] for m in body["messages"]], ["Bob", "Ann"])
        self.assertEqual(body["messages"][1], message)
        self.assertEqual(body["count"], 2)
        one = json.loads(self.server.get("/api/messages?limit=1").text)
        self.assertEqual([m["name"] for m in one["messages"]], ["Bob"])

    def test_unicode_lengths_count_characters(self):
        self.assertEqual(self.post({"name": "é" * 40, "text": "日本語" * 100}).status, 201)
        self.assertEqual(self.post({"name": "é" * 41, "text": "x"}).status, 400)
        self.assertEqual(self.post({"name": "x", "text": "€" * 501}).status, 400)

    def test_every_bad_input_is_refused_and_nothing_is_stored(self):
        cases = [
            (self.post({"name": "a", "text": "b"}, content_type=None), 415),
            (self.post({"name": "a", "text": "b"}, content_type="text/plain"), 415),
            (self.post({"name": "a", "text": "b"}, content_type="application/jsonx"), 415),
            (self.post(b'{"name": "a", "text": '), 400),
            (self.post(b'[1, 2]'), 400),
            (self.post(b''), 400),
            (self.post({"text": "no name"}), 400),
            (self.post({"name": "no text"}), 400),
            (self.post({"name": 7, "text": "b"}), 400),
            (self.post({"name": "a", "text": ["b"]}), 400),
            (self.post({"name": "   ", "text": "b"}), 400),
            (self.post({"name": "a" * 41, "text": "b"}), 400),
            (self.post({"name": "a", "text": "b" * 501}), 400),
            (self.post({"name": "a\tb", "text": "b"}), 400),
            (self.post({"name": "a", "text": "bell\x07"}), 400),
            (self.post(b'{"name": "\xff\xfe", "text": "b"}'), 400),
            (self.post(b'{"name": "\xc0\xaf", "text": "b"}'), 400),
            (self.post(b'{"name": "\\ud800", "text": "b"}'), 400),
            (self.post({"name": "a", "text": "x" * 5000}), 413),
            (self.server.get("/api/messages", method="PUT"), 405),
            (self.server.get("/api/messages", method="DELETE"), 405),
            (self.server.get("/api/messages?limit=0"), 400),
            (self.server.get("/api/messages?limit=101"), 400),
            (self.server.get("/api/messages?limit=ten"), 400),
            (self.server.get("/api/messages?limit="), 400),
        ]
        for answer, status in cases:
            self.assertEqual(answer.status, status, answer.text)
            self.assertEqual(answer.headers["content-type"], "application/json", answer.text)
            self.assertIn("error", json.loads(answer.text))
        self.assertEqual(self.stored(), 0)
        wrong_method = self.server.get("/api/messages", method="PUT")
        self.assertEqual(wrong_method.headers["allow"], "GET, HEAD, POST")

    def test_the_board_is_capped(self):
        payload = json.dumps({"name": "n", "text": "t"}).encode()
        for _ in range(1150):
            answer = raw_request(self.server.port,
                                 b"POST /api/messages HTTP/1.1\r\nHost: x\r\n"
                                 b"Content-Type: application/json\r\nContent-Length: "
                                 + str(len(payload)).encode() + b"\r\n\r\n" + payload)
            self.assertEqual(answer.status, 201)
        length = self.stored()
        self.assertTrue(1000 <= length < 1150, length)


class TopologyTest(ServerTestCase):
    def test_master_replicas_and_events(self):
        redis = RedisServer(self)
        replica = RedisServer(self, replica_of=redis.port)
        # the master lists the replica online only after its first ACK, up to a second after the
        # replica's own link is up (diskless sync)
        wait_until(lambda: "state=online" in redis.call("INFO", "replication"), 10,
                   what="the master seeing its replica online")
        server = self.app(redis.port)
        wait_until(server.ready, 10, what="readiness")
        body = json.loads(server.get("/api/topology").text)
        self.assertEqual(body["redis"]["master"]["address"], f"127.0.0.1:{redis.port}")
        self.assertEqual(len(body["replicas"]), 1)
        self.assertEqual(body["replicas"][0]["address"], f"127.0.0.1:{replica.port}")
        self.assertEqual(body["replicas"][0]["state"], "online")
        self.assertGreaterEqual(body["replicas"][0]["lag_s"], 0)
        self.assertIn(f"Redis at 127.0.0.1:{redis.port}", body["events"][-1]["text"])
        redis.kill()
        down = server.get("/api/topology")
        self.assertEqual(down.status, 200)  # shown exactly when Redis is in trouble
        self.assertIsNone(json.loads(down.text)["replicas"])


LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(' + LABEL + r'(?:,' + LABEL + r')*)?\})?'
                    r' (?P<value>\S+)$')


def parse_prometheus(text):
    """Parses the text format strictly: returns {(name, frozenset(labels)): value} and types."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram"), line
            types[name] = kind
            continue
        match = SAMPLE.match(line)
        assert match, f"not Prometheus text: {line!r}"
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                      match.group(3) or ""))
        samples[(match.group(1), labels)] = float(match.group("value"))
    return samples, types


class MetricsTest(ServerTestCase):
    def test_metrics_parse_and_move(self):
        redis = RedisServer(self)
        server = self.app(redis.port, name='we"b\\1')
        wait_until(server.ready, 10, what="readiness")
        before, types = parse_prometheus(server.get("/metrics").text)
        for _ in range(7):
            self.assertEqual(server.get("/").status, 200)
        server.get("/nowhere")
        held = KeepAliveClient(server.port)
        held.get("/healthz")
        answer = server.get("/metrics")
        self.assertTrue(answer.headers["content-type"].startswith("text/plain; version=0.0.4"))
        after, types = parse_prometheus(answer.text)
        held.close()

        def value(samples, name, **labels):
            return samples.get((name, frozenset(labels.items())), 0)

        self.assertEqual(value(after, "redisapp_http_requests_total", route="/", status="200")
                         - value(before, "redisapp_http_requests_total", route="/",
                                 status="200"), 7)
        self.assertEqual(value(after, "redisapp_http_requests_total", route="other",
                               status="404"), 1)
        self.assertEqual(types["redisapp_http_request_duration_seconds"], "histogram")
        buckets = sorted((float(dict(l)["le"]), v) for (n, l), v in after.items()
                         if n == "redisapp_http_request_duration_seconds_bucket"
                         and dict(l)["route"] == "/")
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))  # cumulative
        self.assertEqual(buckets[-1], (float("inf"), 7))
        self.assertEqual(value(after, "redisapp_http_request_duration_seconds_count", route="/"),
                         7)
        self.assertGreaterEqual(value(after, "redisapp_http_open_connections"), 1)
        self.assertGreaterEqual(value(after, "redisapp_redis_connects_total"), 1)
        self.assertEqual(value(after, "redisapp_build_info", version=dict(
            next(l for (n, l) in after if n == "redisapp_build_info"))["version"],
            instance_name='we\\"b\\\\1'), 1)
        redis.pause()
        try:
            server.get("/")  # times out: a dropped connection
        finally:
            redis.resume()
        wait_until(lambda: parse_prometheus(server.get("/metrics").text)[0].get(
            ("redisapp_redis_connection_errors_total", frozenset()), 0) >= 1, 10,
            what="the connection error counted")


    @unittest.skipUnless(shutil.which("promtool"), "promtool (Debian's prometheus) is missing: "
                         "run make deps")
    def test_promtool_accepts_the_metrics_and_master_up_follows_redis(self):
        """Prometheus's own linter finds nothing to say about /metrics; the master_up gauge is 1
        while Redis answers, 0 while it hangs, 1 again after."""
        redis = RedisServer(self)
        server = self.app(redis.port, name="lint", args=["--min-replicas-ack", "0"])
        wait_until(server.ready, 10, what="readiness")
        for path in ("/", "/query/", "/nowhere", "/api/status", "/helloworld", "/metrics"):
            server.get(path)
        text = server.get("/metrics").text
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                              capture_output=True, timeout=60)
        self.assertEqual((lint.returncode, lint.stdout + lint.stderr), (0, ""))
        samples, types = parse_prometheus(text)
        for name, labels in samples:  # Prometheus sets these two itself on every scraped series
            self.assertFalse({"instance", "job"} & {key for key, _ in labels}, name)
        for name, kind in types.items():
            self.assertRegex(name, r"^redisapp_[a-z0-9_]+$")
            if kind == "counter":
                self.assertTrue(name.endswith("_total"), name)
        self.assertEqual(samples[("redisapp_min_replicas_ack", frozenset())], 0)

        def master_up():
            return parse_prometheus(server.get("/metrics").text)[0][
                ("redisapp_redis_master_up", frozenset())]

        self.assertEqual(master_up(), 1)
        redis.pause()
        try:
            server.get("/")  # its deadline passes: the connection is dropped
            wait_until(lambda: master_up() == 0, 10, what="master_up 0 while Redis hangs")
        finally:
            redis.resume()
        wait_until(lambda: master_up() == 1, 10, what="master_up 1 once Redis answers")


class JsonAccessLogTest(ServerTestCase):
    def test_one_json_object_per_line(self):
        redis = RedisServer(self)
        server = self.app(redis.port, args=["--log-format", "json"], name="j")
        server.get("/ping")
        server.get('/q"uote\\')
        server.assert_clean_exit()
        lines = [json.loads(line) for line in server.process.stdout().splitlines()]
        ping = [l for l in lines if l["path"] == "/ping"][0]
        self.assertEqual(ping["method"], "GET")
        self.assertEqual(ping["status"], 200)
        self.assertEqual(ping["instance"], "j")
        self.assertEqual(ping["client"], "127.0.0.1")
        self.assertIsInstance(ping["duration_ms"], float)
        self.assertRegex(ping["time"], r"Z$")
        self.assertTrue(any(l["path"] == '/q"uote\\' for l in lines))
