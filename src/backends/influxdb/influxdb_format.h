// InfluxDB line protocol for the influxdb backend (docs/backends.md#influxdb): one line per
// counter, gauge, set and timer (histogram timers: one line of `le.<bound>` fields), cut into
// batches of `metrics-per-batch` lines; events as `events` measurements. Pure functions, used by
// the backend's thread and the golden tests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "config/options.h"
#include "core/metric.h"
#include "snapshot/flush_snapshot.h"

namespace cstatsd::backends::influxdb {

// Called with each full batch (and the last partial one): the lines and how many there are.
using BatchFn = std::function<void(std::string&& lines, size_t series)>;

// Formats the snapshot with timestamp `now_seconds`; calls `emit` for every batch of at most
// `per_batch` lines. Returns the number of lines.
size_t FormatMetrics(const snapshot::FlushSnapshot& s, const config::DisabledSubMetrics& disabled,
                     int64_t now_seconds, size_t per_batch, const BatchFn& emit);

// One `events,...` line (with its '\n').
std::string FormatEvent(const Event& e);

// `measurement[,k=v...] ` for a name and its tags (bare tags under `unnamed`, values of one key
// sorted and joined with `__`, keys sorted), trailing space included.
void AppendNameTags(std::string& out, std::string_view name, std::string_view comma_tags);

}  // namespace cstatsd::backends::influxdb
