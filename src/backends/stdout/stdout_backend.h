// The stdout backend (docs/backends.md#stdout, docs/compatibility.md#decision-9): plain `name value
// timestamp` lines on standard output, one per value, flushed after every flush; events as one
// `event: {...}` line, service checks as one `service_check: {...}` line. Runs on its backend
// thread; the formatting functions are pure and used by tests.
#pragma once

#include <cstdio>
#include <string>

#include "backends/backend.h"
#include "config/options.h"

namespace cstatsd::backends::stdout {

class StdoutBackend : public Backend {
 public:
  static constexpr std::string_view kName = "stdout";
  static Result<std::unique_ptr<Backend>> Create(const BackendContext& ctx);

  StdoutBackend(config::DisabledSubMetrics disabled, std::FILE* out);

  std::string_view Name() const override { return kName; }
  Status SendMetrics(const snapshot::FlushSnapshot& snapshot) override;
  Status SendEvent(const Event& event) override;
  bool CarriesServiceChecks() const override { return true; }
  Status SendServiceCheck(const ServiceCheck& check) override;

  // The text written for a snapshot / an event (no I/O).
  static void Format(const snapshot::FlushSnapshot& s, const config::DisabledSubMetrics& disabled,
                     std::string& out);
  static void FormatEvent(const Event& e, std::string& out);
  // One `service_check: {...}` line (docs/backends.md#service-checks); a newline in the message
  // is written as `\n`, so a check is always one line.
  static void FormatServiceCheck(const ServiceCheck& c, std::string& out);
  // <name> then ".<element>" for each non-empty element of the tagsKey, ':' → '.'.
  static void AppendName(const SeriesKey& key, std::string& out);

 private:
  Status Write(const std::string& text);

  config::DisabledSubMetrics disabled_;
  std::FILE* out_;
  std::string buffer_;
};

}  // namespace cstatsd::backends::stdout
