"""Debian's chromium for the page's browser test, driven through Debian's chromedriver by Debian's
python3-selenium (4.8.3 in bookworm): one headless browser with a fresh profile, what it logged,
and the page actions the steps use (waiting through tests/integration/harness.py's wait_until).

chromedriver and the chromium it starts run in a process group of their own. close() ends the
session and then stops whatever of that group is left by PID; an exit hook does the same (and
removes the profile) when the test process ends any other way, interrupted included.

What the browser logged is read from chromedriver's logs (`goog:loggingPrefs`) by drain(), which
every wait calls:
- the "browser" log: console messages and page errors. Those at level SEVERE are errors.
  Chromium logs "URL - Failed to load resource: the server responded with a status of 503
  (Service Unavailable)" for every request answered with an error status: such a line is let
  through only while a step expects that status on that path (expecting()), and is then kept in
  expected_seen; every other error goes to unexpected. Every line goes to console.
- the "performance" log's Network events for the page's origin: requests
  {method, path, at} and responses {method, path, status, type, at}, `at` in time.time() seconds.
"""

import atexit
import base64
import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
from urllib.parse import urlsplit

import harness
from selenium import webdriver
from selenium.common.exceptions import (JavascriptException, StaleElementReferenceException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.remote_connection import RemoteConnection

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic"]
# one WebDriver command (a page load, a script): a browser that hangs fails the step
COMMAND_TIMEOUT_S = 60 * harness.SLOW
FAILED_LOAD = re.compile(r"^(\S+) - Failed to load resource: "
                         r"the server responded with a status of (\d+) \(")


class Browser:
    """Headless chromium at `origin` ("http://127.0.0.1:PORT"), with a viewport of
    viewport = (width, height) CSS pixels; chromedriver's log goes into `artifacts`."""

    def __init__(self, origin, artifacts, viewport):
        for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
            if not os.access(path, os.X_OK):
                raise RuntimeError(f"no {path}: run make deps (Debian's {package})")
        self.origin = origin
        self.console = []        # every console line and page error
        self.unexpected = []     # errors that no step expected
        self.expected_seen = []  # the failed-load lines a step expected
        self.requests = []       # {method, path, at} of every request the page sent
        self.responses = []      # {method, path, status, type, at} of every answer it got
        self._expected = []      # [(status, path)] the running step lets through
        self._methods = {}       # request id -> method
        self._controls = {}      # (role, name) -> element, until the next navigation
        self._closed = False
        self.driver = None
        self._profile = tempfile.mkdtemp(prefix="redisapp-browser-profile-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in CHROMIUM_ARGS + [f"--user-data-dir={self._profile}"]:
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        options.add_experimental_option("perfLoggingPrefs",
                                        {"enableNetwork": True, "enablePage": False})
        RemoteConnection.set_timeout(COMMAND_TIMEOUT_S)
        self._service = Service(CHROMEDRIVER, port=harness.free_port(),
                                log_path=os.path.join(artifacts, "chromedriver.log"),
                                popen_kw={"start_new_session": True})
        atexit.register(self.close, graceful=False)
        try:
            self.driver = webdriver.Chrome(service=self._service, options=options)
            self.driver.set_page_load_timeout(COMMAND_TIMEOUT_S)
            self.driver.set_script_timeout(COMMAND_TIMEOUT_S)
            # scrollbars as on a phone: drawn over the page, taking no width
            self.driver.execute_cdp_cmd("Emulation.setScrollbarsHidden", {"hidden": True})
            self.set_viewport(*viewport)
        except BaseException:
            self.close(graceful=False)
            raise

    def close(self, graceful=True):
        """Ends the session (graceful), then stops what is left of the browser's process group
        and removes the profile. Safe to call again."""
        if self._closed:
            return
        self._closed = True
        process = getattr(self._service, "process", None)
        if graceful and self.driver is not None:
            try:
                self.driver.quit()  # chromium, then chromedriver
            except (WebDriverException, OSError):
                pass
        if process is not None:
            self._stop_group(process)
        shutil.rmtree(self._profile, ignore_errors=True)

    @staticmethod
    def _stop_group(process):
        """SIGKILL to every process left in chromedriver's group (its PID is the group's id)."""
        group = process.pid
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and int(fields[3]) == group:  # pgrp, session
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
        with contextlib.suppress(OSError):
            process.wait(10)

    # --- what the browser logged ------------------------------------------------------------

    def drain(self):
        """Reads what chromedriver logged since the last call."""
        for entry in self.driver.get_log("browser"):
            self._console(entry)
        for entry in self.driver.get_log("performance"):
            self._network(entry)

    def _console(self, entry):
        level, source, message = entry["level"], entry.get("source", ""), entry["message"]
        line = f"{'page error' if source == 'javascript' else level.lower()}: {message}"
        self.console.append(line)
        if level != "SEVERE":
            return
        (self.expected_seen if self._is_expected(source, message) else self.unexpected).append(line)

    def _is_expected(self, source, message):
        match = FAILED_LOAD.match(message)
        if source != "network" or match is None:
            return False
        url = urlsplit(match[1])
        return (f"{url.scheme}://{url.netloc}" == self.origin
                and (int(match[2]), url.path) in self._expected)

    def _network(self, entry):
        event = json.loads(entry["message"])["message"]
        params = event.get("params", {})
        if event["method"] == "Network.requestWillBeSent":
            url = urlsplit(params["request"]["url"])
            if f"{url.scheme}://{url.netloc}" == self.origin:
                self._methods[params["requestId"]] = params["request"]["method"]
                self.requests.append({"method": params["request"]["method"], "path": url.path,
                                      "at": params["wallTime"]})
        elif event["method"] == "Network.responseReceived":
            url = urlsplit(params["response"]["url"])
            if f"{url.scheme}://{url.netloc}" == self.origin:
                self.responses.append({"method": self._methods.get(params["requestId"], "?"),
                                       "path": url.path, "status": params["response"]["status"],
                                       "type": params.get("type"),
                                       "at": entry["timestamp"] / 1000})

    def take_unexpected(self):
        """The errors no step expected, seen since the last call."""
        self.drain()
        errors, self.unexpected = self.unexpected, []
        return errors

    @contextlib.contextmanager
    def expecting(self, failures):
        """Lets through Chromium's failed-load line for each (status, path) in failures, for
        what the browser logs inside the with block."""
        self.drain()  # what came before is judged without these
        self._expected = list(failures)
        try:
            yield
            self.drain()
        finally:
            self._expected = []

    def saw_failed_load(self, status, path, since, timeout):
        """Waits until Chromium logged the failed load of `path` with `status`, after the first
        `since` lines of expected_seen."""
        def seen():
            for line in self.expected_seen[since:]:
                match = FAILED_LOAD.match(line.split(": ", 1)[1])
                if match and int(match[2]) == status and urlsplit(match[1]).path == path:
                    return True
            return False
        self.until(seen, timeout, f"Chromium's console line for {status} on {path}")

    def save_console(self, path):
        with open(path, "w") as f:
            f.write("".join(line + "\n" for line in self.console))

    # --- waiting ------------------------------------------------------------------------------

    def until(self, predicate, timeout, what):
        """harness.wait_until, reading the logs before each try; returns predicate's value."""
        def attempt():
            self.drain()
            try:
                return predicate()
            except (StaleElementReferenceException, JavascriptException) as err:
                raise ValueError(err.msg) from err  # retried: the page is changing
        return harness.wait_until(attempt, timeout, interval=0.1, what=what)

    def text(self, selector):
        """textContent of the first element matching selector (None when there is none)."""
        return self.script("const n = document.querySelector(arguments[0]);"
                           "return n === null ? null : n.textContent;", selector)

    def shows(self, selector, pattern, timeout):
        """Waits until the first element matching selector has a text matching the regular
        expression `pattern`; returns the text."""
        last = [None]

        def matches():
            last[0] = self.text(selector)
            return last[0] is not None and re.search(pattern, last[0]) is not None
        try:
            self.until(matches, timeout, selector)
        except AssertionError:
            raise AssertionError(f"{selector} should match {pattern!r} within {timeout:.0f} s; "
                                 f"it shows {last[0]!r}") from None
        return last[0]

    # --- the page -----------------------------------------------------------------------------

    def open(self, url):
        self._controls = {}
        self.driver.get(url)

    def reload(self):
        self._controls = {}
        self.driver.refresh()

    def script(self, source, *args):
        return self.driver.execute_script(source, *args)

    def css(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def accessibility_tree(self):
        """The nodes Chromium exposes to assistive technology (hidden ones are left out), as
        {role, name, level, node}: node is the DOM node's backend id, level a heading's level."""
        found = []
        for n in self.driver.execute_cdp_cmd("Accessibility.getFullAXTree", {})["nodes"]:
            if n.get("ignored"):
                continue
            props = {p["name"]: p["value"].get("value") for p in n.get("properties", [])}
            found.append({"role": n.get("role", {}).get("value"),
                          "name": n.get("name", {}).get("value", ""),
                          "level": props.get("level"), "node": n.get("backendDOMNodeId")})
        return found

    def by_role(self, role, name=None, level=None):
        """The accessibility tree's nodes with this role (and this accessible name and heading
        level, when given), in document order."""
        return [n for n in self.accessibility_tree() if n["role"] == role
                and (name is None or n["name"] == name) and (level is None or n["level"] == level)]

    def control(self, role, name):
        """The one element with this role and accessible name, as a WebElement (looked up
        again after each navigation); WebDriver's computed role and label must agree."""
        if (role, name) not in self._controls:
            found = self.by_role(role, name)
            if len(found) != 1:
                raise AssertionError(f"{len(found)} elements with role {role} named {name!r}")
            element = self._element(found[0]["node"])
            if (element.aria_role, element.accessible_name) != (role, name):
                raise AssertionError(f"{role} {name!r} is {element.aria_role} "
                                     f"{element.accessible_name!r} to WebDriver")
            self._controls[role, name] = element
        return self._controls[role, name]

    def _element(self, backend_node_id):
        """The WebElement of a DOM node known by its backend id (through its CSS path)."""
        cdp = self.driver.execute_cdp_cmd
        handle = cdp("DOM.resolveNode", {"backendNodeId": backend_node_id})["object"]["objectId"]
        try:
            path = cdp("Runtime.callFunctionOn", {
                "objectId": handle, "returnByValue": True, "functionDeclaration": """
                    function () {
                        const steps = [];
                        for (let e = this; e !== document.documentElement; e = e.parentElement) {
                            steps.unshift(`:nth-child(${[...e.parentElement.children]
                                .indexOf(e) + 1})`);
                        }
                        return ['html', ...steps].join(' > ');
                    }"""})["result"]["value"]
        finally:
            cdp("Runtime.releaseObject", {"objectId": handle})
        return self.driver.find_element(By.CSS_SELECTOR, path)

    def focus(self, element):
        self.script("arguments[0].focus();", element)
        if self.driver.switch_to.active_element != element:
            raise AssertionError(f"could not focus {element.accessible_name!r}")

    def press(self, key):
        """One key pressed and released, sent to whatever has the focus."""
        ActionChains(self.driver).send_keys(key).perform()

    def fill(self, element, text):
        """Clears a text field and types `text` into it."""
        element.clear()
        if text:
            element.send_keys(text)

    def move_mouse(self, x, y):
        action = ActionBuilder(self.driver)
        action.pointer_action.move_to_location(x, y)
        action.perform()

    def set_viewport(self, width, height):
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def screenshot(self, path):
        """The whole page, not only what the viewport shows, as PNG."""
        size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                     "scale": 1}})
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))

