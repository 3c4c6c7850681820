#include "transport/transport_options.h"

#include <fmt/format.h>

#include <algorithm>

namespace cstatsd::transport {
namespace {

constexpr std::string_view kKnownKeys[] = {
    "type",
    "client-timeout",
    "dialer-keep-alive",
    "dialer-timeout",
    "enable-http2",
    "idle-connection-timeout",
    "max-idle-connections",
    "network",
    "tls-handshake-timeout",
    "response-header-timeout",
};

}  // namespace

Result<TransportOptions> ParseTransportSection(const config::Section& s, std::string_view name) {
  TransportOptions o;
  o.name = std::string(name);
  std::vector<std::string> errors;
  auto take = [&](auto result, auto& field) {
    if (result.ok()) {
      field = *result;
    } else {
      errors.push_back(result.error());
    }
  };
  auto problem = [&](std::string_view key, const std::string& what) {
    errors.push_back(fmt::format("{}.{}: {}", s.path(), key, what));
  };
  int64_t max_idle = o.max_idle_connections;
  take(s.GetString("type", o.type), o.type);
  take(s.GetDuration("client-timeout", o.client_timeout), o.client_timeout);
  take(s.GetDuration("dialer-keep-alive", o.dialer_keep_alive), o.dialer_keep_alive);
  take(s.GetDuration("dialer-timeout", o.dialer_timeout), o.dialer_timeout);
  take(s.GetBool("enable-http2", o.enable_http2), o.enable_http2);
  take(s.GetDuration("idle-connection-timeout", o.idle_connection_timeout),
       o.idle_connection_timeout);
  take(s.GetInt("max-idle-connections", max_idle), max_idle);
  take(s.GetString("network", o.network), o.network);
  take(s.GetDuration("tls-handshake-timeout", o.tls_handshake_timeout), o.tls_handshake_timeout);
  take(s.GetDuration("response-header-timeout", o.response_header_timeout),
       o.response_header_timeout);

  if (o.type != "http") problem("type", fmt::format("unknown type \"{}\" (only \"http\")", o.type));
  if (o.client_timeout < Duration::zero()) problem("client-timeout", "must not be negative");
  // Go's net.Dialer: a negative keep-alive disables it; cstatsd accepts only the documented -1.
  if (o.dialer_keep_alive < Duration::zero() &&
      o.dialer_keep_alive != std::chrono::nanoseconds(-1) &&
      o.dialer_keep_alive != std::chrono::seconds(-1)) {
    problem("dialer-keep-alive", "must be -1 (disabled), 0 (default period) or positive");
  }
  if (o.dialer_timeout < Duration::zero()) problem("dialer-timeout", "must not be negative");
  if (o.idle_connection_timeout < Duration::zero()) {
    problem("idle-connection-timeout", "must not be negative");
  }
  if (max_idle < 0 || max_idle > 1000000) {
    problem("max-idle-connections", "must be between 0 (unlimited) and 1000000");
  } else {
    o.max_idle_connections = static_cast<int>(max_idle);
  }
  if (o.network != "tcp" && o.network != "tcp4" && o.network != "tcp6") {
    problem("network", fmt::format("unknown network \"{}\" (tcp, tcp4 or tcp6)", o.network));
  }
  if (o.tls_handshake_timeout < Duration::zero()) {
    problem("tls-handshake-timeout", "must not be negative");
  }
  if (o.response_header_timeout < Duration::zero()) {
    problem("response-header-timeout", "must not be negative");
  }
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) all += (all.empty() ? "" : "\n") + e;
    return Status::Error(all);
  }
  return o;
}

Result<TransportOptions> LoadTransportOptions(const config::Config& config, std::string_view name,
                                              std::vector<std::string>* warnings) {
  const config::Section transports = config.GetSection("transport");
  config::Section section = transports.Sub(name);
  std::string used(name);
  if (name != "default" && !section.exists()) {
    if (warnings != nullptr) {
      warnings->push_back(fmt::format(
          "transport \"{}\" is not configured ([transport.{}]); using transport \"default\"", name,
          name));
    }
    used = "default";
    section = transports.Sub("default");
  }
  if (warnings != nullptr) {
    for (const std::string& key : section.Keys()) {
      if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) == std::end(kKnownKeys)) {
        warnings->push_back(fmt::format("{}.{}: unknown key; ignored", section.path(), key));
      }
    }
  }
  return ParseTransportSection(section, used);
}

}  // namespace cstatsd::transport
