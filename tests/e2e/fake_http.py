"""A recording HTTP server on loopback for the HTTP backends' end-to-end tests: it keeps every
request (method, path, query, headers, body decompressed per Content-Encoding) and answers from a
script of responses (status, headers, body, delay; optionally per path), then 200. Standard
library only."""

import gzip
import http.server
import threading
import time
import urllib.parse
import zlib


class Request:
    def __init__(self, method, path, query, headers, raw):
        self.method = method
        self.path = path
        self.query = query  # dict of lists
        self.headers = headers  # dict, lower-case names
        self.raw = raw
        self.at = time.monotonic()  # arrival
        self.delay = 0  # how long the answer was held back (a scripted delay)
        enc = headers.get("content-encoding", "identity")
        if enc == "gzip":
            self.body = gzip.decompress(raw)
        elif enc == "deflate":
            self.body = zlib.decompress(raw)
        else:
            self.body = raw


class FakeHttp:
    def __init__(self):
        self.requests = []
        self.script = []  # (status, headers dict, body bytes, delay seconds), used in order
        # Per path, used before `script` for requests to that path (e.g. a backend's metrics
        # endpoint only, not its events).
        self.scripts = {}
        self.default = (200, {}, b"")
        self.cond = threading.Condition()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                url = urllib.parse.urlsplit(self.path)
                req = Request(self.command, url.path, urllib.parse.parse_qs(url.query),
                              {k.lower(): v for k, v in self.headers.items()}, raw)
                with outer.cond:
                    mine = outer.scripts.get(url.path)
                    if mine:
                        step = mine.pop(0)
                    else:
                        step = outer.script.pop(0) if outer.script else None
                status, headers, body = (step[:3] if step else outer.default)
                delay = step[3] if step and len(step) > 3 else 0
                req.delay = delay
                if delay:
                    time.sleep(delay)
                with outer.cond:
                    outer.requests.append((req, status))
                    outer.cond.notify_all()
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout tests)

            do_POST = do_PUT = do_GET = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def wait_for(self, predicate, timeout=20):
        """Waits until predicate(list of (request, status)) is true; returns the list."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out; {len(self.requests)} requests: " +
                        ", ".join(f"{r.method} {r.path} -> {s}" for r, s in self.requests))
                self.cond.wait(left)
            return list(self.requests)

    def received(self, path=None, status=None):
        with self.cond:
            return [r for r, s in self.requests
                    if (path is None or r.path == path) and (status is None or s == status)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
