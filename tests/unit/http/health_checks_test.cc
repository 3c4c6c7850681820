// GET /deepcheck's report (spec §4.4): registered checks, ok and failed lists as JSON.
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
  checks.AddDeepCheck("alive", [] { return std::nullopt; });
  checks.AddDeepCheck("sentRecently", [&]() -> std::optional<std::string> {
    if (sent) return std::nullopt;
    return "never sent";
  });
  HealthReport r = checks.Run();
  EXPECT_FALSE(r.healthy());
  EXPECT_EQ(nlohmann::json::parse(r.Json()),
            nlohmann::json::parse(R"({"ok": ["alive"], "failed": ["sentRecently: never sent"]})"));
  sent = true;
  r = checks.Run();
  EXPECT_TRUE(r.healthy());
  EXPECT_EQ(r.ok, (std::vector<std::string>{"alive", "sentRecently"}));
}

}  // namespace
}  // namespace cstatsd::http
