// HttpBackend: the part every HTTP backend (datadog, influxdb, newrelic, otlp, cloudwatch)
// shares: an HttpSender on the backend's `[transport.<name>]`, its retry policy, sending a
// flush's batches and one event with backend.* counting, and the Create() body. A new HTTP
// backend writes its options (with From()), its encoder and SendMetrics/SendEvent, nothing else
// (docs/backends.md). Runs on its backend thread, as HttpSender.
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "backends/common/http_sender.h"
#include "config/config.h"
#include "wire/compression.h"

namespace cstatsd::backends {

class HttpBackend : public Backend {
 public:
  bool CountsOwnBatches() const override { return true; }
  transport::HttpClient* http_client() override { return &sender_->client(); }

 protected:
  HttpBackend(std::unique_ptr<HttpSender> sender, transport::RetryOptions retry)
      : sender_(std::move(sender)), retry_(std::move(retry)) {}

  // A flush's batches, at most max_requests in flight (HttpSender::SendAll); none: nothing sent.
  Status SendBatches(
      std::vector<HttpSender::Batch> batches,
      const std::function<Status(const transport::HttpResponse&)>& accept = nullptr) {
    if (batches.empty()) return {};
    return sender_->SendAll(std::move(batches), retry_, stats(), accept);
  }
  // One request (an event), waited for, with the backend's retry policy or `retry`.
  Status SendRequest(transport::HttpRequest request) {
    return sender_->SendOne(std::move(request), retry_, stats());
  }
  Status SendRequest(transport::HttpRequest request, const transport::RetryOptions& retry) {
    return sender_->SendOne(std::move(request), retry, stats());
  }
  transport::HttpClient& client() { return sender_->client(); }

 private:
  std::unique_ptr<HttpSender> sender_;
  transport::RetryOptions retry_;
};

// Sets req.body to `body` compressed with `c` at `level` and its Content-Encoding header; when
// compression fails the body goes uncompressed (and without the header), as gostatsd's.
inline void SetCompressedBody(transport::HttpRequest& req, std::string body, wire::Compression c,
                              int level) {
  if (auto z = wire::Compress(c, body, level); z.ok()) {
    body = std::move(*z);
    req.headers.emplace_back("Content-Encoding", std::string(wire::ContentEncoding(c)));
  }
  req.body = std::move(body);
}

// gostatsd's default max-requests: `per_cpu` requests in flight per CPU.
inline int DefaultMaxRequests(int per_cpu) {
  return per_cpu * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// The flush interval in seconds, for the rates and intervals a payload carries.
inline double FlushIntervalSeconds(const config::Config& config) {
  return std::chrono::duration<double>(config.options.flush_interval).count();
}

// The retry policy most HTTP backends use: a time budget (max_request_elapsed_time), whether a
// Retry-After lengthens the wait, and a retry count (-1: the budget only).
inline transport::RetryOptions RetryWithin(transport::Duration budget,
                                           bool honour_retry_after = false, int max_retries = -1) {
  transport::RetryOptions r;
  r.max_elapsed_time = budget;
  r.honour_retry_after = honour_retry_after;
  r.max_retries = max_retries;
  return r;
}

// The Create() of an HTTP backend B (B::Create = CreateHttpBackend<B>): B::Options::From(config)
// (with a warnings list when it takes one; each is logged), an HttpSender on the options'
// `transport` with max_requests in flight (1 when the options have none), the line
// "created backend backend=<name> <B::Describe(options)>", then B(options, sender).
template <typename B>
Result<std::unique_ptr<Backend>> CreateHttpBackend(const BackendContext& ctx) {
  using Options = typename B::Options;
  Result<Options> o = [&] {
    if constexpr (requires(std::vector<std::string> * w) { Options::From(ctx.config, w); }) {
      std::vector<std::string> warnings;
      auto r = Options::From(ctx.config, &warnings);
      for (const auto& w : warnings) spdlog::warn("{}", w);
      return r;
    } else {
      return Options::From(ctx.config);
    }
  }();
  if (!o.ok()) return o.status();
  size_t max_requests = 1;
  if constexpr (requires { o->max_requests; }) max_requests = static_cast<size_t>(o->max_requests);
  auto sender = HttpSender::Create(ctx.config, B::kName, o->transport, max_requests);
  if (!sender.ok()) return sender.status();
  spdlog::info("created backend backend={} {}", B::kName, B::Describe(*o));
  return std::unique_ptr<Backend>(std::make_unique<B>(std::move(*o), std::move(*sender)));
}

}  // namespace cstatsd::backends
