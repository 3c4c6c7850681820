"""The aws cloud provider end to end (issue 7; docs/cloud-providers.md): cstatsd with `cloud-provider = aws`
against a fake instance metadata service and a fake EC2 (fake_aws.py) on loopback. UDP senders
bind distinct loopback addresses (127.0.0.x), so the server sees distinct source IPs.

* Metrics and events from a known IP carry the instance's tags and its instance id as source;
  from an unknown IP, or one EC2 answers InvalidInstanceID.NotFound for, they pass unchanged;
  an IP matched by a secondary interface address finds its instance; a throttled first call is
  retried; every IP is asked once however many flushes follow (cache hits).
* A flood of datagrams from 10,000 distinct source IPs while lookups are rate limited: a sender
  that is already known keeps being aggregated in every flush while thousands of IPs wait
  (ingestion never stalls), every line is accounted for (aggregated, or refused by a full queue
  and counted, or dropped by the kernel and counted), and the peak RSS stays bounded.
"""

import os
import re
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
from fake_aws import FakeAws  # noqa: E402

WAIT = 30.0


def server_env(fake):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and not k.startswith("GSD_")}
    env.update(fake.env())
    return env


def send_from(source, port, payload):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((source, 0))
        s.sendto(payload.encode(), ("127.0.0.1", port))
    finally:
        s.close()


def counter_total(server, pattern):
    """The sum of every printed `<name>.count` value whose name fully matches pattern."""
    rx = re.compile(pattern + r"\.count (\d+) \d+")
    return sum(int(m.group(1)) for line in server.lines() for m in [rx.fullmatch(line)] if m)


def last_gauge(server, name, tag=None):
    """The last printed value of an internal gauge (its host: tag and source, and the tag
    `tag` if given, in its name)."""
    rx = re.compile(r"stats\.gauge\." + re.escape(name) + r"\.host\.\S+?" +
                    (r"\." + re.escape(tag) if tag else "") + r"\.s\.\S+ (\S+) \d+")
    vals = [float(m.group(1)) for line in server.lines() for m in [rx.fullmatch(line)] if m]
    return vals[-1] if vals else None


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class AwsEnrichmentTest(harness.ServerTestCase):
    def setUp(self):
        self.fake = FakeAws(region="us-test-1", page_size=1, throttle_first=1,
                            not_found_ips=["127.0.0.4"])
        self.addCleanup(self.fake.close)
        self.fake.add_instance("i-0web", "127.0.0.2",
                               tags={"Name": "web", "aws:cloudformation:stack-name": "prod"})
        self.fake.add_instance("i-0db", "127.0.0.6", secondary_ips=["127.0.0.5"])

    def test_instances_enrich_their_metrics_and_unknown_senders_pass(self):
        server = self.start(harness.standard_flags(cloud_provider="aws", statser_type="logging"),
                            env=server_env(self.fake))
        for flush in range(3):
            since = len(server.lines())
            send_from("127.0.0.2", server.port, "req:1|c|#team:a")
            send_from("127.0.0.3", server.port, "req:2|c")
            send_from("127.0.0.5", server.port, "req:5|c")
            if flush == 0:
                # EC2's NotFound error answers a whole call: ask about this IP on its own.
                self.fake.wait_for(lambda s: "127.0.0.5" in s["ips_asked"], timeout=WAIT)
            send_from("127.0.0.4", server.port, "req:4|c")
            web = (r"stats\.counter\.req\.Name\.web\.aws_cloudformation_stack-name\.prod"
                   r"\.region\.us-test-1\.team\.a\.s\.i-0web")
            server.wait_for(web + r"\.count 1 \d+", since, timeout=WAIT)
            server.wait_for(r"stats\.counter\.req\.s\.127\.0\.0\.3\.count 2 \d+", since,
                            timeout=WAIT)
            server.wait_for(r"stats\.counter\.req\.s\.127\.0\.0\.4\.count 4 \d+", since,
                            timeout=WAIT)
            server.wait_for(r"stats\.counter\.req\.region\.us-test-1\.s\.i-0db\.count 5 \d+",
                            since, timeout=WAIT)
        # An event from a known instance is enriched the same way.
        send_from("127.0.0.2", server.port, "_e{6,4}:deploy|done|#team:a")
        server.wait_for(r"event: \{Title:deploy .*Tags:\[team:a region:us-test-1 Name:web "
                        r"aws_cloudformation_stack-name:prod\] Source:i-0web .*", timeout=WAIT)

        stats = self.fake.stats()
        # Lookups that were answered (not throttled), first pages only (later pages repeat the
        # filter): one per IP, however many flushes followed.
        answered = [r for r in stats["requests"] if not r["next_token"] and r["status"] != 503]
        for ip in ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"):
            n = sum(ip in r["ips"] for r in answered)
            self.assertEqual(n, 1, f"{ip} looked up {n} times: {answered}")
        self.assertEqual(stats["throttled"], 1)  # the first call, retried
        self.assertGreaterEqual(stats["not_found_errors"], 1)
        hits = [float(m.group(1)) for line in list(server.stderr)
                for m in [re.search(r"name=statsd\.cloudprovider\.cache_hit value=(\S+)", line)]
                if m]
        self.assertTrue(hits and hits[-1] >= 12, f"cache hits: {hits[-3:]}")
        self.stop_ok(server)

    def test_a_metadata_service_that_does_not_answer_stops_startup(self):
        env = server_env(self.fake)
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:1"
        r = self.run_binary(harness.standard_flags(cloud_provider="aws"), env=env, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cloud-provider aws", r.stderr)


class AwsFloodTest(harness.ServerTestCase):
    SOURCES = 10000
    LINES = 15  # per datagram: 150,000 lines in all, more than the 100,000 that may wait

    def test_ten_thousand_sources_never_stall_ingestion_and_memory_stays_bounded(self):
        fake = FakeAws(region="us-test-1")
        self.addCleanup(fake.close)
        sources = [f"127.1.{i // 250}.{i % 250 + 1}" for i in range(self.SOURCES)]
        for n, ip in enumerate(sources[::10]):  # one in ten is an instance
            fake.add_instance(f"i-{n:05d}", ip, tags={"role": "flood"})
        # Counters expire after the flush that reports them (10,000 series printed every 200 ms
        # would cost the test more than the server).
        server = self.start(
            harness.standard_flags(cloud_provider="aws", statser_type="internal",
                                   max_cloud_requests=20, burst_cloud_requests=20) +
            ["--expiry-interval-counter=-1ns"],
            env=server_env(fake))
        # The control sender is looked up (unknown to EC2) before the flood.
        send_from("127.0.0.9", server.port, "control:1|c")
        server.wait_for(r"stats\.counter\.control\.s\.127\.0\.0\.9\.count 1 \d+", timeout=WAIT)

        control_sent = 1
        stop = threading.Event()

        def control():
            nonlocal control_sent
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.9", 0))
            while not stop.is_set():
                s.sendto(b"control:1|c", ("127.0.0.1", server.port))
                control_sent += 1
                time.sleep(0.02)
            s.close()

        t = threading.Thread(target=control)
        t.start()
        try:
            payload = "\n".join(["flood:1|c"] * self.LINES)
            for ip in sources:
                send_from(ip, server.port, payload)
            # Wait until no source waits any more (20 lookups/s of 32 IPs: about 10 s; the
            # sources whose every line was refused by a full queue are not looked up).
            server.wait_for(r"stats\.gauge\.statsd\.cloudprovider\.hosts_queued\.host\.\S+?"
                            r"\.type\.metric\.s\.\S+ 0\.000000 \d+", len(server.lines()),
                            timeout=90)
        finally:
            stop.set()
            t.join()
        hwm_mib = vm_hwm_kib(server.proc.pid) / 1024
        self.stop_ok(server)

        # Ingestion never stalled: while sources waited for lookups, the known sender was
        # aggregated in every flush (each flush prints hosts_queued after the counters).
        lines = server.lines()
        queued_rx = re.compile(r"stats\.gauge\.statsd\.cloudprovider\.hosts_queued\.host\.\S+?"
                               r"\.type\.metric\.s\.\S+ (\S+) \d+")
        control_rx = re.compile(r"stats\.counter\.control\.s\.127\.0\.0\.9\.count (\d+) \d+")
        waiting_flushes, with_control = 0, 0
        seen_control = False
        for line in lines:
            if control_rx.fullmatch(line):
                seen_control = True
            m = queued_rx.fullmatch(line)
            if m:
                if float(m.group(1)) > 0:
                    waiting_flushes += 1
                    with_control += seen_control
                seen_control = False
        self.assertGreaterEqual(waiting_flushes, 5, "the flood never made sources wait")
        self.assertGreaterEqual(with_control, waiting_flushes - 1,
                                f"{waiting_flushes} flushes with sources waiting, only "
                                f"{with_control} with the known sender's metrics")

        # Every line is accounted for.
        kernel_drops = last_gauge(server, "statsd.receiver.kernel_drops") or 0
        dropped = last_gauge(server, "statsd.cloudprovider.items_dropped", "type.metric") or 0
        aggregated = counter_total(server, r"stats\.counter\.flood\.\S+")
        enriched = counter_total(server, r"stats\.counter\.flood\.region\.us-test-1\.role\.flood"
                                 r"\.s\.i-\d+")
        total = self.SOURCES * self.LINES
        control = counter_total(server, r"stats\.counter\.control\.s\.127\.0\.0\.9")
        print(f"flood: {aggregated} aggregated ({enriched} enriched), {dropped:.0f} refused by "
              f"full queues, {kernel_drops:.0f} datagrams dropped by the kernel, of {total}; "
              f"control {control} of {control_sent}; peak RSS {hwm_mib:.0f} MiB; {waiting_flushes} flushes with "
              f"sources waiting", file=sys.stderr)
        self.assertEqual(aggregated + dropped + self.LINES * kernel_drops, total)
        self.assertGreater(dropped, 0, "150,000 lines should overflow the 100,000 that may wait")
        self.assertGreater(enriched, 0)
        if kernel_drops == 0:
            self.assertEqual(control, control_sent)
        self.assertLess(hwm_mib, 400, "peak RSS")


if __name__ == "__main__":
    harness.main()
