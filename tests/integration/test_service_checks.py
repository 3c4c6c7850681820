"""DogStatsD service checks (docs/protocol.md#service-checks): `_sc` lines sent over UDP are
parsed and counted in parser.service_checks_received, and one that does not parse is a bad
line."""

import harness
from harness import ServerTestCase


class ServiceCheckTest(ServerTestCase):
    def test_checks_are_counted_and_a_bad_one_is_a_bad_line(self):
        s = self.start_standard(statser_type="logging")
        s.send("_sc|db.up|2|d:1700000000|h:db-1|#env:prod|c:ci-abc|e:it-false|card:low"
               "|m:refused | retrying\n"
               "_sc|web.up|0\n"
               "_sc|bad|7\n"
               "after:1|c")
        s.wait_metric("stats.counter.after.s.127.0.0.1.count", 1)
        s.wait_for(r".*name=statsd\.parser\.service_checks_received value=2 .*", stream="stderr")
        s.wait_for(r".*name=statsd\.parser\.bad_lines_seen value=1 .*", stream="stderr")
        self.stop_ok(s)


if __name__ == "__main__":
    harness.main()
