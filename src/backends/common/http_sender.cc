#include "backends/common/http_sender.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>

#include "stats/rate_limiter.h"

namespace cstatsd::backends {

std::string DescribeFailure(const transport::Outcome& o) {
  std::string what = std::string(transport::CompletionName(o.completion));
  if (o.last.status != 0) {
    what += ", last status " + std::to_string(o.last.status);
    if (!o.last.body.empty()) what += ": " + o.last.body.substr(0, 200);
  } else if (!o.last.error.empty()) {
    what += ", " + o.last.error;
  }
  return what;
}

Result<std::unique_ptr<HttpSender>> HttpSender::Create(const config::Config& config,
                                                       std::string_view backend,
                                                       std::string_view transport_name,
                                                       size_t max_requests) {
  std::vector<std::string> warnings;
  auto t = transport::LoadTransportOptions(config, transport_name, &warnings);
  for (const auto& w : warnings) spdlog::warn("{} backend={}", w, backend);
  if (!t.ok()) return t.status();
  transport::ClientOptions co;
  co.max_in_flight = max_requests == 0 ? 1 : max_requests;
  // SendAll hands over at most max_in_flight batches at a time; the queue also holds an event
  // or a credentials request sent meanwhile.
  co.max_queued = std::max<size_t>(co.max_in_flight, 1000);
  auto client = transport::HttpClient::Create(*t, co);
  if (!client.ok()) return client.status();
  return std::unique_ptr<HttpSender>(
      new HttpSender(std::string(backend), std::move(*client), co.max_in_flight));
}

Status HttpSender::SendAll(std::vector<Batch> batches, const transport::RetryOptions& retry,
                           BackendStats& stats,
                           const std::function<Status(const transport::HttpResponse&)>& accept) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    size_t pending = 0;    // not yet done
    size_t in_flight = 0;  // handed to the client, not yet done
    size_t dropped = 0;
    std::string first_error;
  };
  auto shared = std::make_shared<Shared>();
  shared->pending = batches.size();
  BackendStats::Add(stats.created, batches.size());
  // At most max_in_flight batches are handed to the client at a time: the next one waits here,
  // on the backend's own thread, for a slot. Queueing them all at once would overflow the
  // client's waiting queue (which drops its oldest) on a flush of thousands of batches.
  for (Batch& b : batches) {
    {
      std::unique_lock lock(shared->mu);
      shared->cv.wait(lock, [&] { return shared->in_flight < limit_; });
      ++shared->in_flight;
    }
    const size_t series = b.series;
    transport::RequestCallbacks cb;
    cb.retrying = [&stats, name = backend_](const transport::HttpResponse& r,
                                            transport::Duration wait) {
      BackendStats::Add(stats.retried, 1);
      spdlog::warn("failed to send, retrying backend={} status={} error=\"{}\" wait_ms={}", name,
                   r.status, r.error,
                   std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    };
    cb.done = [shared, &stats, series, &accept](const transport::Outcome& o) {
      std::string error;
      if (o.completion != transport::Completion::kSent) {
        error = DescribeFailure(o);
      } else if (accept) {
        if (Status s = accept(o.last); !s.ok()) error = s.message();
      }
      if (error.empty()) {
        BackendStats::Add(stats.sent, 1);
        BackendStats::Add(stats.series_sent, series);
      } else {
        BackendStats::Add(stats.dropped, 1);
      }
      std::lock_guard lock(shared->mu);
      if (!error.empty()) {
        ++shared->dropped;
        if (shared->first_error.empty()) shared->first_error = error;
      }
      --shared->in_flight;
      --shared->pending;
      shared->cv.notify_all();
    };
    client_->Send(std::move(b.request), retry, std::move(cb));
  }
  std::unique_lock lock(shared->mu);
  shared->cv.wait(lock, [&] { return shared->pending == 0; });
  if (shared->dropped == 0) return {};
  return Status::Error(std::to_string(shared->dropped) + " of " + std::to_string(batches.size()) +
                       " batches dropped: " + shared->first_error);
}

Status HttpSender::SendOne(transport::HttpRequest request, const transport::RetryOptions& retry,
                           BackendStats& stats) {
  const transport::Outcome o = client_->SendAndWait(
      std::move(request), retry, [&stats](const transport::HttpResponse&, transport::Duration) {
        BackendStats::Add(stats.retried, 1);
      });
  if (o.completion == transport::Completion::kSent) return {};
  return Status::Error(DescribeFailure(o));
}

}  // namespace cstatsd::backends
