// Golden output of the statsdaemon backend (docs/backends.md#statsdaemon,
// docs/compatibility.md#decision-6).
#include "backends/statsdaemon/statsdaemon_backend.h"

#include <gtest/gtest.h>

#include "aggregate/aggregator.h"
#include "pipeline/pipeline.h"

namespace cstatsd::backends::statsdaemon {
namespace {

class StatsdaemonTest : public ::testing::Test {
 protected:
  void Add(MetricType type, std::string_view name, std::vector<double> values,
           std::vector<std::string_view> tags = {}, std::string_view member = {}) {
    ParsedMetric m;
    m.type = type;
    m.name = name;
    m.values = std::move(values);
    m.tags = std::move(tags);
    m.set_value = member;
    pipeline_.Receive(m, "10.0.0.1", 1, map_);
  }
  snapshot::SnapshotPtr Flush() {
    aggregate::AggregatorOptions o;
    o.keep_raw_values = true;
    aggregate::Aggregator agg(o);
    agg.Merge(map_);
    return agg.Flush(2000000000, 1);
  }
  pipeline::PipelineOptions popts_;
  pipeline::Pipeline pipeline_{&popts_};
  MetricMap map_;
};

TEST_F(StatsdaemonTest, EveryValueWithItsRealTagsOnly) {
  Add(MetricType::kCounter, "c", {5}, {"b:2", "a:1"});
  Add(MetricType::kCounter, "statsd.internal", {1});  // skipped, as gostatsd
  Add(MetricType::kTimer, "t", {3});
  Add(MetricType::kTimer, "t", {1.5});
  Add(MetricType::kGauge, "g", {2.25}, {"x"});
  Add(MetricType::kSet, "s", {}, {}, "joe");
  auto packets = StatsdaemonBackend::FormatPackets(*Flush(), false, 1472);
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0],
            "c:5|c|#a:1,b:2\n"
            "t:1.500000|ms\n"
            "t:3.000000|ms\n"
            "g:2.250000|g|#x\n"
            "s:joe|s");
}

TEST_F(StatsdaemonTest, DisableTags) {
  Add(MetricType::kCounter, "c", {5}, {"a:1"});
  auto packets = StatsdaemonBackend::FormatPackets(*Flush(), true, 1472);
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0], "c:5|c");
}

TEST_F(StatsdaemonTest, PacketsStayUnderTheLimitWithWholeLines) {
  std::vector<std::string> names;
  for (int i = 0; i < 500; ++i) names.push_back("counter.number." + std::to_string(i));
  for (const auto& n : names) Add(MetricType::kCounter, n, {1});
  auto packets = StatsdaemonBackend::FormatPackets(*Flush(), false, 1472);
  EXPECT_GT(packets.size(), 5u);
  size_t lines = 0;
  for (const auto& p : packets) {
    EXPECT_LE(p.size(), 1472u);
    EXPECT_NE(p.back(), '\n');
    size_t start = 0;
    while (start <= p.size()) {
      size_t end = p.find('\n', start);
      if (end == std::string::npos) end = p.size();
      const std::string line = p.substr(start, end - start);
      EXPECT_EQ(line.substr(line.size() - 4), ":1|c") << line;
      ++lines;
      start = end + 1;
    }
  }
  EXPECT_EQ(lines, 500u);
}

TEST(StatsdaemonEventTest, DogStatsDEventLine) {
  Event e;
  e.title = "deploy";
  e.text = "line1\nline2";
  e.date_happened = 1463746133;
  e.source = "10.0.0.1";
  e.aggregation_key = "agg";
  e.source_type_name = "ci";
  e.priority = EventPriority::kLow;
  e.alert_type = EventAlertType::kSuccess;
  e.tags = {"env:prod", "team"};
  EXPECT_EQ(StatsdaemonBackend::FormatEvent(e, false),
            "_e{6,12}:deploy|line1\\nline2|d:1463746133|h:10.0.0.1|k:agg|s:ci|p:low|t:success"
            "|#env:prod,team");
  Event plain;
  plain.title = "a";
  plain.text = "b";
  EXPECT_EQ(StatsdaemonBackend::FormatEvent(plain, false), "_e{1,1}:a|b");
}

TEST(StatsdaemonOptionsTest, ErrorsNameTheKey) {
  config::Config c;
  c.file = nlohmann::json::parse(R"({"statsdaemon": {"tls_transport": true}})");
  auto o = StatsdaemonOptions::From(c);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.error().find("statsdaemon.address"), std::string::npos) << o.error();
  EXPECT_NE(o.error().find("statsdaemon.tls_transport: requires tcp_transport"), std::string::npos)
      << o.error();
}

TEST(StatsdaemonOptionsTest, TlsKeysAreReadAndCheckedTogether) {
  config::Config c;
  c.file = nlohmann::json::parse(R"({"statsdaemon": {"address": "h:1", "tcp_transport": true,
      "tls_transport": true, "tls_ca_path": "/ca.pem", "tls_cert_path": "/c.pem"}})");
  auto bad = StatsdaemonOptions::From(c);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("statsdaemon.tls_cert_path"), std::string::npos) << bad.error();
  c.file["statsdaemon"]["tls_key_path"] = "/k.pem";
  auto good = StatsdaemonOptions::From(c);
  ASSERT_TRUE(good.ok()) << good.error();
  EXPECT_TRUE(good->tls_transport);
  EXPECT_EQ(good->tls_ca_path, "/ca.pem");
  EXPECT_EQ(good->tls_key_path, "/k.pem");
}

TEST(StatsdaemonOptionsTest, UnreadableCertificatesStopStartup) {
  config::Config c;
  c.file = nlohmann::json::parse(R"({"backends": ["statsdaemon"], "statsdaemon": {
      "address": "127.0.0.1:1", "tcp_transport": true, "tls_transport": true,
      "tls_ca_path": "/nonexistent/ca.pem"}})");
  BackendContext ctx{c, c.options};
  auto b = StatsdaemonBackend::Create(ctx);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().find("/nonexistent/ca.pem"), std::string::npos) << b.error();
}

}  // namespace
}  // namespace cstatsd::backends::statsdaemon
