#!/usr/bin/env python3
"""The operations console in a real browser: headless Debian Chromium, driven over the
DevTools protocol (CDP over --remote-debugging-pipe, no port, no extra package), opens GET /
of longrun-api --http-listen, checks the submit form's JSON validation and a server error,
submits demo.sleep {"seconds": 3, "steps": 3} through the form and sees its progress bar
(fed by the :watch stream) reach 100 % and the state become SUCCEEDED, takes a screenshot
(kept under build/test-output/console/), cancels and deletes through the buttons, filters
with a state chip, pages with a label filter, and checks the page loaded nothing but its
own origin and logged no script errors."""

import base64
import fcntl
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, say  # noqa: E402

CHROMIUM = os.environ.get("LONGRUN_TEST_CHROMIUM", "/usr/bin/chromium")
WAIT = 60  # seconds any one condition may take


class Cdp:
    """Chromium with the DevTools protocol on fds 3 (commands in) and 4 (replies and events
    out): JSON messages ended by NUL, the transport Puppeteer's `pipe: true` uses."""

    def __init__(self, profile_dir):
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # Above 10, so bash's `3<&N 4>&M` cannot clobber one with the other (dash takes
        # one-digit fds only, hence bash).
        child_in = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
        for fd in (to_chrome_r, from_chrome_w):
            os.close(fd)
        flags = ["--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-extensions", "--disable-default-apps",
                 "--no-default-browser-check", "--mute-audio", "--password-store=basic",
                 "--hide-scrollbars", "--window-size=1280,900",
                 # Nothing but loopback resolves: the page must not need the network.
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                 "--user-data-dir=" + profile_dir, "--remote-debugging-pipe", "about:blank"]
        if os.geteuid() == 0:
            flags.insert(0, "--no-sandbox")  # Chromium's sandbox refuses to run as root
        self.log_path = os.path.join(os.path.dirname(profile_dir), "chromium.log")
        env = dict(os.environ, HOME=profile_dir, XDG_CONFIG_HOME=profile_dir,
                   XDG_CACHE_HOME=profile_dir)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                ["/bin/bash", "-c", 'exec "$@" 3<&%d 4>&%d %d<&- %d>&-'
                 % (child_in, child_out, child_in, child_out), "bash", CHROMIUM] + flags,
                pass_fds=(child_in, child_out), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=env, start_new_session=True)
        os.close(child_in)
        os.close(child_out)
        say("# started chromium (pid %d)" % self.proc.pid)
        self.out = os.fdopen(to_chrome_w, "wb", buffering=0)
        self.inp = os.fdopen(from_chrome_r, "rb", buffering=0)
        self.next_id = 0
        self.replies = {}
        self.cond = threading.Condition()
        self.events = queue.Queue()
        self.closed = False
        self.session = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        while True:
            chunk = self.inp.read(1 << 16)
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self.cond:
                        self.replies[msg["id"]] = msg
                        self.cond.notify_all()
                else:
                    self.events.put(msg)
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def call(self, method, params=None, session=True, timeout=WAIT):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self.out.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.next_id not in self.replies:
                check(not self.closed, "chromium closed the DevTools pipe (see %s)"
                      % self.log_path)
                left = deadline - time.monotonic()
                check(left > 0, "no reply to %s within %ds" % (method, timeout))
                self.cond.wait(left)
            reply = self.replies.pop(self.next_id)
        check("error" not in reply, "%s: %r" % (method, reply.get("error")))
        return reply["result"]

    def open_page(self, width, height):
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target["targetId"], "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(domain + ".enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def drain_events(self):
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def close(self):
        if self.proc.poll() is None:
            try:
                self.call("Browser.close", session=False, timeout=10)
            except Exception as e:  # fall through to the signals
                say("# Browser.close: %r" % e)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the one we made
                self.proc.wait(timeout=10)
        say("# chromium (pid %d) exited with %s" % (self.proc.pid, self.proc.returncode))


class Page:
    """The console in the browser: evaluate, wait for conditions, type, click."""

    def __init__(self, cdp, env):
        self.cdp = cdp
        self.env = env
        self.requests = []   # every URL the page asked for
        self.problems = []   # script exceptions and console errors

    def pump(self):
        for ev in self.cdp.drain_events():
            method, params = ev.get("method"), ev.get("params", {})
            if method == "Network.requestWillBeSent":
                self.requests.append(params["request"]["url"])
            elif method == "Runtime.exceptionThrown":
                self.problems.append("exception: %r" % params["exceptionDetails"])
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                self.problems.append("console.error: %r" % params.get("args"))
            elif (method == "Log.entryAdded" and params["entry"]["level"] == "error"
                  and params["entry"].get("source") != "network"):
                # "network": the browser's note on a 4xx the test provokes on purpose.
                self.problems.append("log: %r" % params["entry"])

    def js(self, expression):
        r = self.cdp.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                               "awaitPromise": True})
        check("exceptionDetails" not in r, "%s threw %r" % (expression, r.get("exceptionDetails")))
        return r["result"].get("value")

    def wait(self, expression, what, timeout=WAIT):
        """Polls `expression` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            value = self.js(expression)
            if value:
                return value
            self.env.check_alive()
            check(time.monotonic() < deadline, "timed out after %ds waiting for %s (last %r)"
                  % (timeout, what, value))
            time.sleep(0.05)

    def type_into(self, selector, text):
        """Focuses the field, selects what it holds and types `text` over it (input events
        as from a keyboard)."""
        self.js("(() => { const e = document.querySelector(%s); e.focus(); e.select(); })()"
                % json.dumps(selector))
        self.cdp.call("Input.insertText", {"text": text})

    def click(self, selector):
        """A real mouse click in the middle of the element."""
        box = self.js("(() => { const e = document.querySelector(%s); e.scrollIntoView("
                      "{block: 'center'}); const r = e.getBoundingClientRect();"
                      " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
                      % json.dumps(selector))
        for kind in ("mousePressed", "mouseReleased"):
            self.cdp.call("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1],
                                                       "button": "left", "clickCount": 1})

    def text(self, selector):
        return self.js("(document.querySelector(%s) || {}).textContent || ''"
                       % json.dumps(selector))

    def row_ids(self):
        return self.js("[...document.querySelectorAll('#ops tbody tr')].map(r => r.dataset.id)")

    def row(self, op_id):
        """{state, progress} of the row of `op_id`, or None if it is not shown."""
        return self.js("""(() => {
            const r = document.querySelector('#ops tr[data-id="%s"]');
            if (!r) return null;
            return {state: r.querySelector('.state').textContent,
                    progress: r.querySelector('progress').value};
        })()""" % op_id)

    def select_row(self, op_id, button):
        """Clicks the row of `op_id` and waits for its detail, with `button` enabled."""
        self.click('#ops tr[data-id="%s"]' % op_id)
        self.wait("(n => n === %s)(document.querySelector('#detail-fields "
                  "dd[data-field=\"Name\"]')?.textContent) && "
                  "!document.getElementById(%s).disabled"
                  % (json.dumps("operations/" + op_id), json.dumps(button)),
                  "operations/%s in the detail pane, %s enabled" % (op_id, button))


def http(base, method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def submit(base, kind, payload, labels=None):
    body = {"kind": kind, "input": payload}
    if labels:
        body["labels"] = labels
    status, op = http(base, "POST", "/v1/operations", body)
    check(status == 202, "submit %s: %d %r" % (kind, status, op))
    return op["name"].split("/", 1)[1]


def wait_state(env, base, op_id, states):
    deadline = time.monotonic() + WAIT
    while True:
        status, op = http(base, "GET", "/v1/operations/" + op_id)
        check(status == 200, "get %s: %d" % (op_id, status))
        if op["metadata"]["state"] in states:
            return op
        env.check_alive()
        check(time.monotonic() < deadline, "%s not in %s in time" % (op_id, states))
        time.sleep(0.05)


def run(env, stubs):
    check(os.access(CHROMIUM, os.X_OK),
          "%s not found: tools/dev/deps.sh installs Debian's chromium" % CHROMIUM)
    port_file = os.path.join(env.tmp, "http.port")
    env.start_stack(worker_concurrency=4, api_args=["--http-listen=127.0.0.1:0",
                                                    "--http-port-file=" + port_file])
    base = "http://127.0.0.1:%d" % env.await_port_file(port_file, time.monotonic() + 30)

    # The page itself: its files, the policy that keeps it to its origin, 404 for others.
    with urllib.request.urlopen(base + "/", timeout=15) as resp:
        check(resp.headers["Content-Type"].startswith("text/html"), "GET / content type")
        csp = resp.headers["Content-Security-Policy"]
        check("default-src 'none'" in csp and "script-src 'self'" in csp, "CSP %r" % csp)
    status, body = http(base, "GET", "/console/nope.js")
    check(status == 404 and body["error"]["status"] == "NOT_FOUND", "unknown console file")

    # A few operations for the page to show: done ones in each terminal state, one running.
    seeded = {
        "echo": submit(base, "demo.echo", {"hello": "console"}),
        "sha": submit(base, "demo.sha256", {"text": "abc"}),
        "fail": submit(base, "demo.fail", {"failures": 5, "permanent": True}),
    }
    for key in seeded:
        wait_state(env, base, seeded[key], ("SUCCEEDED", "FAILED"))
    seeded["long"] = submit(base, "demo.sleep", {"seconds": 100, "steps": 100})
    seeded["cancel_me"] = submit(base, "demo.sleep", {"seconds": 300, "steps": 100})
    wait_state(env, base, seeded["long"], ("RUNNING",))

    profile = os.path.join(env.tmp, "chromium-profile")
    os.makedirs(profile)
    cdp = Cdp(profile)
    env.logs.append(cdp.log_path)
    try:
        cdp.open_page(1280, 900)
        page = Page(cdp, env)
        cdp.call("Page.navigate", {"url": base + "/"})
        page.wait("document.readyState === 'complete' && "
                  "document.querySelectorAll('#ops tbody tr').length === %d" % len(seeded),
                  "the list of %d operations" % len(seeded))
        check(set(page.row_ids()) == set(seeded.values()), "rows %r" % page.row_ids())

        # The form checks its JSON before sending, and shows the server's refusal.
        page.type_into("#input", '{"seconds": 3,')
        page.wait("document.getElementById('submit').disabled && document.getElementById("
                  "'submit-error').textContent.includes('not JSON')", "the JSON error")
        page.type_into("#input", "[1, 2]")
        page.wait("document.getElementById('submit-error').textContent.includes("
                  "'must be a JSON object')", "the not-an-object error")
        page.type_into("#kind", "Bad Kind")
        page.type_into("#input", "{}")
        page.wait("!document.getElementById('submit').disabled", "the button enabled again")
        page.click("#submit")
        err = page.wait("(t => t.includes('must match') && t)(document.getElementById("
                        "'submit-error').textContent)", "the server's INVALID_ARGUMENT message")
        say("# server error shown: %s" % err)
        check(len(page.row_ids()) == len(seeded), "a refused submit added a row")

        # The real submission: its progress bar, fed by :watch, reaches 100 % and SUCCEEDED.
        page.type_into("#kind", "demo.sleep")
        page.type_into("#input", '{"seconds": 3, "steps": 3}')
        page.click("#submit")
        new_id = page.wait("(n => n.startsWith('operations/') && !%s.includes(n.slice(11)) "
                           "&& n.slice(11))(document.querySelector('#detail-fields "
                           "dd[data-field=\"Name\"]')?.textContent || '')"
                           % json.dumps(list(seeded.values())), "the new operation selected")
        say("# submitted through the form: operations/%s" % new_id)
        seen = []

        def progressed():
            r = page.row(new_id)
            if r and (not seen or seen[-1] != r):
                seen.append(r)
            return r and r["state"] == "SUCCEEDED" and r["progress"] == 100

        deadline = time.monotonic() + WAIT
        while not progressed():
            page.pump()
            env.check_alive()
            check(time.monotonic() < deadline, "no 100 %% SUCCEEDED row; seen %r" % seen)
            time.sleep(0.05)
        say("# row states seen: %s" % ", ".join("%s %d%%" % (r["state"], r["progress"])
                                                for r in seen))
        page.wait("document.getElementById('outcome').textContent.includes('slept_seconds')",
                  "the result in the detail pane")
        check(page.text('#detail-fields dd[data-field="Kind"]') == "demo.sleep", "detail kind")
        page.pump()
        check(any(new_id + ":watch" in u for u in page.requests),
              "no :watch stream was opened for %s: %r" % (new_id, page.requests))
        status, op = http(base, "GET", "/v1/operations/" + new_id)
        check(op["done"] and op["metadata"]["state"] == "SUCCEEDED"
              and op["metadata"]["progressPercent"] == 100, "server says %r" % op)

        # The screenshot: an artifact of the run, and the README's picture.
        out_dir = os.path.join(os.environ.get("LONGRUN_TEST_OUTPUT_DIR") or env.tmp, "console")
        os.makedirs(out_dir, exist_ok=True)
        shot = os.path.join(out_dir, "console.png")
        png = cdp.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(shot, "wb") as f:
            f.write(base64.b64decode(png))
        say("# screenshot: %s" % shot)

        # Cancel through the button: the running operation ends CANCELLED.
        page.select_row(seeded["cancel_me"], "cancel")
        page.click("#cancel")
        page.wait("(r => r && r.textContent === 'CANCELLED')(document.querySelector("
                  "'#ops tr[data-id=\"%s\"] .state'))" % seeded["cancel_me"],
                  "CANCELLED in the row")
        wait_state(env, base, seeded["cancel_me"], ("CANCELLED",))

        # Delete takes two clicks; the row goes, and so does the operation.
        page.select_row(seeded["echo"], "delete")
        page.click("#delete")
        page.wait("document.getElementById('delete').textContent === 'Really delete?'",
                  "delete asking again")
        page.click("#delete")
        page.wait("!document.querySelector('#ops tr[data-id=\"%s\"]')" % seeded["echo"],
                  "the deleted row gone")
        status, _ = http(base, "GET", "/v1/operations/" + seeded["echo"])
        check(status == 404, "deleted operation still there: %d" % status)

        # A state chip filters; "All" clears it.
        page.click('#chips button[data-state="SUCCEEDED"]')
        page.wait("(s => s.length === 2 && s.every(x => x.textContent === 'SUCCEEDED'))("
                  "[...document.querySelectorAll('#ops tbody .state')])",
                  "the two SUCCEEDED operations (sha256, the form's sleep) only")
        check(set(page.row_ids()) == {seeded["sha"], new_id}, "chip rows %r" % page.row_ids())
        check(page.js("document.getElementById('filter').value") == "state = SUCCEEDED",
              "chip filter text")

        # Paging: 12 labelled operations, pages of 10, next and previous.
        batch = [submit(base, "demo.echo", {"n": i}, {"batch": "paging"}) for i in range(12)]
        page.type_into("#filter", 'labels.batch = "paging"')
        page.js("(s => { s.value = '10'; })(document.getElementById('page-size'))")
        page.click("#filter-form button[type=submit]")
        first = page.wait("(ids => ids.length === 10 && ids)([...document.querySelectorAll("
                          "'#ops tbody tr')].map(r => r.dataset.id))", "page 1 of 10 rows")
        page.click("#next")
        second = page.wait("(ids => ids.length === 2 && ids)([...document.querySelectorAll("
                           "'#ops tbody tr')].map(r => r.dataset.id))", "page 2 of 2 rows")
        check(sorted(first + second) == sorted(batch), "pages %r + %r" % (first, second))
        check(page.js("document.getElementById('next').disabled"), "next on the last page")
        page.click("#prev")
        again = page.wait("(ids => ids.length === 10 && ids)([...document.querySelectorAll("
                          "'#ops tbody tr')].map(r => r.dataset.id))", "page 1 again")
        check(again == first, "previous gave %r, not %r" % (again, first))

        # Nothing but this origin, and no script errors.
        page.pump()
        foreign = [u for u in page.requests
                   if not (u.startswith(base + "/") or u.startswith("data:")
                           or u == "about:blank")]
        check(not foreign, "the page loaded other URLs: %r" % foreign)
        check(not page.problems, "script errors: %r" % page.problems)
        say("# %d requests, all to %s" % (len(page.requests), base))
    finally:
        cdp.close()
    env.check_alive()


if __name__ == "__main__":
    sys.exit(harness.main("console", __doc__.splitlines()[0], run, stub_names=["status_pb2"]))
