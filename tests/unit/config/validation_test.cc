// Validation: every error names its option, and all problems are reported together.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "config_test_util.h"

namespace cstatsd::config {
namespace {

using ::testing::HasSubstr;
using testing::LoadWith;
using ::testing::StartsWith;
using testing::TempDir;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

struct BadValue {
  std::vector<std::string> args;
  Environment env;
  std::string key;      // every line must start with "<key>: "
  std::string message;  // and contain this
};

TEST(Validation, EachErrorNamesItsOption) {
  const std::vector<BadValue> cases = {
      {{"--server-mode=cluster"}, {}, "server-mode", "invalid value \"cluster\""},
      {{"--statser-type=tagged"}, {}, "statser-type", "must be one of internal, logging, null"},
      {{"--cloud-provider=gcp"}, {}, "cloud-provider", "invalid value \"gcp\""},
      {{"--percent-threshold=0"},
       {},
       "percent-threshold",
       "0 is not allowed; each threshold must be in (-100, 100] and non-zero"},
      {{"--percent-threshold=90 100.5"}, {}, "percent-threshold", "100.5 is not allowed"},
      {{"--percent-threshold=-100"}, {}, "percent-threshold", "-100 is not allowed"},
      {{"--percent-threshold=nan"}, {}, "percent-threshold", "NaN is not allowed"},
      {{"--percent-threshold=ninety"}, {}, "percent-threshold", "invalid number \"ninety\""},
      {{"--flush-interval=0s"}, {}, "flush-interval", "must be greater than 0"},
      {{"--flush-interval=-1s"}, {}, "flush-interval", "must be greater than 0"},
      {{"--flush-interval=5x"}, {}, "flush-interval", "invalid duration \"5x\""},
      {{}, {{"GSD_FLUSH_INTERVAL", "5x"}}, "flush-interval", "(from GSD_FLUSH_INTERVAL)"},
      {{"--max-workers=0"}, {}, "max-workers", "0 is out of range; must be 1..1024"},
      {{"--receive-batch-size=-1"},
       {},
       "receive-batch-size",
       "-1 is out of range; must be 1..1024"},
      {{"--receive-buffer-size=0"}, {}, "receive-buffer-size", "0 is out of range; must be 1.."},
      {{"--max-queue-size=0"}, {}, "max-queue-size", "0 is out of range; must be 1.."},
      {{"--max-concurrent-events=0"}, {}, "max-concurrent-events", "0 is out of range"},
      {{"--backend-queue-size=0"}, {}, "backend-queue-size", "0 is out of range; must be 1.."},
      {{"--backend-shutdown-timeout=-1s"}, {}, "backend-shutdown-timeout", "must not be negative"},
      {{"--metrics-tcp-addr=:0", "--metrics-tcp-tls-cert=c.pem"},
       {},
       "metrics-tcp-tls-key",
       "must be given together"},
      {{"--metrics-tcp-tls-cert=c.pem", "--metrics-tcp-tls-key=k.pem"},
       {},
       "metrics-tcp-tls-cert",
       "needs metrics-tcp-addr"},
      {{"--metrics-tcp-addr=:0", "--metrics-tcp-tls-client-ca=ca.pem"},
       {},
       "metrics-tcp-tls-client-ca",
       "needs metrics-tcp-tls-cert"},
      {{"--timer-histogram-limit=-1"}, {}, "timer-histogram-limit", "out of range"},
      {{"--timer-histogram-limit=4294967296"}, {}, "timer-histogram-limit", "out of range"},
      {{"--max-workers=many"}, {}, "max-workers", "invalid integer \"many\""},
      {{"--max-workers=99999999999"}, {}, "max-workers", "out of range"},
      {{"--estimated-tags=08"}, {}, "estimated-tags", "invalid integer \"08\""},
      {{"--heartbeat-enabled=yes"}, {}, "heartbeat-enabled", "invalid boolean \"yes\""},
      {{"--tag-dialects=influxdb telegraf"},
       {},
       "tag-dialects",
       "invalid value \"telegraf\"; each must be one of influxdb, graphite, librato, signalfx"},
      {{}, {{"GSD_TAG_DIALECTS", "InfluxDB"}}, "tag-dialects", "invalid value \"InfluxDB\""},
      {{}, {{"GSD_BAD_LINES_PER_MINUTE", "lots"}}, "bad-lines-per-minute", "invalid number"},
      {{},
       {{"GSD_CONFIG_PATH", "/nonexistent/cstatsd.toml"}},
       "config file /nonexistent/cstatsd.toml",
       "cannot open"},
      {{"--config-path=/tmp/cstatsd.ini"},
       {},
       "config file /tmp/cstatsd.ini",
       "unsupported extension"},
  };
  for (const BadValue& c : cases) {
    std::vector<const char*> argv = {"cstatsd"};
    for (const std::string& a : c.args) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    auto r = Load(static_cast<int>(argv.size() - 1), argv.data(), c.env);
    ASSERT_FALSE(r.ok()) << c.key << " " << c.message;
    for (const std::string& line : Lines(r.error())) {
      EXPECT_THAT(line, StartsWith(c.key + ": ")) << r.error();
    }
    EXPECT_THAT(r.error(), HasSubstr(c.message)) << c.key;
  }
}

TEST(Validation, FileValuesNameTheKeyAndTheFile) {
  TempDir dir;
  std::string path = dir.Write("bad.toml", R"(
flush-interval = "soon"
max-workers = 2.5
backends = { a = 1 }
ignore-host = "nope"
disabled-sub-metrics = true
)");
  auto r = LoadWith({"--config-path", path});
  ASSERT_FALSE(r.ok());
  auto lines = Lines(r.error());
  ASSERT_EQ(lines.size(), 5u) << r.error();
  EXPECT_THAT(r.error(), HasSubstr("flush-interval: invalid duration \"soon\""));
  EXPECT_THAT(r.error(), HasSubstr("max-workers: invalid integer 2.5"));
  EXPECT_THAT(r.error(), HasSubstr("backends: expected a list"));
  EXPECT_THAT(r.error(), HasSubstr("ignore-host: invalid boolean \"nope\""));
  EXPECT_THAT(r.error(), HasSubstr("disabled-sub-metrics: expected a table"));
  for (const std::string& line : lines) EXPECT_THAT(line, HasSubstr(path));
}

TEST(Validation, SeveralErrorsReportedTogether) {
  auto r = LoadWith({"--server-mode=bogus", "--flush-interval=0", "--percent-threshold=0 200",
                     "--max-workers=0", "--no-such-flag"},
                    {{"GSD_STATSER_TYPE", "nope"}, {"GSD_RECEIVE_BATCH_SIZE", "x"}});
  ASSERT_FALSE(r.ok());
  const std::string& e = r.error();
  EXPECT_THAT(e, HasSubstr("--no-such-flag: unknown flag"));
  EXPECT_THAT(e, HasSubstr("server-mode: invalid value \"bogus\""));
  EXPECT_THAT(e, HasSubstr("statser-type: invalid value \"nope\""));
  EXPECT_THAT(e, HasSubstr("flush-interval: must be greater than 0"));
  EXPECT_THAT(e, HasSubstr("percent-threshold: 0 is not allowed"));
  EXPECT_THAT(e, HasSubstr("percent-threshold: 200 is not allowed"));
  EXPECT_THAT(e, HasSubstr("max-workers: 0 is out of range; must be 1..1024"));
  EXPECT_THAT(e, HasSubstr("receive-batch-size: invalid integer \"x\""));
  EXPECT_EQ(Lines(e).size(), 8u) << e;
}

TEST(Validation, ConfigFileSyntaxErrorsGiveTheLine) {
  TempDir dir;
  struct Case {
    std::string name;
    std::string content;
    std::string want;
  };
  const Case cases[] = {
      {"bad.toml", "a = 1\nb = \n", "line 2"},
      {"bad.yaml", "a: 1\nb: [1, 2\nc: 3\n", "line "},
      {"bad.json", "{\n  \"a\": 1,\n  \"b\": \n}\n", "line 4"},
      {"list.yaml", "- 1\n- 2\n", "top level must be a table"},
  };
  for (const Case& c : cases) {
    std::string path = dir.Write(c.name, c.content);
    auto r = LoadWith({"--config-path", path});
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_THAT(r.error(), StartsWith("config file " + path + ": ")) << r.error();
    EXPECT_THAT(r.error(), HasSubstr(c.want)) << r.error();
  }
}

TEST(Defaults, NewrelicChangesThreeGlobalDefaultsUnlessSet) {
  auto r = LoadWith({"--backends", "newrelic"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->config.options.statser_type, "null");
  EXPECT_EQ(r->config.options.flush_interval, std::chrono::seconds(10));
  EXPECT_TRUE(r->config.options.ignore_host);
  auto set = LoadWith({"--backends", "newrelic", "--flush-interval", "2s", "--statser-type",
                       "internal", "--ignore-host=false"});
  ASSERT_TRUE(set.ok()) << set.error();
  EXPECT_EQ(set->config.options.statser_type, "internal");
  EXPECT_EQ(set->config.options.flush_interval, std::chrono::seconds(2));
  EXPECT_FALSE(set->config.options.ignore_host);
  bool warned = false;
  for (const auto& w : set->config.warnings) warned |= w.find("newrelic: flush-interval") == 0;
  EXPECT_TRUE(warned);
  auto other = LoadWith({"--backends", "stdout"});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->config.options.statser_type, "internal");
}

TEST(Validation, BackendNamesAreNotChecked) {
  auto r = LoadWith({"--backends", "no-such-backend"});
  ASSERT_TRUE(r.ok()) << r.error();
}

TEST(Validation, TagDialects) {
  auto defaults = LoadWith({});
  ASSERT_TRUE(defaults.ok()) << defaults.error();
  EXPECT_EQ(defaults->config.options.tag_dialects,
            (std::vector<std::string>{"influxdb", "graphite", "librato", "signalfx"}));
  auto some = LoadWith({}, {{"GSD_TAG_DIALECTS", "signalfx graphite"}});
  ASSERT_TRUE(some.ok()) << some.error();
  EXPECT_EQ(some->config.options.tag_dialects, (std::vector<std::string>{"signalfx", "graphite"}));
  TempDir dir;
  auto none = LoadWith({"--config-path", dir.Write("c.toml", "tag-dialects = []\n")});
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_TRUE(none->config.options.tag_dialects.empty());
  auto bad = LoadWith({"--config-path", dir.Write("c.yaml", "tag-dialects: [librato, bogus]\n")});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error(), StartsWith("tag-dialects: invalid value \"bogus\""));
}

TEST(Validation, AcceptedBoundaries) {
  auto r = LoadWith({"--percent-threshold", "100 -99.9 0.1", "--timer-histogram-limit=0",
                     "--flush-interval=1ns", "--cloud-provider=k8s", "--statser-type=null"});
  ASSERT_TRUE(r.ok()) << r.error();
}

}  // namespace
}  // namespace cstatsd::config
