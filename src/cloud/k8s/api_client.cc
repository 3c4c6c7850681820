#include "cloud/k8s/api_client.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "cloud/k8s/watch_stream.h"

namespace cstatsd::cloud::k8s {
namespace {

transport::BlockingClientOptions ClientOptions(const Connection& c, const std::string& agent) {
  transport::BlockingClientOptions o;
  o.connect_timeout = std::chrono::seconds(10);
  o.keep_alive_idle = std::chrono::seconds(30);
  o.keep_alive_interval = std::chrono::seconds(15);
  o.user_agent = agent;
  o.username = c.username;
  o.password = c.password;
  o.tls.insecure_skip_verify = c.insecure_skip_tls_verify;
  o.tls.ca_file = c.ca_file;
  o.tls.ca_pem = c.ca_pem;
  o.tls.cert_file = c.client_cert_file;
  o.tls.cert_pem = c.client_cert_pem;
  o.tls.key_file = c.client_key_file;
  o.tls.key_pem = c.client_key_pem;
  return o;
}

}  // namespace

void StopSignal::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
}

bool StopSignal::WaitFor(Duration d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return stopped(); });
}

std::string ApiResponse::Describe() const {
  if (status == 0 || !error.empty()) return error.empty() ? "no response" : error;
  std::string snippet = body.substr(0, 300);
  std::replace(snippet.begin(), snippet.end(), '\n', ' ');
  return "HTTP " + std::to_string(status) + (snippet.empty() ? "" : ": " + snippet);
}

ApiClient::ApiClient(Connection connection, std::string user_agent, double qps, double burst,
                     StopSignal* stop)
    : connection_(std::move(connection)),
      user_agent_(std::move(user_agent)),
      bucket_(qps, burst),
      stop_(stop),
      http_(ClientOptions(connection_, user_agent_)) {}

ApiResponse ApiClient::Get(const std::string& path_and_query, Duration timeout) {
  return Perform(path_and_query, timeout, false, 0, nullptr, nullptr);
}

ApiResponse ApiClient::Stream(const std::string& path_and_query, Duration timeout, size_t max_line,
                              const std::function<bool(std::string_view)>& on_line,
                              const std::function<void()>& tick) {
  return Perform(path_and_query, timeout, true, max_line, &on_line, &tick);
}

ApiResponse ApiClient::Perform(const std::string& path_and_query, Duration timeout, bool stream,
                               size_t max_line,
                               const std::function<bool(std::string_view)>* on_line,
                               const std::function<void()>* tick) {
  ApiResponse r;
  const Duration wait = bucket_.Reserve(std::chrono::steady_clock::now());
  if ((wait > Duration::zero() && !stop_->WaitFor(wait)) || stop_->stopped()) {
    r.stopped = true;
    r.error = "stopped";
    return r;
  }

  transport::HttpRequest request;
  request.method = "GET";
  request.url = connection_.server + path_and_query;
  request.headers.emplace_back("Accept", "application/json");
  const std::string token = CurrentToken(connection_);
  if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);

  transport::CallOptions call;
  call.timeout = std::max<Duration>(timeout, std::chrono::milliseconds(1));
  // Lists can be large and the API server compresses them; a watch stream is left as it is.
  call.accept_encoding = !stream;
  call.abortable = false;
  call.cancelled = [this] { return stop_->stopped(); };
  LineSplitter lines(max_line);  // a stream's lines
  bool line_too_long = false;
  if (stream) {
    call.on_data = [&](std::string_view data) {
      const LineSplitter::Fed fed = lines.Feed(data, *on_line);
      if (fed == LineSplitter::Fed::kTooLong) line_too_long = true;
      return fed == LineSplitter::Fed::kMore;
    };
    if (tick != nullptr) call.tick = *tick;
  }
  transport::BlockingResponse t = http_.Do(request, call);
  r.status = t.status;
  if (t.aborted) {
    r.stopped = true;
    r.error = "stopped";
  }
  const bool http_ok = r.status >= 200 && r.status < 300;
  if (!t.aborted) {
    if (line_too_long) {
      r.error = "a line of the stream is longer than " + std::to_string(max_line) + " bytes";
    } else if (!t.error.empty()) {
      r.error = t.error;
      if (t.timed_out && stream && http_ok) r.error.clear();  // the stream ended
    } else if (stream && http_ok && !t.ended_by_caller) {
      lines.Finish(*on_line);  // a last line without '\n'
    }
  }
  if (!r.stopped && !r.error.empty() && r.status != 0 && !http_ok) {
    r.error.clear();  // an HTTP error status says it better
  }
  r.body = std::move(t.body);
  return r;
}

}  // namespace cstatsd::cloud::k8s
