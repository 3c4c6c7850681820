// The state file's content and its binary format (docs/state-file.md#format): what a restart
// would otherwise lose — the gauges, and the flushes that some backends did not receive. Pure
// functions over bytes, no I/O; any thread. The flusher builds a State at shutdown and reads one
// back at start (server/flusher.cc); state_file.h writes and reads the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "snapshot/flush_snapshot.h"

namespace cstatsd::state {

// The first bytes of every state file, and the version this build writes and reads.
inline constexpr std::string_view kMagic = "CSDSTATE";
inline constexpr uint32_t kVersion = 1;
// magic (8) + version (4) + reserved (4) + body length (8) + body checksum (8).
inline constexpr size_t kHeaderBytes = 32;

// A flush that did not reach every backend: sent again, once, to those named (with its own
// flush time), by the next process that reads the file (docs/state-file.md#undelivered-interval).
struct UndeliveredFlush {
  std::vector<std::string> backends;
  snapshot::SnapshotPtr snapshot;
};

struct State {
  int64_t written_ns = 0;  // unix ns, when the file was written
  // Every live gauge with its value and last-update time (what expiry counts from).
  std::vector<snapshot::GaugePoint> gauges;
  std::vector<UndeliveredFlush> undelivered;
};

// The file's bytes: header, then the body (little-endian fixed-width numbers, strings as a u32
// length and the bytes).
std::string Encode(const State& state);

// The state in `bytes`, or why it is refused: short or bad header, wrong magic or version, a
// length that does not match the bytes, a checksum mismatch, or a body that does not parse (a
// count larger than the bytes left could hold, an unknown timer kind, an index out of range).
// Nothing is allocated from a length before it is checked against the bytes that remain.
Result<State> Decode(std::string_view bytes);

}  // namespace cstatsd::state
