// Load: flags, environment, files, precedence, defaults, --help and --version.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include "config/config.h"
#include "config_test_util.h"
#include "core/version.h"

namespace cstatsd::config {
namespace {

using namespace std::chrono_literals;
using testing::Args;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::LoadWith;
using testing::TempDir;

const Options& Opts(const Result<LoadOutcome>& r) { return r->config.options; }

TEST(Load, DefaultsMatchGostatsd) {
  auto r = LoadWith({});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_FALSE(r->exit_now);
  const Options& o = Opts(r);
  EXPECT_EQ(o.server_mode, "standalone");
  EXPECT_THAT(o.backends, ElementsAre("graphite"));
  EXPECT_EQ(o.metrics_addr, ":8125");
  EXPECT_EQ(o.namespace_, "");
  EXPECT_EQ(o.flush_interval, 1s);
  EXPECT_EQ(o.expiry_interval, 5min);
  EXPECT_FALSE(o.expiry_interval_counter.has_value());
  EXPECT_EQ(o.ExpiryTimer(), 5min);
  EXPECT_THAT(o.percent_threshold, ElementsAre(90.0));
  EXPECT_EQ(o.timer_histogram_limit, 4294967295u);
  EXPECT_EQ(o.internal_namespace, "statsd");
  EXPECT_EQ(o.statser_type, "internal");
  EXPECT_EQ(o.receive_buffer_size, 65535);
  EXPECT_EQ(o.max_queue_size, 10000);
  EXPECT_EQ(o.backend_queue_size, 10);
  EXPECT_EQ(o.backend_shutdown_timeout, 5s);
  EXPECT_EQ(o.cloud_cache_evict_after_idle_period, 10min);
  EXPECT_TRUE(o.lambda_extension_manual_flush);
  EXPECT_TRUE(r->config.file.is_object());
  EXPECT_TRUE(r->config.file.empty());
  EXPECT_THAT(r->config.warnings, IsEmpty());
}

TEST(Load, MachineDependentDefaults) {
  auto r = LoadWith({});
  ASSERT_TRUE(r.ok()) << r.error();
  const Options& o = Opts(r);
  EXPECT_GE(o.max_workers, 1);
  EXPECT_LE(o.max_workers, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_EQ(o.max_parsers, o.max_workers);
  EXPECT_EQ(o.max_readers, std::min(8, o.max_workers));
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  EXPECT_EQ(o.hostname, host);
}

TEST(Load, FlagsBothSpellings) {
  auto r = LoadWith({"--metrics-addr", "127.0.0.1:9125", "--namespace=ns", "--flush-interval",
                     "300ms", "--max-workers=3", "--timer-histogram-limit", "20",
                     "--bad-lines-per-minute-is-not-a-flag-so-this-is-not-used=1"});
  ASSERT_FALSE(r.ok());  // the last flag is unknown
  EXPECT_THAT(r.error(), HasSubstr("--bad-lines-per-minute-is-not-a-flag-so-this-is-not-used"));

  r = LoadWith({"--metrics-addr", "127.0.0.1:9125", "--namespace=ns", "--flush-interval", "300ms",
                "--max-workers=3", "--timer-histogram-limit", "20", "--hostname", "h1"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(Opts(r).metrics_addr, "127.0.0.1:9125");
  EXPECT_EQ(Opts(r).namespace_, "ns");
  EXPECT_EQ(Opts(r).flush_interval, 300ms);
  EXPECT_EQ(Opts(r).max_workers, 3);
  EXPECT_EQ(Opts(r).timer_histogram_limit, 20u);
  EXPECT_EQ(Opts(r).hostname, "h1");
}

TEST(Load, BooleanFlags) {
  auto r = LoadWith({"--ignore-host", "--flush-aligned=true", "--heartbeat-enabled=false",
                     "--lambda-extension-manual-flush=0", "--verbose", "--json=T"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(Opts(r).ignore_host);
  EXPECT_TRUE(Opts(r).flush_aligned);
  EXPECT_FALSE(Opts(r).heartbeat_enabled);
  EXPECT_FALSE(Opts(r).lambda_extension_manual_flush);
  EXPECT_TRUE(Opts(r).verbose);
  EXPECT_TRUE(Opts(r).json_logs);

  // As pflag: a boolean flag never takes the next argument; that one is ignored with a warning.
  r = LoadWith({"--ignore-host", "false"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(Opts(r).ignore_host);
  EXPECT_THAT(r->config.warnings, ElementsAre(HasSubstr("\"false\"")));

  r = LoadWith({"--ignore-host=maybe"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), HasSubstr("ignore-host: invalid boolean \"maybe\""));
}

TEST(Load, ValueFlagTakesNextArgumentEvenWithADash) {
  auto r = LoadWith({"--flush-offset", "-1s", "--percent-threshold", "-10 90", "--namespace", ""});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(Opts(r).flush_offset, -1s);
  EXPECT_THAT(Opts(r).percent_threshold, ElementsAre(-10.0, 90.0));
  EXPECT_EQ(Opts(r).namespace_, "");

  r = LoadWith({"--flush-interval"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), HasSubstr("--flush-interval: flag needs an argument"));
}

TEST(Load, RepeatedFlagLastWins) {
  auto r = LoadWith({"--namespace=a", "--namespace", "b"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(Opts(r).namespace_, "b");
}

TEST(Load, ListsFromTheCommandLineAreWhitespaceSplit) {
  auto r = LoadWith({"--backends", "stdout  graphite", "--percent-threshold", "90 99 99.9",
                     "--default-tags", "env:prod\tteam:x", "--internal-tags=a b"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_THAT(Opts(r).backends, ElementsAre("stdout", "graphite"));
  EXPECT_THAT(Opts(r).percent_threshold, ElementsAre(90.0, 99.0, 99.9));
  EXPECT_THAT(Opts(r).default_tags, ElementsAre("env:prod", "team:x"));
  EXPECT_THAT(Opts(r).internal_tags, ElementsAre("a", "b"));

  r = LoadWith({"--backends="});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_THAT(Opts(r).backends, IsEmpty());
}

TEST(Load, BareNumberDurationOnTheCommandLineIsAnError) {
  auto r = LoadWith({"--flush-interval", "5"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), HasSubstr("flush-interval: invalid duration \"5\""));
  EXPECT_THAT(r.error(), HasSubstr("(from --flush-interval)"));

  r = LoadWith({"--flush-offset", "0"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(Opts(r).flush_offset, 0ns);
}

TEST(Load, Environment) {
  Environment env = {{"GSD_METRICS_ADDR", ":9999"},
                     {"GSD_FLUSH_INTERVAL", "2s"},
                     {"GSD_BACKENDS", "stdout null"},
                     {"GSD_PERCENT_THRESHOLD", "50 -95"},
                     {"GSD_IGNORE_HOST", "1"},
                     {"GSD_EXPIRY_INTERVAL", "1000000000"},  // a bare number is nanoseconds
                     {"GSD_EXPIRY_INTERVAL_GAUGE", "-1ns"},
                     {"GSD_BAD_LINES_PER_MINUTE", "2.5"},
                     {"GSD_HTTP_SERVERS", "main debug"},
                     {"GSD_FILTERS", "drop-host"},
                     {"GSD_BACKEND_QUEUE_SIZE", "0x20"},
                     {"GSD_CLOUD_CACHE_TTL", "1h"}};
  auto r = LoadWith({}, env);
  ASSERT_TRUE(r.ok()) << r.error();
  const Options& o = Opts(r);
  EXPECT_EQ(o.metrics_addr, ":9999");
  EXPECT_EQ(o.flush_interval, 2s);
  EXPECT_THAT(o.backends, ElementsAre("stdout", "null"));
  EXPECT_THAT(o.percent_threshold, ElementsAre(50.0, -95.0));
  EXPECT_TRUE(o.ignore_host);
  EXPECT_EQ(o.expiry_interval, 1s);
  EXPECT_EQ(o.ExpiryGauge(), -1ns);
  EXPECT_EQ(o.ExpiryCounter(), 1s);
  EXPECT_DOUBLE_EQ(o.bad_lines_per_minute, 2.5);
  EXPECT_THAT(o.http_servers, ElementsAre("main", "debug"));
  EXPECT_THAT(o.filters, ElementsAre("drop-host"));
  EXPECT_EQ(o.backend_queue_size, 32);
  EXPECT_EQ(o.cloud_cache_ttl, 1h);
}

TEST(Load, EmptyEnvironmentVariableIsIgnored) {
  auto r = LoadWith({}, {{"GSD_INTERNAL_NAMESPACE", ""}});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(Opts(r).internal_namespace, "statsd");
}

TEST(Load, FileOnlyOptionsAreNotFlags) {
  for (const char* flag : {"--bad-lines-per-minute=1", "--http-servers=a", "--filters=a"}) {
    auto r = LoadWith({flag});
    ASSERT_FALSE(r.ok()) << flag;
    EXPECT_THAT(r.error(), HasSubstr("unknown flag")) << flag;
  }
}

TEST(Load, PrecedenceFlagOverEnvOverFileOverDefault) {
  TempDir dir;
  std::string path = dir.Write("c.toml", R"(
metrics-addr = "file:1"
namespace = "file-ns"
flush-interval = "3s"
internal-namespace = "file-internal"
percent-threshold = [10, 20]
)");
  Environment env = {{"GSD_METRICS_ADDR", "env:1"},
                     {"GSD_NAMESPACE", "env-ns"},
                     {"GSD_FLUSH_INTERVAL", "4s"},
                     {"GSD_PERCENT_THRESHOLD", "30"}};
  auto r =
      LoadWith({"--config-path", path, "--metrics-addr", "flag:1", "--percent-threshold=40"}, env);
  ASSERT_TRUE(r.ok()) << r.error();
  const Options& o = Opts(r);
  EXPECT_EQ(o.metrics_addr, "flag:1");                // flag > env > file
  EXPECT_THAT(o.percent_threshold, ElementsAre(40));  // flag > env > file
  EXPECT_EQ(o.namespace_, "env-ns");                  // env > file
  EXPECT_EQ(o.flush_interval, 4s);                    // env > file
  EXPECT_EQ(o.internal_namespace, "file-internal");   // file > default
  EXPECT_EQ(o.statser_type, "internal");              // default
  EXPECT_EQ(o.config_path, path);
}

TEST(Load, ConfigPathFromEnvironment) {
  TempDir dir;
  std::string path = dir.Write("c.yaml", "namespace: from-yaml\n");
  auto r = LoadWith({}, {{"GSD_CONFIG_PATH", path}});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(Opts(r).namespace_, "from-yaml");
}

TEST(Load, TomlFile) {
  TempDir dir;
  std::string path = dir.Write("c.toml", R"(# comment
server-mode = "forwarder"
backends = ["stdout", "graphite"]
flush-interval = "1.5s"
expiry-interval = 0
expiry-interval-timer = 60000000000
ignore-host = true
max-workers = 4
bad-lines-per-minute = 30
percent-threshold = [90, "95", 99.5]
default-tags = "env:prod team:a"
timer-histogram-limit = 100
http-servers = ["main"]

[graphite]
address = "carbon:2003"

[http.main]
address = "0.0.0.0:8080"
)");
  auto r = LoadWith({"--config-path=" + path});
  ASSERT_TRUE(r.ok()) << r.error();
  const Options& o = Opts(r);
  EXPECT_EQ(o.server_mode, "forwarder");
  EXPECT_THAT(o.backends, ElementsAre("stdout", "graphite"));
  EXPECT_EQ(o.flush_interval, 1500ms);
  EXPECT_EQ(o.expiry_interval, 0ns);
  EXPECT_EQ(o.ExpiryTimer(), 1min);
  EXPECT_EQ(o.ExpirySet(), 0ns);
  EXPECT_TRUE(o.ignore_host);
  EXPECT_EQ(o.max_workers, 4);
  EXPECT_DOUBLE_EQ(o.bad_lines_per_minute, 30);
  EXPECT_THAT(o.percent_threshold, ElementsAre(90, 95, 99.5));
  EXPECT_THAT(o.default_tags, ElementsAre("env:prod", "team:a"));
  EXPECT_EQ(o.timer_histogram_limit, 100u);
  EXPECT_THAT(o.http_servers, ElementsAre("main"));
  EXPECT_EQ(r->config.file["graphite"]["address"], "carbon:2003");
  EXPECT_EQ(*r->config.GetSection("http.main").GetString("address", ""), "0.0.0.0:8080");
  EXPECT_THAT(r->config.warnings, IsEmpty());
}

TEST(Load, YamlFile) {
  TempDir dir;
  std::string path = dir.Write("c.yml", R"(
backends:
  - stdout
flush-interval: 10s
expiry-interval: 300
ignore-host: true
max-workers: 2
percent-threshold: 90 99
namespace: "123"
hostname: 42
graphite:
  address: carbon:2003
  dial_timeout: 2s
)");
  auto r = LoadWith({"--config-path", path});
  ASSERT_TRUE(r.ok()) << r.error();
  const Options& o = Opts(r);
  EXPECT_THAT(o.backends, ElementsAre("stdout"));
  EXPECT_EQ(o.flush_interval, 10s);
  EXPECT_EQ(o.expiry_interval, 300ns);
  EXPECT_TRUE(o.ignore_host);
  EXPECT_EQ(o.max_workers, 2);
  EXPECT_THAT(o.percent_threshold, ElementsAre(90, 99));
  EXPECT_EQ(o.namespace_, "123");
  EXPECT_EQ(o.hostname, "42");
  EXPECT_EQ(*r->config.GetSection("graphite").GetDuration("dial_timeout", 5s), 2s);
}

TEST(Load, JsonFile) {
  TempDir dir;
  std::string path = dir.Write("c.json", R"({
  "backends": "stdout null",
  "flush-interval": "250ms",
  "expiry-interval": 1000,
  "heartbeat-enabled": "true",
  "max-queue-size": "500",
  "percent-threshold": ["90", 99],
  "disabled-sub-metrics": {"median": true},
  "graphite": {"address": "carbon:2003"}
})");
  auto r = LoadWith({"--config-path", path});
  ASSERT_TRUE(r.ok()) << r.error();
  const Options& o = Opts(r);
  EXPECT_THAT(o.backends, ElementsAre("stdout", "null"));
  EXPECT_EQ(o.flush_interval, 250ms);
  EXPECT_EQ(o.expiry_interval, 1us);
  EXPECT_TRUE(o.heartbeat_enabled);
  EXPECT_EQ(o.max_queue_size, 500);
  EXPECT_THAT(o.percent_threshold, ElementsAre(90, 99));
  EXPECT_TRUE(o.disabled_sub_metrics.median);
}

TEST(Load, FileKeysAreCaseInsensitive) {
  TempDir dir;
  std::string path = dir.Write("c.toml", "Metrics-Addr = \":7000\"\n[Graphite]\nAddress = \"x\"\n");
  auto r = LoadWith({"--config-path", path});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(Opts(r).metrics_addr, ":7000");
  EXPECT_EQ(*r->config.GetSection("graphite").GetString("address", ""), "x");
}

TEST(Load, DisabledSubMetrics) {
  TempDir dir;
  std::string path = dir.Write("c.toml", R"(
[disabled-sub-metrics]
count = true
count-per-second = true
mean = true
median = true
lower = true
upper = false
std = true
sum = true
sum-squares = "true"
count-pct = true
mean-pct = 1
sum-pct = true
sum-squares-pct = true
upper-pct = true
lower-pct = true
)");
  auto r = LoadWith({"--config-path", path});
  ASSERT_TRUE(r.ok()) << r.error();
  const DisabledSubMetrics& d = Opts(r).disabled_sub_metrics;
  EXPECT_TRUE(d.count);
  EXPECT_TRUE(d.count_per_second);
  EXPECT_TRUE(d.mean);
  EXPECT_TRUE(d.median);
  EXPECT_TRUE(d.lower);
  EXPECT_FALSE(d.upper);
  EXPECT_TRUE(d.stddev);  // via `std`
  EXPECT_TRUE(d.sum);
  EXPECT_TRUE(d.sum_squares);
  EXPECT_TRUE(d.count_pct);
  EXPECT_TRUE(d.mean_pct);
  EXPECT_TRUE(d.sum_pct);
  EXPECT_TRUE(d.sum_squares_pct);
  EXPECT_TRUE(d.upper_pct);
  EXPECT_TRUE(d.lower_pct);

  path = dir.Write("d.toml", "[disabled-sub-metrics]\nstddev = true\nmedain = true\n");
  r = LoadWith({"--config-path", path}, {{"GSD_DISABLED_SUB_METRICS_UPPER", "true"}});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(Opts(r).disabled_sub_metrics.stddev);
  EXPECT_TRUE(Opts(r).disabled_sub_metrics.upper);  // environment override
  EXPECT_FALSE(Opts(r).disabled_sub_metrics.median);
  EXPECT_THAT(r->config.warnings, ElementsAre(HasSubstr("disabled-sub-metrics.medain")));

  r = LoadWith({}, {{"GSD_DISABLED_SUB_METRICS_MEAN", "yes"}});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), HasSubstr("disabled-sub-metrics.mean: invalid boolean \"yes\""));
}

TEST(Load, UnknownTopLevelKeysAreWarnings) {
  TempDir dir;
  std::string path = dir.Write("c.toml", R"(
flush-intervall = "2s"
profile = ""
verbose = true
[graphite]
address = "x"
[some-future-section]
k = 1
)");
  auto r = LoadWith({"--config-path", path});
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->config.warnings.size(), 1u);
  EXPECT_THAT(r->config.warnings[0], HasSubstr("flush-intervall"));
  EXPECT_THAT(r->config.warnings[0], HasSubstr(path));
  EXPECT_TRUE(Opts(r).verbose);
}

TEST(Load, ProfileIsAcceptedWithAWarning) {
  auto r = LoadWith({"--profile", "localhost:6060"});
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->config.warnings.size(), 1u);
  EXPECT_THAT(r->config.warnings[0], HasSubstr("profile"));
  EXPECT_THAT(r->config.warnings[0], HasSubstr("localhost:6060"));
}

TEST(Load, Version) {
  auto r = LoadWith({"--version"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->exit_now);
  EXPECT_EQ(r->message, "Version: " + std::string(Version()) +
                            " - Commit: " + std::string(GitCommit()) +
                            " - Date: " + std::string(BuildDate()) + "\n");
  r = LoadWith({"--version=false"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_FALSE(r->exit_now);
}

TEST(Load, HelpListsEveryOption) {
  for (const char* flag : {"--help", "-h"}) {
    auto r = LoadWith({flag});
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_TRUE(r->exit_now);
    const std::string& help = r->message;
    EXPECT_THAT(help, HasSubstr("Usage: cstatsd"));
    for (const char* key : {"server-mode",
                            "backends",
                            "metrics-addr",
                            "namespace",
                            "flush-interval",
                            "flush-aligned",
                            "flush-offset",
                            "expiry-interval",
                            "expiry-interval-counter",
                            "expiry-interval-gauge",
                            "expiry-interval-set",
                            "expiry-interval-timer",
                            "ignore-host",
                            "default-tags",
                            "hostname",
                            "max-readers",
                            "max-parsers",
                            "max-workers",
                            "max-queue-size",
                            "max-concurrent-events",
                            "estimated-tags",
                            "receive-batch-size",
                            "receive-buffer-size",
                            "conn-per-reader",
                            "bad-lines-per-minute",
                            "log-raw-metric",
                            "percent-threshold",
                            "timer-histogram-limit",
                            "internal-tags",
                            "internal-namespace",
                            "statser-type",
                            "heartbeat-enabled",
                            "disable-internal-events",
                            "cloud-provider",
                            "max-cloud-requests",
                            "burst-cloud-requests",
                            "cloud-cache-refresh-period",
                            "cloud-cache-evict-after-idle-period",
                            "cloud-cache-ttl",
                            "cloud-cache-negative-ttl",
                            "http-servers",
                            "filters",
                            "fast-fail-on-non-retryable-errors",
                            "lambda-extension-manual-flush",
                            "lambda-extension-telemetry-address",
                            "backend-queue-size",
                            "backend-shutdown-timeout",
                            "config-path",
                            "verbose",
                            "json",
                            "version",
                            "profile",
                            "disabled-sub-metrics"}) {
      EXPECT_THAT(help, HasSubstr(key)) << key;
    }
    // Defaults are shown the way gostatsd prints them.
    EXPECT_THAT(help, HasSubstr("(default 5m0s)"));
    EXPECT_THAT(help, HasSubstr("(default \"graphite\")"));
    EXPECT_THAT(help, HasSubstr("(default \"90\")"));
    EXPECT_THAT(help, HasSubstr("(default 4294967295)"));
    // Every option line has a default.
    std::istringstream lines(help);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("  --", 0) == 0 && line.find("--version") == std::string::npos &&
          line.find("--help") == std::string::npos) {
        EXPECT_THAT(line, HasSubstr("(default ")) << line;
      }
    }
  }
}

TEST(Load, HelpWinsOverOtherProblems) {
  auto r = LoadWith({"--flush-interval=bogus", "--help"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->exit_now);
}

TEST(Load, UnknownFlags) {
  auto r = LoadWith({"--no-such-flag", "-x"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), HasSubstr("--no-such-flag: unknown flag"));
  EXPECT_THAT(r.error(), HasSubstr("-x: unknown shorthand flag"));
}

TEST(Load, ArgumentsAfterDoubleDashAreNotFlags) {
  auto r = LoadWith({"--", "--namespace=x"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(Opts(r).namespace_, "");
  EXPECT_THAT(r->config.warnings, ElementsAre(HasSubstr("--namespace=x")));
}

TEST(ProcessEnvironment, ReadsTheRealEnvironment) {
  setenv("CSTATSD_CONFIG_TEST_VAR", "v=1", 1);
  Environment env = ProcessEnvironment();
  EXPECT_EQ(env["CSTATSD_CONFIG_TEST_VAR"], "v=1");
  unsetenv("CSTATSD_CONFIG_TEST_VAR");
}

// gauge-deltas and float-counters (docs/configuration.md#top-level-options): off by default,
// and set by a flag, the environment or the file like every top-level key.
TEST(Load, EtsySemanticsKeys) {
  auto r = LoadWith({});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_FALSE(Opts(r).gauge_deltas);
  EXPECT_FALSE(Opts(r).float_counters);

  r = LoadWith({"--gauge-deltas", "--float-counters=true"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(Opts(r).gauge_deltas);
  EXPECT_TRUE(Opts(r).float_counters);

  r = LoadWith({}, {{"GSD_GAUGE_DELTAS", "true"}, {"GSD_FLOAT_COUNTERS", "1"}});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(Opts(r).gauge_deltas);
  EXPECT_TRUE(Opts(r).float_counters);

  TempDir dir;
  const std::string path = dir.Write("c.toml", "gauge-deltas = true\nfloat-counters = false\n");
  r = LoadWith({"--config-path=" + path});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(Opts(r).gauge_deltas);
  EXPECT_FALSE(Opts(r).float_counters);
  EXPECT_TRUE(r->config.warnings.empty());
}

}  // namespace
}  // namespace cstatsd::config
