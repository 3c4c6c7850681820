// The one fake HTTP server of the tests: cpp-httplib on 127.0.0.1, an ephemeral port, run on its
// own threads for one test. It records every request (with the status it answered) and answers
// either with the statuses a test scripts (202 otherwise) or through a handler the test gives
// (the k8s API server of tests/unit/cloud/k8s_fake_api_server.h is one). Waits are bounded.
// Used by the transport, forward, backends and cloud tests.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace cstatsd::testing {

// Note: Debian's cpp-httplib is built with zlib, so a `deflate` (or gzip) request body reaches
// the handler already inflated (and a bad one is refused); other encodings arrive as sent.
struct RecordedRequest {
  std::string method;
  std::string path;
  std::multimap<std::string, std::string> params;   // the query, decoded
  std::multimap<std::string, std::string> headers;  // as httplib keeps them
  std::string body;
  int status = 0;  // what the server answered

  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    }
    return "";
  }
  std::string Param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? "" : it->second;
  }
  bool HasParam(const std::string& name) const { return params.count(name) > 0; }
};

class FakeHttpServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  // Without a handler every GET, POST and PUT gets the scripted status (Script, SetRetryAfter).
  explicit FakeHttpServer(Handler handler = nullptr) : handler_(std::move(handler)) {
    auto serve = [this](const httplib::Request& req, httplib::Response& res) {
      if (handler_) {
        handler_(req, res);
      } else {
        Scripted(res);
      }
      RecordedRequest r;
      r.method = req.method;
      r.path = req.path;
      for (const auto& [k, v] : req.params) r.params.emplace(k, v);
      for (const auto& [k, v] : req.headers) r.headers.emplace(k, v);
      r.body = req.body;
      r.status = res.status;
      std::lock_guard lock(mu_);
      requests_.push_back(std::move(r));
      cv_.notify_all();
    };
    server_.Post(".*", serve);
    server_.Put(".*", serve);
    server_.Get(".*", serve);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // httplib 0.11 has no wait_until_ready(): poll its flag, bounded.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~FakeHttpServer() {
    server_.stop();
    thread_.join();
  }
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The next requests get these statuses, in order; then 202 (without a handler).
  void Script(std::vector<int> statuses) {
    std::lock_guard lock(mu_);
    statuses_.assign(statuses.begin(), statuses.end());
  }

  // Failures carry this Retry-After header from now on (without a handler).
  void SetRetryAfter(std::string value) {
    std::lock_guard lock(mu_);
    retry_after_next_ = std::move(value);
  }

  // Waits (bounded, generously) until at least n requests were answered; returns them.
  std::vector<RecordedRequest> WaitFor(size_t n,
                                       std::chrono::seconds timeout = std::chrono::seconds(20)) {
    return WaitUntil([n](const std::vector<RecordedRequest>& rs) { return rs.size() >= n; },
                     timeout);
  }
  // Waits (bounded) until pred(the requests so far); returns them.
  std::vector<RecordedRequest> WaitUntil(
      const std::function<bool(const std::vector<RecordedRequest>&)>& pred,
      std::chrono::seconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return pred(requests_); });
    return requests_;
  }
  std::vector<RecordedRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Scripted(httplib::Response& res) {
    int status = 202;
    std::string retry_after;
    {
      std::lock_guard lock(mu_);
      retry_after = retry_after_next_;
      if (!statuses_.empty()) {
        status = statuses_.front();
        statuses_.pop_front();
      }
    }
    res.status = status;
    if (status >= 300 && !retry_after.empty()) res.set_header("Retry-After", retry_after);
  }

  Handler handler_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<RecordedRequest> requests_;  // guarded by mu_
  std::deque<int> statuses_;               // guarded by mu_
  std::string retry_after_next_;           // guarded by mu_
};

// A loopback port with nothing listening on it (bound, never listened on, closed).
inline int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

}  // namespace cstatsd::testing
