"""DogStatsD service checks end to end (docs/protocol.md#service-checks,
docs/backends.md#service-checks): `_sc` lines sent over UDP reach the stdout backend as one line
each, a backend that does not carry them counts each as dropped, a bad `_sc` line is a bad line,
and a cstatsd forwarder hands its checks to a cstatsd aggregator over /v2/check."""

import os
import shutil
import tempfile

import harness
from harness import ServerTestCase

LISTENING = r".*http server listening server=(\S+) address=127\.0\.0\.1:(\d+) .*"


class ServiceCheckTest(ServerTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cstatsd-sc-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_checks_reach_stdout_and_are_counted_dropped_elsewhere(self):
        s = self.start_standard(backends="stdout null", statser_type="logging",
                                default_tags="team:db")
        s.send("_sc|db.up|2|d:1700000000|h:db-1|#env:prod|c:ci-abc|e:it-false|card:low"
               "|m:refused | retrying\n"
               "_sc|web.up|0\n"
               "_sc|bad|7\n"
               "after:1|c")
        s.wait_for(r"service_check: \{Name:db\.up Status:critical Timestamp:1700000000 "
                   r"Tags:\[env:prod team:db\] Source:db-1 ContainerId:ci-abc "
                   r"Message:refused \| retrying\}")
        # Without d: the time it was received; without h: the sender.
        _, m = s.wait_for(r"service_check: \{Name:web\.up Status:ok Timestamp:(\d+) "
                          r"Tags:\[team:db\] Source:127\.0\.0\.1 ContainerId: Message:\}")
        self.assertGreater(int(m.group(1)), 1700000000)
        s.wait_for(r".*name=statsd\.parser\.service_checks_received value=2 .*", stream="stderr")
        s.wait_for(r".*name=statsd\.parser\.bad_lines_seen value=1 .*", stream="stderr")
        s.wait_for(r".*name=statsd\.backend\.service_checks\.dropped value=2 "
                   r"tags=\[backend:null\].*", stream="stderr")
        s.wait_for(r".*name=statsd\.backend\.service_checks\.sent value=2 "
                   r"tags=\[backend:stdout\].*", stream="stderr")
        s.wait_for(r".*backend does not carry service checks, dropping service check "
                   r"backend=null.*", stream="stderr")
        self.assertNoLine(s, r"service_check: \{Name:bad .*")
        self.stop_ok(s)

    def test_a_forwarder_hands_its_checks_to_an_aggregator(self):
        agg_conf = self.write("agg.toml", 'http-servers = ["main"]\n[http.main]\n'
                              'address = "127.0.0.1:0"\nenable-ingestion = true\n')
        agg = self.start_standard(config_path=agg_conf, default_tags="dc:eu")
        _, m = agg.wait_for(LISTENING, stream="stderr")
        port = int(m.group(2))
        fwd_conf = self.write("fwd.toml", "[http-transport]\n"
                              f'api-endpoint = "http://127.0.0.1:{port}"\n'
                              'flush-interval = "200ms"\n')
        fwd = self.start(["--server-mode", "forwarder", "--config-path", fwd_conf,
                          "--metrics-addr", "127.0.0.1:0", "--statser-type", "null"])
        fwd.send("_sc|queue.ok|1|d:1700000001|#env:dev|m:backlog 900\n"
                 "_sc|cron.ok|3|h:batch-7")
        agg.wait_for(r"service_check: \{Name:queue\.ok Status:warning Timestamp:1700000001 "
                     r"Tags:\[env:dev dc:eu\] Source:127\.0\.0\.1 ContainerId: "
                     r"Message:backlog 900\}")
        agg.wait_for(r"service_check: \{Name:cron\.ok Status:unknown Timestamp:\d+ "
                     r"Tags:\[dc:eu\] Source:batch-7 ContainerId: Message:\}")
        self.stop_ok(fwd)
        self.stop_ok(agg)


if __name__ == "__main__":
    harness.main()
