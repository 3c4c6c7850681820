// A cpp-httplib server on 127.0.0.1, an ephemeral port, run on its own thread for one test: it
// records every request and answers with the statuses the test scripts. Shared by the transport
// and forward unit tests.
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
#include <vector>

namespace cstatsd::testing {

// Note: Debian's cpp-httplib is built with zlib, so a `deflate` (or gzip) request body reaches
// the handler already inflated (and a bad one is refused); other encodings arrive as sent.
struct RecordedRequest {
  std::string method;
  std::string path;
  std::multimap<std::string, std::string> headers;  // as httplib keeps them
  std::string body;

  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    }
    return "";
  }
};

class LocalHttpServer {
 public:
  LocalHttpServer() {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      int status = 202;
      std::string retry_after;
      {
        std::lock_guard lock(mu_);
        RecordedRequest r;
        r.method = req.method;
        r.path = req.path;
        for (const auto& [k, v] : req.headers) r.headers.emplace(k, v);
        r.body = req.body;
        requests_.push_back(std::move(r));
        retry_after = retry_after_next_;
        if (!statuses_.empty()) {
          status = statuses_.front();
          statuses_.pop_front();
        }
        cv_.notify_all();
      }
      res.status = status;
      if (status >= 300 && !retry_after.empty()) res.set_header("Retry-After", retry_after);
    };
    server_.Post(".*", handler);
    server_.Put(".*", handler);
    server_.Get(".*", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LocalHttpServer() {
    server_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The next requests get these statuses, in order; then 202.
  void Script(std::vector<int> statuses) {
    std::lock_guard lock(mu_);
    statuses_.assign(statuses.begin(), statuses.end());
  }

  // Failures carry this Retry-After header from now on.
  void SetRetryAfter(std::string value) {
    std::lock_guard lock(mu_);
    retry_after_next_ = std::move(value);
  }

  // Waits (bounded, generously) until at least n requests arrived; returns what arrived.
  std::vector<RecordedRequest> WaitFor(size_t n,
                                       std::chrono::seconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
    return requests_;
  }
  std::vector<RecordedRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<RecordedRequest> requests_;
  std::deque<int> statuses_;
  std::string retry_after_next_;  // guarded by mu_
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
