// What each backend that carries DogStatsD service checks writes for one
// (docs/backends.md#service-checks): datadog's check_run JSON, stdout's line, statsdaemon's `_sc`
// line (which cstatsd's own parser reads back unchanged).
#include <gtest/gtest.h>

#include "backends/datadog/datadog_format.h"
#include "backends/statsdaemon/statsdaemon_backend.h"
#include "backends/stdout/stdout_backend.h"
#include "protocol/service_check.h"

namespace cstatsd::backends {
namespace {

ServiceCheck Full() {
  ServiceCheck c;
  c.name = "redis.can_connect";
  c.status = ServiceCheckStatus::kCritical;
  c.timestamp = 1700000000;
  c.source = "db-1";
  c.message = "refused | retrying";
  c.tags = {"env:prod", "role:cache"};
  c.container_id = "ci-abc";
  return c;
}

ServiceCheck Minimal() {
  ServiceCheck c;
  c.name = "up";
  c.source = "10.0.0.1";
  return c;
}

TEST(DatadogServiceCheckTest, CheckRunBody) {
  EXPECT_EQ(datadog::FormatServiceCheck(Full()),
            R"([{"check":"redis.can_connect","host_name":"db-1","status":2,)"
            R"("timestamp":1700000000,"message":"refused | retrying",)"
            R"("tags":["env:prod","role:cache"]}])");
}

TEST(DatadogServiceCheckTest, TagsAlwaysPresentTimestampAndMessageOnlyWhenSet) {
  EXPECT_EQ(datadog::FormatServiceCheck(Minimal()),
            R"([{"check":"up","host_name":"10.0.0.1","status":0,"tags":[]}])");
}

TEST(DatadogServiceCheckTest, StringsEscapedAsJson) {
  ServiceCheck c = Minimal();
  c.status = ServiceCheckStatus::kUnknown;
  c.message = "a \"quoted\"\nline";
  EXPECT_EQ(datadog::FormatServiceCheck(c), R"([{"check":"up","host_name":"10.0.0.1","status":3,)"
                                            R"("message":"a \"quoted\"\nline","tags":[]}])");
}

TEST(StdoutServiceCheckTest, OneLine) {
  std::string out;
  stdout::StdoutBackend::FormatServiceCheck(Full(), out);
  EXPECT_EQ(out,
            "service_check: {Name:redis.can_connect Status:critical Timestamp:1700000000 "
            "Tags:[env:prod role:cache] Source:db-1 ContainerId:ci-abc Message:refused | "
            "retrying}\n");
}

TEST(StdoutServiceCheckTest, NewlineInTheMessageKeepsOneLine) {
  ServiceCheck c = Minimal();
  c.status = ServiceCheckStatus::kWarning;
  c.message = "two\nlines";
  std::string out;
  stdout::StdoutBackend::FormatServiceCheck(c, out);
  EXPECT_EQ(out,
            "service_check: {Name:up Status:warning Timestamp:0 Tags:[] Source:10.0.0.1 "
            "ContainerId: Message:two\\nlines}\n");
}

TEST(StatsdaemonServiceCheckTest, DogStatsDLineWithTheMessageLast) {
  EXPECT_EQ(statsdaemon::StatsdaemonBackend::FormatServiceCheck(Full(), false),
            "_sc|redis.can_connect|2|d:1700000000|h:db-1|#env:prod,role:cache|c:ci-abc|"
            "m:refused | retrying");
  EXPECT_EQ(statsdaemon::StatsdaemonBackend::FormatServiceCheck(Full(), true),
            "_sc|redis.can_connect|2|d:1700000000|h:db-1|c:ci-abc|m:refused | retrying");
  ServiceCheck bare;
  bare.name = "x";
  EXPECT_EQ(statsdaemon::StatsdaemonBackend::FormatServiceCheck(bare, false), "_sc|x|0");
}

TEST(StatsdaemonServiceCheckTest, TheLineParsesBackToTheSameCheck) {
  const ServiceCheck c = Full();
  ServiceCheck back;
  protocol::ParseError err = protocol::ParseError::kNone;
  ASSERT_TRUE(protocol::ParseServiceCheck(
      statsdaemon::StatsdaemonBackend::FormatServiceCheck(c, false), back, err));
  EXPECT_EQ(back, c);
}

TEST(StatsdaemonServiceCheckTest, NewlineInTheMessageIsEscaped) {
  ServiceCheck c;
  c.name = "x";
  c.message = "a\nb";
  EXPECT_EQ(statsdaemon::StatsdaemonBackend::FormatServiceCheck(c, false), "_sc|x|0|m:a\\nb");
}

}  // namespace
}  // namespace cstatsd::backends
