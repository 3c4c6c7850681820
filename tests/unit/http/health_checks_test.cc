// GET /deepcheck's report (docs/http.md): registered checks, ok and failed lists as JSON.
#include "http/health_checks.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cstatsd::http {
namespace {

TEST(HealthChecksTest, NoChecksIsHealthyAndEmpty) {
  HealthChecks checks;
  const HealthReport r = checks.Run();
  EXPECT_TRUE(r.healthy());
  EXPECT_EQ(nlohmann::json::parse(r.Json()), nlohmann::json::parse(R"({"ok": [], "failed": []})"));
}

TEST(HealthChecksTest, AFailingCheckMakesItUnhealthy) {
  HealthChecks checks;
  bool sent = false;
  checks.AddDeepCheck("alive", [] { return DeepCheckResult{}; });
  checks.AddDeepCheck("sentRecently", [&] {
    if (sent) return DeepCheckResult{true, "lastSend=2026-01-02T03:04:05Z"};
    return DeepCheckResult{false, "never sent"};
  });
  HealthReport r = checks.Run();
  EXPECT_FALSE(r.healthy());
  EXPECT_EQ(nlohmann::json::parse(r.Json()),
            nlohmann::json::parse(R"({"ok": ["alive"], "failed": ["sentRecently: never sent"]})"));
  sent = true;
  r = checks.Run();
  EXPECT_TRUE(r.healthy());
  EXPECT_EQ(r.ok,
            (std::vector<std::string>{"alive", "sentRecently: lastSend=2026-01-02T03:04:05Z"}));
}

}  // namespace
}  // namespace cstatsd::http
