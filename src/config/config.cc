// Load: command line > GSD_* environment > config file > defaults, then validation that
// reports every problem at once, each line naming its option.

#include "config/config.h"

#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <thread>

#include "config/convert.h"
#include "config/file_loader.h"
#include "config/flags.h"
#include "core/version.h"
#include "protocol/tag_dialects.h"  // header only: the dialect names
#include "state/state_file.h"

extern char** environ;  // NOLINT: POSIX

namespace cstatsd::config {
namespace {

using internal::OptionDef;
using internal::RawValue;
using internal::Sources;
using nlohmann::json;

int HardwareThreads() {
  // Go's runtime.NumCPU counts the CPUs this process may run on.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

std::string OsHostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

// Where one option's value comes from, highest precedence first; nullopt = default.
std::optional<RawValue> FindRaw(std::string_view key, Sources sources,
                                const internal::CommandLine& cl, const Environment& env,
                                const json& file, const std::string& file_name) {
  if (auto it = cl.values.find(key); it != cl.values.end()) {
    return RawValue{nullptr, it->second, true, fmt::format("--{}", key)};
  }
  std::string env_name = internal::EnvVarName(key);
  if (auto it = env.find(env_name); it != env.end() && !it->second.empty()) {
    return RawValue{nullptr, it->second, false, env_name};
  }
  if (sources != Sources::kFlagAndEnv) {
    if (auto it = file.find(std::string(key)); it != file.end()) {
      return RawValue{&*it, "", false, fmt::format("config file {}", file_name)};
    }
  }
  return std::nullopt;
}

// The inclusive integer bounds of `range` for an option of type T.
template <typename T>
std::pair<int64_t, int64_t> IntRange(const OptionDef::Range& range) {
  const auto lo = static_cast<double>(std::numeric_limits<T>::min());
  const auto hi = static_cast<double>(std::numeric_limits<T>::max());
  return {static_cast<int64_t>(std::max(lo, range.min)),
          static_cast<int64_t>(std::min(hi, range.max))};
}

std::string OutOfRange(const std::string& value, std::pair<int64_t, int64_t> limits) {
  return fmt::format("{} is out of range; must be {}..{}", value, limits.first, limits.second);
}

class Loader {
 public:
  Loader(Config& config, const internal::CommandLine& cl) : config_(config), cl_(cl) {}

  void Run();
  std::vector<std::string>& errors() { return errors_; }

 private:
  void Error(std::string_view key, std::string_view problem, const RawValue* raw = nullptr) {
    if (raw != nullptr) {
      errors_.push_back(fmt::format("{}: {} (from {})", key, problem, raw->origin));
    } else {
      errors_.push_back(fmt::format("{}: {}", key, problem));
    }
  }
  bool Apply(const OptionDef& def, const RawValue& raw);  // false: error recorded
  void ApplyDisabledSubMetrics();
  void WarnUnknownKeys();
  void Validate();

  Config& config_;
  const internal::CommandLine& cl_;
  std::string file_name_;
  std::set<std::string, std::less<>> set_keys_;  // options given by some source
  std::set<std::string, std::less<>> bad_keys_;  // options whose value could not be read
  std::map<std::string, RawValue, std::less<>> raws_;
  std::vector<std::string> errors_;
};

bool Loader::Apply(const OptionDef& def, const RawValue& raw) {
  Options& o = config_.options;
  const size_t errors_before = errors_.size();
  std::visit(
      [&](auto member) {
        using T = std::decay_t<decltype(o.*member)>;
        auto fail = [&](const Status& s) { Error(def.key, s.message(), &raw); };
        if constexpr (std::is_same_v<T, std::string>) {
          auto v = internal::ToString(raw);
          v.ok() ? void(o.*member = *v) : fail(v.status());
        } else if constexpr (std::is_same_v<T, bool>) {
          auto v = internal::ToBool(raw);
          v.ok() ? void(o.*member = *v) : fail(v.status());
        } else if constexpr (std::is_same_v<T, int>) {
          auto v = internal::ToInt(raw);
          if (!v.ok()) return fail(v.status());
          const auto limits = IntRange<int>(def.range);
          if (*v < limits.first || *v > limits.second) {
            return Error(def.key, OutOfRange(fmt::format("{}", *v), limits), &raw);
          }
          o.*member = static_cast<int>(*v);
        } else if constexpr (std::is_same_v<T, uint32_t>) {
          auto v = internal::ToInt(raw);
          if (!v.ok()) return fail(v.status());
          const auto limits = IntRange<uint32_t>(def.range);
          if (*v < limits.first || *v > limits.second) {
            return Error(def.key, OutOfRange(fmt::format("{}", *v), limits), &raw);
          }
          o.*member = static_cast<uint32_t>(*v);
        } else if constexpr (std::is_same_v<T, double>) {
          auto v = internal::ToDouble(raw);
          if (!v.ok()) return fail(v.status());
          if (!(*v >= def.range.min && *v <= def.range.max)) {
            return Error(
                def.key,
                fmt::format("{} is out of range; must be {}..{}", internal::FormatGoFloat(*v),
                            internal::FormatGoFloat(def.range.min),
                            internal::FormatGoFloat(def.range.max)),
                &raw);
          }
          o.*member = *v;
        } else if constexpr (std::is_same_v<T, Duration> ||
                             std::is_same_v<T, std::optional<Duration>>) {
          auto v = internal::ToDuration(raw);
          if (!v.ok()) return fail(v.status());
          const double ns = static_cast<double>(v->count());
          if (ns < def.range.min || ns > def.range.max) {
            auto bound = [](double b) {
              return std::isinf(b) ? std::string(b < 0 ? "-inf" : "inf")
                                   : FormatGoDuration(Duration(static_cast<int64_t>(b)));
            };
            std::string allowed = std::isinf(def.range.min)
                                      ? "at most " + bound(def.range.max)
                                      : bound(def.range.min) + ".." + bound(def.range.max);
            return Error(
                def.key,
                fmt::format("{} is out of range; must be {}", FormatGoDuration(*v), allowed), &raw);
          }
          o.*member = *v;
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          auto v = internal::ToStringList(raw);
          v.ok() ? void(o.*member = *v) : fail(v.status());
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          auto v = internal::ToDoubleList(raw);
          v.ok() ? void(o.*member = *v) : fail(v.status());
        }
      },
      def.member);
  return errors_.size() == errors_before;
}

void Loader::ApplyDisabledSubMetrics() {
  static constexpr std::string_view kKey = "disabled-sub-metrics";
  if (auto it = config_.file.find(std::string(kKey));
      it != config_.file.end() && !it->is_object() && !it->is_null()) {
    Error(kKey, fmt::format("expected a table, got {} (from config file {})",
                            internal::JsonTypeName(*it), file_name_));
    return;
  }
  Section section = config_.GetSection(kKey);
  DisabledSubMetrics& d = config_.options.disabled_sub_metrics;
  struct Entry {
    std::string_view key;
    bool DisabledSubMetrics::*field;
  };
  static constexpr Entry kEntries[] = {
      {"count", &DisabledSubMetrics::count},
      {"count-per-second", &DisabledSubMetrics::count_per_second},
      {"mean", &DisabledSubMetrics::mean},
      {"median", &DisabledSubMetrics::median},
      {"lower", &DisabledSubMetrics::lower},
      {"upper", &DisabledSubMetrics::upper},
      {"stddev", &DisabledSubMetrics::stddev},
      {"std", &DisabledSubMetrics::stddev},  // docs/compatibility.md#decision-8: both spellings
      {"sum", &DisabledSubMetrics::sum},
      {"sum-squares", &DisabledSubMetrics::sum_squares},
      {"count-pct", &DisabledSubMetrics::count_pct},
      {"mean-pct", &DisabledSubMetrics::mean_pct},
      {"sum-pct", &DisabledSubMetrics::sum_pct},
      {"sum-squares-pct", &DisabledSubMetrics::sum_squares_pct},
      {"upper-pct", &DisabledSubMetrics::upper_pct},
      {"lower-pct", &DisabledSubMetrics::lower_pct},
  };
  for (const Entry& e : kEntries) {
    auto v = section.GetBool(e.key, false);
    if (!v.ok()) {
      errors_.push_back(v.error());
    } else if (*v) {
      d.*(e.field) = true;
    }
  }
  for (const std::string& key : section.Keys()) {
    bool known = std::any_of(std::begin(kEntries), std::end(kEntries),
                             [&](const Entry& e) { return e.key == key; });
    if (!known) {
      config_.warnings.push_back(
          fmt::format("{}.{}: unknown key in config file {}; ignored", kKey, key, file_name_));
    }
  }
}

void Loader::WarnUnknownKeys() {
  for (const auto& item : config_.file.items()) {
    const std::string& key = item.key();
    if (internal::FindOption(key) != nullptr || key == internal::kProfileFlag) continue;
    if (item.value().is_object()) continue;  // a section: [graphite], [http], ...
    config_.warnings.push_back(
        fmt::format("{}: unknown option in config file {}; ignored", key, file_name_));
  }
}

void Loader::Validate() {
  const Options& o = config_.options;
  auto problem_at = [&](std::string_view key, std::string_view problem, const RawValue* raw) {
    if (!bad_keys_.contains(key)) Error(key, problem, raw);
  };
  auto origin = [&](std::string_view key) -> const RawValue* {
    auto it = raws_.find(key);
    return it == raws_.end() ? nullptr : &it->second;
  };
  auto one_of = [&](std::string_view key, const std::string& value,
                    std::initializer_list<std::string_view> allowed) {
    if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return;
    std::string list;
    for (std::string_view a : allowed) {
      list += list.empty() ? "" : ", ";
      list += a.empty() ? "\"\" (none)" : std::string(a);
    }
    problem_at(key, fmt::format("invalid value \"{}\"; must be one of {}", value, list),
               origin(key));
  };
  one_of("server-mode", o.server_mode, {"standalone", "forwarder"});
  one_of("statser-type", o.statser_type, {"internal", "logging", "null"});
  one_of("cloud-provider", o.cloud_provider, {"", "aws", "k8s"});

  for (double p : o.percent_threshold) {
    if (!(p > -100 && p <= 100) || p == 0) {
      problem_at(
          "percent-threshold",
          fmt::format("{} is not allowed; each threshold must be in (-100, 100] and non-zero",
                      internal::FormatGoFloat(p)),
          origin("percent-threshold"));
    }
  }
  if (o.flush_interval <= Duration::zero()) {
    problem_at("flush-interval",
               fmt::format("must be greater than 0, got {}", FormatGoDuration(o.flush_interval)),
               origin("flush-interval"));
  }
  if (o.backend_shutdown_timeout < Duration::zero()) {
    problem_at(
        "backend-shutdown-timeout",
        fmt::format("must not be negative, got {}", FormatGoDuration(o.backend_shutdown_timeout)),
        origin("backend-shutdown-timeout"));
  }
  if (!o.state_file.empty()) {
    // docs/state-file.md: a stop must be able to write it.
    if (Status w = state::StateFile::CheckWritable(o.state_file); !w.ok()) {
      problem_at("state-file", w.message(), origin("state-file"));
    }
  }
  if (!o.capture.empty()) {
    // docs/capture.md: the file (and its rotated siblings) is created beside it at start.
    if (Status w = state::StateFile::CheckWritable(o.capture); !w.ok()) {
      problem_at("capture", w.message(), origin("capture"));
    }
  }
  if (o.metrics_tcp_tls_cert.empty() != o.metrics_tcp_tls_key.empty()) {
    const std::string_view key =
        o.metrics_tcp_tls_cert.empty() ? "metrics-tcp-tls-cert" : "metrics-tcp-tls-key";
    problem_at(key, "metrics-tcp-tls-cert and metrics-tcp-tls-key must be given together",
               origin(key));
  }
  if (!o.metrics_tcp_tls_cert.empty() && o.metrics_tcp_addr.empty()) {
    problem_at("metrics-tcp-tls-cert", "needs metrics-tcp-addr (the TCP input to secure)",
               origin("metrics-tcp-tls-cert"));
  }
  if (!o.metrics_tcp_tls_client_ca.empty() && o.metrics_tcp_tls_cert.empty()) {
    problem_at("metrics-tcp-tls-client-ca", "needs metrics-tcp-tls-cert and metrics-tcp-tls-key",
               origin("metrics-tcp-tls-client-ca"));
  }
  const std::pair<std::string_view, int> positive[] = {
      {"max-workers", o.max_workers},
      {"receive-batch-size", o.receive_batch_size},
      {"receive-buffer-size", o.receive_buffer_size},
      {"max-queue-size", o.max_queue_size},
      {"max-concurrent-events", o.max_concurrent_events},
      {"backend-queue-size", o.backend_queue_size},
  };
  for (const auto& [key, value] : positive) {
    if (value <= 0) {
      problem_at(key, fmt::format("must be greater than 0, got {}", value), origin(key));
    }
  }

  // Addresses: a port out of range would otherwise be taken modulo 65536 by the socket code.
  const std::pair<std::string_view, AddressKind> addresses[] = {
      {"metrics-addr", AddressKind::kListenOrPath},
      {"metrics-tcp-addr", AddressKind::kListen},
      {"lambda-extension-telemetry-address", AddressKind::kListen},
  };
  for (const auto& [key, kind] : addresses) {
    const OptionDef* def = internal::FindOption(key);
    if (def == nullptr) continue;
    const std::string& value = o.*std::get<std::string Options::*>(def->member);
    if (value.empty() && key == "metrics-tcp-addr") continue;  // off
    if (Status s = CheckAddress(value, kind); !s.ok()) problem_at(key, s.message(), origin(key));
  }

  // The receive buffers are allocated up front: batch x buffer per worker.
  if (o.receive_batch_size > 0 && o.receive_buffer_size > 0 && o.max_workers > 0) {
    const uint64_t total =
        uint64_t(o.receive_batch_size) * uint64_t(o.receive_buffer_size) * uint64_t(o.max_workers);
    if (total > o.receive_memory_limit) {
      const std::string_view key = set_keys_.contains("receive-buffer-size") ? "receive-buffer-size"
                                   : set_keys_.contains("receive-batch-size") ? "receive-batch-size"
                                                                              : "max-workers";
      problem_at(key,
                 fmt::format("receive-batch-size {} x receive-buffer-size {} x max-workers {} = "
                             "{} bytes of receive buffers is more than receive-memory-limit {}",
                             o.receive_batch_size, o.receive_buffer_size, o.max_workers, total,
                             o.receive_memory_limit),
                 origin(key));
    }
  }

  for (const std::string& dialect : o.tag_dialects) {
    if (protocol::TagDialectFromName(dialect) == 0) {
      problem_at("tag-dialects",
                 fmt::format("invalid value \"{}\"; each must be one of influxdb, graphite, "
                             "librato, signalfx",
                             dialect),
                 origin("tag-dialects"));
    }
  }

  const std::pair<std::string_view, const std::vector<std::string>*> tag_lists[] = {
      {"default-tags", &o.default_tags},
      {"internal-tags", &o.internal_tags},
  };
  for (const auto& [key, tags] : tag_lists) {
    if (tags->size() > static_cast<size_t>(std::max(0, o.max_default_tags))) {
      problem_at(
          key,
          fmt::format("{} tags is more than max-default-tags {}", tags->size(), o.max_default_tags),
          origin(key));
    }
  }
}

void Loader::Run() {
  const Environment& env = config_.env;

  // The config file: --config-path, else GSD_CONFIG_PATH.
  const OptionDef* path_def = internal::FindOption("config-path");
  if (auto raw = FindRaw("config-path", path_def->sources, cl_, env, config_.file, "");
      raw.has_value()) {
    file_name_ = raw->text;
  }
  // The config file's own limits come from the command line or the environment only.
  auto is_file_limit = [](const OptionDef& def) {
    return def.sources == Sources::kFlagAndEnv &&
           std::holds_alternative<int Options::*>(def.member);
  };
  auto apply = [&](const OptionDef& def) {
    auto raw = FindRaw(def.key, def.sources, cl_, env, config_.file, file_name_);
    if (!raw.has_value()) return;
    auto& stored = raws_[std::string(def.key)] = std::move(*raw);
    if (Apply(def, stored)) {
      set_keys_.insert(std::string(def.key));
    } else {
      bad_keys_.insert(std::string(def.key));  // already reported; not validated again
    }
  };
  for (const OptionDef& def : internal::OptionDefs()) {
    if (is_file_limit(def)) apply(def);
  }
  internal::FileLimits limits;
  limits.max_bytes = static_cast<size_t>(std::max(1, config_.options.config_max_bytes));
  limits.max_depth = std::max(1, config_.options.config_max_depth);
  limits.max_nodes = static_cast<size_t>(std::max(1, config_.options.config_max_nodes));
  if (!file_name_.empty()) {
    auto file = internal::LoadConfigFile(file_name_, limits);
    if (file.ok()) {
      config_.file = std::move(*file);
    } else {
      errors_.push_back(file.error());
    }
  }

  for (const OptionDef& def : internal::OptionDefs()) {
    if (!is_file_limit(def)) apply(def);
  }

  // Defaults that depend on the machine.
  Options& o = config_.options;
  const int cpus = HardwareThreads();
  if (!set_keys_.contains("max-readers")) o.max_readers = std::min(8, cpus);
  if (!set_keys_.contains("max-parsers")) o.max_parsers = cpus;
  if (!set_keys_.contains("max-workers")) o.max_workers = cpus;
  if (!set_keys_.contains("hostname")) o.hostname = OsHostname();
  // The newrelic backend changes three global defaults (docs/backends.md#newrelic), as gostatsd
  // does.
  if (std::find(o.backends.begin(), o.backends.end(), "newrelic") != o.backends.end()) {
    if (!set_keys_.contains("statser-type")) o.statser_type = "null";
    if (!set_keys_.contains("flush-interval")) o.flush_interval = std::chrono::seconds(10);
    if (!set_keys_.contains("ignore-host")) o.ignore_host = true;
    if (o.flush_interval < std::chrono::seconds(10)) {
      config_.warnings.push_back(
          fmt::format("newrelic: flush-interval {} is shorter than the recommended 10s",
                      FormatGoDuration(o.flush_interval)));
    }
  }

  // --profile (or GSD_PROFILE / profile = ...) starts Go's pprof server in gostatsd.
  if (auto raw = FindRaw(internal::kProfileFlag, Sources::kAll, cl_, env, config_.file, file_name_);
      raw.has_value()) {
    auto value = internal::ToString(*raw);
    if (value.ok() && !value->empty()) {
      config_.warnings.push_back(fmt::format(
          "profile: the Go profiler is not available in cstatsd; \"{}\" ignored (from {})", *value,
          raw->origin));
    }
  }

  ApplyDisabledSubMetrics();
  WarnUnknownKeys();
  Validate();
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) {
    if (!out.empty()) out += '\n';
    out += l;
  }
  return out;
}

}  // namespace

Status CheckAddress(std::string_view address, AddressKind kind) {
  if (kind == AddressKind::kListenOrPath && !address.empty() && address.front() == '/') {
    return {};
  }
  const std::string want = kind == AddressKind::kListenOrPath
                               ? "host:port, [ipv6]:port or an absolute path"
                               : "host:port or [ipv6]:port";
  std::string_view host, port;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return Status::Error(fmt::format("invalid address \"{}\" (want {})", address, want));
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::Error(fmt::format("missing port in address \"{}\" (want {})", address, want));
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Status::Error(fmt::format(
          "invalid address \"{}\" (an IPv6 host must be in brackets: [ipv6]:port)", address));
    }
  }
  if (kind == AddressKind::kDial && host.empty()) {
    return Status::Error(fmt::format("missing host in address \"{}\"", address));
  }
  if (port.empty()) {
    return Status::Error(fmt::format("missing port in address \"{}\" (want {})", address, want));
  }
  const int64_t min_port = kind == AddressKind::kDial ? 1 : 0;
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::Error(
        fmt::format("port \"{}\" of address \"{}\" is not a number", port, address));
  }
  int64_t value = 0;
  for (char c : port) {
    value = value * 10 + (c - '0');
    if (value > 65535) break;
  }
  if (value < min_port || value > 65535) {
    return Status::Error(fmt::format("port {} of address \"{}\" is out of range; must be {}..65535",
                                     port, address, min_port));
  }
  return {};
}

Environment ProcessEnvironment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

Result<LoadOutcome> Load(int argc, const char* const* argv, const Environment& env) {
  LoadOutcome outcome;
  outcome.config.env = env;
  std::vector<std::string> errors;
  internal::CommandLine cl = internal::ParseCommandLine(argc, argv, errors);

  auto flag_true = [&](std::string_view name) -> bool {
    auto it = cl.values.find(name);
    if (it == cl.values.end()) return false;
    auto v = internal::ParseGoBool(it->second);
    if (!v.ok()) {
      errors.push_back(fmt::format("{}: {} (from --{})", name, v.error(), name));
      return false;
    }
    return *v;
  };
  if (flag_true(internal::kHelpFlag)) {
    Options defaults;
    const int cpus = HardwareThreads();
    defaults.max_readers = std::min(8, cpus);
    defaults.max_parsers = cpus;
    defaults.max_workers = cpus;
    std::string program = "cstatsd";
    if (argc > 0 && argv[0] != nullptr && argv[0][0] != '\0') {
      std::string_view p = argv[0];
      size_t slash = p.find_last_of('/');
      program = std::string(slash == std::string_view::npos ? p : p.substr(slash + 1));
    }
    outcome.exit_now = true;
    outcome.message = internal::HelpText(program, defaults);
    return outcome;
  }
  if (flag_true(internal::kVersionFlag)) {
    outcome.exit_now = true;
    outcome.message =
        fmt::format("Version: {} - Commit: {} - Date: {}\n", Version(), GitCommit(), BuildDate());
    return outcome;
  }
  outcome.check_only = flag_true(internal::kCheckConfigFlag);
  for (const std::string& arg : cl.positional) {
    outcome.config.warnings.push_back(
        fmt::format("command line: unexpected argument \"{}\" ignored", arg));
  }

  Loader loader(outcome.config, cl);
  loader.Run();
  errors.insert(errors.end(), loader.errors().begin(), loader.errors().end());
  if (!errors.empty()) return Status::Error(JoinLines(errors));
  return outcome;
}

}  // namespace cstatsd::config
