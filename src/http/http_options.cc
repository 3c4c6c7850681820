#include "http/http_options.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

namespace cstatsd::http {
namespace {

constexpr const char* kKnownKeys[] = {
    "address", "enable-healthcheck", "enable-expvar", "enable-ingestion", "enable-prof",
    "enable-status", "max-request-body-size", "max-connections", "max-connections-per-ip",
    "max-header-bytes", "header-timeout", "request-timeout", "ingestion-threads",
    // HTTP ingestion limits (ReadIngestLimits)
    "max-ingest-series", "max-ingest-tags", "max-ingest-tag-length", "max-ingest-name-length",
    "max-ingest-timer-values", "max-ingest-set-members", "max-ingest-request-set-members",
    "max-ingest-memory"};

// Each connection holds a socket and its buffer (up to max-header-bytes): the process's file
// descriptor limit is usually reached first.
constexpr int64_t kMaxConnectionsLimit = 65536;

// The request line and headers; Go's http.Server allows 1 MiB.
constexpr int64_t kMinHeaderBytes = 1024;
constexpr int64_t kMaxHeaderBytesLimit = int64_t{16} << 20;

constexpr int64_t kMaxIngestionThreads = 64;

// Bodies are parsed by protobuf, which takes at most 2 GiB; 1 GiB is plenty.
constexpr int64_t kMaxBodyLimit = int64_t{1} << 30;

// "host:port", "[v6]:port" or ":port" (all interfaces).
Status SplitAddress(const std::string& address, std::string& host, int& port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return Status::Error(fmt::format("\"{}\" is not host:port", address));
  }
  host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return Status::Error(
        fmt::format("\"{}\": an IPv6 host needs brackets, e.g. [::1]:8080", address));
  }
  if (host.empty()) host = "0.0.0.0";
  const std::string p = address.substr(colon + 1);
  int value = -1;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value < 0 || value > 65535) {
    return Status::Error(fmt::format("\"{}\": the port must be a number from 0 to 65535", address));
  }
  port = value;
  return {};
}

// The max-ingest-* keys of a section; each a positive number up to its ceiling.
void ReadIngestLimits(const config::Section& section, HttpServerOptions& o,
                      std::vector<std::string>& errors) {
  struct Key {
    const char* name;
    int64_t* field;
    int64_t max;
  };
  const Key keys[] = {
      {"max-ingest-series", &o.max_ingest_series, int64_t{1} << 40},
      {"max-ingest-tags", &o.max_ingest_tags, int64_t{1} << 40},
      {"max-ingest-tag-length", &o.max_ingest_tag_length, kMaxBodyLimit},
      {"max-ingest-name-length", &o.max_ingest_name_length, kMaxBodyLimit},
      {"max-ingest-timer-values", &o.max_ingest_timer_values, int64_t{1} << 40},
      {"max-ingest-set-members", &o.max_ingest_set_members, int64_t{1} << 40},
      {"max-ingest-request-set-members", &o.max_ingest_request_set_members, int64_t{1} << 40},
      {"max-ingest-memory", &o.max_ingest_memory, int64_t{1} << 50},
  };
  for (const Key& k : keys) {
    auto r = section.GetInt(k.name, *k.field);
    if (!r.ok()) {
      errors.push_back(r.error());
      continue;
    }
    if (*r < 1 || *r > k.max) {
      errors.push_back(fmt::format("{}.{}: must be a number from 1 to {}, got {}", section.path(),
                                   k.name, k.max, *r));
      continue;
    }
    *k.field = *r;
  }
}

}  // namespace

Result<std::vector<HttpServerOptions>> LoadHttpServerOptions(const config::Config& config,
                                                             std::vector<std::string>& warnings) {
  std::vector<HttpServerOptions> out;
  std::vector<std::string> errors;
  const config::Section http = config.GetSection("http");
  for (const std::string& name : config.options.http_servers) {
    if (std::any_of(out.begin(), out.end(), [&](const auto& o) { return o.name == name; })) {
      errors.push_back(fmt::format("http-servers: \"{}\" is named twice", name));
      continue;
    }
    const config::Section section = http.Sub(name);
    HttpServerOptions o;
    o.name = name;
    auto take = [&](auto result, auto& field) {
      if (result.ok()) {
        field = *result;
      } else {
        errors.push_back(result.error());
      }
    };
    take(section.GetString("address", o.address), o.address);
    take(section.GetBool("enable-healthcheck", o.enable_healthcheck), o.enable_healthcheck);
    take(section.GetBool("enable-expvar", o.enable_expvar), o.enable_expvar);
    take(section.GetBool("enable-ingestion", o.enable_ingestion), o.enable_ingestion);
    take(section.GetBool("enable-prof", o.enable_prof), o.enable_prof);
    take(section.GetBool("enable-status", o.enable_status), o.enable_status);
    take(section.GetInt("max-request-body-size", o.max_request_body_size), o.max_request_body_size);
    int64_t max_connections = o.max_connections;
    take(section.GetInt("max-connections", max_connections), max_connections);
    if (max_connections < 1 || max_connections > kMaxConnectionsLimit) {
      errors.push_back(fmt::format("{}.max-connections: must be a number from 1 to {}, got {}",
                                   section.path(), kMaxConnectionsLimit, max_connections));
    } else {
      o.max_connections = static_cast<int>(max_connections);
    }
    int64_t per_ip = o.max_connections_per_ip;
    take(section.GetInt("max-connections-per-ip", per_ip), per_ip);
    if (per_ip < 1 || per_ip > kMaxConnectionsLimit) {
      errors.push_back(
          fmt::format("{}.max-connections-per-ip: must be a number from 1 to {}, got {}",
                      section.path(), kMaxConnectionsLimit, per_ip));
    } else {
      o.max_connections_per_ip = static_cast<int>(per_ip);
    }
    take(section.GetInt("max-header-bytes", o.max_header_bytes), o.max_header_bytes);
    if (o.max_header_bytes < kMinHeaderBytes || o.max_header_bytes > kMaxHeaderBytesLimit) {
      errors.push_back(fmt::format(
          "{}.max-header-bytes: must be a number of bytes from {} to {} (16 MiB), got {}",
          section.path(), kMinHeaderBytes, kMaxHeaderBytesLimit, o.max_header_bytes));
    }
    take(section.GetDuration("header-timeout", o.header_timeout), o.header_timeout);
    take(section.GetDuration("request-timeout", o.request_timeout), o.request_timeout);
    for (auto [key, d] : {std::pair{"header-timeout", o.header_timeout},
                          std::pair{"request-timeout", o.request_timeout}}) {
      if (d < std::chrono::seconds(1) || d > std::chrono::hours(1)) {
        errors.push_back(fmt::format("{}.{}: must be a duration from 1s to 1h, got {}s",
                                     section.path(), key,
                                     std::chrono::duration<double>(d).count()));
      }
    }
    int64_t threads = o.ingestion_threads;
    take(section.GetInt("ingestion-threads", threads), threads);
    if (threads < 1 || threads > kMaxIngestionThreads) {
      errors.push_back(fmt::format("{}.ingestion-threads: must be a number from 1 to {}, got {}",
                                   section.path(), kMaxIngestionThreads, threads));
    } else {
      o.ingestion_threads = static_cast<int>(threads);
    }
    ReadIngestLimits(section, o, errors);
    if (Status s = SplitAddress(o.address, o.host, o.port); !s.ok()) {
      errors.push_back(fmt::format("{}.address: {}", section.path(), s.message()));
    }
    if (o.max_request_body_size <= 0 || o.max_request_body_size > kMaxBodyLimit) {
      errors.push_back(fmt::format(
          "{}.max-request-body-size: must be a number of bytes from 1 to {} (1 GiB), got {}",
          section.path(), kMaxBodyLimit, o.max_request_body_size));
    }
    if (!o.enable_healthcheck && !o.enable_expvar && !o.enable_ingestion && !o.enable_prof &&
        !o.enable_status) {
      errors.push_back(fmt::format(
          "{}: must enable at least one of enable-prof, enable-expvar, enable-ingestion, "
          "enable-status or enable-healthcheck",
          section.path()));
    }
    for (const std::string& key : section.Keys()) {
      if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) == std::end(kKnownKeys)) {
        warnings.push_back(fmt::format("{}: unknown key \"{}\" ignored", section.path(), key));
      }
    }
    out.push_back(std::move(o));
  }
  for (const std::string& name : http.Keys()) {
    const auto& listed = config.options.http_servers;
    if (std::find(listed.begin(), listed.end(), name) == listed.end()) {
      warnings.push_back(
          fmt::format("[http.{}] is not run: its name is not in http-servers (\"{}\")", name,
                      fmt::join(listed, " ")));
    }
  }
  if (!errors.empty()) {
    std::string message;
    for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
    return Status::Error(message);
  }
  return out;
}

}  // namespace cstatsd::http
