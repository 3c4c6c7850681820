"""A tier of aggregators behind sharding forwarders, with real cstatsd processes on 127.0.0.1
(issue 18; docs/scaling.md, docs/forwarder.md#sharding, docs/scaling.md#discovery-by-dns).

* Two forwarders × three aggregators with known traffic: the aggregators' stdout together equals
  one standalone server's, series for series; every series is printed by exactly one aggregator;
  the exact percentiles are equal.
* One aggregator SIGKILLed: once the forwarder has seen it fail, its series appear at the others;
  no value is counted twice, and what is missing equals what the forwarder counted as dropped.
  Restarted on its port: it gets its share back, and only its share (about 1/3) moved. Without
  a retry budget (`max-request-elapsed-time = -1`) its series are lost instead, and exactly as
  many as the forwarder counted in `forwarder.dropped_series` (/expvar).
* Discovery: the aggregators are the addresses of one name in a dnsmasq started by the test (a
  hosts file rewritten, SIGHUP); adding an address moves series only to it, removing one moves
  only its series. A fixed `api-endpoint` stays in the ring beside the discovered ones. With the
  DNS server gone, the failures are counted and the last set is kept.

Counters carry the phase in their value (1, then 10, then 100), so one total per series and
aggregator tells which phases reached which aggregator. Comparisons ignore timestamps and the
rates (`.per_second`, `.count_ps`), which depend on each process's own flush times.
"""

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from test_forwarding import (  # noqa: E402
    ForwardingTestCase, free_port, get, logged_total, printed, toml_value)

LISTENING_ANY = r".*http server listening server=ingest address=(\S+):(\d+) .*"
COUNTER = re.compile(r"stats\.counter\.(scale\.k\d+)\S*\.count (\S+) \d+")
WAIT = 20.0


def dnsmasq_bin():
    return shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


def free_udp_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(predicate, what, describe, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s\n{describe()}")
        time.sleep(0.05)


def counter_totals(server):
    """{series: total of its count over every flush} of the scale.k* counters."""
    out = {}
    for line in server.lines():
        m = COUNTER.fullmatch(line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0) + int(float(m.group(2)))
    return out


def forwarder_dropped_series(port):
    """The series the forwarder counted as dropped, over every endpoint (its /expvar)."""
    _, body = get(port, "/expvar")
    total = 0

    def walk(node, key=""):
        nonlocal total
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif "dropped" in key.lower() and "series" in key.lower() and \
                isinstance(node, (int, float)) and not isinstance(node, bool):
            total += node

    walk(json.loads(body))
    return total


def forwarder_endpoint(port, url):
    """The forwarder's /expvar entry of one aggregator (state and forwarder.* counts)."""
    _, body = get(port, "/expvar")

    def find(node):
        if isinstance(node, dict):
            if node.get("url") == url and "state" in node:
                return node
            node = list(node.values())
        if isinstance(node, list):
            for v in node:
                found = find(v)
                if found is not None:
                    return found
        return None

    return find(json.loads(body))


class ScalingTestCase(ForwardingTestCase):
    def start_tier_aggregator(self, host="127.0.0.1", port=0, flush_interval="200ms"):
        """An aggregator: ingestion on [http.ingest] at host:port, stdout backend."""
        path = self.config(f'http-servers = ["ingest"]\n[http.ingest]\n'
                           f'address = "{host}:{port}"\nenable-ingestion = true\n')
        s = self.start_standard(flush_interval=flush_interval, percent_threshold="90 99",
                                config_path=path)
        _, m = s.wait_for(LISTENING_ANY, stream="stderr")
        s.http_port = int(m.group(2))
        return s

    def start_sharding_forwarder(self, transport, expvar=False, statser="null"):
        """A forwarder posting every 200 ms; `transport` keys go to [http-transport]. With
        expvar, an [http.admin] server with /expvar (its port: the attribute admin_port)."""
        keys = dict(flush_interval="200ms")
        keys.update(transport)
        text = ""
        if expvar:
            text += ('http-servers = ["admin"]\n[http.admin]\naddress = "127.0.0.1:0"\n'
                     "enable-expvar = true\n")
        text += "[http-transport]\n" + "".join(
            f"{k.replace('_', '-')} = {toml_value(v)}\n" for k, v in keys.items())
        s = self.start(["--server-mode", "forwarder", "--config-path", self.config(text),
                        "--metrics-addr", "127.0.0.1:0", "--statser-type", statser,
                        "--flush-interval", "200ms"])
        if expvar:
            _, m = s.wait_for(r".*http server listening server=admin address=127\.0\.0\.1:(\d+) .*",
                              stream="stderr")
            s.admin_port = int(m.group(1))
        return s

    def send_counters(self, fwd, names, value):
        """Each name once, `value` each, 20 lines a datagram, paced (no kernel drop)."""
        for i in range(0, len(names), 20):
            fwd.send("\n".join(f"{n}:{value}|c" for n in names[i:i + 20]))
            if i % 400 == 0:
                time.sleep(0.005)

    def phase(self, aggregators, n, digit, describe):
        """Waits until every one of the n series shows phase `digit` at an aggregator; returns
        {series: [indexes of the aggregators where it does]}."""
        return wait_until(lambda: (lambda o: len(o[0]) == n and o)(self.owners(aggregators, digit)),
                          f"phase {digit + 1} printed", describe)[0]

    def owners(self, aggregators, digit):
        """{series: [indexes of the aggregators whose total has `digit` (0: ones, 1: tens, 2:
        hundreds) set]}, and the largest digit seen (> 1 means a value counted twice)."""
        owner, worst = {}, 0
        for j, a in enumerate(aggregators):
            if a is None:
                continue
            for name, total in counter_totals(a).items():
                d = (total // 10 ** digit) % 10
                worst = max(worst, d)
                if d:
                    owner.setdefault(name, []).append(j)
        return owner, worst


def traffic():
    """Datagrams for (forwarder A, forwarder B, standalone): counters and sets over both
    forwarders, timers with values through both (exact percentiles after the merge), gauges each
    through one forwarder (the newest gauge depends on the order posts arrive in). Every value
    and sum is exact."""
    a, b = [], []
    for i in range(120):
        a.append(f"sc.c{i}:{i + 1}|c|#env:prod")
        b.append(f"sc.c{i}:2|c|#env:prod")
        (a if i % 2 else b).append(f"sc.g{i}:{i * 1.5}|g")
        a.append(f"sc.s{i % 40}:u{i}|s")
        b.append(f"sc.s{i % 40}:u{i % 7}|s")
    for i in range(60):
        for v in range(10):
            (a if v % 2 else b).append(f"sc.t{i}:{v * 10 + i % 10}|ms|#env:prod")
    dgrams_a = ["\n".join(a[k:k + 20]) for k in range(0, len(a), 20)]
    dgrams_b = ["\n".join(b[k:k + 20]) for k in range(0, len(b), 20)]
    return dgrams_a, dgrams_b


class ShardingEquivalenceTest(ScalingTestCase):
    def test_two_forwarders_three_aggregators_print_what_one_server_prints(self):
        alone = self.start_standard(flush_interval="1h", percent_threshold="90 99")
        aggs = [self.start_tier_aggregator(flush_interval="1h") for _ in range(3)]
        urls = [f"http://127.0.0.1:{a.http_port}" for a in aggs]
        fwds = [self.start_sharding_forwarder(dict(api_endpoints=urls)) for _ in range(2)]
        dgrams_a, dgrams_b = traffic()
        for k in range(max(len(dgrams_a), len(dgrams_b))):
            for fwd, dgrams in ((fwds[0], dgrams_a), (fwds[1], dgrams_b)):
                if k < len(dgrams):
                    fwd.send(dgrams[k])
                    alone.send(dgrams[k])
            if k % 10 == 9:
                time.sleep(0.01)
        time.sleep(0.5)  # a few forwarder posts
        for s in fwds + aggs + [alone]:  # forwarders first: their SIGTERM delivers the rest
            self.stop_ok(s)
        want, _ = printed(alone)
        self.assertGreater(len(want), 120 * 3 + 40 + 60 * 10, sorted(want)[:10])
        union, where = {}, {}
        for j, a in enumerate(aggs):
            got, _ = printed(a)
            self.assertTrue(got, f"aggregator {j} printed nothing\n" + a.describe())
            for name, values in got.items():
                where.setdefault(name, []).append(j)
                union[name] = values
        twice = {n: w for n, w in where.items() if len(w) > 1}
        self.assertFalse(twice, "series printed by more than one aggregator")
        self.assertEqual(union, want)
        t = "stats.timers.sc.t7.env.prod.s.127.0.0.1"
        self.assertEqual(union[t + ".upper_90"], ["87.000000"])  # 7, 17, ..., 97: k = 9
        self.assertEqual(union[t + ".count"], ["10"])


class FailoverTest(ScalingTestCase):
    def test_a_killed_aggregator_is_routed_around_and_gets_its_share_back(self):
        n = 600
        names = [f"scale.k{i}" for i in range(n)]
        ports = [free_port() for _ in range(3)]
        aggs = [self.start_tier_aggregator(port=p) for p in ports]
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        fwd = self.start_sharding_forwarder(
            dict(api_endpoints=urls, endpoint_failure_threshold=2,
                 endpoint_probe_max_interval="1s", max_request_elapsed_time="15s"),
            expvar=True)

        def describe():
            return "\n".join(s.describe(10) for s in [fwd] + [a for a in aggs if a])

        # Phase 1: every series once (+1) on a healthy tier.
        self.send_counters(fwd, names, 1)
        first = self.phase(aggs, n, 0, describe)
        share = [sum(1 for w in first.values() if w == [j]) for j in range(3)]
        self.assertEqual(sum(share), n, "a phase 1 series at two aggregators")
        for j in range(3):
            self.assertGreater(share[j], n // 6, f"aggregator {j} got {share[j]} of {n}")

        # Phase 2: aggregator 0 killed, every series once more (+10).
        aggs[0].proc.kill()
        aggs[0].proc.wait()
        killed = aggs[0]
        aggs[0] = None
        self.send_counters(fwd, names, 10)

        def phase2_done():
            o, _ = self.owners(aggs, 1)
            return len(o) + forwarder_dropped_series(fwd.admin_port) >= n and o

        second = wait_until(phase2_done, "phase 2 delivered or counted as dropped", describe)
        _, worst = self.owners(aggs, 1)
        self.assertLessEqual(worst, 1, "a phase 2 value counted twice")
        dropped = forwarder_dropped_series(fwd.admin_port)
        self.assertEqual(len(second) + dropped, n,
                         f"missing {n - len(second)} but dropped {dropped}")
        for name, w in first.items():
            if name not in second:
                continue
            self.assertEqual(len(second[name]), 1, name)
            if w != [0]:
                self.assertEqual(second[name], w, f"{name} moved without cause")
        moved = [nm for nm, w in first.items() if w == [0] and nm in second]
        self.assertGreater(len(moved), 0, "none of the killed aggregator's series re-routed")
        dead = forwarder_endpoint(fwd.admin_port, urls[0])
        self.assertIsNotNone(dead, "no /expvar entry for the killed aggregator")
        self.assertEqual(dead["state"], "down", dead)
        self.assertGreater(dead["forwarder.rerouted_series"] + dead["forwarder.dropped_series"], 0,
                           dead)

        # Phase 3: restarted on its port; canaries until it takes series again, then +100.
        killed.close()
        aggs[0] = self.start_tier_aggregator(port=ports[0])
        k = [0]

        def rejoined():
            k[0] += 1
            fwd.send("\n".join(f"canary.k{k[0]}.{i}:1|c" for i in range(20)))
            time.sleep(0.2)
            return any(l.startswith("stats.counter.canary.") for l in aggs[0].lines())

        wait_until(rejoined, "the restarted aggregator took series", describe)
        self.send_counters(fwd, names, 100)
        third = self.phase(aggs, n, 2, describe)
        _, worst = self.owners(aggs, 2)
        self.assertLessEqual(worst, 1, "a phase 3 value counted twice")
        self.assertEqual(third, first, "after the restart every series is back at its owner")
        self.assertLess(share[0], n * 0.45, "more than about 1/3 of the series moved")


    def test_without_a_retry_budget_what_is_missing_was_counted_dropped(self):
        n = 600
        names = [f"scale.k{i}" for i in range(n)]
        aggs = [self.start_tier_aggregator() for _ in range(3)]
        urls = [f"http://127.0.0.1:{a.http_port}" for a in aggs]
        fwd = self.start_sharding_forwarder(
            dict(api_endpoints=urls, endpoint_failure_threshold=3, max_request_elapsed_time=-1),
            expvar=True)

        def describe():
            return "\n".join(s.describe(10) for s in [fwd] + [a for a in aggs if a])

        self.send_counters(fwd, names, 1)
        first = self.phase(aggs, n, 0, describe)
        aggs[0].proc.kill()
        aggs[0].proc.wait()
        aggs[0] = None
        self.send_counters(fwd, names, 10)

        def done():
            o, _ = self.owners(aggs, 1)
            return len(o) + forwarder_dropped_series(fwd.admin_port) >= n and o

        second = wait_until(done, "phase 2 delivered or counted as dropped", describe)
        time.sleep(0.5)  # nothing more arrives late
        second, worst = self.owners(aggs, 1)
        self.assertLessEqual(worst, 1, "a phase 2 value counted twice")
        dropped = forwarder_dropped_series(fwd.admin_port)
        lost = [nm for nm in names if nm not in second]
        self.assertGreater(dropped, 0, "no retry budget, yet nothing dropped")
        self.assertEqual(len(lost), dropped)
        self.assertTrue(all(first[nm] == [0] for nm in lost), "a live aggregator's series lost")


class DnsDiscoveryTest(ScalingTestCase):
    def start_dnsmasq(self, hosts_path):
        port = free_udp_port()
        args = [dnsmasq_bin(), "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                "--no-hosts", f"--addn-hosts={hosts_path}", "--listen-address=127.0.0.1",
                "--bind-interfaces", f"--port={port}", "--pid-file=",
                f"--user={pwd.getpwuid(os.getuid()).pw_name}", "--log-facility=-"]
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)

        def stop():
            if p.poll() is None:
                p.terminate()
                p.wait(10)
            p.stderr.close()

        self.addCleanup(stop)
        time.sleep(0.2)
        if p.poll() is not None:
            self.fail("dnsmasq exited: " + p.stderr.read().decode(errors="replace"))
        return p, port

    def test_the_ring_follows_the_names_addresses(self):
        if not os.path.exists(dnsmasq_bin()):
            self.skipTest("dnsmasq (Debian's dnsmasq-base) is not installed")
        n = 600
        names = [f"scale.k{i}" for i in range(n)]
        hosts = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
        port = free_port()
        aggs = [self.start_tier_aggregator(host=h, port=port) for h in hosts]
        hosts_path = os.path.join(self.dir, "hosts")

        def publish(addresses, dns):
            with open(hosts_path + ".new", "w") as f:
                f.writelines(f"{a} aggregators.test\n" for a in addresses)
            os.replace(hosts_path + ".new", hosts_path)
            if dns is not None:
                dns.send_signal(signal.SIGHUP)

        publish(hosts[:2], None)
        dns, dns_port = self.start_dnsmasq(hosts_path)
        fwd = self.start_sharding_forwarder(dict(
            api_endpoints_dns=f"aggregators.test:{port}", dns_server=f"127.0.0.1:{dns_port}",
            dns_refresh_period="200ms"), statser="logging")

        def describe():
            return "\n".join(s.describe(10) for s in [fwd] + aggs)

        i, _ = fwd.wait_for(r".*the set of aggregators changed .*", stream="stderr")
        self.send_counters(fwd, names, 1)
        first = self.phase(aggs, n, 0, describe)
        self.assertFalse([nm for nm, w in first.items() if w == [2]],
                         "a series at an address the name did not have")

        publish(hosts, dns)  # a third aggregator
        i, m = fwd.wait_for(r".*the set of aggregators changed .*127\.0\.0\.13.*", since=i + 1,
                            stream="stderr")
        self.send_counters(fwd, names, 10)
        second = self.phase(aggs, n, 1, describe)
        moved = [nm for nm in names if second[nm] != first[nm]]
        self.assertTrue(all(second[nm] == [2] for nm in moved), "a series moved elsewhere")
        self.assertGreater(len(moved), n // 6)
        self.assertLess(len(moved), n // 2)

        publish(hosts[1:], dns)  # the first one leaves
        fwd.wait_for(r".*the set of aggregators changed .*", since=i + 1, stream="stderr")
        self.send_counters(fwd, names, 100)
        third = self.phase(aggs, n, 2, describe)
        for nm in names:
            if second[nm] == [0]:
                self.assertIn(third[nm], ([1], [2]), nm)
            else:
                self.assertEqual(third[nm], second[nm], f"{nm} moved without cause")
        # Three sets (the first, one address added, one removed), counted every flush.
        wait_until(lambda: logged_total(fwd, "statsd.forwarder.dns.changes") == 3,
                   "forwarder.dns.changes reached 3", describe)
        self.assertEqual(logged_total(fwd, "statsd.forwarder.dns.failed"), 0)
        self.assertGreaterEqual(logged_total(fwd, "statsd.forwarder.dns.lookups"), 3)


    def test_fixed_aggregators_stay_beside_the_discovered_ones(self):
        if not os.path.exists(dnsmasq_bin()):
            self.skipTest("dnsmasq (Debian's dnsmasq-base) is not installed")
        n = 600
        names = [f"scale.k{i}" for i in range(n)]
        port = free_port()
        aggs = [self.start_tier_aggregator()] + [
            self.start_tier_aggregator(host=h, port=port) for h in ("127.0.0.21", "127.0.0.22")]
        hosts_path = os.path.join(self.dir, "hosts")
        with open(hosts_path, "w") as f:
            f.write("127.0.0.21 aggregators.test\n")
        dns, dns_port = self.start_dnsmasq(hosts_path)
        fwd = self.start_sharding_forwarder(dict(
            api_endpoint=f"http://127.0.0.1:{aggs[0].http_port}",
            api_endpoints_dns=f"aggregators.test:{port}", dns_server=f"127.0.0.1:{dns_port}",
            dns_refresh_period="200ms"))

        def describe():
            return "\n".join(s.describe(10) for s in [fwd] + aggs)

        i, _ = fwd.wait_for(r".*the set of aggregators changed .*", stream="stderr")
        self.send_counters(fwd, names, 1)
        first = self.phase(aggs, n, 0, describe)
        share = [sum(1 for w in first.values() if w == [j]) for j in range(3)]
        self.assertEqual(share[2], 0, share)
        self.assertGreater(min(share[:2]), n // 4, share)  # the fixed one and the discovered one

        with open(hosts_path + ".new", "w") as f:
            f.write("127.0.0.21 aggregators.test\n127.0.0.22 aggregators.test\n")
        os.replace(hosts_path + ".new", hosts_path)
        dns.send_signal(signal.SIGHUP)
        fwd.wait_for(r".*the set of aggregators changed .*127\.0\.0\.22.*", since=i + 1,
                     stream="stderr")
        self.send_counters(fwd, names, 10)
        second = self.phase(aggs, n, 1, describe)
        share = [sum(1 for w in second.values() if w == [j]) for j in range(3)]
        self.assertGreater(min(share), n // 6, share)  # the fixed aggregator kept its place
        self.assertTrue(all(second[nm] in (first[nm], [2]) for nm in names), "moved elsewhere")


    def test_a_failed_resolution_keeps_the_last_set(self):
        if not os.path.exists(dnsmasq_bin()):
            self.skipTest("dnsmasq (Debian's dnsmasq-base) is not installed")
        n = 300
        names = [f"scale.k{i}" for i in range(n)]
        port = free_port()
        aggs = [self.start_tier_aggregator(host=h, port=port) for h in ("127.0.0.31", "127.0.0.32")]
        hosts_path = os.path.join(self.dir, "hosts")
        with open(hosts_path, "w") as f:
            f.write("127.0.0.31 aggregators.test\n127.0.0.32 aggregators.test\n")
        dns, dns_port = self.start_dnsmasq(hosts_path)
        fwd = self.start_sharding_forwarder(dict(
            api_endpoints_dns=f"aggregators.test:{port}", dns_server=f"127.0.0.1:{dns_port}",
            dns_refresh_period="200ms", dns_timeout="300ms"), statser="logging")

        def describe():
            return "\n".join(s.describe(10) for s in [fwd] + aggs)

        self.send_counters(fwd, names, 1)
        first = self.phase(aggs, n, 0, describe)
        dns.terminate()  # every later resolution fails
        dns.wait(10)
        wait_until(lambda: logged_total(fwd, "statsd.forwarder.dns.failed") >= 2,
                   "failed resolutions counted", describe)
        fwd.wait_for(r".*DNS discovery failed; keeping the last set .*endpoints=2.*",
                     stream="stderr")
        self.send_counters(fwd, names, 10)
        second = self.phase(aggs, n, 1, describe)
        self.assertEqual(second, first, "the set changed while DNS was down")


if __name__ == "__main__":
    harness.main()
