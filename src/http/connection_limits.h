// The connection limits of an HTTP server without sockets (docs/http.md, docs/limits.md): why
// a connection or request is refused, how a request's headers delimit its body (CheckFraming),
// and the ConnectionTable that counts connections per address and keeps their deadlines. Owned
// by the server's event loop thread; pure otherwise (the clock is the caller's).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cstatsd::http {

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

}  // namespace cstatsd::http
