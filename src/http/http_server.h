// HttpServer: one [http.<name>] server (docs/http.md) on libmicrohttpd — health checks, /expvar,
// what a C++ process can offer of /debug/pprof, and ingestion. Built and bound on the main
// thread; Run() is the body of one thread that server/ creates: an epoll event loop that serves
// every connection (reading requests, answering everything but ingestion itself) and enforces
// the connection limits and deadlines. Ingestion bodies, once read, are decompressed, decoded
// and ingested by a small pool of threads of the server's own while their connection is
// suspended, so the loop keeps answering /healthcheck. Stop() may be called from any thread.
// ADR docs/adr/0003-http-server-on-libmicrohttpd.md records the choice.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.h"
#include "http/health_checks.h"
#include "http/http_options.h"
#include "http/ingestion.h"
#include "http/routes.h"
#include "stats/rate_limiter.h"

namespace cstatsd::http {

// What the servers of one cstatsd share. Shared pointers: an HttpServer that did not stop in
// time is abandoned with its thread, and must not outlive what it refers to.
struct HttpServerDeps {
  std::shared_ptr<IngestTarget> ingest;  // required with enable-ingestion
  std::shared_ptr<HealthChecks> health;  // required with enable-healthcheck
  std::function<nlohmann::json()> vars;  // /expvar: the server's counters and settings
};

// Why a connection or a request was refused or cut off (the `reason` tag of http.refused).
enum class Refusal {
  kMaxConnections,       // max-connections open already: the new one closed at accept, or the
                         // oldest waiting for its headers closed to make room
  kMaxConnectionsPerIp,  // max-connections-per-ip open from its address: closed at accept
  kBadHead,              // request line or headers refused by the parser: 400, 414 or 431
  kBadFraming,           // Content-Length / Transfer-Encoding refused: 400, 413 or 501
  kHeaderTimeout,        // headers not complete within header-timeout: closed
  kRequestTimeout,       // body not complete within request-timeout: closed
};
inline constexpr size_t kRefusalCount = 6;
std::string_view RefusalName(Refusal r);  // "max-connections", "bad-head", ...

// Counted by the event loop; read by /expvar and the flusher (any thread).
struct HttpServerCounters {
  std::array<std::atomic<uint64_t>, kRefusalCount> refused{};
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> connections_peak{0};
  std::atomic<uint64_t> connections_accepted{0};
};

// How a request delimits its body (RFC 9112 §6), from its headers. Pure.
struct Framing {
  int status = 0;               // 0: acceptable; else the answer (400, 413, 501), then close
  std::string_view reason;      // why not (for the log)
  int64_t content_length = -1;  // -1: none announced
  bool chunked = false;
};
// `headers` are the request's header fields as received (name, value), in order. A
// Content-Length must be digits only (no sign, no list), every copy of it the same; a
// Transfer-Encoding must be exactly `chunked` and never comes with a Content-Length (the
// ambiguity request smuggling relies on); a Content-Length above `max_body` is a 413.
Framing CheckFraming(const std::vector<std::pair<std::string_view, std::string_view>>& headers,
                     int64_t max_body);

// The connection bookkeeping of one server, without sockets: open connections per client
// address (refused beyond the caps) and each connection's deadlines. Owned by the event loop
// thread; the clock is the caller's (tests inject it).
class ConnectionTable {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Phase {
    kHead,     // waiting for a request's line and headers (a kept-alive connection too)
    kBody,     // headers read: reading the body, or answering
    kWorking,  // the body is with the ingestion threads (not the client's time)
  };
  struct Entry {
    std::string address;  // the client's address (bytes of the IP, no port)
    int fd = -1;
    Phase phase = Phase::kHead;
    Clock::time_point start;    // of the current request: accept, or end of the previous answer
    bool cut = false;           // being closed by the server (shutdown(2) sent)
    bool head_started = false;  // a request line has been received since the last answer
    uint64_t answered = 0;      // requests answered on this connection
  };

  ConnectionTable(int max_total, int max_per_address, Clock::duration header_timeout,
                  Clock::duration request_timeout)
      : max_total_(max_total),
        max_per_address_(max_per_address),
        header_timeout_(header_timeout),
        request_timeout_(request_timeout) {}

  // Whether a new connection from `address` may be opened; if not, `why` names the cap. At
  // max-connections, the connection that has waited longest for a request's headers (kHead,
  // not being closed) makes room: it is marked cut and returned in `*evict` for the caller to
  // close, so connections that send nothing useful cannot keep new clients out. Refused only
  // when every connection has a request in progress.
  bool Admit(const std::string& address, Refusal* why, Entry** evict);
  // A connection opened (after Admit) and closed. `entry` stays valid until Remove.
  Entry* Add(std::string address, int fd, Clock::time_point now);
  void Remove(Entry* entry);
  // The request of `entry` moved on: kHead (a new request: its clock starts at `now`), kBody
  // (headers read; the clock runs on), kWorking (the clock stops), kBody again after
  // kWorking (answering: the clock starts again, the client is not blamed for our work).
  static void Enter(Entry* entry, Phase phase, Clock::time_point now);

  // The connections past a deadline at `now` and not cut yet, with the deadline each missed;
  // marks them cut. kHead: header-timeout (or request-timeout if shorter); kBody:
  // request-timeout; kWorking: none.
  std::vector<std::pair<Entry*, Refusal>> Expired(Clock::time_point now);

  size_t size() const { return entries_.size(); }
  int from(const std::string& address) const;
  template <typename F>
  void ForEach(F&& f) {
    for (auto& [ptr, e] : entries_) f(e.get());
  }

 private:
  const int max_total_;
  const int max_per_address_;
  const Clock::duration header_timeout_;
  const Clock::duration request_timeout_;
  std::unordered_map<Entry*, std::unique_ptr<Entry>> entries_;
  std::unordered_map<std::string, int> per_address_;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpServerDeps deps);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket (connections wait in the backlog until Run).
  Status Bind();
  // Thread body: serves until Stop(), then waits for the requests in progress.
  void Run();
  // Stops accepting and ends the server; Run() returns when the requests in progress are done.
  void Stop();
  // Waits until Run() has returned; false if it did not within `timeout`.
  bool WaitStopped(std::chrono::milliseconds timeout);

  int port() const { return port_; }
  const HttpServerOptions& options() const { return options_; }
  const IngestCounters& counters() const { return counters_; }
  const HttpServerCounters& server_counters() const { return server_counters_; }
  // The refusals counted since the previous call, each with its reason (http.refused). The
  // flusher's thread only.
  void TakeRefusals(const std::function<void(std::string_view reason, uint64_t n)>& f);

  struct Loop;  // the event loop's state (libmicrohttpd's callbacks reach it)

 private:
  friend struct Loop;
  HttpServerOptions options_;
  HttpServerDeps deps_;
  IngestCounters counters_;
  HttpServerCounters server_counters_;
  std::array<uint64_t, kRefusalCount> refusals_reported_{};  // the flusher's
  std::unique_ptr<Loop> loop_;
  int port_ = 0;
  int listen_fd_ = -1;

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool running_ = false;
  bool finished_ = false;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace cstatsd::http
