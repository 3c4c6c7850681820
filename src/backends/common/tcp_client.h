// TcpClient: one persistent TCP (or TLS over TCP) connection to host:port for a backend's
// thread — dial (and handshake) with a timeout, write a whole payload with a write timeout, close
// on any error so the next write dials afresh; after failed dials the next dial backs off
// (DialBackoff). Owned and used by one backend thread; Interrupt() may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "backends/common/dial_backoff.h"
#include "core/result.h"
#include "tls/tls.h"

namespace cstatsd::backends {

class TcpClient {
 public:
  // With `tls`, every connection is TLS, the server's certificate checked against the host.
  TcpClient(std::string address, std::chrono::nanoseconds dial_timeout,
            std::chrono::nanoseconds write_timeout, std::shared_ptr<tls::TlsContext> tls = {});
  ~TcpClient();
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  // Writes all of `data`, dialling first when not connected — after waiting out the dial backoff
  // unless `wait_for_backoff` is false (a retry right after a broken connection). On failure the
  // connection is closed and the error names the address.
  Status Write(std::string_view data, bool wait_for_backoff = true);

  // How the peer took the end of a payload (Finish).
  enum class Delivery {
    kConfirmed,  // the peer read up to our FIN and closed its side (FIN back)
    kReset,      // the peer reset the connection: it closed with bytes of ours unread
    kNoAnswer,   // neither within the timeout (a receiver that keeps the connection open)
  };
  // Ends a payload on a plain TCP connection: half-closes it (SHUT_WR) and waits up to `timeout`
  // for the peer's answer, reading and discarding what it sends. A write that succeeded only
  // reached the kernel's send buffer; Linux answers with RST when a socket is closed with data
  // still unread, so a FIN back proves the receiver read the whole payload. The connection is
  // closed afterwards (the next Write dials again). Under TLS: kConfirmed after the close.
  Delivery Finish(std::chrono::nanoseconds timeout, std::string* error);
  void Close();
  // Ends the current and every later backoff wait (shutdown: what is queued is tried at once).
  void Interrupt() { backoff_.Interrupt(); }
  const DialBackoff& backoff() const { return backoff_; }
  bool connected() const { return fd_ >= 0; }
  const std::string& address() const { return address_; }

 private:
  Status Dial();
  Status Handshake(const std::string& host);
  bool PeerClosed();
  // Waits for `events` on the socket until `deadline` (none when has_deadline is false).
  bool WaitFor(short events, bool has_deadline, std::chrono::steady_clock::time_point deadline);

  std::string address_;
  std::chrono::nanoseconds dial_timeout_;
  std::chrono::nanoseconds write_timeout_;  // 0 = none
  std::shared_ptr<tls::TlsContext> tls_;
  std::optional<tls::TlsStream> stream_;  // set while a TLS connection is up
  int fd_ = -1;
  DialBackoff backoff_;
};

// Splits "host:port" / "[v6]:port"; false when malformed.
bool SplitHostPort(std::string_view address, std::string& host, std::string& port);

}  // namespace cstatsd::backends
