#include "transport/http_client.h"

#include <algorithm>
#include <cstdlib>
#include <future>

#include "transport/curl_easy.h"

namespace cstatsd::transport {
namespace {

long Seconds(Duration d, long min) {
  return std::max(min,
                  static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(d).count()));
}

}  // namespace

void InitHttpClients() { curl::GlobalInit(); }

std::string NoProxyList() {
  std::string list;
  for (const char* var : {"NO_PROXY", "no_proxy"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0') {
      list = v;
      break;
    }
  }
  if (list == "*") return list;
  if (!list.empty()) list += ",";
  return list + "localhost,127.0.0.0/8,::1";
}

std::string_view CompletionName(Completion c) {
  switch (c) {
    case Completion::kSent:
      return "sent";
    case Completion::kGaveUp:
      return "gave up";
    case Completion::kDropped:
      return "dropped from a full queue";
    case Completion::kAborted:
      return "aborted at shutdown";
  }
  return "?";
}

struct HttpClient::Job {
  HttpRequest request;
  RetryState retry;
  RequestCallbacks callbacks;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpResponse response;  // of the current attempt
  SteadyClock::time_point attempt_start;
  // response-header-timeout: when the request was fully sent, and whether a header came back.
  Duration header_timeout{0};
  std::optional<SteadyClock::time_point> sent_at;
  bool got_header = false;
  bool header_timed_out = false;

  Job(HttpRequest r, const RetryOptions& o, RequestCallbacks c)
      : request(std::move(r)), retry(o), callbacks(std::move(c)) {}
  ~Job() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }

  static size_t OnBody(char* data, size_t size, size_t n, void* self) {
    auto* job = static_cast<Job*>(self);
    const size_t len = size * n;
    std::string& body = job->response.body;
    if (body.size() < HttpResponse::kMaxBodyKept) {
      body.append(data, std::min(len, HttpResponse::kMaxBodyKept - body.size()));
    }
    return len;
  }

  // libcurl calls this often during a transfer and at least once a second while it waits, so
  // response-header-timeout is enforced to within about a second.
  static int OnProgress(void* self, curl_off_t, curl_off_t, curl_off_t ultotal, curl_off_t ulnow) {
    auto* job = static_cast<Job*>(self);
    if (job->got_header) return 0;
    const auto now = SteadyClock::now();
    if (!job->sent_at && ulnow >= ultotal &&
        ulnow == static_cast<curl_off_t>(job->request.body.size())) {
      job->sent_at = now;
    }
    if (job->sent_at && now - *job->sent_at > job->header_timeout) {
      job->header_timed_out = true;
      return 1;  // abort the transfer
    }
    return 0;
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* self) {
    auto* job = static_cast<Job*>(self);
    const size_t len = size * n;
    job->got_header = true;
    auto h = curl::ParseHeaderLine(std::string_view(data, len));
    if (h && h->first == "retry-after") job->response.retry_after = std::move(h->second);
    return len;
  }
};

HttpClient::HttpClient(TransportOptions transport, ClientOptions options)
    : transport_(std::move(transport)), options_(options), no_proxy_(NoProxyList()) {}

Result<std::unique_ptr<HttpClient>> HttpClient::Create(const TransportOptions& transport,
                                                       ClientOptions options) {
  curl::GlobalInit();
  options.max_in_flight = std::max<size_t>(1, options.max_in_flight);
  std::unique_ptr<HttpClient> c(new HttpClient(transport, options));
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) return Status::Error("cannot create a libcurl multi handle");
  c->multi_ = multi;
  // Connections kept open for reuse (max-idle-connections; 0 = unlimited).
  const long max_connects = transport.max_idle_connections > 0
                                ? transport.max_idle_connections
                                : static_cast<long>(options.max_in_flight);
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, max_connects);
  if (transport.enable_http2) curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  return c;
}

HttpClient::~HttpClient() {
  Shutdown();
  // Run() has returned (or never ran): no transfer is attached any more. Requests queued while
  // no loop ran are completed here.
  active_.clear();
  std::deque<std::unique_ptr<Job>> left;
  {
    std::lock_guard lock(mu_);
    left.swap(queued_);
  }
  for (auto& job : left) Complete(std::move(job), Completion::kAborted);
  if (multi_ != nullptr) curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

void HttpClient::Send(HttpRequest request, const RetryOptions& retry, RequestCallbacks callbacks) {
  auto job = std::make_unique<Job>(std::move(request), retry, std::move(callbacks));
  std::unique_ptr<Job> dropped;
  bool aborted = false;
  {
    std::lock_guard lock(mu_);
    if (shutdown_) {
      aborted = true;
    } else {
      if (queued_.size() >= options_.max_queued) {
        dropped = std::move(queued_.front());
        queued_.pop_front();
        --outstanding_;
      }
      queued_.push_back(std::move(job));
      ++outstanding_;
    }
  }
  if (aborted) {
    Complete(std::move(job), Completion::kAborted);
    return;
  }
  if (dropped) Complete(std::move(dropped), Completion::kDropped);
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

Outcome HttpClient::SendAndWait(HttpRequest request, const RetryOptions& retry,
                                std::function<void(const HttpResponse&, Duration)> retrying) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  auto future = promise->get_future();
  Send(std::move(request), retry,
       {[promise](const Outcome& o) { promise->set_value(o); }, std::move(retrying)});
  return future.get();
}

size_t HttpClient::outstanding() const {
  std::lock_guard lock(mu_);
  return outstanding_;
}

bool HttpClient::Drain(SteadyClock::time_point deadline) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_until(lock, deadline, [&] { return outstanding_ == 0; });
}

void HttpClient::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (shutdown_) return;
    shutdown_ = true;
  }
  if (multi_ != nullptr) curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

void HttpClient::Complete(std::unique_ptr<Job> job, Completion completion) {
  Outcome outcome;
  outcome.completion = completion;
  outcome.attempts = job->retry.attempts();
  outcome.last = std::move(job->response);
  auto done = std::move(job->callbacks.done);
  job.reset();
  if (done) done(outcome);
}

void HttpClient::StartAttempt(Job& job) {
  const TransportOptions& t = transport_;
  if (job.easy == nullptr) {
    CURL* e = curl_easy_init();
    job.easy = e;
    curl_easy_setopt(e, CURLOPT_PRIVATE, &job);
    job.headers = curl::SetRequest(e, job.request);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Job::OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &job);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Job::OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &job);
    if (t.response_header_timeout > Duration::zero()) {
      job.header_timeout = t.response_header_timeout;
      curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &Job::OnProgress);
      curl_easy_setopt(e, CURLOPT_XFERINFODATA, &job);
      curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    }
    curl::ConnectionSetup c;
    c.no_proxy = &no_proxy_;  // loopback never proxied
    c.http2 = t.enable_http2;
    c.timeout = t.client_timeout;  // client-timeout: the whole exchange (0 = none)
    // dialer-timeout + tls-handshake-timeout: libcurl's connect phase includes the TLS
    // handshake, so its budget is the sum (0 = libcurl's default of 300 s).
    if (t.dialer_timeout > Duration::zero()) {
      c.connect_timeout = t.dialer_timeout + t.tls_handshake_timeout;
    }
    c.keep_alive_idle = t.dialer_keep_alive;  // -1 off, 0 on with libcurl's period
    c.network = t.network;
    curl::SetConnection(e, c);
    if (t.idle_connection_timeout > Duration::zero()) {
      curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, Seconds(t.idle_connection_timeout, 1));
    }
  }
  job.response = HttpResponse{};
  job.attempt_start = SteadyClock::now();
  job.sent_at.reset();
  job.got_header = false;
  job.header_timed_out = false;
  curl_multi_add_handle(static_cast<CURLM*>(multi_), job.easy);
}

void HttpClient::FinishAttempt(Job& job, int curl_code) {
  curl_multi_remove_handle(static_cast<CURLM*>(multi_), job.easy);
  HttpResponse& r = job.response;
  r.latency = SteadyClock::now() - job.attempt_start;
  if (curl_code == CURLE_OK) {
    curl_easy_getinfo(job.easy, CURLINFO_RESPONSE_CODE, &r.status);
  } else {
    r.status = 0;
    r.error = job.header_timed_out ? "timeout awaiting response headers"
                                   : curl_easy_strerror(static_cast<CURLcode>(curl_code));
  }
  std::optional<Duration> retry_after;
  if (!r.retry_after.empty()) {
    retry_after = ParseRetryAfter(r.retry_after, std::chrono::system_clock::now());
  }
  const RetryDecision d = job.retry.Decide(r.status, retry_after, r.body);
  if (d.action == RetryAction::kRetry) {
    if (job.callbacks.retrying) job.callbacks.retrying(r, d.wait);
    waiting_.emplace(SteadyClock::now() + d.wait, &job);
    return;
  }
  auto it = active_.find(&job);
  std::unique_ptr<Job> owned = std::move(it->second);
  active_.erase(it);
  Complete(std::move(owned),
           d.action == RetryAction::kDone ? Completion::kSent : Completion::kGaveUp);
  std::lock_guard lock(mu_);
  if (--outstanding_ == 0) idle_cv_.notify_all();
}

void HttpClient::Run() {
  auto* multi = static_cast<CURLM*>(multi_);
  for (;;) {
    std::vector<std::unique_ptr<Job>> admitted;
    {
      std::lock_guard lock(mu_);
      if (shutdown_) break;
      while (!queued_.empty() && active_.size() + admitted.size() < options_.max_in_flight) {
        admitted.push_back(std::move(queued_.front()));
        queued_.pop_front();
      }
    }
    for (auto& job : admitted) {
      Job* raw = job.get();
      active_.emplace(raw, std::move(job));
      StartAttempt(*raw);
    }
    const auto now = SteadyClock::now();
    while (!waiting_.empty() && waiting_.begin()->first <= now) {
      Job* job = waiting_.begin()->second;
      waiting_.erase(waiting_.begin());
      StartAttempt(*job);
    }

    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    bool finished = false;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Job* job = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &job);
      FinishAttempt(*job, msg->data.result);
      finished = true;
    }

    // A finished transfer freed a slot: admit what is queued before waiting.
    long timeout_ms = finished ? 0 : 1000;
    if (!waiting_.empty()) {
      const auto until = waiting_.begin()->first - SteadyClock::now();
      timeout_ms = std::clamp<long>(
          static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(until).count()) +
              1,
          0, timeout_ms);
    }
    long curl_timeout = -1;
    curl_multi_timeout(multi, &curl_timeout);
    if (curl_timeout >= 0) timeout_ms = std::min(timeout_ms, curl_timeout);
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(timeout_ms), nullptr);
  }

  // Shut down: everything still pending is aborted.
  std::vector<std::unique_ptr<Job>> aborted;
  for (auto& [raw, job] : active_) {
    curl_multi_remove_handle(multi, raw->easy);
    aborted.push_back(std::move(job));
  }
  active_.clear();
  waiting_.clear();
  {
    std::lock_guard lock(mu_);
    for (auto& job : queued_) aborted.push_back(std::move(job));
    queued_.clear();
  }
  for (auto& job : aborted) Complete(std::move(job), Completion::kAborted);
  std::lock_guard lock(mu_);
  outstanding_ = 0;
  idle_cv_.notify_all();
}

}  // namespace cstatsd::transport
