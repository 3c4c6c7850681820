// HealthChecks: the named checks behind GET /deepcheck (spec §4.4). Components register a check
// at startup (the forwarder: "sentRecently"); HTTP server threads run them per request.
// Thread-safe: a mutex guards the list; checks must be quick and must not block.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace cstatsd::http {

// A check returns std::nullopt when healthy, else why not ("never sent").
using DeepCheck = std::function<std::optional<std::string>()>;

struct HealthReport {
  std::vector<std::string> ok;      // names of the checks that passed
  std::vector<std::string> failed;  // "<name>: <reason>"
  bool healthy() const { return failed.empty(); }
  // {"ok":[...],"failed":[...]}
  std::string Json() const;
};

class HealthChecks {
 public:
  void AddDeepCheck(std::string name, DeepCheck check);
  HealthReport Run() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, DeepCheck>> checks_;
};

}  // namespace cstatsd::http
