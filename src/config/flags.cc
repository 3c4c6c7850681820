// The option table, the command line (pflag's rules, parsed by CLI11) and the --help text.

#include "config/flags.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>

#include "config/config.h"
#include "config/convert.h"

namespace cstatsd::config::internal {
namespace {

using O = Options;
using R = OptionDef::Range;

constexpr double kInf = OptionDef::kUnbounded;
constexpr double kSecondNs = 1e9;
constexpr double kHourNs = 3600 * kSecondNs;
constexpr double kDayNs = 24 * kHourNs;

std::vector<OptionDef> MakeOptionDefs() {
  const auto all = Sources::kAll;
  const auto no_flag = Sources::kNoFlag;
  return {
      // mode and I/O
      {"server-mode", &O::server_mode, all, "string",
       "The server mode to run in: standalone or forwarder"},
      {"backends", &O::backends, all, "list", "Space separated list of backends"},
      {"metrics-addr", &O::metrics_addr, all, "string",
       "Address on which to listen for metrics (host:port for UDP, an absolute path for a unix "
       "datagram socket)"},
      {"namespace", &O::namespace_, all, "string",
       "Namespace all metrics (prefix \"<namespace>.\")"},
      // flushing and expiry
      {"flush-interval",
       &O::flush_interval,
       all,
       "duration",
       "How often to flush metrics to the backends",
       {},
       R{-kInf, kDayNs}},
      {"flush-aligned", &O::flush_aligned, all, "bool",
       "Align flushes to multiples of flush-interval"},
      {"flush-offset",
       &O::flush_offset,
       all,
       "duration",
       "Offset added to aligned flush times",
       {},
       R{-kDayNs, kDayNs}},
      {"expiry-interval", &O::expiry_interval, all, "duration",
       "After how long an idle series expires (0 never, negative at once)"},
      {"expiry-interval-counter", &O::expiry_interval_counter, all, "duration",
       "Overrides expiry-interval for counters", "expiry-interval"},
      {"expiry-interval-gauge", &O::expiry_interval_gauge, all, "duration",
       "Overrides expiry-interval for gauges", "expiry-interval"},
      {"expiry-interval-set", &O::expiry_interval_set, all, "duration",
       "Overrides expiry-interval for sets", "expiry-interval"},
      {"expiry-interval-timer", &O::expiry_interval_timer, all, "duration",
       "Overrides expiry-interval for timers", "expiry-interval"},
      {"max-series",
       &O::max_series,
       all,
       "uint32",
       "cstatsd: most series held (all types); beyond, new series fold into one overflow series "
       "per metric name (tag cstatsd_overflow:true); 0 = no limit",
       {},
       R{0, 4294967295.0}},
      {"max-series-per-metric",
       &O::max_series_per_metric,
       all,
       "uint32",
       "cstatsd: most series per metric name and type; beyond, new series fold into its overflow "
       "series; 0 = no limit",
       {},
       R{0, 4294967295.0}},
      // source and tags
      {"ignore-host", &O::ignore_host, all, "bool",
       "Ignore the sender address as the source; the first host: tag becomes the source"},
      {"default-tags", &O::default_tags, all, "list",
       "Space separated list of tags to add to all metrics"},
      {"hostname", &O::hostname, all, "string",
       "Hostname of this server (source and host: tag of internal metrics and events)",
       "the OS hostname"},
      // threads and buffers
      {"max-readers", &O::max_readers, all, "int",
       "Accepted for compatibility; cstatsd's max-workers threads do the reading", "min(8, CPUs)",
       R{1, 1024}},
      {"max-parsers", &O::max_parsers, all, "int",
       "Accepted for compatibility; cstatsd's max-workers threads do the parsing", "CPUs",
       R{1, 1024}},
      {"max-workers", &O::max_workers, all, "int",
       "Worker threads, each receiving, parsing and aggregating on its own socket", "CPUs",
       R{1, 1024}},
      {"max-queue-size",
       &O::max_queue_size,
       all,
       "int",
       "Maximum number of buffered metric batches per worker",
       {},
       R{1, 10000000}},
      {"max-concurrent-events",
       &O::max_concurrent_events,
       all,
       "int",
       "Maximum number of events sent concurrently",
       {},
       R{1, 1000000}},
      {"estimated-tags",
       &O::estimated_tags,
       all,
       "int",
       "Estimated number of tags on a metric (allocation hint)",
       {},
       R{0, 1000}},
      {"receive-batch-size",
       &O::receive_batch_size,
       all,
       "int",
       "Number of datagrams to read in each receive batch (at most 1024, the kernel's limit)",
       {},
       R{1, 1024}},
      {"receive-buffer-size",
       &O::receive_buffer_size,
       all,
       "int",
       "Size in bytes of each datagram buffer (at most 1 MiB)",
       {},
       R{1, 1 << 20}},
      {"conn-per-reader", &O::conn_per_reader, all, "bool",
       "Accepted for compatibility; cstatsd always uses one SO_REUSEPORT socket per worker"},
      {"bad-lines-per-minute",
       &O::bad_lines_per_minute,
       no_flag,
       "float",
       "How many bad lines may be logged per minute (0 = none); config file or environment only",
       {},
       R{0, 1e9}},
      {"log-raw-metric", &O::log_raw_metric, all, "bool", "Log every metric received"},
      // timers
      {"percent-threshold", &O::percent_threshold, all, "list",
       "Space separated list of timer percentiles, each in (-100, 100] and not 0"},
      {"timer-histogram-limit",
       &O::timer_histogram_limit,
       all,
       "uint32",
       "Upper limit of timer histogram buckets",
       {},
       R{0, 4294967295.0}},
      {"max-histogram-bounds",
       &O::max_histogram_bounds,
       all,
       "uint32",
       "Most bounds a gsd_histogram tag may list; a timer with more is a bad line",
       {},
       R{1, 100000}},
      // internal metrics
      {"internal-tags", &O::internal_tags, all, "list",
       "Space separated list of tags to add to internal metrics"},
      {"internal-namespace", &O::internal_namespace, all, "string",
       "Namespace for internal metrics, may be \"\""},
      {"statser-type", &O::statser_type, all, "string",
       "Internal metrics: internal, logging or null"},
      {"heartbeat-enabled", &O::heartbeat_enabled, all, "bool",
       "Emit a heartbeat metric at each flush"},
      {"disable-internal-events", &O::disable_internal_events, all, "bool",
       "Do not send the start and stop events"},
      // cloud providers
      {"cloud-provider", &O::cloud_provider, all, "string",
       "Cloud provider used to look up metadata about senders: aws or k8s (empty for none)"},
      {"max-cloud-requests",
       &O::max_cloud_requests,
       all,
       "int",
       "Maximum number of cloud provider requests per second",
       {},
       R{1, 1000000}},
      {"burst-cloud-requests",
       &O::burst_cloud_requests,
       all,
       "int",
       "Burst number of cloud provider requests per second",
       {},
       R{1, 1000000}},
      {"cloud-cache-refresh-period", &O::cloud_cache_refresh_period, all, "duration",
       "Cloud cache refresh period"},
      {"cloud-cache-evict-after-idle-period", &O::cloud_cache_evict_after_idle_period, all,
       "duration", "Idle cloud cache eviction period"},
      {"cloud-cache-ttl", &O::cloud_cache_ttl, all, "duration",
       "Cloud cache TTL for successful lookups"},
      {"cloud-cache-negative-ttl", &O::cloud_cache_negative_ttl, all, "duration",
       "Cloud cache TTL for failed lookups"},
      // HTTP, filters, forwarder, lambda
      {"http-servers", &O::http_servers, no_flag, "list",
       "Names of the [http.<name>] servers to run; config file or environment only"},
      {"filters", &O::filters, no_flag, "list",
       "Names of the [filter.<name>] filters to apply; config file or environment only"},
      {"fast-fail-on-non-retryable-errors", &O::fast_fail_on_non_retryable_errors, all, "bool",
       "Accepted and unused (as in gostatsd); the forwarder reads [http-transport]"},
      {"lambda-extension-manual-flush", &O::lambda_extension_manual_flush, all, "bool",
       "Lambda extension: flush manually instead of every flush-interval"},
      {"lambda-extension-telemetry-address", &O::lambda_extension_telemetry_address, all, "string",
       "Lambda extension: address of the telemetry listener"},
      // cstatsd extensions
      {"metrics-tcp-addr", &O::metrics_tcp_addr, all, "string",
       "cstatsd: also accept statsd lines over TCP on this host:port (empty = off)"},
      {"metrics-tcp-tls-cert", &O::metrics_tcp_tls_cert, all, "string",
       "cstatsd: TLS certificate (PEM) for the TCP input; with the key it accepts TLS only"},
      {"metrics-tcp-tls-key", &O::metrics_tcp_tls_key, all, "string",
       "cstatsd: private key (PEM) of metrics-tcp-tls-cert"},
      {"metrics-tcp-tls-client-ca", &O::metrics_tcp_tls_client_ca, all, "string",
       "cstatsd: CA bundle (PEM); TCP input clients must present a certificate it signed"},
      {"metrics-tcp-max-connections",
       &O::metrics_tcp_max_connections,
       all,
       "int",
       "cstatsd: TCP input connections open at once; more are closed at once and counted",
       {},
       R{1, 1000000}},
      {"metrics-tcp-idle-timeout",
       &O::metrics_tcp_idle_timeout,
       all,
       "duration",
       "cstatsd: close a TCP input connection that sends no line data (or does not finish its "
       "TLS handshake) for this long (0 = never)",
       {},
       R{0, 7 * kDayNs}},
      {"metrics-reuse-port", &O::metrics_reuse_port, all, "bool",
       "cstatsd: share the metrics-addr UDP port and the metrics-tcp-addr port with another "
       "process that asks for it too (a deliberate hand-over); off, a port in use is an error"},
      {"gauge-deltas", &O::gauge_deltas, all, "bool",
       "cstatsd: a gauge value written with a sign (+N / -N) adjusts the gauge instead of setting "
       "it, as Etsy statsd"},
      {"float-counters", &O::float_counters, all, "bool",
       "cstatsd: counters keep their fraction (0.5|c twice counts 1) instead of truncating each "
       "line to an integer"},
      {"backend-queue-size",
       &O::backend_queue_size,
       all,
       "int",
       "cstatsd: flushes queued per backend before the oldest is dropped",
       {},
       R{1, 10000}},
      {"backend-shutdown-timeout",
       &O::backend_shutdown_timeout,
       all,
       "duration",
       "cstatsd: how long backends get to deliver the final flush at shutdown",
       {},
       R{-kInf, kHourNs}},
      {"state-file", &O::state_file, all, "string",
       "cstatsd: file where a stop keeps the gauges and a flush that a backend did not receive, "
       "read back at the next start (docs/state-file.md); empty = none"},
      {"receive-memory-limit",
       &O::receive_memory_limit,
       all,
       "uint32",
       "cstatsd: bytes all receive buffers may take together (receive-batch-size x "
       "receive-buffer-size x max-workers)",
       {},
       R{65536, 4294967295.0}},
      {"max-default-tags",
       &O::max_default_tags,
       all,
       "int",
       "cstatsd: most tags default-tags (and internal-tags) may list",
       {},
       R{0, 1000000}},
      {"tag-dialects", &O::tag_dialects, all, "list",
       "cstatsd: tags written in metric names that become tags: any of influxdb (name,k=v), "
       "graphite (name;k=v), librato (name#k=v), signalfx (name[k=v]); empty for none"},
      {"capture", &O::capture, all, "string",
       "cstatsd: record the datagrams received on metrics-addr (time, sender, bytes) into this "
       "pcapng file, rotated; empty = off (docs/capture.md)"},
      {"capture-max-size",
       &O::capture_max_size,
       all,
       "uint32",
       "cstatsd: bytes a capture file may reach before it rotates",
       {},
       R{1, 4294967295.0}},
      {"capture-files",
       &O::capture_files,
       all,
       "int",
       "cstatsd: capture files kept (FILE, FILE.1 ...), the current one included; the oldest is "
       "deleted",
       {},
       R{1, 1000}},
      // binary-only
      {"config-path", &O::config_path, Sources::kFlagAndEnv, "string",
       "Path to the configuration file (.toml, .yaml, .yml or .json)"},
      {"config-max-bytes",
       &O::config_max_bytes,
       Sources::kFlagAndEnv,
       "int",
       "cstatsd: largest config file (or kubeconfig) read, in bytes",
       {},
       R{1024, 1 << 30}},
      {"config-max-depth",
       &O::config_max_depth,
       Sources::kFlagAndEnv,
       "int",
       "cstatsd: deepest nesting of tables and arrays in the config file",
       {},
       R{2, 1000}},
      {"config-max-nodes",
       &O::config_max_nodes,
       Sources::kFlagAndEnv,
       "int",
       "cstatsd: most values in the config file once YAML aliases are expanded",
       {},
       R{16, 100000000}},
      {"verbose", &O::verbose, all, "bool", "Verbose (debug) logging"},
      {"json", &O::json_logs, all, "bool", "Log in JSON format"},
  };
}

bool IsBoolOption(const OptionDef& def) {
  return std::holds_alternative<bool Options::*>(def.member);
}

enum class FlagArity { kUnknown, kBool, kValue };

FlagArity ArityOf(std::string_view name) {
  if (name == kHelpFlag || name == kVersionFlag || name == kCheckConfigFlag) {
    return FlagArity::kBool;
  }
  if (name == kProfileFlag) return FlagArity::kValue;
  const OptionDef* def = FindOption(name);
  if (def == nullptr || def->sources == Sources::kNoFlag) return FlagArity::kUnknown;
  return IsBoolOption(*def) ? FlagArity::kBool : FlagArity::kValue;
}

std::string Quote(std::string_view s) { return fmt::format("\"{}\"", s); }

}  // namespace

const std::vector<OptionDef>& OptionDefs() {
  static const std::vector<OptionDef> defs = MakeOptionDefs();
  return defs;
}

const OptionDef* FindOption(std::string_view key) {
  for (const OptionDef& def : OptionDefs()) {
    if (def.key == key) return &def;
  }
  return nullptr;
}

CommandLine ParseCommandLine(int argc, const char* const* argv, std::vector<std::string>& errors) {
  CommandLine out;
  // Pass 1, pflag's rules: a value flag takes the next argument whatever it looks like (so
  // `--flush-offset -1s` works), a boolean flag never does, `--` ends the flags.
  std::vector<std::pair<std::string, std::string>> given;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i] == nullptr ? "" : argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      out.positional.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg[1] != '-') {
      if (arg == "-h") {
        given.emplace_back(std::string(kHelpFlag), "true");
      } else {
        errors.push_back(fmt::format("{}: unknown shorthand flag '{}'", arg, arg[1]));
      }
      continue;
    }
    std::string_view body = arg.substr(2);
    size_t eq = body.find('=');
    std::string name(body.substr(0, eq));
    switch (ArityOf(name)) {
      case FlagArity::kUnknown:
        errors.push_back(fmt::format("--{}: unknown flag", name));
        break;
      case FlagArity::kBool:
        given.emplace_back(name, eq == std::string_view::npos ? "true" : body.substr(eq + 1));
        break;
      case FlagArity::kValue:
        if (eq != std::string_view::npos) {
          given.emplace_back(name, body.substr(eq + 1));
        } else if (i + 1 < argc) {
          given.emplace_back(name, argv[++i] == nullptr ? "" : argv[i]);
        } else {
          errors.push_back(fmt::format("--{}: flag needs an argument", name));
        }
        break;
    }
  }

  // Pass 2: CLI11 parses the normalised arguments into one string per flag (last one wins).
  CLI::App app{"cstatsd"};
  app.set_help_flag();
  app.allow_extras();
  std::map<std::string, std::string, std::less<>> storage;
  std::map<std::string, CLI::Option*, std::less<>> options;
  auto add = [&](std::string_view name) {
    std::string key(name);
    options[key] = app.add_option("--" + key, storage[key])
                       ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  };
  add(kHelpFlag);
  add(kVersionFlag);
  add(kProfileFlag);
  add(kCheckConfigFlag);
  for (const OptionDef& def : OptionDefs()) {
    if (def.sources != Sources::kNoFlag) add(def.key);
  }
  std::vector<std::string> args;
  for (const auto& [name, value] : given) {
    if (value.empty()) {  // CLI11 reads "--x=" as "take the next argument"
      args.push_back("--" + name);
      args.emplace_back();
    } else {
      args.push_back(fmt::format("--{}={}", name, value));
    }
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector in reverse order
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    errors.push_back(fmt::format("command line: {}", e.what()));
    return out;
  }
  for (const auto& [name, option] : options) {
    if (option->count() > 0) out.values[name] = storage[name];
  }
  return out;
}

std::string FormatDefault(const OptionDef& def, const Options& options) {
  if (!def.default_text.empty()) return std::string(def.default_text);
  return std::visit(
      [&](auto member) -> std::string {
        const auto& v = options.*member;
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return Quote(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          return FormatGoFloat(v);
        } else if constexpr (std::is_same_v<T, Duration>) {
          return FormatGoDuration(v);
        } else if constexpr (std::is_same_v<T, std::optional<Duration>>) {
          return v ? FormatGoDuration(*v) : "expiry-interval";
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::string joined;
          for (const auto& s : v) joined += (joined.empty() ? "" : " ") + s;
          return Quote(joined);
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          std::string joined;
          for (double d : v) joined += (joined.empty() ? "" : " ") + FormatGoFloat(d);
          return Quote(joined);
        } else {
          return std::to_string(v);
        }
      },
      def.member);
}

std::string HelpText(std::string_view program, const Options& defaults) {
  std::string out = fmt::format(
      "Usage: {} [flags]\n"
      "\n"
      "cstatsd, a statsd server compatible with gostatsd. Every option below can also be set in\n"
      "the config file (--config-path; same key) or in the environment (GSD_ + the key in upper\n"
      "case with '-' as '_', e.g. GSD_METRICS_ADDR). Precedence: flag > environment > file >\n"
      "default. Durations use Go syntax (300ms, 1.5s, 5m, 1h30m). Lists are space separated.\n"
      "\n"
      "Flags:\n",
      program);
  auto line = [&](std::string_view left, std::string_view help, const std::string& def) {
    out += fmt::format("  {:<46} {} (default {})\n", left, help, def);
  };
  for (const OptionDef& def : OptionDefs()) {
    if (def.sources == Sources::kNoFlag) continue;
    std::string left = fmt::format("--{}", def.key);
    if (!IsBoolOption(def)) left += fmt::format(" <{}>", def.type);
    line(left, def.help, FormatDefault(def, defaults));
  }
  line("--profile <string>", "Accepted for compatibility and ignored (no Go profiler)", "\"\"");
  line("--check-config", "Check the configuration and mapping files, start nothing, exit", "false");
  out += fmt::format("  {:<46} {}\n", "--version", "Print the version and exit");
  out += fmt::format("  {:<46} {}\n", "-h, --help", "Print this help and exit");
  out += "\nConfig file and environment only:\n";
  for (const OptionDef& def : OptionDefs()) {
    if (def.sources != Sources::kNoFlag) continue;
    line(fmt::format("{} <{}>", def.key, def.type), def.help, FormatDefault(def, defaults));
  }
  out += fmt::format(
      "  {:<46} {}\n", "[disabled-sub-metrics]",
      "Timer sub-metrics to suppress (booleans, default false): count, count-per-second,");
  out += fmt::format("  {:<46} {}\n", "",
                     "mean, median, lower, upper, stddev (or std), sum, sum-squares, count-pct,");
  out +=
      fmt::format("  {:<46} {}\n", "", "mean-pct, sum-pct, sum-squares-pct, upper-pct, lower-pct");
  out +=
      "\nBackend, HTTP server, transport and filter sections are described in the docs/ folder.\n";
  return out;
}

}  // namespace cstatsd::config::internal

namespace cstatsd::config {

nlohmann::json OptionsAsJson(const Options& options) {
  nlohmann::json out = nlohmann::json::object();
  for (const internal::OptionDef& def : internal::OptionDefs()) {
    out[std::string(def.key)] = std::visit(
        [&](auto member) -> nlohmann::json {
          const auto& v = options.*member;
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, Duration>) {
            return FormatGoDuration(v);
          } else if constexpr (std::is_same_v<T, std::optional<Duration>>) {
            return v ? nlohmann::json(FormatGoDuration(*v)) : nlohmann::json(nullptr);
          } else {
            return v;
          }
        },
        def.member);
  }
  return out;
}

}  // namespace cstatsd::config
