"""Issue 14, items 3 and 4: the TCP input under hostile clients (a client that never pauses, idle
and surplus connections, the file-descriptor limit, over-long lines, a TLS handshake that never
completes) and the metrics sockets of two instances (a UDP port, a TCP port or a unix socket
already served by another process; a stale socket file; a socket file replaced by another
process). See docs/limits.md ("UDP, unix socket and TCP input")."""

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import harness
from harness import ServerTestCase

SRC = ".s.127.0.0.1"


def tcp_port(server):
    for line in server.lines(0, "stderr"):
        m = re.search(r"cstatsd started .* tcp_port=(\d+)", line)
        if m:
            return int(m.group(1))
    raise AssertionError("no tcp_port in the start line\n" + server.describe())


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (/proc/<pid>/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def internal_value(server, name):
    """The last value of statsd.<name> that statser-type logging wrote, or None."""
    rx = re.compile(r"name=statsd\." + re.escape(name) + r" value=([0-9.eE+-]+)")
    vals = [float(m.group(1)) for line in server.lines(0, "stderr") for m in [rx.search(line)] if m]
    return vals[-1] if vals else None


def wait_closed(sock, timeout):
    """True if the peer closes `sock` (EOF or reset) within `timeout` seconds."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            data = sock.recv(4096)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def wait_until(predicate, timeout, every=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(every)


class Streamer:
    """A TCP client that writes counter lines as fast as the server takes them until stopped."""

    def __init__(self, connect, name="flood"):
        self.sock = connect()
        self.block = (f"{name}:1|c\n" * 20000).encode()
        self.sent = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while not self.stop.is_set():
                self.sock.sendall(self.block)
                self.sent += len(self.block)
        except OSError:
            pass

    def close(self):
        self.stop.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(5)
        self.sock.close()


def make_certificate():
    """A self-signed certificate for 127.0.0.1: (certificate path, key path)."""
    d = tempfile.mkdtemp(prefix="cstatsd-tls-")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", "k.pem", "-out", "c.pem"], cwd=d, check=True,
                   capture_output=True, timeout=60)
    return os.path.join(d, "c.pem"), os.path.join(d, "k.pem")


class TcpFairnessTest(ServerTestCase):
    def test_streaming_client_starves_neither_another_client_nor_flushes_nor_sigterm(self):
        s = self.start_standard(metrics_tcp_addr="127.0.0.1:0")
        port = tcp_port(s)
        self.check_streaming(s, lambda: socket.create_connection(("127.0.0.1", port)))

    def test_streaming_tls_client_starves_neither_another_client_nor_flushes_nor_sigterm(self):
        cert, key = make_certificate()
        s = self.start_standard(metrics_tcp_addr="127.0.0.1:0", metrics_tcp_tls_cert=cert,
                                metrics_tcp_tls_key=key)
        port = tcp_port(s)
        ctx = ssl.create_default_context(cafile=cert)

        def connect():
            raw = socket.create_connection(("127.0.0.1", port))
            return ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        self.check_streaming(s, connect)

    def check_streaming(self, s, connect):
        flood = Streamer(connect)
        self.addCleanup(flood.close)
        # Let the flood fill the socket buffers: the server always has more to read from it.
        self.assertTrue(wait_until(lambda: flood.sent > 8 << 20, 10), "the flood did not start")
        mark = s.mark()
        with connect() as other:
            other.sendall(b"polite:1|c\n")
            # The second client's line is served while the flood goes on.
            self.assertMetric(s, f"stats.counter.polite{SRC}.count", "1", since=mark, timeout=5)
        # The worker keeps handing over: the flood's counts arrive in several flushes.
        i, _ = s.wait_metric(f"stats.counter.flood{SRC}.count", since=mark, timeout=5)
        s.wait_metric(f"stats.counter.flood{SRC}.count", since=i + 1, timeout=5)
        # SIGTERM while the flood goes on: the server exits in a bounded time, after a flush.
        before = s.mark()
        t0 = time.monotonic()
        self.stop_ok(s)
        self.assertLess(time.monotonic() - t0, 8, "shutdown waited on the streaming client")
        self.assertTrue(s.values(f"stats.counter.flood{SRC}.count", since=before),
                        "no final flush\n" + s.describe())

    def test_over_long_line_costs_bounded_memory_and_is_one_bad_line(self):
        s = self.start_standard(metrics_tcp_addr="127.0.0.1:0", statser_type="logging")
        with socket.create_connection(("127.0.0.1", tcp_port(s))) as c:
            chunk = b"x" * (1 << 20)
            for _ in range(200):  # 200 MiB without a newline
                c.sendall(chunk)
            c.sendall(b"\nafter:1|c\n")
            self.assertMetric(s, f"stats.counter.after{SRC}.count", "1", timeout=20)
        with open(f"/proc/{s.proc.pid}/status") as f:
            hwm = int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))
        self.assertLess(hwm, 100 * 1024, f"peak RSS {hwm} kB for a 200 MiB line")
        s.wait_for(r".*name=statsd\.parser\.bad_lines_seen value=1(\.0+)?( .*)?", stream="stderr")
        self.stop_ok(s)


class TcpConnectionLimitsTest(ServerTestCase):
    def test_idle_connections_are_closed_after_the_idle_timeout_and_counted(self):
        s = self.start_standard(metrics_tcp_addr="127.0.0.1:0", metrics_tcp_idle_timeout="1s",
                                statser_type="logging")
        port = tcp_port(s)
        silent = socket.create_connection(("127.0.0.1", port))
        self.addCleanup(silent.close)
        talked = socket.create_connection(("127.0.0.1", port))
        self.addCleanup(talked.close)
        talked.sendall(b"talked:1|c\n")
        self.assertMetric(s, f"stats.counter.talked{SRC}.count", "1")
        self.assertTrue(wait_closed(silent, 8), "a silent connection was kept")
        self.assertTrue(wait_closed(talked, 8), "an idle connection was kept")
        s.wait_for(r".*name=statsd\.receiver\.tcp_connections_timed_out value=2(\.0+)?( .*)?",
                   stream="stderr")
        # An active connection is not closed: it writes more often than the timeout.
        with socket.create_connection(("127.0.0.1", port)) as busy:
            for k in range(6):
                busy.sendall(f"busy:{k}|g\n".encode())
                time.sleep(0.4)
            self.assertMetric(s, f"stats.gauge.busy{SRC}", "5.000000")
            busy.sendall(b"busy:9|g\n")
            self.assertMetric(s, f"stats.gauge.busy{SRC}", "9.000000")
        self.stop_ok(s)

    def test_a_tls_handshake_that_never_completes_is_closed(self):
        cert, key = make_certificate()
        s = self.start_standard(metrics_tcp_addr="127.0.0.1:0", metrics_tcp_idle_timeout="1s",
                                metrics_tcp_tls_cert=cert, metrics_tcp_tls_key=key)
        port = tcp_port(s)
        silent = socket.create_connection(("127.0.0.1", port))
        self.addCleanup(silent.close)
        # Half a ClientHello, one byte at a time: bytes arrive, the handshake never completes.
        dribble = socket.create_connection(("127.0.0.1", port))
        self.addCleanup(dribble.close)
        closed = False
        deadline = time.monotonic() + 8
        for b in b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 20:
            try:
                dribble.sendall(bytes([b]))
            except OSError:
                closed = True
                break
            if wait_closed(dribble, 0.2) or time.monotonic() > deadline:
                closed = time.monotonic() <= deadline
                break
        self.assertTrue(closed, "a handshake dribbled byte by byte was kept")
        self.assertTrue(wait_closed(silent, 8), "a connection without a handshake was kept")
        self.stop_ok(s)

    def test_connections_beyond_the_cap_are_refused_counted_and_logged_at_a_limited_rate(self):
        s = self.start_standard(metrics_tcp_addr="127.0.0.1:0", metrics_tcp_max_connections=5,
                                statser_type="logging")
        port = tcp_port(s)
        kept = []
        for k in range(5):
            c = socket.create_connection(("127.0.0.1", port))
            self.addCleanup(c.close)
            c.sendall(f"kept{k}:1|c\n".encode())
            self.assertMetric(s, f"stats.counter.kept{k}{SRC}.count", "1")
            kept.append(c)
        for _ in range(50):
            c = socket.create_connection(("127.0.0.1", port))
            self.addCleanup(c.close)
            self.assertTrue(wait_closed(c, 5), "a connection beyond the cap was kept")
        s.wait_for(r".*name=statsd\.receiver\.tcp_connections_refused value=50(\.0+)?( .*)?",
                   stream="stderr")
        warnings = [l for l in s.lines(0, "stderr") if "TCP" in l and "refus" in l]
        self.assertGreaterEqual(len(warnings), 1, s.describe())
        self.assertLessEqual(len(warnings), 5, "\n".join(warnings[:10]))
        # The connections within the cap still work.
        for k, c in enumerate(kept):
            c.sendall(f"kept{k}:2|c\n".encode())
            self.assertMetric(s, f"stats.counter.kept{k}{SRC}.count", "2")
        self.stop_ok(s)

    def test_at_the_file_descriptor_limit_the_server_does_not_spin_and_recovers(self):
        nofile = 64
        wrapper = ("import os, resource, sys; "
                   f"resource.setrlimit(resource.RLIMIT_NOFILE, ({nofile}, {nofile})); "
                   "os.execv(sys.argv[1], sys.argv[1:])")
        args = ["-c", wrapper, harness.cstatsd_bin()] + harness.standard_flags(
            metrics_tcp_addr="127.0.0.1:0", max_workers=1, statser_type="logging")
        s = self.start(args, binary=sys.executable)
        port = tcp_port(s)
        clients = []
        try:
            for _ in range(3 * nofile):
                try:
                    c = socket.create_connection(("127.0.0.1", port), timeout=2)
                except OSError:
                    break  # the listen queue is full: enough clients wait
                clients.append(c)
            self.assertGreater(len(clients), nofile)
            time.sleep(0.5)
            c0 = cpu_seconds(s.proc.pid)
            t0 = time.monotonic()
            time.sleep(3)
            cpu = cpu_seconds(s.proc.pid) - c0
            wall = time.monotonic() - t0
            self.assertLess(cpu, 0.5 * wall,
                            f"{cpu:.2f} s of CPU in {wall:.2f} s at the fd limit\n" + s.describe())
            # The clients the server had no descriptor for were closed at once, and counted.
            closed = 0
            for c in clients:
                c.setblocking(False)
                try:
                    closed += c.recv(1) == b""
                except BlockingIOError:
                    pass
                except OSError:
                    closed += 1
            self.assertGreaterEqual(closed, len(clients) - nofile,
                                    f"of {len(clients)} clients only {closed} were refused")
            s.wait_for(r".*name=statsd\.receiver\.tcp_connections_refused value=([0-9]+).*",
                       stream="stderr")
        finally:
            for c in clients:
                c.close()
        # Once the clients left, a new one is served.
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                    c.sendall(b"recovered:1|c\n")
                    s.wait_metric(f"stats.counter.recovered{SRC}.count", "1", timeout=2)
                    break
            except (AssertionError, OSError):
                if time.monotonic() > deadline:
                    raise
        self.stop_ok(s)


class SharedAddressTest(ServerTestCase):
    def run_second(self, *args):
        """Runs a second cstatsd that is expected to fail at start-up (bounded: 10 s)."""
        try:
            return self.run_binary(harness.standard_flags(**dict(args)), timeout=10)
        except subprocess.TimeoutExpired:
            self.fail(f"a second instance with {args} started (it ran for 10 s)")

    def test_a_second_instance_on_the_same_udp_port_fails_unless_handing_over(self):
        a = self.start_standard()
        addr = f"127.0.0.1:{a.port}"
        r = self.run_second(("metrics_addr", addr))
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn("metrics-addr", r.stderr)
        self.assertIn("metrics-reuse-port", r.stderr)
        # The first instance keeps all the traffic.
        a.send("still:1|c")
        self.assertMetric(a, f"stats.counter.still{SRC}.count", "1")
        # All interfaces conflict with the loopback address too.
        r = self.run_second(("metrics_addr", f":{a.port}"))
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn("metrics-addr", r.stderr)
        # A deliberate hand-over shares the port.
        b = self.start_standard(metrics_addr=addr, metrics_reuse_port=True)
        self.assertEqual(b.port, a.port)
        self.stop_ok(b)
        self.stop_ok(a)

    def test_a_second_instance_on_the_same_tcp_port_fails_naming_the_key(self):
        a = self.start_standard(metrics_tcp_addr="127.0.0.1:0")
        r = self.run_second(("metrics_tcp_addr", f"127.0.0.1:{tcp_port(a)}"))
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn("metrics-tcp-addr", r.stderr)
        self.assertIn("in use", r.stderr)
        self.stop_ok(a)

    def test_a_second_instance_on_a_live_unix_socket_refuses_and_the_first_keeps_it(self):
        path = os.path.join(tempfile.mkdtemp(prefix="cstatsd-unix-"), "statsd.sock")
        a = self.start_standard(metrics_addr=path)
        r = self.run_second(("metrics_addr", path))
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn("metrics-addr", r.stderr)
        self.assertIn(path, r.stderr)
        for k in range(10):
            a.send(f"first{k}:1|c")
        for k in range(10):
            self.assertMetric(a, f"stats.counter.first{k}.count", "1")
        self.stop_ok(a)
        self.assertFalse(os.path.exists(path), "the first instance left its socket file")

    def test_a_stale_socket_file_is_replaced(self):
        path = os.path.join(tempfile.mkdtemp(prefix="cstatsd-unix-"), "statsd.sock")
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        stale.bind(path)
        stale.close()  # the file stays, nobody listens: ECONNREFUSED
        a = self.start_standard(metrics_addr=path)
        a.send("fresh:1|c")
        self.assertMetric(a, "stats.counter.fresh.count", "1")
        self.stop_ok(a)
        self.assertFalse(os.path.exists(path))

    def test_at_exit_a_socket_file_another_process_replaced_is_left_alone(self):
        path = os.path.join(tempfile.mkdtemp(prefix="cstatsd-unix-"), "statsd.sock")
        a = self.start_standard(metrics_addr=path)
        os.unlink(path)  # as an operator or another service would, then bind its own
        other = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(other.close)
        other.bind(path)
        self.stop_ok(a)
        self.assertTrue(os.path.exists(path), "the exiting server deleted another's socket")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as c:
            c.sendto(b"x:1|c", path)
        other.settimeout(2)
        self.assertEqual(other.recv(100), b"x:1|c")


if __name__ == "__main__":
    harness.main()
