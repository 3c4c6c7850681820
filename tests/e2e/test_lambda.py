"""cstatsd-lambda-extension end to end (docs/lambda.md): the real binary against a fake Lambda Runtime API
(register, telemetry subscription, event/next, init/error, exit/error: a Python http.server in a
thread on 127.0.0.1) and a fake aggregator (the forwarder tests' recorder, bodies decoded with
`protoc --decode=pb.RawMessageV2`).

The fake plays Lambda's order of things: it answers event/next with INVOKE; during the
"invocation" the test sends UDP metrics to the extension; then the fake posts a telemetry batch
with `platform.runtimeDone` to the extension's telemetry listener and waits for the next
event/next. When that call arrives, the aggregator must already hold every metric of the
invocation. SHUTDOWN ends it after a final flush. The error paths check the endpoints, headers and
bodies of init/error and exit/error. The cold start (process spawn → register, → first
event/next) is measured and printed, not asserted."""

import ctypes
import http.server
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
import test_forwarder as fwd  # noqa: E402  (FakeAggregator, series decoding)

WAIT = 15.0
EXT_ID = "4f2c0a9e-test-extension-id"
SRC = ",s:127.0.0.1"


def lambda_bin():
    path = os.environ.get("CSTATSD_LAMBDA_BIN") or os.path.join(
        harness.SOURCE_DIR, "build", "bin", "cstatsd-lambda-extension")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError(f"cstatsd-lambda-extension not found at {path!r} (build it, or set "
                             "CSTATSD_LAMBDA_BIN)")
    return path


class FakeRuntimeApi:
    """Lambda's Runtime API on 127.0.0.1: records every request with the time it arrived;
    event/next blocks until the test supplies the answer with answer_next()."""

    def __init__(self, register_status=200, subscribe_status=200, agg=None, register_gate=None):
        self.register_status = register_status
        self.register_gate = register_gate  # threading.Event: register answers once it is set
        self.subscribe_status = subscribe_status
        self.agg = agg  # snapshot of its requests taken when each event/next arrives
        self.requests = []  # dicts: method, path, headers, body, t, agg (snapshot or None)
        self.next_answers = []  # (status, body) for the waiting event/next calls, in order
        self.cond = threading.Condition()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                # As Lambda's own server (Go sets TCP_NODELAY): without it, the status line and
                # the body go in two segments and the second waits ~40 ms for a delayed ACK.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _record(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n) if n else b""
                entry = dict(method=self.command, path=self.path, headers=dict(self.headers.items()),
                             body=body, t=time.monotonic(), agg=None)
                if self.path.endswith("/event/next") and api.agg is not None:
                    entry["agg"] = api.agg.snapshot()
                with api.cond:
                    api.requests.append(entry)
                    api.cond.notify_all()
                return entry

            def _answer(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the extension has gone (SIGTERM, or the test's cleanup)

            def do_POST(self):
                self._record()
                if self.path == "/2020-01-01/extension/register":
                    if api.register_gate is not None:
                        api.register_gate.wait(WAIT)
                    info = json.dumps({"functionName": "fn", "functionVersion": "$LATEST",
                                       "handler": "index.handler"}).encode()
                    hdrs = [("Lambda-Extension-Identifier", EXT_ID)] \
                        if api.register_status == 200 else []
                    self._answer(api.register_status, info, hdrs)
                elif self.path in ("/2020-01-01/extension/init/error",
                                   "/2020-01-01/extension/exit/error"):
                    self._answer(202, b'{"status":"OK"}')
                else:
                    self._answer(404)

            def do_PUT(self):
                self._record()
                if self.path == "/2022-07-01/telemetry":
                    self._answer(api.subscribe_status, b"OK")
                else:
                    self._answer(404)

            def do_GET(self):
                self._record()
                if self.path != "/2020-01-01/extension/event/next":
                    self._answer(404)
                    return
                with api.cond:
                    while not api.next_answers:
                        if not api.cond.wait(60):
                            self._answer(500, b"test gave no answer")
                            return
                    status, body = api.next_answers.pop(0)
                self._answer(status, body, [("Content-Type", "application/json"),
                                            ("Lambda-Extension-Event-Identifier", "evt")])

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        with self.cond:
            self.next_answers += [(500, b"stopping")] * 10
            self.cond.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def calls(self, path):
        with self.cond:
            return [r for r in self.requests if r["path"] == path]

    def wait_calls(self, path, count, timeout=WAIT, proc=None):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [r for r in self.requests if r["path"] == path]
                if len(got) >= count:
                    return got
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (proc is not None and proc.proc.poll() is not None):
                    raise AssertionError(
                        f"{count} calls to {path} expected, got {len(got)}; all: "
                        f"{[(r['method'], r['path']) for r in self.requests]}"
                        + ("\n" + proc.describe() if proc is not None else ""))
                self.cond.wait(min(remaining, 0.1))

    def answer_next(self, event_type, status=200, **fields):
        body = {"eventType": event_type, **fields}
        if event_type == "INVOKE":
            body.setdefault("requestId", "req-%d" % len(self.requests))
            body.setdefault("deadlineMs", int(time.time() * 1000) + 30000)
            body.setdefault("invokedFunctionArn", "arn:aws:lambda:eu-west-1:123:function:fn")
        if event_type == "SHUTDOWN":
            body.setdefault("shutdownReason", "spindown")
            body.setdefault("deadlineMs", int(time.time() * 1000) + 2000)
        with self.cond:
            self.next_answers.append((status, json.dumps(body).encode()))
            self.cond.notify_all()

    def destination(self):
        sub = self.calls("/2022-07-01/telemetry")
        assert sub, "no telemetry subscription"
        return json.loads(sub[-1]["body"])["destination"]["URI"]

    def post_runtime_done(self, request_id):
        """What Lambda's Telemetry API sends when the function returns (with other platform
        events around it that the extension must ignore)."""
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        batch = [
            {"time": now, "type": "platform.start",
             "record": {"requestId": request_id, "version": "$LATEST"}},
            {"time": now, "type": "platform.runtimeDone",
             "record": {"requestId": request_id, "status": "success",
                        "metrics": {"durationMs": 12.5, "producedBytes": 0}}},
        ]
        req = urllib.request.Request(self.destination(), data=json.dumps(batch).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=WAIT) as resp:
            assert resp.status == 200, resp.status


def break_listening_socket(pid, port):
    """Shuts down the TCP socket that process `pid` listens on at 127.0.0.1:`port`, as a failing
    network stack would: its accept() then fails (EINVAL) and the server's accept loop ends. The
    test (the parent) takes a duplicate of the process's descriptor with pidfd_getfd(2); the
    shutdown acts on the socket both descriptors refer to."""
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == f"0100007F:{port:04X}" and fields[3] == "0A":  # LISTEN
                inode = fields[9]
    assert inode, f"no listening socket on 127.0.0.1:{port}"
    fd_dir = f"/proc/{pid}/fd"
    target = next(int(fd) for fd in os.listdir(fd_dir)
                  if os.readlink(os.path.join(fd_dir, fd)) == f"socket:[{inode}]")
    pidfd = os.pidfd_open(pid)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        SYS_pidfd_getfd = 438  # the same number on x86_64 and arm64
        dup = libc.syscall(SYS_pidfd_getfd, pidfd, target, 0)
        if dup < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd")
    finally:
        os.close(pidfd)
    with socket.socket(fileno=dup) as sock:
        sock.shutdown(socket.SHUT_RDWR)


def counters(requests, name, tags_key=SRC):
    return fwd.counter_total(requests, name, tags_key)


class LambdaExtensionTest(harness.ServerTestCase):
    def fakes(self, **api_kw):
        agg = fwd.FakeAggregator()
        self.addCleanup(agg.stop)
        api = FakeRuntimeApi(agg=agg, **api_kw)
        self.addCleanup(api.stop)
        return agg, api

    def config(self, agg, extra="", endpoint=True, top=""):
        fd, path = tempfile.mkstemp(suffix=".toml", prefix="cstatsd-lambda-")
        with os.fdopen(fd, "w") as f:
            f.write(f'metrics-addr = "127.0.0.1:0"\n'
                    f'lambda-extension-telemetry-address = "127.0.0.1:0"\n'
                    f'max-workers = 2\n{top}'
                    "[http-transport]\n"
                    + (f'api-endpoint = "{agg.url}"\n' if endpoint else "")
                    + 'flush-interval = "100ms"\n' + extra)
        self.addCleanup(os.unlink, path)
        return path

    def spawn(self, api, conf, flags=(), wait_started=True, statser="null"):
        env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=api.host)
        args = ["--config-path", conf, "--lambda-entrypoint-name", "cstatsd-ext",
                "--statser-type", statser, "--disable-internal-events"] + list(flags)
        return self.start(args, binary=lambda_bin(), env=env, wait_started=wait_started)

    def exit_code(self, ext, timeout=WAIT):
        try:
            return ext.proc.wait(timeout)
        except Exception:
            raise AssertionError("the extension did not exit\n" + ext.describe())

    def assert_error_call(self, api, path, kind, header_type, error_type):
        calls = api.calls(path)
        self.assertEqual(len(calls), 1, [(r["method"], r["path"]) for r in api.requests])
        c = calls[0]
        self.assertEqual(c["method"], "POST")
        self.assertEqual(c["headers"].get("Lambda-Extension-Identifier"), EXT_ID)
        self.assertEqual(c["headers"].get("Lambda-Extension-Function-Error-Type"), header_type)
        body = json.loads(c["body"])
        self.assertEqual(body["errorType"], error_type)
        self.assertEqual(body["stackTrace"], [])
        return body["errorMessage"]

    # ----- the happy path -----

    def test_invocations_are_flushed_before_the_next_event(self):
        agg, api = self.fakes()
        t0 = time.monotonic()
        ext = self.spawn(api, self.config(agg))
        reg = api.wait_calls("/2020-01-01/extension/register", 1, proc=ext)[0]
        self.assertEqual(reg["headers"].get("Lambda-Extension-Name"), "cstatsd-ext")
        self.assertEqual(json.loads(reg["body"]), {"events": ["INVOKE", "SHUTDOWN"]})
        sub = api.wait_calls("/2022-07-01/telemetry", 1, proc=ext)[0]
        self.assertEqual(sub["method"], "PUT")
        self.assertEqual(sub["headers"].get("Lambda-Extension-Identifier"), EXT_ID)
        sub_body = json.loads(sub["body"])
        self.assertEqual(sub_body["schemaVersion"], "2022-07-01")
        self.assertEqual(sub_body["types"], ["platform"])
        self.assertEqual(sub_body["buffering"], {"timeoutMs": 25})
        self.assertEqual(sub_body["destination"]["protocol"], "HTTP")
        self.assertRegex(sub_body["destination"]["URI"], r"^http://127\.0\.0\.1:\d+/telemetry$")
        first = api.wait_calls("/2020-01-01/extension/event/next", 1, proc=ext)[0]
        self.assertEqual(first["headers"].get("Lambda-Extension-Identifier"), EXT_ID)
        print(f"\ncold start (debug build): registered {1000 * (reg['t'] - t0):.1f} ms, first "
              f"event/next {1000 * (first['t'] - t0):.1f} ms after spawning", file=sys.stderr)

        sent = 0
        for i in range(1, 6):
            api.answer_next("INVOKE", requestId=f"req-{i}")
            # The function runs: several datagrams, several metrics each.
            for j in range(i):
                ext.send(f"inv.count:{j + 1}|c\ninv.last:{i}|g\ninv.t:{i * 10}|ms")
                sent += j + 1
            # Manual flush: nothing goes out on a timer (http-transport.flush-interval is
            # 100 ms), only when the function is done.
            api.post_runtime_done(f"req-{i}")
            nxt = api.wait_calls("/2020-01-01/extension/event/next", i + 1, proc=ext)[i]
            at_call = nxt["agg"]
            self.assertEqual(counters(at_call, "inv.count"), sent,
                             f"invocation {i}: the aggregator had "
                             f"{counters(at_call, 'inv.count')} of {sent} when event/next came"
                             + "\n" + ext.describe())
            gauges = fwd.series(at_call, "Gauges")[("inv.last", SRC)]
            self.assertEqual(gauges[-1]["Value"], [float(i)])

        # Metrics after the last runtimeDone are not flushed on a timer...
        ext.send("late.count:7|c")
        time.sleep(1.0)
        self.assertEqual(counters(agg.snapshot(), "late.count"), 0,
                         "a timed flush happened in manual mode")
        # ...but SHUTDOWN flushes them before the extension exits.
        api.answer_next("SHUTDOWN")
        self.assertEqual(self.exit_code(ext), 0, ext.describe())
        self.assertEqual(counters(agg.snapshot(), "late.count"), 7)
        self.assertEqual(counters(agg.snapshot(), "inv.count"), sent)
        self.assertEqual(api.calls("/2020-01-01/extension/init/error"), [])
        self.assertEqual(api.calls("/2020-01-01/extension/exit/error"), [])
        # Every event/next came after the previous invocation's POSTs: nothing was retried.
        self.assertEqual(len(api.calls("/2020-01-01/extension/event/next")), 6)

    def test_without_its_runtime_done_the_deadline_flushes(self):
        agg, api = self.fakes()
        ext = self.spawn(api, self.config(agg))
        api.wait_calls("/2020-01-01/extension/event/next", 1, proc=ext)
        api.answer_next("INVOKE", requestId="slow",
                        deadlineMs=int(time.time() * 1000) + 1500)
        ext.send("deadline.count:3|c")
        # A runtimeDone of another invocation (a late one) does not end this one...
        api.post_runtime_done("an-earlier-request")
        # ...the deadline does: the flush happens then, before the next event/next.
        nxt = api.wait_calls("/2020-01-01/extension/event/next", 2, proc=ext)[1]
        self.assertEqual(counters(nxt["agg"], "deadline.count"), 3)
        ext.wait_for_text("no platform.runtimeDone before the invocation's deadline",
                          stream="stderr")
        api.answer_next("SHUTDOWN")
        self.assertEqual(self.exit_code(ext), 0, ext.describe())

    def test_without_manual_flush_the_timed_flush_applies(self):
        agg, api = self.fakes()
        conf = self.config(agg, extra='dynamic-headers = ["team"]\n')  # allowed without it
        ext = self.spawn(api, conf, ["--lambda-extension-manual-flush=false"])
        api.wait_calls("/2020-01-01/extension/event/next", 1, proc=ext)
        self.assertEqual(api.calls("/2022-07-01/telemetry"), [])  # no listener, no subscription
        api.answer_next("INVOKE")
        ext.send("timed.count:3|c|#team:a")
        # No runtimeDone is ever posted: the timed flush (100 ms) delivers it.
        agg.wait_until(lambda rs: counters(rs, "timed.count", "team:a" + SRC) == 3,
                       what="timed.count from the timed flush")
        api.answer_next("SHUTDOWN")
        self.assertEqual(self.exit_code(ext), 0, ext.describe())

    def test_sigterm_flushes_and_exits_cleanly(self):
        agg, api = self.fakes()
        ext = self.spawn(api, self.config(agg))
        api.wait_calls("/2020-01-01/extension/event/next", 1, proc=ext)
        ext.send("term.count:5|c")
        ext.send_signal(signal.SIGTERM)
        self.assertEqual(self.exit_code(ext), 0, ext.describe())
        self.assertEqual(counters(agg.snapshot(), "term.count"), 5)
        self.assertEqual(api.calls("/2020-01-01/extension/exit/error"), [])

    def test_the_example_layer_config_runs_without_warnings(self):
        agg, api = self.fakes()
        conf = os.path.join(harness.SOURCE_DIR, "examples", "lambda", "config.toml")
        # The aggregator and the sockets of this test replace the example's addresses.
        env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=api.host,
                   GSD_HTTP_TRANSPORT_API_ENDPOINT=agg.url)
        ext = self.start(["--config-path", conf, "--metrics-addr", "127.0.0.1:0",
                          "--lambda-extension-telemetry-address", "127.0.0.1:0"],
                         binary=lambda_bin(), env=env)
        reg = api.wait_calls("/2020-01-01/extension/register", 1, proc=ext)[0]
        self.assertEqual(reg["headers"].get("Lambda-Extension-Name"), "cstatsd-lambda-extension")
        api.wait_calls("/2020-01-01/extension/event/next", 1, proc=ext)
        api.answer_next("INVOKE", requestId="req-ex")
        ext.send("example.count:2|c")
        api.post_runtime_done("req-ex")
        nxt = api.wait_calls("/2020-01-01/extension/event/next", 2, proc=ext)[1]
        self.assertEqual(counters(nxt["agg"], "example.count"), 2)
        api.answer_next("SHUTDOWN")
        self.assertEqual(self.exit_code(ext), 0, ext.describe())
        warnings = [l for l in ext.lines(0, "stderr") if '"level":"warning"' in l
                    or '"level":"warn"' in l or '"level":"error"' in l]
        self.assertEqual(warnings, [], ext.describe())

    # ----- error paths -----

    def test_register_failure_exits_without_init_error(self):
        # Lambda's init/error needs the identifier that only a successful register gives, so
        # there is nothing to report to: the extension logs the failure and exits non-zero.
        agg, api = self.fakes(register_status=500)
        ext = self.spawn(api, self.config(agg), wait_started=False)
        self.assertEqual(self.exit_code(ext), 1, ext.describe())
        self.assertEqual([r["path"] for r in api.requests], ["/2020-01-01/extension/register"])
        ext.wait_for_text("register failed", stream="stderr")

    def test_missing_runtime_api_exits(self):
        agg, api = self.fakes()
        env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"}
        ext = self.start(["--config-path", self.config(agg)], binary=lambda_bin(), env=env,
                         wait_started=False)
        self.assertEqual(self.exit_code(ext), 1, ext.describe())
        ext.wait_for_text("AWS_LAMBDA_RUNTIME_API is not set", stream="stderr")
        self.assertEqual(api.requests, [])

    def test_missing_api_endpoint_is_an_init_error(self):
        agg, api = self.fakes()
        ext = self.spawn(api, self.config(agg, endpoint=False), wait_started=False)
        self.assertEqual(self.exit_code(ext), 2, ext.describe())
        message = self.assert_error_call(api, "/2020-01-01/extension/init/error",
                                         "init", "extension.initialization.failed",
                                         "InitializationError")
        self.assertIn("api-endpoint", message)
        self.assertEqual(api.calls("/2020-01-01/extension/event/next"), [])

    def test_invalid_config_is_an_init_error(self):
        agg, api = self.fakes()
        ext = self.spawn(api, self.config(agg), ["--percent-threshold", "0"], wait_started=False)
        self.assertEqual(self.exit_code(ext), 2, ext.describe())
        message = self.assert_error_call(api, "/2020-01-01/extension/init/error", "init",
                                         "extension.initialization.failed", "InitializationError")
        self.assertIn("percent-threshold", message)

    def test_dynamic_headers_are_refused_with_manual_flush(self):
        agg, api = self.fakes()
        ext = self.spawn(api, self.config(agg, extra='dynamic-headers = ["team"]\n'),
                         wait_started=False)
        self.assertEqual(self.exit_code(ext), 2, ext.describe())
        message = self.assert_error_call(api, "/2020-01-01/extension/init/error", "init",
                                         "extension.initialization.failed", "InitializationError")
        self.assertIn("http-transport.dynamic-headers", message)
        self.assertIn("lambda-extension-manual-flush", message)
        ext.wait_for_text("http-transport.dynamic-headers", stream="stderr")

    def test_telemetry_subscription_failure_is_an_init_error(self):
        agg, api = self.fakes(subscribe_status=400)
        ext = self.spawn(api, self.config(agg), wait_started=False)
        self.assertEqual(self.exit_code(ext), 1, ext.describe())
        message = self.assert_error_call(api, "/2020-01-01/extension/init/error", "init",
                                         "extension.initialization.failed", "InitializationError")
        self.assertIn("Telemetry API", message)

    def test_event_next_failure_is_an_exit_error(self):
        agg, api = self.fakes()
        ext = self.spawn(api, self.config(agg))
        api.wait_calls("/2020-01-01/extension/event/next", 1, proc=ext)
        ext.send("before.fault:4|c")
        api.answer_next("INVOKE", status=500)
        self.assertEqual(self.exit_code(ext), 1, ext.describe())
        message = self.assert_error_call(api, "/2020-01-01/extension/exit/error", "exit",
                                         "extension.runtime.fault", "ShutdownError")
        self.assertIn("event/next", message)
        self.assertEqual(api.calls("/2020-01-01/extension/init/error"), [])
        # What was received still went out with the final flush.
        self.assertEqual(counters(agg.snapshot(), "before.fault"), 4)

    def test_a_flush_precedes_the_first_event_next(self):
        # docs/lambda.md#what-it-does: one flush before the loop. With internal metrics on, that flush posts
        # them (nothing else flushes in manual mode before the first invocation ends), so the
        # aggregator has a /v2/raw by the time the first event/next arrives.
        agg, api = self.fakes()
        ext = self.spawn(api, self.config(agg), statser="internal")
        first = api.wait_calls("/2020-01-01/extension/event/next", 1, proc=ext)[0]
        raw = [(p, h, b) for p, h, b in first["agg"] if p == "/v2/raw"]
        self.assertTrue(raw, "no POST before the first event/next\n" + ext.describe())
        names = {name for name, _ in fwd.series(raw, "Counters")}
        self.assertIn("statsd.receiver.datagrams_received", names)
        api.answer_next("SHUTDOWN")
        self.assertEqual(self.exit_code(ext), 0, ext.describe())

    def test_shutdown_deadline_bounds_the_final_flush(self):
        # An aggregator that accepts connections and never answers; backend-shutdown-timeout
        # (30 s) and the retry budget would hold the final flush far beyond the SHUTDOWN's
        # deadline (1.5 s away): the deadline, less its margin, ends it, and what could not be
        # delivered is dropped and counted.
        hung = socket.socket()
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        self.addCleanup(hung.close)
        agg, api = self.fakes()
        fd, conf = tempfile.mkstemp(suffix=".toml", prefix="cstatsd-lambda-")
        with os.fdopen(fd, "w") as f:
            f.write('metrics-addr = "127.0.0.1:0"\n'
                    'lambda-extension-telemetry-address = "127.0.0.1:0"\n'
                    'backend-shutdown-timeout = "30s"\n'
                    "[http-transport]\n"
                    f'api-endpoint = "http://127.0.0.1:{hung.getsockname()[1]}"\n'
                    'max-request-elapsed-time = "60s"\n'
                    '[transport.default]\nclient-timeout = "60s"\n')
        self.addCleanup(os.unlink, conf)
        ext = self.spawn(api, conf)
        api.wait_calls("/2020-01-01/extension/event/next", 1, proc=ext)
        ext.send("stuck.count:1|c")
        api.answer_next("SHUTDOWN", deadlineMs=int(time.time() * 1000) + 1500)
        # Bounded wait (WAIT, 15 s): half of what backend-shutdown-timeout alone would allow.
        self.assertEqual(self.exit_code(ext), 0, ext.describe())
        ext.wait_for_text("final flush bounded by the caller's deadline", stream="stderr")
        ext.wait_for_text("requests still pending at shutdown are dropped", stream="stderr")

    def test_telemetry_listener_failure_is_an_exit_error(self):
        agg, api = self.fakes()
        ext = self.spawn(api, self.config(agg))
        api.wait_calls("/2020-01-01/extension/event/next", 1, proc=ext)
        api.answer_next("INVOKE", requestId="req-1")
        ext.send("before.listener.fault:6|c")
        port = int(api.destination().rsplit(":", 1)[1].split("/")[0])
        # The extension waits for req-1's runtimeDone, which can no longer arrive.
        break_listening_socket(ext.proc.pid, port)
        self.assertEqual(self.exit_code(ext), 1, ext.describe())
        message = self.assert_error_call(api, "/2020-01-01/extension/exit/error", "exit",
                                         "extension.runtime.fault", "ShutdownError")
        self.assertIn("telemetry listener", message)
        self.assertEqual(api.calls("/2020-01-01/extension/init/error"), [])
        # The final flush still delivered what the invocation had sent.
        self.assertEqual(counters(agg.snapshot(), "before.listener.fault"), 6)

    def test_a_stop_during_register_does_not_cut_the_other_requests(self):
        # SIGTERM while register is in flight: only an event/next long poll is cut short, so
        # register (and any init/error or exit/error report) still completes; the extension
        # then stops as after SHUTDOWN: final flush, exit 0.
        gate = threading.Event()
        self.addCleanup(gate.set)
        agg, api = self.fakes(register_gate=gate)
        ext = self.spawn(api, self.config(agg), wait_started=False)
        api.wait_calls("/2020-01-01/extension/register", 1, proc=ext)
        ext.send_signal(signal.SIGTERM)
        ext.wait_for_text("signal received", stream="stderr")
        time.sleep(0.2)  # the watcher marks the stop right after logging
        gate.set()
        self.assertEqual(self.exit_code(ext), 0, ext.describe())
        self.assertEqual(api.calls("/2020-01-01/extension/init/error"), [])
        self.assertFalse([l for l in ext.lines(0, "stderr") if "register failed" in l],
                         ext.describe())
        ext.wait_for_text("lambda: extension stopped", stream="stderr")

    # ----- cold start -----

    def test_cold_start_is_measured(self):
        """Spawns the extension several times; prints spawn → register and spawn → first
        event/next (the extension then receives metrics). Not asserted (shared CI cores)."""
        reg_ms, ready_ms, own_ms = [], [], []
        for _ in range(5):
            agg, api = self.fakes()
            conf = self.config(agg)
            t0 = time.monotonic()
            ext = self.spawn(api, conf, wait_started=False)
            reg = api.wait_calls("/2020-01-01/extension/register", 1, proc=ext)[0]
            first = api.wait_calls("/2020-01-01/extension/event/next", 1, proc=ext)[0]
            reg_ms.append(1000 * (reg["t"] - t0))
            ready_ms.append(1000 * (first["t"] - t0))
            api.answer_next("SHUTDOWN")
            self.assertEqual(self.exit_code(ext), 0, ext.describe())
            _, line = ext.wait_for_text("extension ready", stream="stderr")
            own_ms.append(float(line.split("startup_ms=")[1].split('"')[0]))
        print(f"\ncold start, the extension's own count from main() to ready: median "
              f"{statistics.median(own_ms):.1f} ms (min {min(own_ms):.1f}, max {max(own_ms):.1f})",
              file=sys.stderr)
        print(f"\ncold start over 5 spawns: register median {statistics.median(reg_ms):.1f} ms "
              f"(min {min(reg_ms):.1f}, max {max(reg_ms):.1f}); first event/next median "
              f"{statistics.median(ready_ms):.1f} ms (min {min(ready_ms):.1f}, "
              f"max {max(ready_ms):.1f})", file=sys.stderr)


if __name__ == "__main__":
    harness.main()
