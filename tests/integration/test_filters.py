"""Filters from a config file (docs/filtering.md): its example end to end through the stdout
backend (drop-host + drop-tags merging series, drop-tags alone, drop-metric with an exclusion),
internal metrics filtered too, and a bad pattern stopping startup with the key named."""

import os
import tempfile

import harness

CONFIG = """backends = "stdout"
metrics-addr = "127.0.0.1:0"
flush-interval = "1h"
statser-type = "internal"
hostname = "testhost"
filters = "make-global noisy-tag drop-subset drop-internal"

[filter.make-global]
match-metrics = "global.*"
drop-host = true
drop-tags = "host:*"

[filter.noisy-tag]
drop-tags = "request_path:*"

[filter.drop-subset]
match-metrics = "noisy.*"
exclude-metrics = "noisy.butok.*"
drop-metric = true

[filter.drop-internal]
match-metrics = ["regex:^statsd\\\\.(parser|receiver)\\\\."]
drop-metric = true
"""


class FiltersTest(harness.ServerTestCase):
    def write(self, text):
        path = os.path.join(tempfile.mkdtemp(prefix="cstatsd-filters-"), "c.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_spec_example(self):
        s = self.start(["--config-path", self.write(CONFIG)])
        s.send("global.requests:1|c|#host:web1,env:prod", source="127.0.0.1")
        s.send("global.requests:2|c|#host:web2,env:prod", source="127.0.0.2")
        s.send("local.hits:5|c|#request_path:/a,env:dev\nnoisy.x:1|c\nnoisy.butok.y:3|c")
        self.stop_ok(s)  # the final flush prints everything
        # Both hosts and both sources gone: one series.
        self.assertEqual(s.values("stats.counter.global.requests.env.prod.count"), ["3"])
        self.assertEqual(s.values("stats.counter.local.hits.env.dev.s.127.0.0.1.count"), ["5"])
        self.assertEqual(s.values("stats.counter.noisy.x.s.127.0.0.1.count"), [])
        self.assertEqual(s.values("stats.counter.noisy.butok.y.s.127.0.0.1.count"), ["3"])
        names = [line.split(" ")[0] for line in s.lines()]
        self.assertFalse(any(".parser." in n or ".receiver." in n for n in names), names)
        # Other internal metrics still arrive: only the filtered ones are gone.
        self.assertTrue(any(n.startswith("stats.gauge.statsd.aggregator.") for n in names), names)

    def test_bad_pattern_stops_startup(self):
        bad = self.write('backends = "stdout"\nfilters = "x"\n[filter.x]\n'
                         'match-tags = "regex:(oops"\n')
        r = self.run_binary(["--config-path", bad])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("filter.x.match-tags: invalid regex", r.stderr)


if __name__ == "__main__":
    harness.main()
