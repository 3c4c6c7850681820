// Opening the metrics sockets (spec §1.1): UDP on host:port (IPv4 or IPv6, SO_REUSEPORT so each
// worker has its own socket), or a unix datagram socket when the address is an absolute path.
// Called on the main thread at startup.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

struct sockaddr_storage;

#include "core/result.h"

namespace cstatsd::ingest {

struct ListenAddress {
  bool is_unix = false;
  std::string host;  // empty = all interfaces
  std::string port;  // service or number
  std::string path;  // unix socket path
};

Result<ListenAddress> ParseListenAddress(std::string_view addr);

// A bound UDP socket. `port` 0 picks a free port; open the next ones with the port it got.
// recv_buffer_bytes > 0 asks for that SO_RCVBUF (SO_RCVBUFFORCE when permitted).
Result<int> OpenUdpSocket(const ListenAddress& addr, bool reuse_port, int recv_buffer_bytes);

// A bound unix datagram socket (an existing socket file is replaced).
Result<int> OpenUnixgramSocket(const std::string& path, int recv_buffer_bytes);

// The local port a socket is bound to (0 for unix sockets).
int LocalPort(int fd);

// The sender's IP as text (spec §1.2): IPv4 dotted, IPv4-mapped IPv6 as IPv4, else IPv6
// (canonical); empty for other families (unix sockets have no source).
void FormatSender(const sockaddr_storage& ss, std::string& out);

// Wall-clock time in unix nanoseconds (a batch's timestamp).
int64_t NowUnixNanos();

// The receive buffer the kernel granted a socket (bytes of payload it can queue).
int ReceiveBufferBytes(int fd);

}  // namespace cstatsd::ingest
