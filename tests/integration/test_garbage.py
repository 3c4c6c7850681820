"""Garbage never crashes or stalls the server; bad lines are counted and the good lines around
them still count (docs/protocol.md; docs/compatibility.md#decision-1, docs/compatibility.md#decision-3)."""

import os
import random
import re

import harness
from harness import ServerTestCase

SRC = ".s.127.0.0.1"
BAD_LINES = "stats.gauge.statsd.parser.bad_lines_seen.host.testhost.s.testhost"
METRICS_RECEIVED = "stats.gauge.statsd.parser.metrics_received.host.testhost.s.testhost"

# Lines that must each count as exactly one bad line.
BAD = [
    "x:|g",                             # gauge without a value (docs/compatibility.md#decision-1)
    "x:::|g",                           # same, packed
    "_e{99999999999999999999,1}:a|b",   # event length overflow
    "_e{1,1}",                          # event, invalid format
    "_e{5,5}:ab|c",                     # event, not enough data
    "NaN:NaN|g",                        # NaN value
    "r:1|c|@0",                         # sample rate 0 (docs/compatibility.md#decision-1)
    "r:1|c|@-1",                        # negative sample rate
    "r:1|c|@inf",                       # infinite sample rate
    "r:1|c|@",                          # empty sample rate
    "_sc|svc|9",                        # a service check status outside 0-3
    "foo:1|dx",                         # junk after the distribution type
    "c:1|c|T0",                         # DogStatsD timestamp 0 (docs/protocol.md#dogstatsd-fields)
    "_foo:1|c",                         # a name starting with '_'
    ":1|c",                             # empty name
    "nocolon",                          # no ':'
    "x:1",                              # no '|'
    "x:1|cx",                           # junk after the type
    "x:abc|c",                          # not a number
    "\x01\x02:\xff|c",                  # name empty after sanitising (a NUL would end the line)
]


class GarbageTest(ServerTestCase):
    def test_random_bytes(self):
        s = self.start_standard()
        rng = random.Random(20240601)
        datagrams = [b""]
        for _ in range(300):
            n = rng.choice((1, 2, 7, 64, 512, 1400, rng.randrange(1, 9000)))
            datagrams.append(bytes(rng.randrange(256) for _ in range(n)))
        # Statsd-looking junk: random pieces of the grammar glued together.
        pieces = ["a", ":", "|", "c", "g", "ms", "h", "s", "@", "#", ",", "1", "-", ".", "e",
                  "_e{", "}", "\n", "\r", "\x00", "NaN", "inf", "1e999", "0x1p-2", "::", "||"]
        for _ in range(300):
            datagrams.append("".join(rng.choice(pieces) for _ in range(rng.randrange(1, 60))))
        s.send(*datagrams)
        # Resend: the kernel may drop some of this burst if the socket buffer fills up.
        s.send_until("after:1|g", harness.metric_regex(f"stats.gauge.after{SRC}", "1.000000"))
        self.stop_ok(s)

    def test_datagram_of_65000_bytes(self):
        s = self.start_standard()
        s.send(b"x" * 65000)                  # one bad line as long as a datagram can be
        s.send("b:1|c\n" * 10833)             # 64998 bytes of valid lines: none lost
        long_name = "n" * 64990
        s.send(long_name + ":1|c")            # a valid metric with a huge name
        s.send("after:1|c")
        self.assertMetric(s, f"stats.counter.b{SRC}.count", "10833")
        self.assertMetric(s, f"stats.counter.{long_name}{SRC}.count", "1")
        self.assertMetric(s, f"stats.counter.after{SRC}.count", "1")
        self.stop_ok(s)

    def test_bad_lines_do_not_spoil_their_datagram(self):
        s = self.start_standard()
        lines = ["good1:1|c"] + BAD[:8] + ["good2:2|c"] + BAD[8:] + ["good3:3|g"]
        s.send("\n".join(lines))
        self.assertMetric(s, f"stats.counter.good1{SRC}.count", "1")
        self.assertMetric(s, f"stats.counter.good2{SRC}.count", "2")
        self.assertMetric(s, f"stats.gauge.good3{SRC}", "3.000000")
        end = s.sync()
        # Nothing from the bad lines was recorded.
        self.assertNoLine(s, r"stats\.\w+\.(x|r|NaN|foo|nocolon|_foo)[. ].*", until=end)
        # And the server still answers.
        s.send("after:1|c")
        self.assertMetric(s, f"stats.counter.after{SRC}.count", "1")
        self.stop_ok(s)

    def test_bad_lines_are_counted(self):
        s = self.start_standard(statser_type="internal", hostname="testhost")
        s.send("\n".join(["good1:1|c"] + BAD + ["good2:2|c\r", "\r", ""]))
        s.send(b"x" * 65000)
        expected_bad = len(BAD) + 1
        self.assertMetric(s, BAD_LINES, f"{expected_bad}.000000")
        s.wait_metric(METRICS_RECEIVED, "2.000000")
        self.assertMetric(s, f"stats.counter.good2{SRC}.count", "2")
        s.sync()
        # Counted once each: the cumulative gauge shows the first datagram's count (if a flush
        # fell between the two datagrams) and then the total, never more.
        values = s.values(BAD_LINES)
        self.assertTrue(set(values) <= {f"{len(BAD)}.000000", f"{expected_bad}.000000"}, values)
        self.assertEqual(values[-1], f"{expected_bad}.000000")
        # Not logged: bad-lines-per-minute defaults to 0.
        self.assertFalse([l for l in s.lines(stream="stderr") if "error parsing line" in l])
        self.stop_ok(s)

    def test_truncated_datagrams_are_counted(self):
        # A datagram longer than receive-buffer-size loses its tail in the kernel: the lines that
        # fit still count, and the loss is visible as receiver.datagrams_truncated.
        s = self.start_standard(statser_type="internal", hostname="testhost",
                                receive_buffer_size=100)
        s.send("\n".join(["fits:1|c"] + ["cut:1|c"] * 40))
        self.assertMetric(s, "stats.gauge.statsd.receiver.datagrams_truncated.host.testhost"
                          ".s.testhost", "1.000000")
        self.assertMetric(s, f"stats.counter.fits{SRC}.count", "1")
        self.stop_ok(s)

    def test_bad_lines_logged_when_asked(self):
        env = dict(os.environ, GSD_BAD_LINES_PER_MINUTE="600")
        s = self.start(harness.standard_flags(), env=env)
        s.send("NaN:NaN|g")
        s.wait_for(r".*error parsing line.*NaN:NaN\|g.*", stream="stderr")
        self.stop_ok(s)

    def test_crlf_line_endings(self):
        # docs/compatibility.md#decision-3: a trailing \r is removed; empty lines are skipped, not bad.
        s = self.start_standard(statser_type="internal", hostname="testhost")
        s.send("a:1|c\r\nb:2|g\r\n\r\n\nst:x|s\r\nst:x|s\n", "last:1|c\r")
        self.assertMetric(s, f"stats.counter.a{SRC}.count", "1")
        self.assertMetric(s, f"stats.gauge.b{SRC}", "2.000000")
        self.assertMetric(s, f"stats.set.st{SRC}", "1")
        self.assertMetric(s, f"stats.counter.last{SRC}.count", "1")
        s.wait_metric(METRICS_RECEIVED, "5.000000")
        end = s.sync()
        self.assertNoLine(s, re.escape(BAD_LINES) + " .*", until=end)
        self.stop_ok(s)

    def test_burst_of_garbage_does_not_stall(self):
        s = self.start_standard()
        s.send(*(["\n".join(BAD)] * 2000))
        # The kernel may drop datagrams while the socket buffer is full: that is not a stall.
        # The server must take new datagrams again soon after, so resend until one shows.
        s.send_until("after:1|g", harness.metric_regex(f"stats.gauge.after{SRC}", "1.000000"))
        self.stop_ok(s)


if __name__ == "__main__":
    harness.main()
