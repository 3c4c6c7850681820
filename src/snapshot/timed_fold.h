// FoldTimed: a snapshot for a backend that cannot carry a sample's own timestamp, where the
// timestamped points (FlushSnapshot::timed_counters / timed_gauges) are folded into the interval's
// values, so nothing is lost (docs/aggregation.md#timestamped-samples). Pure; the flusher calls
// it once per flush that has timestamped points, for every such backend together.
#pragma once

#include "snapshot/flush_snapshot.h"

namespace cstatsd::snapshot {

// A copy of `s` without timestamped points, in which each timestamped counter's value is added
// to the counter of the same series (created if the interval has none; its rate recomputed over
// flush_seconds), and each series' newest timestamped gauge replaces the gauge's value when it is
// newer than the gauge's last receive (or becomes the gauge if the interval has none).
std::shared_ptr<FlushSnapshot> FoldTimed(const FlushSnapshot& s);

}  // namespace cstatsd::snapshot
