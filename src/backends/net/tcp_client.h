// TcpClient: one persistent TCP connection to host:port for a backend's thread — dial with a
// timeout, write a whole payload with a write timeout, close on any error so the next write
// dials afresh. Owned and used by one backend thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cstatsd::backends::net {

class TcpClient {
 public:
  TcpClient(std::string address, std::chrono::nanoseconds dial_timeout,
            std::chrono::nanoseconds write_timeout);
  ~TcpClient();
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  // Writes all of `data`, dialling first when not connected. On failure the connection is
  // closed and the error names the address.
  Status Write(std::string_view data);
  void Close();
  bool connected() const { return fd_ >= 0; }
  const std::string& address() const { return address_; }

 private:
  Status Dial();

  std::string address_;
  std::chrono::nanoseconds dial_timeout_;
  std::chrono::nanoseconds write_timeout_;  // 0 = none
  int fd_ = -1;
};

// Splits "host:port" / "[v6]:port"; false when malformed.
bool SplitHostPort(std::string_view address, std::string& host, std::string& port);

}  // namespace cstatsd::backends::net
