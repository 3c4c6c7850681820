// Service checks through a BackendRunner (docs/backends.md#service-checks): a backend that carries
// them receives each one; for any other backend each is counted as dropped, never lost silently.
#include <gtest/gtest.h>

#include <mutex>

#include "server/backend_runner.h"

namespace cstatsd::server {
namespace {

class CheckBackend : public backends::Backend {
 public:
  explicit CheckBackend(bool carries, bool fail = false) : carries_(carries), fail_(fail) {}
  std::string_view Name() const override { return "checks"; }
  Status SendMetrics(const snapshot::FlushSnapshot&) override { return {}; }
  Status SendEvent(const Event&) override { return {}; }
  bool CarriesServiceChecks() const override { return carries_; }
  Status SendServiceCheck(const ServiceCheck& c) override {
    std::lock_guard lock(mu_);
    received_.push_back(c.name);
    return fail_ ? Status::Error("refused") : Status();
  }
  std::vector<std::string> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  const bool carries_;
  const bool fail_;
  std::mutex mu_;
  std::vector<std::string> received_;
};

std::shared_ptr<const ServiceCheck> Check(std::string name) {
  auto c = std::make_shared<ServiceCheck>();
  c->name = std::move(name);
  return c;
}

TEST(BackendRunnerServiceCheckTest, ABackendThatCarriesChecksReceivesEach) {
  auto owned = std::make_unique<CheckBackend>(true);
  CheckBackend* b = owned.get();
  BackendRunner r(std::move(owned), 4, 10);
  r.Start();
  r.EnqueueServiceCheck(Check("a"));
  r.EnqueueServiceCheck(Check("b"));
  EXPECT_TRUE(r.Stop(std::chrono::seconds(5)));
  EXPECT_EQ(b->received(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(b->stats().service_checks_sent.load(), 2u);
  EXPECT_EQ(b->stats().service_checks_dropped.load(), 0u);
}

TEST(BackendRunnerServiceCheckTest, AFailedSendIsCountedAsDropped) {
  auto owned = std::make_unique<CheckBackend>(true, /*fail=*/true);
  CheckBackend* b = owned.get();
  BackendRunner r(std::move(owned), 4, 10);
  r.Start();
  r.EnqueueServiceCheck(Check("a"));
  EXPECT_TRUE(r.Stop(std::chrono::seconds(5)));
  EXPECT_EQ(b->received(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(b->stats().service_checks_sent.load(), 0u);
  EXPECT_EQ(b->stats().service_checks_dropped.load(), 1u);
}

TEST(BackendRunnerServiceCheckTest, ABackendWithoutChecksCountsEachAsDropped) {
  auto owned = std::make_unique<CheckBackend>(false);
  CheckBackend* b = owned.get();
  BackendRunner r(std::move(owned), 4, 10);
  r.Start();
  for (int i = 0; i < 3; ++i) r.EnqueueServiceCheck(Check("a"));
  EXPECT_TRUE(r.Stop(std::chrono::seconds(5)));
  EXPECT_TRUE(b->received().empty());
  EXPECT_EQ(b->stats().service_checks_dropped.load(), 3u);
  EXPECT_EQ(b->stats().service_checks_sent.load(), 0u);
}

TEST(BackendRunnerServiceCheckTest, TheDefaultBackendDoesNotCarryChecks) {
  struct Plain : backends::Backend {
    std::string_view Name() const override { return "plain"; }
    Status SendMetrics(const snapshot::FlushSnapshot&) override { return {}; }
    Status SendEvent(const Event&) override { return {}; }
  } plain;
  EXPECT_FALSE(plain.CarriesServiceChecks());
  EXPECT_FALSE(plain.SendServiceCheck(ServiceCheck{}).ok());
}

}  // namespace
}  // namespace cstatsd::server
