// HealthChecks: the named checks behind GET /deepcheck (docs/http.md). Components register a check
// at startup (the forwarder: "sentRecently"); HTTP server threads run them per request.
// Thread-safe: a mutex guards the list; checks must be quick and must not block.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace cstatsd::http {

// A check's verdict, and what it has to say either way ("never sent", "lastSend=<time>").
struct DeepCheckResult {
  bool healthy = true;
  std::string detail;  // may be empty
};
using DeepCheck = std::function<DeepCheckResult()>;

// Each entry is "<name>: <detail>", or "<name>" when the check said nothing (as gostatsd's
// "sentRecently: lastSend=<time>" and "sentRecently: never sent").
struct HealthReport {
  std::vector<std::string> ok;
  std::vector<std::string> failed;
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
