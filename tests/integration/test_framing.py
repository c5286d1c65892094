"""Request framing (RFC 9112 sections 2.2, 3, 5, 6.1, 6.3): a body is never run as a request, and
an ambiguous request gets 400 (501 for a coding we do not implement) and a closed connection.

Every case is sent over a raw socket, straight to the app and through a real HAProxy in front of
two instances. Each one hides a `GET /ping` where a server that frames the body differently would
run it; `count` in Redis, read before and after, shows whether anything ran. Every answer is
parsed by h11 (Debian's python3-h11), a strict HTTP/1.1 parser independent of the server, so a
malformed answer fails the test. The table of cases is also the README's list of what is refused
and by whom: "app" (http_framing.c, checked before any handler runs) or "libmicrohttpd" (0.9.75
refuses it itself)."""

import re
import socket
import time

import h11

from harness import SLOW, HAProxy, RedisServer, ServerTestCase, wait_until

# The app closes a silent connection after this; a refused request must be closed well before,
# so a connection still open at half of it was kept open (the old behaviour: until the timeout).
IDLE_TIMEOUT_S = int(4 * SLOW)
CLOSE_BOUND_S = IDLE_TIMEOUT_S / 2

HIDDEN = b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"  # 31 bytes: runs INCR count if ever read
ZERO_CHUNK = b"0\r\n\r\n" + HIDDEN                  # 36 bytes: a chunked body that ends early
CLOSE_HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
CLOSE_PING = b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def post(*fields, body=b"", target=b"/query/", version=b"HTTP/1.1"):
    head = b"POST " + target + b" " + version + b"\r\n" + b"".join(f + b"\r\n" for f in fields)
    return head + b"\r\n" + body


def get(line, *fields):
    return line + b"\r\n" + b"".join(f + b"\r\n" for f in fields) + b"\r\n"


H = b"Host: x"
TE = b"Transfer-Encoding: chunked"

# (name, request bytes, status, who refuses it). Each closes the connection right after its answer
# and runs nothing: not the hidden request, not anything after it.
REFUSED = [
    # the cases
    ("Content-Length and chunked, a request hidden after the 0 chunk",
     post(H, b"Content-Length: 36", TE, body=ZERO_CHUNK), 400, "app"),
    ("Transfer-Encoding:<TAB>chunked and Content-Length",
     post(H, b"Content-Length: 36", b"Transfer-Encoding:\tchunked", body=ZERO_CHUNK), 400, "app"),
    ("Transfer-Encoding chunked, then identity, and Content-Length",
     post(H, TE, b"Transfer-Encoding: identity", b"Content-Length: 36", body=ZERO_CHUNK),
     400, "app"),
    ("Content-Length 0, then Content-Length 31",
     post(H, b"Content-Length: 0", b"Content-Length: 31", body=HIDDEN), 400, "app"),
    ("Content-Length 31, then Content-Length 0",
     post(H, b"Content-Length: 31", b"Content-Length: 0", body=HIDDEN), 400, "app"),
    ("Transfer-Encoding before Content-Length",
     post(H, TE, b"Content-Length: 36", body=ZERO_CHUNK), 400, "app"),
    ("Transfer-Encoding: chunked, identity",
     post(H, b"Transfer-Encoding: chunked, identity", body=ZERO_CHUNK), 400, "app"),
    ("Transfer-Encoding: chunked, identity, and Content-Length",
     post(H, b"Transfer-Encoding: chunked, identity", b"Content-Length: 36", body=ZERO_CHUNK),
     400, "app"),
    ("Transfer-Encoding: xchunked",
     post(H, b"Transfer-Encoding: xchunked", body=ZERO_CHUNK), 400, "app"),
    ("a vertical tab in Transfer-Encoding",
     post(H, b"Transfer-Encoding: \x0bchunked", body=ZERO_CHUNK), 400, "app"),
    ("a vertical tab in Transfer-Encoding, and Content-Length",
     post(H, b"Transfer-Encoding: \x0bchunked", b"Content-Length: 36", body=ZERO_CHUNK),
     400, "app"),
    ("whitespace between a field name and its colon",
     post(H, b"Content-Length : 31", body=HIDDEN), 400, "app"),
    ("a tab between Transfer-Encoding and its colon, and Content-Length",
     post(H, b"Transfer-Encoding\t: chunked", b"Content-Length: 36", body=ZERO_CHUNK),
     400, "app"),
    ("obs-fold",
     get(b"GET /ping HTTP/1.1", H, b"X-Folded: a", b" b"), 400, "app"),
    ("obs-fold hiding a Content-Length",
     post(H, b"Content-Length: 0", b" 31", body=HIDDEN), 400, "app"),
    ("obs-fold continuing Transfer-Encoding",
     post(H, b"Content-Length: 36", b"Transfer-Encoding: identity", b"\tchunked",
          body=ZERO_CHUNK), 400, "app"),
    ("a field line starting with a space",
     get(b"GET /ping HTTP/1.1", b" Host: x"), 400, "app"),
    ("a bare CR in a field value",
     get(b"GET /ping HTTP/1.1", H, b"X-A: a\rb"), 400, "app"),
    ("a control character in a field name",
     get(b"GET /ping HTTP/1.1", H, b"X\x01A: b"), 400, "app"),
    ("HTTP/1.1 without Host",
     get(b"GET /ping HTTP/1.1"), 400, "app"),
    ("two Host fields",
     get(b"GET /ping HTTP/1.1", H, b"Host: y"), 400, "app"),
    ("a Host that is not host[:port]",
     get(b"GET /ping HTTP/1.1", b"Host: a b"), 400, "app"),
    ("two spaces after the method",
     get(b"GET  /ping HTTP/1.1", H), 400, "app"),
    ("a space inside the target",
     get(b"GET /ping x HTTP/1.1", H), 400, "app"),
    ("two spaces before the version",
     get(b"GET /ping  HTTP/1.1", H), 400, "app"),
    ("a NUL inside the target",
     get(b"GET /ping\x00x HTTP/1.1", H), 400, "app"),
    ("a bare CR inside the target",
     get(b"GET /ping\rx HTTP/1.1", H), 400, "app"),
    ("a method that is not a token",
     get(b"G@T /ping HTTP/1.1", H), 400, "app"),
    # the usual smuggling variants
    ("Transfer-Encoding in an HTTP/1.0 request",
     post(TE, body=ZERO_CHUNK, version=b"HTTP/1.0"), 400, "app"),
    ("Transfer-Encoding: CHUNKED (case) and Content-Length",
     post(H, b"Transfer-encoding: CHUNKED", b"Content-Length: 36", body=ZERO_CHUNK),
     400, "app"),
    ("Transfer-Encoding with spaces before chunked, and Content-Length",
     post(H, b"Transfer-Encoding:   chunked", b"Content-Length: 36", body=ZERO_CHUNK),
     400, "app"),
    ("Transfer-Encoding: chunked with a trailing space",
     post(H, b"Transfer-Encoding: chunked ", body=ZERO_CHUNK), 400, "app"),
    ("Transfer-Encoding: , chunked (an empty list element)",
     post(H, b"Transfer-Encoding: , chunked", body=ZERO_CHUNK), 400, "app"),
    ("Transfer-Encoding: chunked, chunked",
     post(H, b"Transfer-Encoding: chunked, chunked", body=ZERO_CHUNK), 400, "app"),
    ("Transfer-Encoding twice, chunked both times",
     post(H, TE, TE, body=ZERO_CHUNK), 400, "app"),
    ("Transfer-Encoding: \"chunked\" (quoted)",
     post(H, b'Transfer-Encoding: "chunked"', body=ZERO_CHUNK), 400, "app"),
    ("Transfer-Encoding: chunked;a=b (a parameter)",
     post(H, b"Transfer-Encoding: chunked;a=b", body=ZERO_CHUNK), 400, "app"),
    ("Transfer-Encoding: gzip, chunked (a coding not implemented)",
     post(H, b"Transfer-Encoding: gzip, chunked", body=ZERO_CHUNK), 501, "app"),
    ("Transfer-Encoding: x, then chunked on a second line",
     post(H, b"Transfer-Encoding: x", TE, body=ZERO_CHUNK), 501, "app"),
    ("two equal Content-Length fields",
     post(H, b"Content-Length: 31", b"Content-Length: 31", body=HIDDEN), 400, "app"),
    ("Content-Length with a sign, and chunked",
     post(H, b"Content-Length: +36", TE, body=ZERO_CHUNK), 400, "app"),
    ("Content-Length 2^64-1 (libmicrohttpd's own 'unknown size' marker)",
     post(H, b"Content-Length: 18446744073709551615", body=HIDDEN), 413, "app"),
    ("a NUL in a field name",
     post(H, b"Transfer-Encoding\x00: chunked", b"Content-Length: 36", body=ZERO_CHUNK),
     400, "libmicrohttpd"),
    ("a space after the version",
     get(b"GET /ping HTTP/1.1 ", H), 400, "libmicrohttpd"),
    ("a chunk size past 2^64",
     post(H, TE, body=b"fffffffffffffffff\r\n" + HIDDEN), 413, "libmicrohttpd"),
    ("a chunk size with a leading space",
     post(H, TE, body=b" 5\r\nhello\r\n" + ZERO_CHUNK), 400, "libmicrohttpd"),
    ("a chunk size in 0x notation",
     post(H, TE, body=b"0x5\r\nhello\r\n" + ZERO_CHUNK), 400, "libmicrohttpd"),
    ("a negative chunk size",
     post(H, TE, body=b"-1\r\n" + ZERO_CHUNK), 400, "libmicrohttpd"),
    ("chunk data without its CRLF",
     post(H, TE, body=b"5\r\nhello" + ZERO_CHUNK), 400, "libmicrohttpd"),
    ("a request hidden in the trailer section (no empty line after the 0 chunk)",
     post(H, TE, body=b"0\r\n" + HIDDEN), 400, "libmicrohttpd"),
]

# Content-Length values libmicrohttpd 0.9.75 refuses itself when there is no Transfer-Encoding:
# it answers before the app sees the request, and writes that answer's status line and headers
# twice (README, known limitations). Nothing runs and the connection closes.
REFUSED_MALFORMED_BY_LIBRARY = [
    ("Content-Length with a sign", post(H, b"Content-Length: +31", body=HIDDEN), 400),
    ("a negative Content-Length", post(H, b"Content-Length: -1", body=HIDDEN), 400),
    ("Content-Length with a trailing space", post(H, b"Content-Length: 31 ", body=HIDDEN), 400),
    ("Content-Length as a list", post(H, b"Content-Length: 31, 31", body=HIDDEN), 400),
    ("Content-Length in hex", post(H, b"Content-Length: 0x1f", body=HIDDEN), 400),
    ("Content-Length past 2^64",
     post(H, b"Content-Length: 99999999999999999999", body=HIDDEN), 413),
]

# Well framed, so served: (name, bytes, statuses in order, pings run). The last request asks for
# Connection: close, so the exchange ends there; anything hidden in a body stays a body.
ACCEPTED = [
    ("Content-Length with leading zeros",
     post(H, b"Content-Length: 0036", body=ZERO_CHUNK) + CLOSE_HEALTHZ, [405, 200], 0),
    ("Content-Length with spaces before the digits",
     post(H, b"Content-Length:   36", body=ZERO_CHUNK) + CLOSE_HEALTHZ, [405, 200], 0),
    ("Transfer-Encoding: CHUNKED (any case), then a request after the 0 chunk",
     post(H, b"transfer-encoding: CHUNKED", body=b"5\r\nhello\r\n0\r\n\r\n") + CLOSE_PING,
     [405, 200], 1),
    ("Transfer-Encoding with spaces before chunked",
     post(H, b"Transfer-Encoding:  \tchunked", body=b"0\r\n\r\n") + CLOSE_HEALTHZ, [405, 200], 0),
    ("a chunk extension",
     post(H, TE, body=b"5;name=value\r\nhello\r\n0\r\n\r\n") + CLOSE_HEALTHZ, [405, 200], 0),
    ("a trailer field after the 0 chunk",
     post(H, TE, body=b"5\r\nhello\r\n0\r\nX-Trailer: y\r\n\r\n") + CLOSE_HEALTHZ,
     [405, 200], 0),
    ("a target with a query and %-escapes",
     get(b"GET /ping?a=1&b=%41+c&d HTTP/1.1", H, b"Connection: close"), [200], 1),
    ("bare LF line endings (RFC 9112 2.2 allows them)",
     b"GET /ping HTTP/1.1\nHost: x\nConnection: close\n\n", [200], 1),
    ("empty lines before the request line (RFC 9112 2.2)",
     b"\r\n\r\n" + CLOSE_PING, [200], 1),
    ("HTTP/1.0 without Host",
     b"GET /ping HTTP/1.0\r\n\r\n", [200], 1),
    ("a NUL in a field value (libmicrohttpd ends the value there)",
     get(b"GET /ping HTTP/1.1", H, b"X-A: a\x00b", b"Connection: close"), [200], 1),
    ("a NUL after chunked: libmicrohttpd and the app both read chunked",
     post(H, b"Transfer-Encoding: chunked\x00, identity", body=b"0\r\n\r\n") + CLOSE_PING,
     [405, 200], 1),
]


class Exchange:
    def __init__(self, raw, ended, elapsed):
        self.raw = raw
        self.ended = ended  # "eof", "reset" or "open" (still open at the bound)
        self.elapsed = elapsed

    @property
    def closed(self):
        return self.ended in ("eof", "reset")


def exchange(port, data, bound_s):
    """Sends `data` at once and reads until the peer closes or `bound_s` passes."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=bound_s) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed while we were still sending: what was answered is read below
        raw = b""
        deadline = start + bound_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Exchange(raw, "open", time.monotonic() - start)
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                return Exchange(raw, "open", time.monotonic() - start)
            except ConnectionResetError:
                return Exchange(raw, "reset", time.monotonic() - start)
            if not chunk:
                return Exchange(raw, "eof", time.monotonic() - start)
            raw += chunk


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body

    def __repr__(self):
        return f"<{self.status} {self.body[:60]!r}>"


def parse_answers(raw, closed):
    """Every response in `raw`, parsed by h11 as a client that sent GETs would. Raises
    h11.RemoteProtocolError on anything malformed: a bad status line or field, a wrong length,
    bytes after a response that closes the connection, a response cut short by the close. A
    connection closed without a byte has no answers."""
    if closed and raw == b"":
        return []
    conn = h11.Connection(h11.CLIENT)
    conn.receive_data(raw)
    if closed:
        conn.receive_data(b"")
    answers = []
    while True:
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            if not conn.trailing_data[0]:
                return answers  # every byte belongs to a complete answer
            conn.start_next_cycle()
        if conn.our_state is h11.IDLE:
            conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
            conn.send(h11.EndOfMessage())
        event = conn.next_event()  # raises on a closed connection inside an answer
        if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
            return answers
        if isinstance(event, h11.Response):
            headers = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
            answers.append(Answer(event.status_code, headers, b""))
        elif isinstance(event, h11.Data):
            answers[-1].body += event.data
        elif isinstance(event, h11.EndOfMessage) and conn.their_state is h11.MUST_CLOSE:
            conn.next_event()  # raises when any byte follows an answer that closes
            return answers


def pings_answered(answers):
    return sum(1 for a in answers if a.status == 200 and re.fullmatch(rb"\d+\n", a.body))


class FramingTestCase(ServerTestCase):
    """One Redis; subclasses add the servers. `port` is where the requests go."""

    def setUp(self):
        super().setUp()
        self.redis = RedisServer(self)

    def count(self):
        return int(self.redis.call("GET", "count") or 0)

    def send(self, data):
        return exchange(self.port, data, self.bound_s)


class StraightToTheAppTest(FramingTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.app(self.redis.port, args=["--idle-timeout-s", str(IDLE_TIMEOUT_S)])
        wait_until(self.server.ready, 10 * SLOW, what="readiness")
        self.port = self.server.port
        self.bound_s = CLOSE_BOUND_S

    def assert_refused(self, name, data, status):
        before = self.count()
        ex = self.send(data)
        self.assertTrue(ex.closed, f"{name}: connection still open after {ex.elapsed:.1f}s "
                                   f"({ex.raw[:120]!r})")
        answers = parse_answers(ex.raw, closed=True)
        self.assertEqual([a.status for a in answers], [status], f"{name}: {answers}")
        self.assertEqual(answers[0].headers.get("connection"), "close", name)
        self.assertEqual(self.count(), before, f"{name}: a hidden request ran")

    def test_refused_requests_get_one_answer_and_a_closed_connection(self):
        for name, data, status, _by in REFUSED:
            with self.subTest(name):
                self.assert_refused(name, data, status)
        self.assertEqual(self.server.get("/healthz").status, 200)
        self.server.assert_clean_exit()  # finishes anything in flight
        self.assertEqual(self.count(), 0)

    def test_the_app_names_the_reason(self):
        ex = self.send(REFUSED[0][1])
        self.assertEqual(parse_answers(ex.raw, True)[0].body,
                         b"Content-Length and Transfer-Encoding together\n")
        ex = self.send(post(H, b"Transfer-Encoding: chunked", b"Content-Length: 5",
                            target=b"/api/messages", body=b"0\r\n\r\n"))
        answer = parse_answers(ex.raw, True)[0]
        self.assertEqual((answer.status, answer.headers["content-type"]),
                         (400, "application/json"))
        self.assertEqual(answer.body,
                         b'{"error":"Content-Length and Transfer-Encoding together"}')

    def test_libmicrohttpd_answers_some_malformed_lengths_itself_with_a_doubled_head(self):
        for name, data, status in REFUSED_MALFORMED_BY_LIBRARY:
            with self.subTest(name):
                before = self.count()
                ex = self.send(data)
                self.assertTrue(ex.closed, name)
                # 0.9.75 writes the status line and headers twice, then its body
                head = f"HTTP/1.1 {status} ".encode()
                self.assertTrue(ex.raw.startswith(head), ex.raw[:80])
                self.assertEqual(ex.raw.count(head), 2, ex.raw)
                with self.assertRaises(h11.RemoteProtocolError):
                    parse_answers(ex.raw, closed=True)
                self.assertEqual(self.count(), before, f"{name}: a hidden request ran")

    def test_well_framed_requests_are_served(self):
        for name, data, statuses, pings in ACCEPTED:
            with self.subTest(name):
                before = self.count()
                ex = self.send(data)
                self.assertTrue(ex.closed, f"{name}: still open after {ex.elapsed:.1f}s")
                answers = parse_answers(ex.raw, closed=True)
                self.assertEqual([a.status for a in answers], statuses, f"{name}: {answers}")
                self.assertEqual(self.count() - before, pings, name)

    def test_a_hundred_pipelined_requests_get_a_hundred_answers_in_order(self):
        before = self.count()
        ex = self.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 99 + CLOSE_PING)
        self.assertEqual(ex.ended, "eof")
        answers = parse_answers(ex.raw, closed=True)
        self.assertEqual([a.status for a in answers], [200] * 100)
        self.assertEqual([int(a.body) for a in answers], list(range(before + 1, before + 101)))
        self.assertEqual(self.count(), before + 100)

    def test_nothing_after_a_refused_request_is_read(self):
        ex = self.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + REFUSED[0][1] + HIDDEN * 3)
        self.assertTrue(ex.closed)
        self.assertEqual([a.status for a in parse_answers(ex.raw, closed=True)], [200, 400])
        self.assertEqual(self.count(), 0)


class ThroughHAProxyTest(FramingTestCase):
    """HAProxy may refuse or normalise a request itself; what must hold is that every answer is
    well formed, the exchange ends, and nothing runs that the client got no answer for."""

    def setUp(self):
        super().setUp()
        apps = [self.app(self.redis.port, args=["--idle-timeout-s", str(IDLE_TIMEOUT_S)],
                         name=f"app{i}") for i in range(2)]
        for a in apps:
            wait_until(a.ready, 10 * SLOW, what="readiness")
        self.haproxy = HAProxy(self, [a.port for a in apps])
        self.port = self.haproxy.port
        with open(self.haproxy.config_path) as f:
            client_timeout_s = int(re.search(r"timeout client (\d+)s", f.read()).group(1))
        # HAProxy still waiting at half its client timeout waits for bytes that never come
        self.bound_s = client_timeout_s / 2

        def both_up():
            seen = set()
            for _ in range(4):
                ex = self.send(CLOSE_HEALTHZ)
                seen.update(a.headers.get("x-instance") for a in parse_answers(ex.raw, True))
            return seen == {"app0", "app1"}
        wait_until(both_up, 10 * SLOW, what="both instances in rotation")

    def assert_nothing_hidden(self, name, data):
        """Sends `data` and then a request that closes the connection, so HAProxy ends the
        exchange itself unless it is still waiting for a body. Returns the answers and whether
        the connection closed within the bound."""
        before = self.count()
        ex = self.send(data + CLOSE_HEALTHZ)
        answers = parse_answers(ex.raw, closed=ex.closed)
        self.assertTrue(answers, f"{name}: no answer")
        # every ping that ran was answered: a hidden one would move count without an answer
        self.assertEqual(self.count() - before, pings_answered(answers),
                         f"{name}: a request ran that no answer accounts for: {answers}")
        return answers, ex.closed

    def assert_drained_total(self, before, answered):
        """Stops the instances (they finish what is in flight), then checks the total: a hidden
        request still on its way when a case ended is counted here."""
        for a in self._apps:
            a.assert_clean_exit()
        self.assertEqual(self.count() - before, answered)

    def test_every_case_through_haproxy(self):
        cases = ([(n, d) for n, d, _s, _by in REFUSED]
                 + [(n, d) for n, d, _s in REFUSED_MALFORMED_BY_LIBRARY]
                 + [(n, d) for n, d, _s, _p in ACCEPTED])
        before, answered, still_open = self.count(), 0, []
        for name, data in cases:
            with self.subTest(name):
                answers, closed = self.assert_nothing_hidden(name, data)
                answered += pings_answered(answers)
                if not closed:
                    still_open.append(name)
        # HAProxy ends every exchange but one: it relays the app's 413 for a declared body of
        # 2^64-1 bytes, then waits for that body (until its client timeout)
        self.assertLessEqual(len(still_open), 1, still_open)
        self.assert_drained_total(before, answered)

    def test_a_hundred_pipelined_requests_through_haproxy(self):
        before = self.count()
        answers, closed = self.assert_nothing_hidden(
            "pipeline", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 99 + CLOSE_PING)
        self.assertTrue(closed)
        self.assertEqual([int(a.body) for a in answers], list(range(before + 1, before + 101)))
        self.assert_drained_total(before, 100)
