"""Helpers for cstatsd's integration tests: run the real binary, feed it datagrams, read its stdout.

A Server starts a binary (cstatsd, or a program built on the library) with the given flags,
reads its standard output and standard error in background threads into lists of lines, and
learns the port it listens on from the "cstatsd started address=... port=N" log line (so tests
listen on 127.0.0.1:0 and never race for a port). Every wait is bounded: it polls up to a
deadline and then fails with what the server printed.

Binaries come from the environment (CSTATSD_BIN, CUSTOM_BACKEND_BIN, set by CMake/ctest), from
the command line (--cstatsd-bin PATH, --custom-backend-bin PATH) or default to build/bin/.
Standard library only.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))

# Seconds a test waits for something the server should do "soon" (a flush is 200 ms).
DEFAULT_TIMEOUT = float(os.environ.get("CSTATSD_TEST_TIMEOUT", "5"))
# Seconds the server gets to exit after SIGTERM (its backends get 5 s at most by default).
STOP_TIMEOUT = 10.0

_paths = {
    "cstatsd": os.environ.get("CSTATSD_BIN", ""),
    "custom_backend": os.environ.get("CUSTOM_BACKEND_BIN", ""),
    "cstatsd-loader": os.environ.get("CSTATSD_LOADER_BIN", ""),
}


def _take_path_args(argv):
    """Removes --cstatsd-bin/--custom-backend-bin (with "=" or a separate value) from argv."""
    out = [argv[0]]
    i = 1
    while i < len(argv):
        arg = argv[i]
        matched = False
        for flag, key in (("--cstatsd-bin", "cstatsd"), ("--custom-backend-bin", "custom_backend")):
            if arg == flag and i + 1 < len(argv):
                _paths[key] = argv[i + 1]
                i += 2
                matched = True
            elif arg.startswith(flag + "="):
                _paths[key] = arg[len(flag) + 1:]
                i += 1
                matched = True
            if matched:
                break
        if not matched:
            out.append(arg)
            i += 1
    return out


def _binary(key):
    path = _paths[key] or os.path.join(SOURCE_DIR, "build", "bin", key)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        # An error, not a skip: a suite that cannot find its binary must not look green.
        raise AssertionError(f"{key} binary not found at {path!r} (build it, or set "
                             f"{key.upper().replace('-', '_')}_BIN or pass --{key.replace('_', '-')}-bin PATH)")
    return path


def cstatsd_bin():
    return _binary("cstatsd")


def custom_backend_bin():
    return _binary("custom_backend")


def loader_bin():
    return _binary("cstatsd-loader")


def main():
    """unittest.main() for a test file, after taking the binary paths off the command line."""
    sys.argv = _take_path_args(sys.argv)
    unittest.main(verbosity=2)


def flags(**options):
    """Keyword arguments as command-line flags: flush_interval="200ms" gives
    ["--flush-interval", "200ms"]; True gives the bare flag; None and False are left out."""
    out = []
    for key, value in options.items():
        name = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            out.append(name)
        else:
            out += [name, str(value)]
    return out


def standard_flags(**overrides):
    """The flags most tests use: stdout backend, an ephemeral loopback port, 200 ms flushes and
    no internal metrics. Keyword arguments override or add flags (see flags())."""
    options = dict(backends="stdout", metrics_addr="127.0.0.1:0", flush_interval="200ms",
                   statser_type="null")
    options.update(overrides)
    return flags(**options)


def backend_counter(server, backend, name):
    """The last logged value of the internal metric statsd.backend.<name> for one backend
    (statser-type logging writes `name=... value=... tags=[backend:<backend>]` lines)."""
    pat = re.compile(r"name=statsd\.backend\." + re.escape(name) + r" value=([0-9.]+) "
                     r"tags=\[backend:" + re.escape(backend) + r"\]")
    vals = [float(m.group(1)) for line in list(server.stderr) for m in [pat.search(line)] if m]
    return vals[-1] if vals else None


def metric_regex(name, value=None):
    """A full-line regex for a stdout metric line `<name> <value> <unix seconds>`; group 1 is
    the value, group 2 the timestamp."""
    v = r"(\S+)" if value is None else "(" + re.escape(str(value)) + ")"
    return re.escape(name) + " " + v + r" (\d+)"


class Server:
    """A running binary. Use through ServerTestCase.start(), which stops it after the test."""

    STARTED = re.compile(r".*cstatsd started address=(\S*) port=(\d+)(?: .*)?")

    def __init__(self, args, binary=None, env=None, wait_started=True, timeout=DEFAULT_TIMEOUT):
        self.args = list(args)
        self.binary = binary or cstatsd_bin()
        self.stdout = []  # lines, without the newline
        self.stderr = []
        self._cond = threading.Condition()
        self._eof = {"stdout": False, "stderr": False}
        self._sync_counter = 0
        self._udp = {}  # client sockets by local address
        self._unix = None
        self.address = None
        self.port = None
        self.unix_path = None
        self.returncode = None
        self.proc = subprocess.Popen([self.binary] + self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self._threads = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout, "stdout"),
                             daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr, "stderr"),
                             daemon=True),
        ]
        for t in self._threads:
            t.start()
        if wait_started:
            self.wait_started(timeout)

    # ----- output -----

    def _read(self, stream, lines, name):
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\n")
                with self._cond:
                    lines.append(line)
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._eof[name] = True
                self._cond.notify_all()

    def describe(self, tail=60):
        """What the server printed so far (the last `tail` lines of each stream), for messages."""
        with self._cond:
            out = list(self.stdout)
            err = list(self.stderr)
        rc = self.proc.poll()
        state = "running" if rc is None else f"exited with {rc}"

        def clip(line):
            return line if len(line) <= 300 else line[:300] + f"... ({len(line)} chars)"

        def block(lines):
            shown = lines[-tail:]
            skipped = len(lines) - len(shown)
            head = [f"  ... ({skipped} earlier lines)"] if skipped else []
            return "\n".join(head + ["  " + clip(l) for l in shown]) or "  (nothing)"

        return (f"server {self.binary} {' '.join(self.args)} is {state}\n"
                f"--- stdout ({len(out)} lines) ---\n{block(out)}\n"
                f"--- stderr ({len(err)} lines) ---\n{block(err)}")

    def _related(self, text, stream="stdout", limit=20):
        """The first distinct lines that contain `text`, for failure messages."""
        seen = []
        for line in self.lines(0, stream):
            if text in line and line not in seen:
                seen.append(line)
                if len(seen) == limit:
                    break
        body = "\n".join("  " + l[:300] for l in seen) or "  (none)"
        return f"--- {stream} lines containing {text!r} (first {limit} distinct) ---\n{body}\n"

    def _wait(self, what, stream, predicate, since, timeout, related=None):
        """Polls stream's lines from index `since` until predicate(line) returns a true value;
        returns (index, value). Fails after `timeout` seconds or if the stream ends."""
        deadline = time.monotonic() + (DEFAULT_TIMEOUT if timeout is None else timeout)
        lines = self.stdout if stream == "stdout" else self.stderr
        i = since
        with self._cond:
            while True:
                while i < len(lines):
                    result = predicate(lines[i])
                    if result:
                        return i, result
                    i += 1
                if self._eof[stream]:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.1))
        reason = "the stream ended" if self._eof[stream] else \
            f"{DEFAULT_TIMEOUT if timeout is None else timeout:g} s passed"
        raise AssertionError(f"no {stream} line {what} (from line {since}) before {reason}\n"
                             + (self._related(related, stream) if related else "")
                             + self.describe())

    def wait_for(self, pattern, since=0, timeout=None, stream="stdout", related=None):
        """Waits for a line that fully matches the regex; returns (index, match). On failure
        the message also lists the lines containing `related`, if given."""
        rx = re.compile(pattern)
        return self._wait(f"matching {pattern!r}", stream, rx.fullmatch, since, timeout,
                          related)

    def wait_for_text(self, text, since=0, timeout=None, stream="stdout"):
        """Waits for a line containing `text`; returns (index, line)."""
        return self._wait(f"containing {text!r}", stream,
                          lambda line: line if text in line else None, since, timeout)

    def wait_metric(self, name, value=None, since=0, timeout=None):
        """Waits for `<name> <value> <ts>` (any value if None); returns (index, value string)."""
        i, m = self.wait_for(metric_regex(name, value), since, timeout, related=name + " ")
        return i, m.group(1)

    def mark(self):
        """The index of the next stdout line, to look only at what comes after."""
        with self._cond:
            return len(self.stdout)

    def lines(self, since=0, stream="stdout"):
        with self._cond:
            return list((self.stdout if stream == "stdout" else self.stderr)[since:])

    def values(self, name, since=0):
        """Values (strings) of every stdout line `<name> <value> <ts>` from index `since`."""
        rx = re.compile(metric_regex(name))
        return [m.group(1) for m in map(rx.fullmatch, self.lines(since)) if m]

    def wait_started(self, timeout=DEFAULT_TIMEOUT):
        _, m = self.wait_for(self.STARTED.pattern, stream="stderr", timeout=timeout)
        self.address = m.group(1)
        self.port = int(m.group(2))
        if self.address.startswith("/"):
            self.unix_path = self.address

    # ----- input -----

    def _udp_host(self):
        host = self.address.rsplit(":", 1)[0].strip("[]") if self.address else ""
        return host if host not in ("", "0.0.0.0", "::") else "127.0.0.1"

    def send(self, *datagrams, source=None):
        """Sends each argument (str or bytes) as one datagram: UDP from one client socket per
        source address (so they reach the same worker, in order; `source` binds it, e.g.
        "127.0.0.2"), or unix datagrams if the server listens on a path."""
        for d in datagrams:
            data = d.encode("utf-8") if isinstance(d, str) else bytes(d)
            if self.unix_path:
                if self._unix is None:
                    self._unix = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._unix.sendto(data, self.unix_path)
            else:
                host = self._udp_host()
                sock = self._udp.get(source)
                if sock is None:
                    family = socket.AF_INET6 if ":" in host else socket.AF_INET
                    sock = socket.socket(family, socket.SOCK_DGRAM)
                    if source is not None:
                        sock.bind((source, 0))
                    self._udp[source] = sock
                sock.sendto(data, (host, self.port))

    def send_until(self, datagram, pattern, since=0, timeout=None, every=0.5):
        """Sends the datagram every `every` seconds until a stdout line fully matches the regex
        (for when the kernel may drop datagrams); returns (index, match)."""
        deadline = time.monotonic() + (DEFAULT_TIMEOUT if timeout is None else timeout)
        while True:
            self.send(datagram)
            remaining = deadline - time.monotonic()
            try:
                return self.wait_for(pattern, since, timeout=max(0.0, min(every, remaining)))
            except AssertionError:
                if time.monotonic() >= deadline or self.proc.poll() is not None:
                    raise

    def sync(self, timeout=None):
        """A barrier: sends a gauge `zzsync:<k>|g` after everything sent so far and waits until
        it is printed. Datagrams from one client socket are handled in order by one worker, so
        by then every earlier datagram has been flushed. Returns the stdout index after it."""
        self._sync_counter += 1
        k = self._sync_counter
        self.send(f"zzsync:{k}|g")
        i, _ = self.wait_for(r"stats\.gauge\.(?:\S+\.)?zzsync(?:\.\S+)? " + f"{k}" +
                             r"\.000000 \d+", timeout=timeout)
        return i + 1

    # ----- lifecycle -----

    def send_signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends `sig` (SIGTERM), waits for the exit and for the output to end; returns the exit
        code. Kills the process and fails if it does not exit in time."""
        self.send_signal(sig)
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"server did not exit within {timeout:g} s of signal {sig}\n"
                                 + self.describe())
        for t in self._threads:
            t.join(timeout)
        return self.returncode

    def close(self):
        """Cleanup: kills the process if it still runs, closes sockets and pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for t in self._threads:
            t.join(STOP_TIMEOUT)
        for s in list(self._udp.values()) + [self._unix]:
            if s is not None:
                s.close()
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


class ServerTestCase(unittest.TestCase):
    """A TestCase whose servers are killed after the test even if it fails."""

    maxDiff = None

    def start(self, args, **kwargs):
        server = Server(args, **kwargs)
        self.addCleanup(server.close)
        return server

    def start_standard(self, **overrides):
        """cstatsd with standard_flags(**overrides)."""
        return self.start(standard_flags(**overrides))

    def stop_ok(self, server, sig=signal.SIGTERM):
        """Stops the server and checks it exits 0."""
        rc = server.stop(sig)
        self.assertEqual(rc, 0, f"exit code {rc}\n" + server.describe())

    def run_binary(self, args, env=None, binary=None, timeout=DEFAULT_TIMEOUT):
        """Runs a binary that is expected to exit by itself (--help, bad configs)."""
        return subprocess.run([binary or cstatsd_bin()] + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace", env=env,
                              timeout=timeout)

    def assertMetric(self, server, name, value, since=0, timeout=None):
        """Waits for `<name> <value> <ts>` and checks the timestamp is the current time."""
        i, m = server.wait_for(metric_regex(name, value), since, timeout, related=name + " ")
        ts = int(m.group(2))
        self.assertLess(abs(ts - time.time()), 300, f"timestamp {ts} of line {i} is not now")
        return i

    def assertNoLine(self, server, pattern, since=0, until=None):
        """No stdout line between `since` and `until` fully matches the regex."""
        rx = re.compile(pattern)
        lines = server.lines(since)
        if until is not None:
            lines = lines[:until - since]
        bad = [l for l in lines if rx.fullmatch(l)]
        self.assertFalse(bad, f"unexpected lines matching {pattern!r}: {bad[:5]}\n"
                         + server.describe())
