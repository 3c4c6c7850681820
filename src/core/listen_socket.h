// ListenTcp: a listening TCP socket for the HTTP servers (http/, the Prometheus scrape
// listener): non-blocking, close-on-exec, SO_REUSEADDR, a backlog of SOMAXCONN, on the first
// address of host:port that binds. The caller owns the descriptor.
#pragma once

#include <string>

#include "core/result.h"

namespace cstatsd {

struct TcpListenOptions {
  // SO_REUSEPORT: another process may bind the same port, for a hand-over (metrics-reuse-port,
  // docs/restarts.md). Without it a second server fails to bind instead of taking half of the
  // connections.
  bool reuse_port = false;
  // IPv6 addresses first, with IPV6_V6ONLY off: with no host, one socket takes IPv4 too, as Go's
  // listeners do.
  bool dual_stack = false;
};

struct TcpListener {
  int fd = -1;
  int port = 0;  // the bound port (port 0 asks the kernel for one)
  int family = 0;
};

// host "" = every address. The error is the reason alone (the resolver's or the system's), for
// a message that names the caller's key.
Result<TcpListener> ListenTcp(const std::string& host, int port, const TcpListenOptions& options);

}  // namespace cstatsd
