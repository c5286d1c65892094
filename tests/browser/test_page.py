"""The page's browser test: Debian's chromium (browser.py) against the stack in small: a real
redis-server, two instances of the built server (web-1, web-2) and HAProxy in round robin, on free
loopback ports, started and stopped by tests/integration/harness.py.

The steps share one page and run in the order they are written here (load_tests); once one has
failed, the later ones are skipped. Each ends by checking that the browser logged no console
error or page error except the failed loads the step expected (browser.expecting()), and that
it saw those. Screenshots, the console and the servers' logs go to tests/artifacts/browser/.

Waits follow the page's own timers, read from static/page.js: the slowest thing the page does
by itself is a message poll (every MESSAGES_EVERY_MS) that waits out its request timeout
(REQUEST_TIMEOUT_MS); anything the page should show gets three such cycles.

Run: make test-browser (REDISAPP_BIN picks the server binary, CHROMIUM_BIN and CHROMEDRIVER_BIN
the browser).
"""

import concurrent.futures
import json
import os
import re
import shutil
import signal
import sys
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402 (after the path)
from browser import Browser  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

ARTIFACTS = os.path.join(ROOT, "tests", "artifacts", "browser")
STATIC = os.path.join(ROOT, "static")
INSTANCES = ["web-1", "web-2"]
ANY = "(web-1|web-2)"  # in a pattern: the instance that answered
CLOCK = r"\d\d:\d\d:\d\d"  # in a pattern: a time of day as the page shows it
DESKTOP = (1280, 900)


def page_timers():
    """The page's `const NAME_MS = N;` settings, in seconds."""
    with open(os.path.join(STATIC, "page.js")) as f:
        return {m[1]: int(m[2]) / 1000
                for m in re.finditer(r"^const (\w+)_MS = (\d+);", f.read(), re.M)}


PAGE = page_timers()
CYCLE_S = PAGE["MESSAGES_EVERY"] + PAGE["REQUEST_TIMEOUT"]
WAIT_S = 3 * CYCLE_S * harness.SLOW


class ClassScope:
    """What harness needs of a test case, for servers that live as long as the test class."""

    def __init__(self, cls):
        self.addCleanup = cls.addClassCleanup


def api(port, path):
    """GET path through HAProxy; the JSON answer."""
    response = harness.request(port, path)
    if response.status != 200:
        raise AssertionError(f"GET {path} answered {response.status}: {response.text[:200]}")
    return json.loads(response.text)


class PageTest(unittest.TestCase):
    failed_step = None

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(harness.BINARY):
            raise RuntimeError(f"no server binary at {harness.BINARY}: run make")
        shutil.rmtree(ARTIFACTS, ignore_errors=True)
        os.makedirs(ARTIFACTS)
        cls.processes = []  # (log name, harness.Process) of every server started
        cls.browser = None
        try:
            cls._start()
        except BaseException:
            cls._save_logs()
            raise

    @classmethod
    def _start(cls):
        scope = ClassScope(cls)
        cls.redis = harness.RedisServer(scope)
        cls.processes.append(("redis", cls.redis.process))
        cls.apps = [harness.App(scope, cls.redis.port, name=name, args=[
            "--static-dir", STATIC, "--threads", "1", "--drain-quiet-ms", "100"])
            for name in INSTANCES]
        cls.processes += [(app.process.name, app.process) for app in cls.apps]
        for app in cls.apps:
            harness.wait_until(app.ready, 10 * harness.SLOW, what=f"{app.process.name} /readyz")
        # its health check asks /healthz (liveness), so an instance's own 503s reach the page
        cls.haproxy = harness.HAProxy(scope, [app.port for app in cls.apps],
                                      check_path="/healthz")
        cls.processes.append(("haproxy", cls.haproxy.process))
        harness.wait_until(lambda: harness.request(cls.haproxy.port, "/healthz").status == 200,
                           10 * harness.SLOW, what="a first answer through haproxy")
        cls.base = f"http://127.0.0.1:{cls.haproxy.port}"
        cls.browser = Browser(cls.base, ARTIFACTS, DESKTOP)

    @classmethod
    def tearDownClass(cls):
        if cls.browser is not None:
            cls.browser.close()
        cls._save_logs()  # the class cleanups stop the servers and remove their folders

    @classmethod
    def _save_logs(cls):
        if cls.browser is not None:
            cls.browser.save_console(os.path.join(ARTIFACTS, "console.log"))
        for name, process in cls.processes:
            with open(os.path.join(ARTIFACTS, f"{name}.log"), "a") as f:
                f.write(f"--- {' '.join(process.proc.args)}\n")
                for read in (process.stdout, process.stderr):
                    try:
                        f.write(read())
                    except OSError:
                        pass

    def setUp(self):
        if PageTest.failed_step is not None:
            self.skipTest(f"an earlier step failed: {PageTest.failed_step}")
        self.b = self.browser

    def run(self, result=None):
        broken = (lambda: len(result.failures) + len(result.errors)) if result else (lambda: 0)
        before = broken()
        outcome = super().run(result)
        if broken() > before:
            PageTest.failed_step = self._testMethodName
        return outcome

    # --- helpers --------------------------------------------------------------------------

    def shows(self, selector, pattern, timeout=WAIT_S):
        return self.b.shows(selector, pattern, timeout)

    def assert_no_unexpected_errors(self):
        self.assertEqual(self.b.take_unexpected(), [], "console errors or page errors")

    def count_button(self):
        return self.b.control("button", "Count a visit")

    def name_field(self):
        return self.b.control("textbox", "Name")

    def text_field(self):
        return self.b.control("textbox", "Message")

    def post_button(self):
        return self.b.control("button", "Post")

    def api(self, path):
        return api(self.haproxy.port, path)

    def chart(self, svg_id):
        """What a chart has drawn: how many points (data-points), each series' (x, y) points by
        its class (ok, client, server, p50, p99) and the classes of its markers."""
        return self.b.script("""
            const svg = document.getElementById(arguments[0]);
            const series = {};
            for (const line of svg.querySelectorAll('polyline.series')) {
                const kind = [...line.classList].find((c) => c !== 'series');
                const points = line.getAttribute('points').trim().split(/\\s+/)
                    .map((p) => p.split(',').map(Number));
                series[kind] = (series[kind] || []).concat(points);
            }
            return {points: Number(svg.dataset.points || 0), series,
                    markers: [...svg.querySelectorAll('g.marker')].map((g) => g.className.baseVal)};
            """, svg_id)

    def chart_draws(self, svg_id, kind):
        """Whether a series of the chart is above its zero line somewhere (y < the plot's
        height, 150 in its viewBox)."""
        return any(y < 149.5 for _, y in self.chart(svg_id)["series"].get(kind, []))

    # --- the steps, in this order ------------------------------------------------------------

    def test_the_page_loads_with_no_console_errors(self):
        self.b.open(f"{self.base}/static/")
        self.assertEqual(self.b.driver.title, "redisapp: the stack at work")
        # every panel got its first answer
        for panel in ("session", "topology", "messages"):
            self.shows(f"#{panel}-updated", rf"^Updated {CLOCK} by {ANY}\.$")
        pages = [r["status"] for r in self.b.responses if r["type"] == "Document"]
        self.assertEqual(pages, [200])
        # page.css was served and applied
        colour = self.b.script("return getComputedStyle(arguments[0]).backgroundColor;",
                               self.count_button())
        self.assertEqual(colour, "rgb(29, 79, 145)")
        self.assert_no_unexpected_errors()

    def test_the_session_visit_count_is_shown_one_visit_per_page_load(self):
        self.shows("#session-visits", r"^1$")
        self.shows("#session-server", r"^ok, version \d+\.\d+\.\d+$")
        self.shows("#session-expiry", r"^\d+ min without a visit$")
        self.b.reload()
        self.shows("#session-visits", r"^2$")
        self.assert_no_unexpected_errors()

    def test_the_counter_increases_on_click_and_names_the_instance(self):
        self.count_button().click()
        self.shows("#counter-value", r"^1$")  # a fresh Redis: the first count
        self.shows("#counter-history li:first-child", rf"^{ANY} counted 1 at {CLOCK}$")
        self.b.focus(self.count_button())  # keyboard use
        self.b.press(Keys.ENTER)
        self.shows("#counter-value", r"^2$")

        # round robin: more clicks until both instances have answered (the polls share the
        # rotation, so two clicks in a row may meet the same instance)
        def answered(text, name):  # "All answers so far: web-1: 2, web-2: 1."
            return re.search(rf"[:,] {name}: [1-9]", text) is not None
        value = 2
        text = self.b.text("#instance-tally")
        while value < 10 and not all(answered(text, name) for name in INSTANCES):
            self.count_button().click()
            value += 1
            self.shows("#counter-value", rf"^{value}$")
            text = self.b.text("#instance-tally")
        for name in INSTANCES:
            self.assertTrue(answered(text, name), f"no count by {name}: {text}")
        self.assertEqual(len(self.b.css("#counter-history li")), value)
        self.assertEqual(self.api("/api/status")["counter"], value,
                         "the value in Redis is the one shown")
        self.assert_no_unexpected_errors()

    def test_auto_count_counts_every_2_s_until_unticked(self):
        start = int(self.shows("#counter-value", r"^\d+$"))
        box = self.b.control("checkbox", "Count every 2 s")
        self.b.focus(box)
        self.b.press(Keys.SPACE)
        self.assertTrue(box.is_selected())
        self.shows("#counter-value", rf"^{start + 2}$")
        self.b.press(Keys.SPACE)
        self.assertFalse(box.is_selected())
        unticked_at = time.time()
        # The page runs its timers in the order they fall due, so a timer set now for more
        # than one period fires after any count still scheduled; the request it sends then is
        # logged after any count's request. So once that request is in the log, every count
        # sent after the untick would be too.
        period_ms = PAGE["AUTO_COUNT_EVERY"] * 1000
        marker = self.b.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "setTimeout(() => fetch('/healthz?after-untick', {cache: 'no-store'})"
            "    .then((r) => done(r.status), (e) => done(String(e))), arguments[0]);",
            period_ms + 500)
        self.assertEqual(marker, 200)
        self.b.until(lambda: any(r["path"] == "/healthz" and r["at"] > unticked_at
                                 for r in self.b.responses), WAIT_S, "the marker's answer")
        # (+500 ms: a count sent just before the untick may be logged a little after it)
        counts = [r for r in self.b.requests if r["path"] == "/" and r["at"] > unticked_at + 0.5]
        self.assertEqual(counts, [], "no count after unticking")
        self.assert_no_unexpected_errors()

    def test_the_charts_draw_and_move_while_it_counts(self):
        before = self.chart("chart-rate")
        start = int(self.shows("#counter-value", r"^\d+$"))
        for value in range(start + 1, start + 6):
            self.count_button().click()
            self.shows("#counter-value", rf"^{value}$")
        # the pings counted: their latency is drawn (the latency chart reads route "/" alone)
        self.b.until(lambda: {"p50", "p99"} <= set(self.chart("chart-latency")["series"]),
                     WAIT_S, "the latency chart's p50 and p99 lines")
        self.shows("#chart-latency-now", r"^Last 10 s: p50 [\d.]+ ms, p99 [\d.]+ ms\.$")
        self.b.until(lambda: self.chart_draws("chart-rate", "ok"), WAIT_S,
                     "a 2xx rate above zero")
        self.shows("#chart-rate-now", r"^Now: \d+\.\d requests/s answered 2xx or 3xx, ")
        # and it moves: a point a second, the newest at the right edge, the older ones shifted
        now = self.b.until(lambda: (lambda c: c if c["points"] >= before["points"] + 3 else None)(
            self.chart("chart-rate")), WAIT_S, "three more points on the rate chart")
        later = self.b.until(lambda: (lambda c: c if c["points"] > now["points"] else None)(
            self.chart("chart-rate")), WAIT_S, "one more point")
        newest = max(x for x, _ in later["series"]["ok"])
        self.assertGreater(newest, 590, "the newest point sits at the right edge (600)")
        self.assertNotEqual(now["series"]["ok"], later["series"]["ok"], "the line moved")
        self.assert_no_unexpected_errors()

    def test_a_posted_message_appears_in_the_list_as_text(self):
        text = "Hello from the browser test.\nThis stays text: <b>not bold</b> & <i>no</i>"
        self.b.fill(self.name_field(), "Ada")
        self.b.fill(self.text_field(), text)
        self.post_button().click()

        self.shows("#message-list li:first-child .text", f"^{re.escape(text)}$")
        self.assertRegex(self.b.text("#message-list li:first-child .meta"),
                         rf"^Ada via {ANY}, \d{{4}}-\d\d-\d\d {CLOCK}$")
        self.assertEqual(self.b.css("#message-list b, #message-list i"), [])
        self.assertEqual(self.text_field().get_property("value"), "", "the text field is cleared")
        self.assertEqual(self.name_field().get_property("value"), "Ada", "the name stays")

        self.assertEqual(self.api("/api/messages?limit=1")["messages"][0]["text"], text)
        self.assert_no_unexpected_errors()

    def test_the_apis_validation_errors_are_shown_and_nothing_is_posted(self):
        stored = self.api("/api/messages")["count"]
        with self.b.expecting([(400, "/api/messages")]):
            since = len(self.b.expected_seen)
            self.b.fill(self.name_field(), "")
            self.b.fill(self.text_field(), "A message without a name")
            self.post_button().click()
            self.shows("#message-error", rf"^Not posted: HTTP 400 Bad Request from {ANY}: .*name")
            self.b.saw_failed_load(400, "/api/messages", since, WAIT_S)
        self.assertEqual(self.text_field().get_property("value"), "A message without a name",
                         "the text is kept")
        self.assertEqual(self.api("/api/messages")["count"], stored)

        self.b.fill(self.name_field(), "Grace")
        self.post_button().click()
        self.shows("#message-list li:first-child .text", r"^A message without a name$")
        self.shows("#message-error", r"^$")
        self.assert_no_unexpected_errors()

    def test_the_topology_shows_the_master_and_the_timeline(self):
        master = re.escape(f"127.0.0.1:{self.redis.port}")
        self.shows("#topology-mode", r"^direct$")
        self.shows("#topology-master", rf"^{master}$")
        self.shows("#topology-generation", r"^1$")
        self.shows("#topology-failovers", r"^0$")
        self.shows("#topology-replicas", r"^none connected$")
        self.assertFalse(self.b.css("#topology-sentinels-block")[0].is_displayed())
        self.shows("#topology-events li:last-child", rf"^{CLOCK} .*{master}")
        self.assert_no_unexpected_errors()

    def test_landmarks_headings_labelled_controls_contrast_of_4_5_or_more(self):
        for role in ("banner", "main", "contentinfo"):
            self.assertEqual(len(self.b.by_role(role)), 1, f"one {role} landmark")
        panels = ["Counter", "Your session", "Live charts", "Redis topology", "Message board"]
        self.assertEqual([h["name"] for h in self.b.by_role("heading", level=2)], panels)
        for name in panels:
            self.assertEqual(len(self.b.by_role("region", name)), 1, f"region {name}")
        self.assertEqual(len(self.b.by_role("textbox", "Name")), 1)
        self.assertEqual(len(self.b.by_role("textbox", "Message")), 1)
        self.assertEqual(len(self.b.by_role("checkbox", "Count every 2 s")), 1)
        self.assertEqual(self.b.css("#counter-value")[0].get_dom_attribute("aria-live"), "polite")

        # WCAG contrast of every visible piece of text against the background it sits on
        poor = self.b.script("""
            const rgba = (css) => css.match(/[\\d.]+/g).map(Number);
            const luminance = ([r, g, b]) => [r, g, b].map((v) => {
                const c = v / 255;
                return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
            }).reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
            const backdrop = (node) => {
                for (; node; node = node.parentElement) {
                    const c = rgba(getComputedStyle(node).backgroundColor);
                    if (c.length < 4 || c[3] > 0) return c;
                }
                return [255, 255, 255];
            };
            const found = [];
            for (const node of document.querySelectorAll('body *')) {
                const text = [...node.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE)
                    .map((n) => n.textContent.trim()).join('');
                if (!text || node.getClientRects().length === 0) continue;
                const a = luminance(rgba(getComputedStyle(node).color));
                const b = luminance(backdrop(node));
                const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
                if (ratio < 4.5) found.push(`${node.tagName} "${text}": ${ratio.toFixed(2)}`);
            }
            return found;""")
        self.assertEqual(poor, [])
        self.assert_no_unexpected_errors()

    def test_it_fits_a_360_px_wide_screen(self):
        self.b.set_viewport(360, 740)
        try:
            layout = self.b.script("""return {
                scrollWidth: document.documentElement.scrollWidth,
                clientWidth: document.documentElement.clientWidth,
                widest: Math.max(...[...document.querySelectorAll(
                    '.panel, button, input, textarea')].map(
                    (e) => e.getBoundingClientRect().right)),
            };""")
            self.assertEqual(layout["clientWidth"], 360)
            self.assertLessEqual(layout["scrollWidth"], layout["clientWidth"],
                                 f"scrolls sideways: {layout}")
            self.assertLessEqual(layout["widest"], layout["clientWidth"], f"sticks out: {layout}")
            height = self.count_button().rect["height"]
            self.assertGreaterEqual(height, 44, f"touch target {height} px high")
            self.b.screenshot(os.path.join(ARTIFACTS, "page-narrow.png"))
        finally:
            self.b.set_viewport(*DESKTOP)
        self.assert_no_unexpected_errors()

    def test_a_screenshot_of_the_page_is_saved(self):
        path = os.path.join(ARTIFACTS, "page.png")
        self.b.move_mouse(0, 0)  # no hover colour on the last button clicked
        self.b.screenshot(path)
        self.assertGreater(os.path.getsize(path), 10000, "a real picture")
        self.assert_no_unexpected_errors()

    def test_with_redis_down_the_page_shows_the_503s_keeps_polling_and_recovers(self):
        failing = [(503, path) for path in ("/", "/api/status", "/api/messages")]
        last = int(self.shows("#counter-value", r"^\d+$"))
        self.assertEqual(self.redis.call("SAVE"), "OK")  # its next start loads this
        with self.b.expecting(failing):
            since = len(self.b.expected_seen)
            self.redis.process.stop()  # SIGTERM
            stopped_at = time.time()

            self.count_button().click()
            self.shows("#counter-problem", rf"^HTTP 503 Service Unavailable from {ANY}: .*Redis")
            self.shows("#counter-history li:first-child", rf"^{ANY} failed \(503\) at ")
            self.assertEqual(len(self.b.css("#counter-history li:first-child.failed")), 1)
            self.b.saw_failed_load(503, "/", since, WAIT_S)
            self.shows("#messages-problem",
                       r"^HTTP 503 Service Unavailable .*Retrying every 5 s\.$")
            self.shows("#topology-replicas", r"^unknown: ")
            # the charts: the 503s drawn as a 5xx rate, and a marker where Redis went away
            self.b.until(lambda: self.chart_draws("chart-rate", "server"), WAIT_S,
                         "a 5xx rate above zero on the rate chart")
            self.shows("#chart-markers li.failed", rf"^{CLOCK} {ANY}: Redis unreachable$")
            self.assertIn("marker down", self.chart("chart-rate")["markers"])

            self.b.fill(self.name_field(), "Ada")
            self.b.fill(self.text_field(), "Posted while Redis is down")
            self.post_button().click()
            self.shows("#message-error", r"^Not posted: HTTP 503 Service Unavailable")

            # the polls go on: two more failed polls of the messages, and the topology (which
            # answers without Redis) polled meanwhile
            def polls(path, status):
                return sum(1 for r in self.b.responses if r["method"] == "GET"
                           and r["path"] == path and r["status"] == status
                           and r["at"] > stopped_at)
            self.b.until(lambda: polls("/api/messages", 503) >= 2
                         and polls("/api/topology", 200) >= 2,
                         2 * WAIT_S, "two failed polls of /api/messages, two of /api/topology")

            # a page loaded while Redis is down shows the failure too
            self.b.reload()
            self.shows("#session-problem",
                       r"^HTTP 503 Service Unavailable .*Retrying every 3 s\.$")
            self.shows("#session-visits", r"^–$")
            self.shows("#messages-problem", r"^HTTP 503 ")
            self.b.screenshot(os.path.join(ARTIFACTS, "page-redis-down.png"))
            self.assert_no_unexpected_errors()

            self.redis.start()  # the same port and folder: it loads the saved counter
            self.processes.append(("redis", self.redis.process))
            # the polls notice by themselves: the session visit (retried) counts as the third
            self.shows("#session-visits", r"^3$")
            self.shows("#session-problem", r"^$")
            self.shows("#messages-problem", r"^$")
            self.shows("#message-list li:first-child .text", r"^A message without a name$")
        self.count_button().click()
        self.shows("#counter-value", rf"^{last + 1}$")
        self.shows("#counter-problem", r"^$")
        # the recovery on the charts: a marker where Redis answers again, pings drawn again
        self.shows("#chart-markers li:first-child", rf"^{CLOCK} {ANY}: Redis answers again$")
        self.assertIn("marker up", self.chart("chart-rate")["markers"])
        self.shows("#chart-latency-now", r"^Last 10 s: p50 [\d.]+ ms, p99 [\d.]+ ms\.$")
        self.b.screenshot(os.path.join(ARTIFACTS, "page-redis-back.png"))
        self.assert_no_unexpected_errors()

    def test_with_no_instance_left_haproxys_own_503_is_shown_each_exited_0(self):
        # 503 once HAProxy has no server left; 502 if a request meets an instance as it closes
        paths = ("/", "/api/status", "/api/topology", "/api/messages", "/metrics")
        failing = [(status, path) for path in paths for status in (503, 502)]
        with self.b.expecting(failing):
            since = len(self.b.expected_seen)
            with concurrent.futures.ThreadPoolExecutor(len(self.apps)) as pool:
                exits = list(pool.map(lambda app: app.stop(signal.SIGTERM), self.apps))
            self.assertEqual(exits, [0] * len(self.apps))
            for app in self.apps:
                for report in ("AddressSanitizer", "LeakSanitizer", "runtime error"):
                    self.assertNotIn(report, app.process.stderr())
            # HAProxy's error page names no instance and gives no reason the page could show
            self.shows("#topology-problem",
                       r"^HTTP 503 Service Unavailable\. Retrying every 3 s\.$")
            self.count_button().click()
            self.shows("#counter-history li:first-child", r"^– failed \(503\) at ")
            self.b.saw_failed_load(503, "/", since, WAIT_S)
        self.assert_no_unexpected_errors()


def load_tests(loader, tests, pattern):
    """The steps in the order they are written (unittest would sort them by name)."""
    return unittest.TestSuite(PageTest(name) for name in PageTest.__dict__
                              if name.startswith("test_"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
