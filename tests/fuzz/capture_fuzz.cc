// Fuzz target for the capture file reader (docs/capture.md#file-format), which cstatsd-loader
// --replay runs over files it is given: reads every record of the input, and traps unless each
// stays within the reader's bounds and reads back the same (time, source, payload) once written
// again by the writer's AppendPacket.
#include <cstdint>
#include <sstream>
#include <string>

#include "capture/pcapng.h"

namespace {

using cstatsd::capture::CaptureReader;
using cstatsd::capture::Record;
using cstatsd::capture::SourceKind;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  CaptureReader reader(in);
  Record r;
  CaptureReader::Next next;
  int records = 0;
  while ((next = reader.Read(r)) == CaptureReader::Next::kRecord) {
    ++records;
    Check(r.payload.size() <= cstatsd::capture::kMaxPayload + 65536);
    Check(r.time_ns >= 0);
    if (r.source.kind != SourceKind::kUnix && r.payload.size() > 65507) continue;  // cut on write
    std::string again;
    cstatsd::capture::AppendFileHeader(again, r.source.kind == SourceKind::kUnix);
    cstatsd::capture::AppendPacket(again, r.time_ns, r.source, r.destination, r.payload);
    std::istringstream in2(again);
    CaptureReader reader2(in2);
    Record back;
    Check(reader2.Read(back) == CaptureReader::Next::kRecord);
    Check(back.time_ns == r.time_ns && back.payload == r.payload);
    Check(back.source.kind == r.source.kind && back.source.port == r.source.port &&
          back.source.address == r.source.address && back.source.unix_path == r.source.unix_path);
    Check(reader2.Read(back) == CaptureReader::Next::kEnd);
  }
  Check(next == CaptureReader::Next::kEnd || !reader.error().empty());
  Check(records <= static_cast<int>(size / 32));  // every record takes a block of 32 bytes or more
  return 0;
}
