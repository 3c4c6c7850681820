#include "forward/http_forwarder.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/log_escape.h"
#include "forward/raw_message.h"
#include "forward/service_check_message.h"
#include "forward/shard_split.h"
#include "wire/compression.h"

namespace cstatsd::forward {
namespace {

void AtomicMax(std::atomic<uint64_t>& a, uint64_t v) {
  uint64_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

HealthOptions HealthOf(const ForwarderOptions& o) {
  HealthOptions h;
  h.failure_threshold = o.endpoint_failure_threshold;
  h.probe_max = o.endpoint_probe_max_interval;
  return h;
}

}  // namespace

struct HttpForwarder::Flight {
  std::string_view kind;
  std::string path;
  Headers headers;
  std::string body;  // compressed, as sent
  size_t raw_size = 0;
  transport::RetryOptions retry;  // the kind's own policy, before the sharding classifier
  Target target;
  bool reroute = false;  // an attempt failed on an aggregator out of the ring (loop thread)
};

HttpForwarder::HttpForwarder(ForwarderOptions options,
                             std::unique_ptr<transport::HttpClient> client)
    : options_(std::move(options)),
      client_(std::move(client)),
      endpoints_(std::make_shared<EndpointSet>(options_.Endpoints())),
      router_(endpoints_, HealthOf(options_)) {
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
  auto probe = wire::Compress(options_.compression, "", options_.compression_level);
  if (probe.ok()) probe_body_ = std::move(*probe);
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
  const std::shared_ptr<const Route> route = router_.Current();
  if (route->urls.size() <= 1) {
    Target one;
    if (!route->urls.empty()) one.url = route->urls[0];
    for (const Partition& p :
         PartitionByDynamicHeaders(merged, options_.dynamic_headers, options_.float_counters)) {
      Post("metrics", "/v2/raw", p.message, p.headers, retry_, one);
    }
    return;
  }
  SendProbes();
  const auto deadline = std::chrono::steady_clock::now() +
                        std::max(options_.max_request_elapsed_time, Duration::zero());
  for (const Partition& p : PartitionByDynamicHeaders(merged, options_.dynamic_headers,
                                                      options_.float_counters, &route->ring)) {
    Post("metrics", "/v2/raw", p.message, p.headers, retry_,
         Target{route->urls[p.endpoint], true, p.series, deadline, 0});
  }
}

HttpForwarder::Target HttpForwarder::AnyTarget() {
  const std::shared_ptr<const Route> route = router_.Current();
  Target t;
  if (route->urls.size() <= 1) {
    if (!route->urls.empty()) t.url = route->urls[0];
    return t;
  }
  t.url = router_.ChooseAny();
  t.sharded = true;
  t.deadline = std::chrono::steady_clock::now() +
               std::max(options_.max_request_elapsed_time, Duration::zero());
  return t;
}

void HttpForwarder::SendEvent(const Event& event) {
  Post("event", "/v2/event", ToEventV2(event), {}, retry_, AnyTarget());
}

void HttpForwarder::SendServiceCheck(const ServiceCheck& check) {
  Post("service check", std::string(kServiceCheckPath), ToServiceCheckV2(check), {}, check_retry_,
       AnyTarget());
}

void HttpForwarder::SendProbes() {
  // A probe is an empty RawMessageV2: what an aggregator must take for series to go to it.
  for (const std::string& url : router_.ProbesDue(std::chrono::steady_clock::now())) {
    transport::HttpRequest req;
    req.url = url + "/v2/raw";
    req.headers = base_headers_;
    req.headers.emplace_back("Content-Encoding",
                             std::string(wire::ContentEncoding(options_.compression)));
    req.body = probe_body_;
    transport::RetryOptions once;
    once.max_elapsed_time = Duration(-1);
    transport::RequestCallbacks cb;
    cb.done = [this, url](const transport::Outcome& o) {
      router_.ProbeFinished(url, o.completion == transport::Completion::kSent,
                            std::chrono::steady_clock::now());
    };
    client_->Send(std::move(req), once, std::move(cb));
  }
}

void HttpForwarder::Post(std::string_view kind, const std::string& path,
                         const google::protobuf::MessageLite& message, const Headers& extra_headers,
                         const transport::RetryOptions& retry, Target target) {
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
  Send(kind, path, std::move(*body), raw.size(), extra_headers, retry, std::move(target));
}

void HttpForwarder::Send(std::string_view kind, const std::string& path, std::string body,
                         size_t raw_size, const Headers& extra_headers,
                         const transport::RetryOptions& retry, Target target) {
  transport::HttpRequest req;
  req.url = (target.url.empty() ? options_.api_endpoint : target.url) + path;
  transport::RetryOptions policy = retry;
  std::shared_ptr<Flight> flight;
  if (target.sharded) {
    // Several aggregators: each attempt's result feeds the aggregator's health; once it is out
    // of the ring (and another is in), the request gives up on it and is re-routed.
    flight = std::make_shared<Flight>(
        Flight{kind, path, extra_headers, body, raw_size, retry, std::move(target), false});
    policy.fast_fail_non_retryable = true;
    policy.classify = [this, flight, base = retry.classify,
                       fast_fail = retry.fast_fail_non_retryable](long status,
                                                                  std::string_view answer) {
      const transport::AttemptResult a =
          base ? base(status, answer) : transport::ClassifyAttempt(status);
      const bool failed = status == 0 || status >= 500;  // no answer, a timeout, a 5xx
      if (router_.Attempt(flight->target.url, !failed, std::chrono::steady_clock::now()) &&
          failed) {
        flight->reroute = true;
        return transport::AttemptResult::kNonRetryable;
      }
      if (a == transport::AttemptResult::kNonRetryable && !fast_fail) {
        return transport::AttemptResult::kRetryable;  // retried, as without sharding
      }
      return a;
    };
  }
  req.body = std::move(body);
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
  cb.done = [this, kind, seq, flight](const transport::Outcome& o) {
    if (flight && o.completion == transport::Completion::kGaveUp && flight->reroute &&
        Reroute(*flight)) {
      // Neither sent nor dropped: its series are in the requests Reroute made.
    } else {
      OnDone(kind, o);
      if (flight && o.completion != transport::Completion::kSent) {
        router_.CountDropped(flight->target.url, flight->target.series,
                             flight->target.series == 0 ? 1 : 0);
      }
    }
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
  client_->Send(std::move(req), policy, std::move(cb));
}

bool HttpForwarder::Reroute(const Flight& f) {
  const std::shared_ptr<const Route> route = router_.Current();
  if (route->healthy == 0 || f.target.hops >= static_cast<int>(route->urls.size())) return false;
  transport::RetryOptions policy = f.retry;
  if (policy.max_elapsed_time >= Duration::zero()) {
    // Within what is left of the budget the payload started with.
    const auto left = f.target.deadline - std::chrono::steady_clock::now();
    if (left <= Duration::zero()) return false;
    policy.max_elapsed_time = std::chrono::duration_cast<Duration>(left);
  }
  if (f.target.series == 0) {  // an event or a service check: whole, to another aggregator
    Target t = f.target;
    t.url = router_.ChooseAny();
    ++t.hops;
    if (t.url == f.target.url) return false;
    Send(f.kind, f.path, f.body, f.raw_size, f.headers, policy, std::move(t));
    return true;
  }
  auto plain = wire::Decompress(options_.compression, f.body, f.raw_size);
  pb::RawMessageV2 msg;
  if (plain.error != wire::DecompressError::kNone || !msg.ParseFromString(plain.data)) {
    return false;
  }
  router_.CountRerouted(f.target.url, f.target.series);
  for (ShardPart& p : SplitRawMessage(std::move(msg), route->ring)) {
    Post(f.kind, f.path, p.message, f.headers, policy,
         Target{route->urls[p.endpoint], true, p.series, f.target.deadline, f.target.hops + 1});
  }
  return true;
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
