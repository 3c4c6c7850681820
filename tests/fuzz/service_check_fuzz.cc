// Fuzz target for DogStatsD service checks (docs/protocol.md#service-checks): runs ForEachLine +
// ParseServiceCheck over the input and traps on a broken invariant of a parsed check, or unless
// the check survives the two re-encodings it meets on the way out unchanged: statsdaemon's `_sc`
// line parsed again, and the forwarder's ServiceCheckV2 decoded again (once its strings are UTF-8,
// as the forwarder makes them).
#include <cstdint>
#include <string>
#include <string_view>

#include "backends/statsdaemon/statsdaemon_backend.h"
#include "core/utf8.h"
#include "forward/service_check_message.h"
#include "protocol/parser.h"
#include "protocol/service_check.h"

namespace {

using cstatsd::ServiceCheck;
using cstatsd::protocol::ParseError;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool Within(std::string_view inner, std::string_view outer) {
  return inner.size() <= outer.size() && outer.find(inner) != std::string_view::npos;
}

void CheckLine(std::string_view line) {
  static ServiceCheck c;
  ParseError err = ParseError::kNone;
  const bool ok = cstatsd::protocol::ParseServiceCheck(line, c, err);
  Check(ok == (err == ParseError::kNone));
  if (!ok) {
    Check(err == ParseError::kInvalidFormat || err == ParseError::kInvalidValue);
    return;
  }
  Check(line.starts_with("_sc|"));
  Check(!c.name.empty() && c.name.find('|') == std::string::npos && Within(c.name, line));
  Check(static_cast<int>(c.status) <= 3);
  Check(c.timestamp >= 0);
  for (const std::string& f : {c.source, c.container_id}) {
    Check(f.find('|') == std::string::npos && Within(f, line));
  }
  for (const std::string& t : c.tags) {
    Check(!t.empty() && t.find(',') == std::string::npos && t.find('|') == std::string::npos);
  }
  Check(Within(c.message, line));

  // statsdaemon's line reads back as the same check; a message newline is the only change.
  if (c.message.find('\n') == std::string::npos && c.message.find('\r') == std::string::npos) {
    static ServiceCheck back;
    const std::string again =
        cstatsd::backends::statsdaemon::StatsdaemonBackend::FormatServiceCheck(c, false);
    // A message starting with a field that repeats one already written would be read as text
    // either way; what the line gives back must be the check it came from.
    Check(cstatsd::protocol::ParseServiceCheck(again, back, err));
    Check(back == c);
  }

  // The forwarder's message, decoded by the aggregator.
  ServiceCheck valid = c;
  valid.name = cstatsd::ToValidUtf8(c.name);
  valid.source = cstatsd::ToValidUtf8(c.source);
  valid.message = cstatsd::ToValidUtf8(c.message);
  valid.container_id = cstatsd::ToValidUtf8(c.container_id);
  for (std::string& t : valid.tags) t = cstatsd::ToValidUtf8(t);
  static ServiceCheck decoded;
  const std::string wire = cstatsd::forward::ToServiceCheckV2(c).SerializeAsString();
  Check(cstatsd::forward::DecodeServiceCheck(wire, {}, decoded).ok());
  Check(decoded == valid);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  cstatsd::protocol::ForEachLine(input, [&](std::string_view line) { CheckLine(line); });
  // Also the whole input as one line, so that the decoders see every byte.
  CheckLine(input);
  return 0;
}
