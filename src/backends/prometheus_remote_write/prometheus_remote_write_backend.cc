#include "backends/prometheus_remote_write/prometheus_remote_write_backend.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <strings.h>

#include <array>

#include "backends/prometheus_remote_write/prometheus_remote_write_format.h"
#include "config/section_reader.h"
#include "core/version.h"
#include "prometheus/naming.h"
#include "prometheus/series_store.h"
#include "wire/compression.h"

namespace cstatsd::backends::prometheus_remote_write {
namespace prom = cstatsd::prometheus;  // not backends::prometheus, the scrape backend
namespace {

// Headers the backend sets itself (Prometheus's remote_write refuses the same in `headers`).
constexpr std::array<std::string_view, 7> kReservedHeaders = {"Authorization",
                                                              "Content-Encoding",
                                                              "Content-Length",
                                                              "Content-Type",
                                                              "Host",
                                                              "User-Agent",
                                                              "X-Prometheus-Remote-Write-Version"};

std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// The labels of a series from the store's rendered form (`a="x",b="y"`, sorted, values escaped:
// SeriesStore::Series::labels) as views into it; a value with an escape is unescaped into
// `scratch`, reserved at the rendered size so that no view moves.
void ParseLabels(std::string_view rendered, std::string& scratch, std::vector<Label>& out) {
  out.clear();
  scratch.clear();
  scratch.reserve(rendered.size());
  while (!rendered.empty()) {
    const size_t eq = rendered.find('=');
    if (eq == std::string_view::npos || eq + 1 >= rendered.size()) break;
    const std::string_view name = rendered.substr(0, eq);
    size_t i = eq + 2;  // after ="
    const size_t start = i;
    bool escaped = false;
    while (i < rendered.size() && rendered[i] != '"') {
      if (rendered[i] == '\\') {
        escaped = true;
        ++i;
      }
      ++i;
    }
    std::string_view value = rendered.substr(start, std::min(i, rendered.size()) - start);
    if (escaped) {
      const size_t from = scratch.size();
      for (size_t j = 0; j < value.size(); ++j) {
        if (value[j] == '\\' && j + 1 < value.size()) {
          ++j;
          scratch.push_back(value[j] == 'n' ? '\n' : value[j]);
        } else {
          scratch.push_back(value[j]);
        }
      }
      value = std::string_view(scratch).substr(from);
    }
    out.push_back({name, value});
    rendered.remove_prefix(std::min(rendered.size(), i + 2));  // the closing quote and the comma
  }
}

}  // namespace

void EncodeStore(const prom::SeriesStore& store, WriteRequestEncoder& encoder) {
  using prom::FamilyType;
  std::string scratch;
  std::vector<Label> labels;
  for (const auto& [name, family] : store.families()) {
    for (const prom::SeriesStore::Series* s : family->series) {
      ParseLabels(s->labels, scratch, labels);
      switch (family->type) {
        case FamilyType::kCounter:
        case FamilyType::kGauge:
          encoder.Add(name, "", labels, s->value);
          break;
        case FamilyType::kHistogram:
          if (s->bounds) {
            encoder.AddHistogram(name, labels, *s->bounds, s->counts, s->sum, s->count);
          }
          break;
        case FamilyType::kSummary:
          if (s->bounds) encoder.AddSummary(name, labels, *s->bounds, s->counts, s->sum, s->count);
          break;
      }
    }
  }
}

Result<PrometheusRemoteWriteOptions> PrometheusRemoteWriteOptions::From(
    const config::Config& config) {
  PrometheusRemoteWriteOptions o;
  o.max_requests = DefaultMaxRequests(2);
  o.user_agent = fmt::format("cstatsd/{}", Version());
  o.expiry_interval = config.options.expiry_interval;  // gostatsd's key, as the aggregator's
  config::SectionReader r(config.GetSection("prometheus-remote-write"));
  r.Str("url", o.url);
  if (auto h = r.section().GetStringMap("headers"); h.ok()) {
    o.headers = std::move(*h);
  } else {  // its message already names the key: keep what follows
    const std::string& e = h.error();
    const size_t colon = e.find(": ");
    r.Problem("headers", colon == std::string::npos ? e : e.substr(colon + 2));
  }
  r.Str("bearer-token", o.bearer_token);
  r.Str("basic-auth-username", o.basic_auth_username);
  r.Str("basic-auth-password", o.basic_auth_password);
  r.Integer("max-samples-per-send", o.max_samples_per_send);
  r.Integer("max-requests", o.max_requests);
  r.RetryBudget("max-request-elapsed-time", o.max_request_elapsed_time);
  r.Str("user-agent", o.user_agent);
  r.Str("transport", o.transport);
  r.Str("mapping-config", o.mapping_config);
  r.Dur("expiry-interval", o.expiry_interval);
  r.Str("source-label", o.source_label);

  if (o.url.empty()) {
    r.Problem("url", "is required (e.g. \"http://prometheus:9090/api/v1/write\")");
  } else if (o.url.rfind("http://", 0) != 0 && o.url.rfind("https://", 0) != 0) {
    r.Problem("url", fmt::format("\"{}\" must start with http:// or https://", o.url));
  }
  const bool basic = !o.basic_auth_username.empty() || !o.basic_auth_password.empty();
  if (basic && o.basic_auth_username.empty()) {
    r.Problem("basic-auth-username", "is required with basic-auth-password");
  }
  if (basic && !o.bearer_token.empty()) {
    r.Problem("bearer-token", "and basic-auth-username cannot both be set: choose one");
  }
  for (const auto& [name, value] : o.headers) {
    for (std::string_view reserved : kReservedHeaders) {
      if (strcasecmp(name.c_str(), std::string(reserved).c_str()) == 0) {
        r.Problem(
            "headers",
            fmt::format("\"{}\" is set by the backend and cannot be changed{}", name,
                        reserved == "Authorization" ? " (use bearer-token or basic-auth-username)"
                        : reserved == "User-Agent"  ? " (use user-agent)"
                                                    : ""));
      }
    }
  }
  if (!o.source_label.empty() && !prom::IsValidLabelName(o.source_label)) {
    r.Problem("source-label", "\"" + o.source_label + "\" is not a valid label name");
  }
  if (!o.mapping_config.empty()) {
    auto loaded = prom::MappingConfig::Load(o.mapping_config);
    if (loaded.ok()) {
      o.mapping = std::make_shared<const prom::MappingConfig>(std::move(*loaded));
    } else {
      r.Problem("mapping-config", loaded.error());
    }
  }
  if (o.max_samples_per_send <= 0) r.Problem("max-samples-per-send", "must be positive");
  if (o.max_requests <= 0) r.Problem("max-requests", "must be positive");
  if (Status s = r.Finish(); !s.ok()) return s;
  return o;
}

std::vector<std::pair<std::string, std::string>> PrometheusRemoteWriteOptions::RequestHeaders()
    const {
  std::vector<std::pair<std::string, std::string>> h = {
      {"Content-Encoding", "snappy"},
      {"Content-Type", "application/x-protobuf"},
      {"User-Agent", user_agent},
      {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
  if (!bearer_token.empty()) h.emplace_back("Authorization", "Bearer " + bearer_token);
  if (!basic_auth_username.empty()) {
    h.emplace_back("Authorization",
                   "Basic " + Base64(basic_auth_username + ":" + basic_auth_password));
  }
  for (const auto& [name, value] : headers) h.emplace_back(name, value);
  return h;
}

transport::RetryOptions RemoteWriteRetry(std::chrono::nanoseconds budget) {
  transport::RetryOptions r = RetryWithin(budget, /*honour_retry_after=*/true);
  r.fast_fail_non_retryable = true;
  r.classify = [](long status, std::string_view) {
    if (status >= 200 && status < 300) return transport::AttemptResult::kSuccess;
    if (status == 0 || status == 429 || (status >= 500 && status < 600)) {
      return transport::AttemptResult::kRetryable;
    }
    return transport::AttemptResult::kNonRetryable;
  };
  return r;
}

std::string PrometheusRemoteWriteBackend::Describe(const PrometheusRemoteWriteOptions& o) {
  return fmt::format("url={} max_samples_per_send={} max_requests={} auth={} mappings={}", o.url,
                     o.max_samples_per_send, o.max_requests,
                     !o.bearer_token.empty()          ? "bearer"
                     : !o.basic_auth_username.empty() ? "basic"
                                                      : "none",
                     o.mapping_config.empty() ? "none" : o.mapping_config);
}

PrometheusRemoteWriteBackend::PrometheusRemoteWriteBackend(PrometheusRemoteWriteOptions options,
                                                           std::unique_ptr<HttpSender> sender)
    : HttpBackend(std::move(sender), RemoteWriteRetry(options.max_request_elapsed_time)),
      options_(std::move(options)),
      headers_(options_.RequestHeaders()) {
  prom::StoreOptions so;
  so.observer = prom::ObserverType::kHistogram;  // unless the mapping says summary
  // < 0, "at once": gone at the first flush that does not receive it (the store's 0 is never).
  so.expiry = options_.expiry_interval < std::chrono::nanoseconds::zero()
                  ? std::chrono::nanoseconds(1)
                  : options_.expiry_interval;
  so.source_label = options_.source_label;
  store_ = std::make_unique<prom::SeriesStore>(std::move(so), options_.mapping);
}

PrometheusRemoteWriteBackend::~PrometheusRemoteWriteBackend() = default;

Status PrometheusRemoteWriteBackend::SendMetrics(const snapshot::FlushSnapshot& snapshot) {
  store_->Update(snapshot);
  // Each request compressed as it is cut: a flush holds one uncompressed request at a time.
  std::vector<HttpSender::Batch> batches;
  Status failed;
  WriteRequestEncoder encoder(static_cast<size_t>(options_.max_samples_per_send),
                              snapshot.flush_time_ns / 1000000,
                              [&](std::string_view body, size_t samples) {
                                auto z = wire::Compress(wire::Compression::kSnappy, body, 0);
                                if (!z.ok()) {
                                  failed = z.status();
                                  return;
                                }
                                HttpSender::Batch b;
                                b.request.url = options_.url;
                                b.request.headers = headers_;
                                b.request.body = std::move(*z);
                                b.series = samples;
                                batches.push_back(std::move(b));
                              });
  EncodeStore(*store_, encoder);
  encoder.Finish();
  if (!failed.ok()) return failed;
  return SendBatches(std::move(batches));
}

}  // namespace cstatsd::backends::prometheus_remote_write
