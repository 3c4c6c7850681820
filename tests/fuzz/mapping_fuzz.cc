// Fuzz target for statsd_exporter's mapping file (src/prometheus/mapping.h): the input is a
// mapping file. Parse must answer, ok or an error naming the file and a line, without crashing,
// hanging or exhausting memory (YAML aliases included); a file it accepts must then resolve
// names of every kind.
#include <cstdint>
#include <string_view>

#include "prometheus/mapping.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cstatsd::prometheus;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = MappingConfig::Parse(text, "fuzz.yml");
  if (!config.ok()) {
    if (!std::string_view(config.error()).starts_with("fuzz.yml:")) __builtin_trap();
    return 0;
  }
  for (std::string_view name : {"a", "a.b.c", "test.dispatcher.x.y.z", "", "..", "9-x.y--z"}) {
    for (StatsdKind kind : {StatsdKind::kCounter, StatsdKind::kGauge, StatsdKind::kObserver}) {
      const Mapping m = config->Resolve(name, kind);
      if (!m.drop && m.name.empty()) __builtin_trap();
    }
  }
  return 0;
}
