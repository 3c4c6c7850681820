"""The live status page (docs/status-page.md) in a real browser: cstatsd with `enable-status` on
127.0.0.1 receives known traffic (a busy, a quiet and a markup-tagged counter, sent steadily, and 7
bad lines once); Debian's headless Chromium loads /status, runs its script (which fetches
/status.json) and dumps the rendered DOM. The numbers and names read from the DOM must be the ones
/status.json and /expvar report: the bad lines, the top series in order, the backend, the chart's
points; and a tag holding `<img onerror=...>` must arrive as text, not as an element.

Chromium comes from scripts/install-deps.sh (the `chromium` package); it missing is a failure."""

import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import deps  # noqa: E402
import harness  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
LISTENING = r".*http server listening server=main address=127\.0\.0\.1:(\d+) .*"
MARKUP_TAG = 'note:<img src=x onerror="document.title=1">'
BAD_LINES = 7


class Dom(html.parser.HTMLParser):
    """The rendered DOM: attributes and text of every element with an id, the rows of every
    tbody (each cell's class, text and data-value), and every tag name seen."""

    def __init__(self):
        super().__init__()
        self.by_id = {}  # id -> {"attrs": {...}, "text": str}
        self.tables = {}  # tbody id -> [[(class, text, data-value)]]
        self.tags = set()
        self._open = []  # ids of the elements we are inside, innermost last
        self._stack = []  # (tag, id or None)
        self._tbody = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        a = dict(attrs)
        ident = a.get("id")
        if ident is not None:
            self.by_id[ident] = {"attrs": a, "text": ""}
            self._open.append(ident)
        if tag == "tbody" and ident:
            self._tbody = ident
            self.tables[ident] = []
        elif tag == "tr" and self._tbody:
            self.tables[self._tbody].append([])
        elif tag == "td" and self._tbody:
            self._cell = [a.get("class", ""), "", a.get("data-value")]
        if tag not in ("meta", "br", "img", "input", "link"):
            self._stack.append((tag, ident))

    def handle_endtag(self, tag):
        while self._stack:
            t, ident = self._stack.pop()
            if ident is not None and self._open and self._open[-1] == ident:
                self._open.pop()
            if t == "td" and self._cell is not None and self._tbody:
                self.tables[self._tbody][-1].append(tuple(self._cell))
                self._cell = None
            if t == "tbody":
                self._tbody = None
            if t == tag:
                break

    def handle_data(self, data):
        for ident in self._open:
            self.by_id[ident]["text"] += data
        if self._cell is not None:
            self._cell[1] += data


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read()


class StatusPageTest(harness.ServerTestCase):
    def setUp(self):
        deps.ensure({CHROMIUM: "chromium"})
        self.dir = tempfile.mkdtemp(prefix="cstatsd-status-page-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def start_server(self):
        path = os.path.join(self.dir, "cstatsd.toml")
        with open(path, "w") as f:
            f.write('http-servers = ["main"]\n[http.main]\naddress = "127.0.0.1:0"\n'
                    "enable-status = true\nenable-expvar = true\n")
        s = self.start_standard(config_path=path, flush_interval="500ms")
        _, m = s.wait_for(LISTENING, stream="stderr")
        return s, int(m.group(1))

    def send_steadily(self, server):
        """Every 50 ms one datagram: 10 lines of the busy counter, 3 of the markup-tagged one,
        1 of the quiet one (200, 60 and 20 lines/s); stops with the test."""
        stop = threading.Event()
        datagram = ("e2e.status.busy:1|c\n" * 10 + f"e2e.status.markup:1|c|#{MARKUP_TAG}\n" * 3
                    + "e2e.status.quiet:1|c")

        def run():
            while not stop.is_set():
                server.send(datagram)
                stop.wait(0.05)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.addCleanup(t.join, 5)
        self.addCleanup(stop.set)

    def wait_json(self, port, ready, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            status, ctype, body = get(port, "/status.json")
            self.assertEqual(status, 200)
            self.assertEqual(ctype, "application/json; charset=utf-8")
            doc = json.loads(body)
            if ready(doc):
                return doc
            if time.monotonic() > deadline:
                self.fail(f"/status.json never got ready: {body[:2000]!r}")
            time.sleep(0.2)

    def render(self, port):
        """The DOM of /status after Chromium ran its script (virtual time: the first fetch and a
        few refreshes)."""
        profile = os.path.join(self.dir, "chromium-profile")
        r = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking",
             f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom",
             f"http://127.0.0.1:{port}/status"],
            capture_output=True, text=True, timeout=120,
            env=dict(os.environ, HOME=self.dir))
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        dom = Dom()
        dom.feed(r.stdout)
        return dom, r.stdout

    def test_the_rendered_page_shows_what_the_server_reports(self):
        server, port = self.start_server()
        for _ in range(BAD_LINES):
            server.send("this is not a metric line")
        self.send_steadily(server)
        names = ["e2e.status.busy", "e2e.status.markup", "e2e.status.quiet"]
        doc = self.wait_json(port, lambda d: d["totals"]["bad_lines"] == BAD_LINES and [
            s["name"] for s in d["top_series"][:3]] == names and len(d["history"]) >= 3)

        dom, raw = self.render(port)
        after = json.loads(get(port, "/status.json")[2])
        expvar = json.loads(get(port, "/expvar")[2])["cstatsd"]["counters"]

        # The script ran and read status.json.
        self.assertIn("live", dom.by_id["state"]["text"], raw[-3000:])
        self.assertGreater(int(dom.by_id["updated"]["attrs"]["data-unix-ms"]), 0)
        self.assertEqual(dom.by_id["version"]["text"], doc["version"])

        # Bad lines: the DOM, /status.json and /expvar agree.
        self.assertEqual(int(dom.by_id["bad-lines"]["attrs"]["data-value"]), BAD_LINES)
        self.assertEqual(after["totals"]["bad_lines"], BAD_LINES)
        self.assertEqual(expvar["parser.bad_lines_seen"], BAD_LINES)
        self.assertEqual(int(dom.by_id["kernel-drops"]["attrs"]["data-value"]),
                         after["totals"]["kernel_drops"])

        # Top series, in the server's order, with the markup tag as text.
        rows = dom.tables["top-series"]
        shown = [[c[1] for c in row if c[0] == "name"][0] for row in rows[:3]]
        self.assertEqual(shown, names)
        self.assertEqual(shown, [s["name"] for s in after["top_series"][:3]])
        tags = [c[1] for c in rows[1] if c[0] == "name tags"][0]
        self.assertEqual(tags, MARKUP_TAG)
        self.assertNotIn("img", dom.tags)  # text, never an element
        rates = [float([c[2] for c in row if c[0] == "num rate"][0]) for row in rows[:3]]
        self.assertGreater(rates[0], rates[1])
        self.assertGreater(rates[1], rates[2])

        # The backend, and the lines/s chart drawn from the history ring.
        backend_row = dom.tables["backends"][0]
        self.assertEqual(backend_row[0][1], "stdout")
        self.assertEqual(backend_row[0][1], after["backends"][0]["name"])
        svg = dom.by_id["chart-lines"]["attrs"]
        points = int(svg["data-points"])
        self.assertGreaterEqual(points, 3)
        self.assertLessEqual(points, len(after["history"]))
        polyline = re.search(r'id="chart-lines"[^>]*>\s*<polyline points="([^"]*)"', raw)
        self.assertIsNotNone(polyline, raw[-3000:])
        self.assertEqual(len(polyline.group(1).split()), points)
        # lines/s as drawn: the busy and markup lines at least, per the server's last sample.
        self.assertGreater(float(dom.by_id["lines-per-second"]["attrs"]["data-value"]), 0)

        # Top metric names by series: turned on by the page's first request.
        doc = self.wait_json(port, lambda d: len(d["top_names"]) > 0)
        self.assertIn("e2e.status.busy", [n["name"] for n in doc["top_names"]])

        self.stop_ok(server)


if __name__ == "__main__":
    harness.main()
