#include "http/health_checks.h"

#include <nlohmann/json.hpp>

namespace cstatsd::http {

std::string HealthReport::Json() const {
  nlohmann::ordered_json j;
  j["ok"] = ok;
  j["failed"] = failed;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void HealthChecks::AddDeepCheck(std::string name, DeepCheck check) {
  std::lock_guard lock(mu_);
  checks_.emplace_back(std::move(name), std::move(check));
}

HealthReport HealthChecks::Run() const {
  std::vector<std::pair<std::string, DeepCheck>> checks;
  {
    std::lock_guard lock(mu_);
    checks = checks_;  // run outside the lock: a check may take a lock of its own
  }
  HealthReport report;
  for (const auto& [name, check] : checks) {
    const DeepCheckResult r = check();
    std::string entry = r.detail.empty() ? name : name + ": " + r.detail;
    (r.healthy ? report.ok : report.failed).push_back(std::move(entry));
  }
  return report;
}

}  // namespace cstatsd::http
