"""cstatsd -> cstatsd with the statsdaemon backend over UDP, TCP and TLS (cstatsd's TCP input,
with a certificate authority and certificates made here with openssl): the second server's totals
equal what the first received (counters, every timer value, the last gauge, set members, tags),
and the first server's internal metrics (statser logging) account for every flush it sent."""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402

SRC = ".s.127.0.0.1"


def tcp_port(server):
    for line in server.stderr:
        m = re.search(r"cstatsd started .* tcp_port=(\d+)", line)
        if m:
            return int(m.group(1))
    raise AssertionError("no tcp_port in the start line")


def counters(server, backend):
    """The last logged backend.* internal metrics of one backend."""
    names = ("created", "sent", "dropped", "series.sent")
    return {n: harness.backend_counter(server, backend, n) for n in names}


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA;
    and a second CA that signed nothing here. Paths relative to d."""
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                f"/CN=cstatsd test {ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.pem", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                      ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=cstatsd test {name}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out",
                f"{name}.pem", cwd=d)
    return {k: os.path.join(d, k) for k in os.listdir(d)}


class StatsdaemonTest(harness.ServerTestCase):
    def start_receiver(self, tls=None):
        """The receiving server; it flushes only at shutdown, so its numbers are totals."""
        extra = {}
        if tls:
            extra = dict(metrics_tcp_tls_cert=tls["server.pem"],
                         metrics_tcp_tls_key=tls["server.key"],
                         metrics_tcp_tls_client_ca=tls["ca.pem"])
        return self.start_standard(flush_interval="1h", metrics_tcp_addr="127.0.0.1:0", **extra)

    def start_sender(self, port, transport, tls=None, ca="ca.pem"):
        conf = os.path.join(tempfile.mkdtemp(prefix="cstatsd-e2e-"), "a.toml")
        with open(conf, "w") as f:
            # stdout next to statsdaemon: both get the same flushes, so its internal metrics are
            # what statsdaemon's must be when everything was delivered.
            f.write(f"""backends = ["statsdaemon", "stdout"]
metrics-addr = "127.0.0.1:0"
flush-interval = "200ms"
statser-type = "logging"
[statsdaemon]
address = "127.0.0.1:{port}"
tcp_transport = {"false" if transport == "udp" else "true"}
""")
            if transport == "tls":
                f.write(f"""tls_transport = true
tls_ca_path = "{tls[ca]}"
tls_cert_path = "{tls["client.pem"]}"
tls_key_path = "{tls["client.key"]}"
""")
        return self.start(["--config-path", conf])

    def hop(self, transport):
        tls = make_pki(tempfile.mkdtemp(prefix="cstatsd-pki-")) if transport == "tls" else None
        b = self.start_receiver(tls)
        port = b.port if transport == "udp" else tcp_port(b)
        a = self.start_sender(port, transport, tls)
        counts, timer_values = 0, []
        for i in range(5):  # spread over several of A's flushes
            a.send(f"hop.c:{i + 1}|c|#env:prod\nhop.t:{10 * (i + 1)}|ms\nhop.g:{i}|g\n"
                   f"hop.s:user{i % 3}|s")
            counts += i + 1
            timer_values.append(10 * (i + 1))
            time.sleep(0.25)
        # A's shutdown flush sends the rest; B drains its socket when it stops.
        self.stop_ok(a)
        self.stop_ok(b)
        self.assertEqual(b.values(f"stats.counter.hop.c.env.prod{SRC}.count"), [str(counts)])
        self.assertEqual(b.values(f"stats.timers.hop.t{SRC}.count"), [str(len(timer_values))])
        self.assertEqual(b.values(f"stats.timers.hop.t{SRC}.sum"),
                         [f"{sum(timer_values):.6f}"])
        self.assertEqual(b.values(f"stats.timers.hop.t{SRC}.upper"),
                         [f"{max(timer_values):.6f}"])
        self.assertEqual(b.values(f"stats.gauge.hop.g{SRC}"), ["4.000000"])
        self.assertEqual(b.values(f"stats.set.hop.s{SRC}"), ["3"])
        # The sender's internal metrics, tagged backend:statsdaemon, as last logged (at the
        # shutdown flush, before it was sent): every earlier flush created was sent, with the
        # same series as the stdout backend got.
        sd, out = counters(a, "statsdaemon"), counters(a, "stdout")
        self.assertIsNotNone(sd["created"], "no backend internal metrics logged\n" + a.describe())
        self.assertGreaterEqual(sd["created"], 2, sd)  # the sends spanned several flushes
        self.assertEqual(sd["dropped"], 0, sd)
        self.assertEqual((sd["created"], sd["sent"], sd["series.sent"]),
                         (out["created"], out["sent"], out["series.sent"]), (sd, out))
        self.assertEqual(sd["sent"], sd["created"], sd)
        self.assertGreaterEqual(sd["series.sent"], 4, sd)  # c, t, g and s at least once

    def test_totals_survive_the_hop_over_udp(self):
        self.hop("udp")

    def test_totals_survive_the_hop_over_tcp(self):
        self.hop("tcp")

    def test_totals_survive_the_hop_over_mutual_tls(self):
        self.hop("tls")

    def test_tls_refuses_untrusted_peers_and_plaintext(self):
        tls = make_pki(tempfile.mkdtemp(prefix="cstatsd-pki-"))
        b = self.start_receiver(tls)
        port = tcp_port(b)
        # A sender that does not trust the receiver's CA never delivers, and says why.
        a = self.start_sender(port, "tls", tls, ca="other-ca.pem")
        a.send("untrusted.c:1|c")
        a.wait_for_text("certificate verify failed", stream="stderr", timeout=10)
        time.sleep(0.5)  # a flush or two later, the logged counters include the failure
        self.stop_ok(a)
        sd = counters(a, "statsdaemon")
        self.assertEqual(sd["sent"], 0, sd)  # nothing delivered, and that was counted
        self.assertEqual(sd["series.sent"], 0, sd)
        self.assertGreater(sd["dropped"], 0, sd)
        # Plain text on the TLS port is not a TLS handshake: nothing of it is counted.
        with socket.create_connection(("127.0.0.1", port)) as c:
            c.sendall(b"plain.c:1|c\n")
            c.settimeout(5)
            try:
                c.recv(100)  # the server answers with an alert or closes
            except (socket.timeout, ConnectionResetError):
                pass
        # A client without a certificate is refused too (mutual TLS).
        import ssl
        ctx = ssl.create_default_context(cafile=tls["ca.pem"])
        with socket.create_connection(("127.0.0.1", port)) as raw:
            try:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as c:
                    c.sendall(b"nocert.c:1|c\n")
                    c.recv(100)
            except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
                pass
        self.stop_ok(b)
        for name in ("untrusted", "plain", "nocert"):
            self.assertEqual(b.values(f"stats.counter.{name}.c{SRC}.count"), [])

    def test_tcp_ingest_lines_split_across_writes(self):
        s = self.start_standard(flush_interval="1h", metrics_tcp_addr="127.0.0.1:0",
                                statser_type="internal", hostname="testhost")
        with socket.create_connection(("127.0.0.1", tcp_port(s))) as c:
            c.sendall(b"split.c:2|c\nspl")
            c.sendall(b"it.c:3|c\n" + b"x" * 70000 + b"\nsplit.c:4|c")  # over-long line: bad
        self.stop_ok(s)
        self.assertEqual(s.values(f"stats.counter.split.c{SRC}.count"), ["9"])
        bad = s.values("stats.gauge.statsd.parser.bad_lines_seen.host.testhost.s.testhost")
        self.assertEqual(bad[-1:], ["1.000000"])


if __name__ == "__main__":
    harness.main()
