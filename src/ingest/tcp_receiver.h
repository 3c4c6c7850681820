// TcpReceiver: statsd lines over TCP (a cstatsd extension; gostatsd has no TCP input). One
// thread polls the listening socket, every connection and its Worker's wake-up eventfd; complete
// lines are fed to that Worker (which owns the maps and the hand-over, as for UDP); a partial
// last line waits for the rest (LineAssembler, at most max_line bytes). With a TLS context every
// connection is TLS (handshake included in the same non-blocking loop). No client can hold the
// thread: each round reads at most `read_budget` bytes from each connection (as a recvmmsg batch
// bounds a UDP round), idle connections and handshakes that never complete are closed, surplus
// connections and those the file-descriptor limit cannot take are refused and counted. Run() is
// the thread body; the Worker's Stop() ends it; counters() may be read from any thread.
#pragma once

#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "ingest/line_assembler.h"
#include "ingest/worker.h"
#include "stats/rate_limiter.h"
#include "tls/tls.h"

namespace cstatsd::ingest {

// A listening TCP socket on host:port ("127.0.0.1:0" picks a port). `reuse_port` (the
// metrics-reuse-port hand-over) lets it share the port with another process's listener;
// otherwise a port in use is an error naming metrics-tcp-addr.
Result<int> OpenTcpListener(const std::string& address, bool reuse_port = false);

struct TcpOptions {
  size_t max_line = 65535;        // receive-buffer-size: a longer line is one bad line
  size_t max_connections = 1024;  // metrics-tcp-max-connections: more are refused (closed)
  std::chrono::nanoseconds idle_timeout =
      std::chrono::minutes(5);     // metrics-tcp-idle-timeout:
                                   // a connection that delivers no line data for this long (or
                                   // whose TLS handshake takes longer) is closed; 0 = never
  size_t read_budget = 64 * 1024;  // bytes read from one connection per round
};

// Written by the receiver's thread (relaxed), read by the flusher.
struct TcpCounters {
  std::atomic<uint64_t> open{0};       // connections open now
  std::atomic<uint64_t> accepted{0};   // connections accepted in total
  std::atomic<uint64_t> refused{0};    // closed at once: over max_connections or out of fds
  std::atomic<uint64_t> timed_out{0};  // closed after idle_timeout (or a handshake that long)
};

class TcpReceiver {
 public:
  TcpReceiver(int listen_fd, Worker* worker, const TcpOptions& options,
              std::shared_ptr<tls::TlsContext> tls = {});
  ~TcpReceiver();
  TcpReceiver(const TcpReceiver&) = delete;
  TcpReceiver& operator=(const TcpReceiver&) = delete;

  void Run();
  const TcpCounters& counters() const { return counters_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Connection {
    int fd;
    std::string sender;
    LineAssembler lines;
    std::optional<tls::TlsStream> tls;
    Clock::time_point last_active;  // accepted, or last line data received
    short wait_for = POLLIN;        // POLLOUT while a TLS handshake waits to write
    bool pending = false;           // the budget ran out: more may be readable without a poll
  };

  void Accept(Clock::time_point now);
  void Refuse(int fd, const char* why, Clock::time_point now);
  // Reads up to `budget` bytes; false when the connection is finished.
  bool ReadFrom(Connection& c, size_t budget, Clock::time_point now);
  // One read: >0 bytes, 0 when there is nothing more for now, -1 when the connection ended.
  ssize_t ReadSome(Connection& c, size_t max, bool& ended);
  // Closes connections idle past the timeout; returns the next deadline (or max()).
  Clock::time_point ExpireIdle(Clock::time_point now);
  void Close(Connection& c);
  void CompactClosed();

  int listen_fd_;
  Worker* worker_;
  const TcpOptions options_;
  std::shared_ptr<tls::TlsContext> tls_;
  std::vector<Connection> connections_;
  std::vector<char> chunk_;
  TcpCounters counters_;
  int spare_fd_ = -1;                      // kept open to accept-and-close at the fd limit
  Clock::time_point listen_paused_until_;  // out of fds and no spare: the listener rests
  stats::RateLimiter refusal_log_;
  uint64_t refused_unlogged_ = 0;
  stats::RateLimiter timeout_log_;
  uint64_t timed_out_unlogged_ = 0;
  stats::RateLimiter tls_error_log_;
};

}  // namespace cstatsd::ingest
