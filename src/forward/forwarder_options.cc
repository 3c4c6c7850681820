#include "forward/forwarder_options.h"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

namespace cstatsd::forward {
namespace {

bool IsTokenChar(unsigned char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

constexpr std::string_view kKnownKeys[] = {
    "api-endpoint",
    "api-endpoints",
    "endpoint-failure-threshold",
    "endpoint-probe-max-interval",
    "transport",
    "compress",
    "compression-type",
    "compression-level",
    "max-requests",
    "concurrent-merge",
    "max-request-elapsed-time",
    "consolidator-slots",
    "flush-interval",
    "custom-headers",
    "dynamic-headers",
    "fast-fail-on-non-retryable-errors",
    "fail-fast-on-non-retryable-errors",
};

}  // namespace

std::string CanonicalHeaderKey(std::string_view name) {
  for (char c : name) {
    if (!IsTokenChar(static_cast<unsigned char>(c))) return std::string(name);
  }
  std::string out(name);
  bool upper = true;
  for (char& c : out) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    upper = c == '-';
  }
  return out;
}

std::string DynamicHeaderName(std::string_view tag_name) {
  std::string name(tag_name);
  std::replace(name.begin(), name.end(), '_', '-');
  return CanonicalHeaderKey(name);
}

std::vector<std::string> ForwarderOptions::Endpoints() const {
  std::vector<std::string> all = api_endpoints;
  if (!api_endpoint.empty()) all.push_back(api_endpoint);
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

Result<ForwarderOptions> ForwarderOptions::Load(const config::Config& config,
                                                std::vector<std::string>* warnings) {
  const config::Section s = config.GetSection("http-transport");
  ForwarderOptions o;
  o.consolidator_slots = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::string> errors;
  auto take = [&](auto result, auto& field) {
    if (result.ok()) {
      field = *result;
      return true;
    }
    errors.push_back(result.error());
    return false;
  };
  auto problem = [&](std::string_view key, const std::string& what) {
    errors.push_back(fmt::format("http-transport.{}: {}", key, what));
  };

  take(s.GetString("api-endpoint", ""), o.api_endpoint);
  take(s.GetStringList("api-endpoints", {}), o.api_endpoints);
  int64_t failure_threshold = o.endpoint_failure_threshold;
  take(s.GetInt("endpoint-failure-threshold", failure_threshold), failure_threshold);
  take(s.GetDuration("endpoint-probe-max-interval", o.endpoint_probe_max_interval),
       o.endpoint_probe_max_interval);
  take(s.GetString("transport", o.transport), o.transport);
  bool compress = true;
  std::string type = "zlib";
  int64_t level = o.compression_level, max_requests = o.max_requests,
          concurrent_merge = o.concurrent_merge, slots = o.consolidator_slots;
  take(s.GetBool("compress", compress), compress);
  const bool type_ok = take(s.GetString("compression-type", type), type);
  take(s.GetInt("compression-level", level), level);
  take(s.GetInt("max-requests", max_requests), max_requests);
  take(s.GetInt("concurrent-merge", concurrent_merge), concurrent_merge);
  take(s.GetInt("consolidator-slots", slots), slots);
  take(s.GetDuration("max-request-elapsed-time", o.max_request_elapsed_time),
       o.max_request_elapsed_time);
  take(s.GetDuration("flush-interval", o.flush_interval), o.flush_interval);
  std::map<std::string, std::string> custom;
  take(s.GetStringMap("custom-headers"), custom);
  take(s.GetStringList("dynamic-headers", {}), o.dynamic_headers);
  bool fast_fail = false;
  if (s.Has("fail-fast-on-non-retryable-errors")) {
    take(s.GetBool("fail-fast-on-non-retryable-errors", false), fast_fail);
  }
  if (s.Has("fast-fail-on-non-retryable-errors")) {
    take(s.GetBool("fast-fail-on-non-retryable-errors", false), fast_fail);
  }
  o.fast_fail_on_non_retryable_errors = fast_fail;
  o.dns = DnsDiscoveryOptions::Load(s, &errors);

  // Trailing slashes would make "//v2/raw".
  auto check_url = [&](std::string_view key, std::string& url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      problem(key, fmt::format("\"{}\" must start with http:// or https://", url));
    }
  };
  if (!o.api_endpoint.empty()) check_url("api-endpoint", o.api_endpoint);
  for (std::string& url : o.api_endpoints) check_url("api-endpoints", url);
  if (o.api_endpoint.empty() && o.api_endpoints.empty() && !s.Has("api-endpoints-dns")) {
    problem("api-endpoint", "is required in forwarder mode (e.g. \"http://aggregator:8080\")");
  }
  if (failure_threshold <= 0 || failure_threshold > 1000000) {
    problem("endpoint-failure-threshold",
            fmt::format("must be positive (at most 1000000), got {}", failure_threshold));
  } else {
    o.endpoint_failure_threshold = static_cast<int>(failure_threshold);
  }
  if (o.endpoint_probe_max_interval < std::chrono::seconds(1)) {
    problem("endpoint-probe-max-interval", "must be at least 1s");
  }
  if (type_ok) {
    if (type == "zlib") {
      o.compression = wire::Compression::kZlib;
    } else if (type == "lz4") {
      o.compression = wire::Compression::kLz4;
    } else if (type == "none") {
      o.compression = wire::Compression::kNone;
    } else {
      problem("compression-type",
              fmt::format("unknown compression type \"{}\" (zlib, lz4 or none)", type));
    }
  }
  if (!compress) o.compression = wire::Compression::kNone;
  if (level < 0 || level > 9) {
    problem("compression-level", fmt::format("must be between 0 and 9, got {}", level));
  } else {
    o.compression_level = static_cast<int>(level);
  }
  auto positive = [&](std::string_view key, int64_t v, int& field) {
    if (v <= 0 || v > 1000000) {
      problem(key, fmt::format("must be positive (at most 1000000), got {}", v));
    } else {
      field = static_cast<int>(v);
    }
  };
  positive("max-requests", max_requests, o.max_requests);
  positive("concurrent-merge", concurrent_merge, o.concurrent_merge);
  positive("consolidator-slots", slots, o.consolidator_slots);
  const Duration minus_one_ns(-1);
  const Duration minus_one_s = std::chrono::seconds(-1);
  if (o.max_request_elapsed_time == minus_one_s) o.max_request_elapsed_time = minus_one_ns;
  if (o.max_request_elapsed_time <= Duration::zero() &&
      o.max_request_elapsed_time != minus_one_ns) {
    problem("max-request-elapsed-time", "must be positive, or -1 to disable retries");
  }
  if (o.flush_interval <= Duration::zero()) problem("flush-interval", "must be positive");
  for (const auto& [name, value] : custom) o.custom_headers[CanonicalHeaderKey(name)] = value;
  std::erase_if(o.dynamic_headers, [&](const std::string& tag) {
    return tag.empty() || o.custom_headers.contains(DynamicHeaderName(tag));
  });

  if (warnings != nullptr) {
    for (const std::string& key : s.Keys()) {
      const auto& dns_keys = DnsDiscoveryOptions::Keys();
      if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) == std::end(kKnownKeys) &&
          std::find(dns_keys.begin(), dns_keys.end(), key) == dns_keys.end()) {
        warnings->push_back(fmt::format("http-transport.{}: unknown key; ignored", key));
      }
    }
  }
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) all += (all.empty() ? "" : "\n") + e;
    return Status::Error(all);
  }
  return o;
}

}  // namespace cstatsd::forward
