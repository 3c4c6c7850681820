#include "forward/http_forwarder.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/log_escape.h"
#include "forward/raw_message.h"
#include "forward/service_check_message.h"
#include "wire/compression.h"

namespace cstatsd::forward {
namespace {

void AtomicMax(std::atomic<uint64_t>& a, uint64_t v) {
  uint64_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

}  // namespace

HttpForwarder::HttpForwarder(ForwarderOptions options,
                             std::unique_ptr<transport::HttpClient> client)
    : options_(std::move(options)), client_(std::move(client)) {
  retry_.max_elapsed_time = options_.max_request_elapsed_time;
  retry_.fast_fail_non_retryable = options_.fast_fail_on_non_retryable_errors;
  check_retry_ = retry_;
  check_retry_.fast_fail_non_retryable = true;
  std::map<std::string, std::string> headers = {
      {"Content-Type", "application/x-protobuf"},
      {"User-Agent", "gostatsd (http forwarder)"},
  };
  for (const auto& [name, value] : options_.custom_headers) headers[name] = value;
  base_headers_.assign(headers.begin(), headers.end());
}

Result<std::unique_ptr<HttpForwarder>> HttpForwarder::Create(const ForwarderOptions& options,
                                                             const transport::TransportOptions& t) {
  transport::ClientOptions co;
  co.max_in_flight = static_cast<size_t>(options.max_requests);
  // Beyond max-requests in flight, as many again may wait; then the oldest is dropped, so a
  // dead aggregator costs bounded memory and never blocks the flusher.
  co.max_queued = static_cast<size_t>(options.max_requests);
  auto client = transport::HttpClient::Create(t, co);
  if (!client.ok()) return client.status();
  return std::unique_ptr<HttpForwarder>(new HttpForwarder(options, std::move(*client)));
}

void HttpForwarder::SendMetrics(const MetricMap& merged) {
  for (const Partition& p :
       PartitionByDynamicHeaders(merged, options_.dynamic_headers, options_.float_counters)) {
    Post("metrics", "/v2/raw", p.message, p.headers, retry_);
  }
}

void HttpForwarder::SendEvent(const Event& event) {
  Post("event", "/v2/event", ToEventV2(event), {}, retry_);
}

void HttpForwarder::SendServiceCheck(const ServiceCheck& check) {
  Post("service check", std::string(kServiceCheckPath), ToServiceCheckV2(check), {}, check_retry_);
}

void HttpForwarder::Post(std::string_view kind, const std::string& path,
                         const google::protobuf::MessageLite& message,
                         const std::vector<std::pair<std::string, std::string>>& extra_headers,
                         const transport::RetryOptions& retry) {
  transport::HttpRequest req;
  req.url = options_.api_endpoint + path;
  std::string raw;
  if (!message.SerializeToString(&raw)) {
    invalid_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("forwarder: cannot serialise a {} message; dropped", kind);
    return;
  }
  auto body = wire::Compress(options_.compression, raw, options_.compression_level);
  if (!body.ok()) {
    invalid_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("forwarder: cannot compress a {} message; dropped error={}", kind, body.error());
    return;
  }
  created_.fetch_add(1, std::memory_order_relaxed);
  req.body = std::move(*body);
  req.headers = base_headers_;
  req.headers.emplace_back("Content-Encoding",
                           std::string(wire::ContentEncoding(options_.compression)));
  for (const auto& h : extra_headers) req.headers.push_back(h);

  uint64_t seq = 0;
  {
    std::lock_guard lock(sent_mu_);
    seq = next_seq_++;
    pending_.insert(seq);
  }
  transport::RequestCallbacks cb;
  cb.done = [this, kind, seq](const transport::Outcome& o) {
    OnDone(kind, o);
    Finished(seq);
  };
  cb.retrying = [this, kind](const transport::HttpResponse& r, transport::Duration wait) {
    retried_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(log_mu_);
    if (retry_log_.Allow()) {
      spdlog::warn("forwarder: failed to send {}, retrying status={} error=\"{}\" wait={}ms", kind,
                   r.status, r.error,
                   std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    }
  };
  client_->Send(std::move(req), retry, std::move(cb));
}

void HttpForwarder::OnDone(std::string_view kind, const transport::Outcome& o) {
  if (o.completion == transport::Completion::kSent) {
    sent_.fetch_add(1, std::memory_order_relaxed);
    const auto us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(o.last.latency).count());
    latency_sum_us_.fetch_add(us, std::memory_order_relaxed);
    AtomicMax(latency_max_us_, us);
    last_send_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count(),
                        std::memory_order_relaxed);
    return;
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  if (kind == "service check" && o.last.status == 404) {
    // An aggregator without /v2/check (gostatsd, an older cstatsd): every check is dropped the
    // same way; saying so once is enough (http.forwarder.dropped counts them).
    if (!check_404_logged_.exchange(true, std::memory_order_relaxed)) {
      spdlog::error(
          "forwarder: the aggregator does not take service checks (404 on {}); they are dropped "
          "and counted in http.forwarder.dropped",
          kServiceCheckPath);
    }
    return;
  }
  std::lock_guard lock(log_mu_);
  if (drop_log_.Allow()) {
    spdlog::error("forwarder: {} dropped ({}) attempts={} status={} error=\"{}\" body=\"{}\"", kind,
                  transport::CompletionName(o.completion), o.attempts, o.last.status, o.last.error,
                  LogEscaped{std::string_view(o.last.body).substr(0, 200)});
  }
}

void HttpForwarder::WhenSent(std::function<void()> done) {
  {
    std::lock_guard lock(sent_mu_);
    const uint64_t barrier = next_seq_;
    if (!pending_.empty() && *pending_.begin() < barrier) {
      waiters_.emplace(barrier, std::move(done));
      return;
    }
  }
  done();
}

void HttpForwarder::Finished(uint64_t seq) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(sent_mu_);
    pending_.erase(seq);
    // A barrier is passed when no request numbered below it is pending.
    const uint64_t oldest = pending_.empty() ? next_seq_ : *pending_.begin();
    auto end = waiters_.upper_bound(oldest);
    for (auto it = waiters_.begin(); it != end; ++it) ready.push_back(std::move(it->second));
    waiters_.erase(waiters_.begin(), end);
  }
  for (auto& f : ready) f();
}

bool HttpForwarder::Stop(std::chrono::steady_clock::time_point deadline) {
  const bool drained = client_->Drain(deadline);
  if (!drained) {
    spdlog::error("forwarder: requests still pending at shutdown are dropped pending={}",
                  client_->outstanding());
  }
  client_->Shutdown();
  return drained;
}

ForwarderStats HttpForwarder::Totals() const {
  ForwarderStats s;
  s.invalid = invalid_.load(std::memory_order_relaxed);
  s.created = created_.load(std::memory_order_relaxed);
  s.sent = sent_.load(std::memory_order_relaxed);
  s.retried = retried_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  return s;
}

ForwarderStats HttpForwarder::TakeStats() {
  const ForwarderStats now = Totals();
  ForwarderStats s;
  {
    std::lock_guard lock(taken_mu_);
    s.invalid = now.invalid - taken_.invalid;
    s.created = now.created - taken_.created;
    s.sent = now.sent - taken_.sent;
    s.retried = now.retried - taken_.retried;
    s.dropped = now.dropped - taken_.dropped;
    taken_ = now;
  }
  s.post_latency_sum_ms =
      static_cast<double>(latency_sum_us_.exchange(0, std::memory_order_relaxed)) / 1000.0;
  s.post_latency_max_ms =
      static_cast<double>(latency_max_us_.exchange(0, std::memory_order_relaxed)) / 1000.0;
  return s;
}

std::optional<std::chrono::system_clock::time_point> HttpForwarder::LastSuccessfulSend() const {
  const int64_t ns = last_send_ns_.load(std::memory_order_relaxed);
  if (ns == 0) return std::nullopt;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(ns)));
}

std::pair<bool, std::string> HttpForwarder::SentRecentlyCheck() const {
  auto last = LastSuccessfulSend();
  if (!last) return {false, "sentRecently: never sent"};
  return {true, fmt::format("sentRecently: lastSend={:%Y-%m-%dT%H:%M:%S}Z",
                            fmt::gmtime(std::chrono::system_clock::to_time_t(*last)))};
}

}  // namespace cstatsd::forward
