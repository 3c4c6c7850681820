#include "backends/influxdb/influxdb_backend.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "backends/influxdb/influxdb_format.h"
#include "config/section_reader.h"
#include "transport/url.h"
#include "wire/compression.h"

namespace cstatsd::backends::influxdb {
Result<InfluxdbOptions> InfluxdbOptions::From(const config::Config& config,
                                              std::vector<std::string>* warnings) {
  InfluxdbOptions o;
  o.disabled = config.options.disabled_sub_metrics;
  o.max_requests = DefaultMaxRequests(10);
  config::SectionReader r(config.GetSection("influxdb"));
  r.Str("api-endpoint", o.api_endpoint);
  r.Integer("api-version", o.api_version);
  r.Bool("compress-payload", o.compress_payload);
  r.Str("credentials", o.credentials);
  r.RetryBudget("max-request-elapsed-time", o.max_request_elapsed_time);
  r.Integer("max-requests", o.max_requests);
  r.Integer("metrics-per-batch", o.metrics_per_batch);
  r.Str("transport", o.transport);
  r.Str("database", o.database);
  r.Str("retention-policy", o.retention_policy);
  r.Str("consistency", o.consistency);
  r.Str("bucket", o.bucket);
  r.Str("org", o.org);
  if (o.api_endpoint.empty()) r.Problem("api-endpoint", "is required");
  if (o.max_requests <= 0) r.Problem("max-requests", "must be above zero");
  if (o.metrics_per_batch <= 0) r.Problem("metrics-per-batch", "must be positive");
  auto ignored = [&](std::string_view key, const std::string& value) {
    if (!value.empty() && warnings != nullptr) {
      warnings->push_back("influxdb." + std::string(key) + " is ignored with api-version " +
                          std::to_string(o.api_version));
    }
  };
  if (o.api_version == 1) {
    if (o.database.empty()) r.Problem("database", "is required with api-version 1");
    if (!o.consistency.empty() && o.consistency != "any" && o.consistency != "one" &&
        o.consistency != "quorum" && o.consistency != "all" && warnings != nullptr) {
      warnings->push_back("influxdb.consistency: unknown value \"" + o.consistency +
                          "\" (InfluxDB knows any, one, quorum, all)");
    }
    ignored("bucket", o.bucket);
    ignored("org", o.org);
  } else if (o.api_version == 2) {
    if (o.bucket.empty()) r.Problem("bucket", "is required with api-version 2");
    if (o.org.empty()) r.Problem("org", "is required with api-version 2");
    ignored("database", o.database);
    ignored("retention-policy", o.retention_policy);
    ignored("consistency", o.consistency);
  } else {
    r.Problem("api-version", "must be 1 or 2, got " + std::to_string(o.api_version));
  }
  if (Status s = r.Finish(); !s.ok()) return s;
  return o;
}

std::string InfluxdbOptions::WriteUrl() const {
  std::string base = api_endpoint;
  std::string existing_query;
  if (const size_t q = base.find('?'); q != std::string::npos) {
    existing_query = base.substr(q + 1);
    base.resize(q);
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string url = base + (api_version == 1 ? "/write" : "/api/v2/write") + "?";
  if (!existing_query.empty()) url += existing_query + "&";
  // Keys in Go's url.Values.Encode order (sorted).
  if (api_version == 1) {
    if (!consistency.empty()) url += "consistency=" + transport::QueryEscape(consistency) + "&";
    url += "db=" + transport::QueryEscape(database) + "&precision=s";
    if (!retention_policy.empty()) url += "&rp=" + transport::QueryEscape(retention_policy);
  } else {
    url += "bucket=" + transport::QueryEscape(bucket) + "&org=" + transport::QueryEscape(org) +
           "&precision=s";
  }
  return url;
}

std::string InfluxdbBackend::Describe(const InfluxdbOptions& o) {
  return fmt::format(
      "url={} api_version={} compress_payload={} max_requests={} metrics_per_batch={} "
      "credentials={}",
      o.WriteUrl(), o.api_version, o.compress_payload, o.max_requests, o.metrics_per_batch,
      o.credentials.empty() ? "(unset)" : "(set)");
}

InfluxdbBackend::InfluxdbBackend(InfluxdbOptions options, std::unique_ptr<HttpSender> sender)
    : HttpBackend(std::move(sender), RetryWithin(options.max_request_elapsed_time)),
      options_(std::move(options)),
      url_(options_.WriteUrl()) {}

transport::HttpRequest InfluxdbBackend::Request(std::string body) const {
  transport::HttpRequest req;
  req.url = url_;
  req.headers.emplace_back("User-Agent", "gostatsd (influxdb)");
  if (options_.compress_payload) {
    auto gz = wire::Compress(wire::Compression::kGzip, body, 9);
    if (gz.ok()) {
      body = std::move(*gz);
      req.headers.emplace_back("Content-Encoding", "gzip");
    } else {
      req.headers.emplace_back("Content-Encoding", "identity");
    }
  } else {
    req.headers.emplace_back("Content-Encoding", "identity");
  }
  if (!options_.credentials.empty()) {
    req.headers.emplace_back("Authorization", "Token " + options_.credentials);
  }
  req.body = std::move(body);
  return req;
}

Status InfluxdbBackend::SendMetrics(const snapshot::FlushSnapshot& snapshot) {
  std::vector<HttpSender::Batch> batches;
  influxdb::FormatMetrics(snapshot, options_.disabled, snapshot.flush_unix_seconds(),
                          static_cast<size_t>(options_.metrics_per_batch),
                          [&](std::string&& lines, size_t n) {
                            batches.push_back({Request(std::move(lines)), n});
                          });
  return SendBatches(std::move(batches));
}

Status InfluxdbBackend::SendEvent(const Event& event) {
  return SendRequest(Request(influxdb::FormatEvent(event)));
}

}  // namespace cstatsd::backends::influxdb
