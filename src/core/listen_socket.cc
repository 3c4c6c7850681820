#include "core/listen_socket.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace cstatsd {

Result<TcpListener> ListenTcp(const std::string& host, int port, const TcpListenOptions& options) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* ai = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &ai);
      rc != 0) {
    return Status::Error(gai_strerror(rc));
  }
  std::vector<addrinfo*> order;
  for (addrinfo* p = ai; p != nullptr; p = p->ai_next) order.push_back(p);
  if (options.dual_stack) {
    std::stable_sort(order.begin(), order.end(), [](const addrinfo* a, const addrinfo* b) {
      return a->ai_family == AF_INET6 && b->ai_family != AF_INET6;
    });
  }
  TcpListener l;
  int err = 0;
  for (addrinfo* p : order) {
    const int fd = ::socket(p->ai_family, p->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      err = errno;
      continue;
    }
    const int yes = 1, no = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (options.reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof(yes));
    if (options.dual_stack && p->ai_family == AF_INET6) {
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof(no));
    }
    // The backlog: a burst of connections (forwarders reconnecting after a restart, scrapers)
    // must not be met with dropped SYNs and 1 s retransmissions.
    if (::bind(fd, p->ai_addr, p->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
      l.fd = fd;
      l.family = p->ai_family;
      break;
    }
    err = errno;
    ::close(fd);
  }
  freeaddrinfo(ai);
  if (l.fd < 0) return Status::Error(std::strerror(err));
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(l.fd, reinterpret_cast<sockaddr*>(&ss), &len);
  l.port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return l;
}

}  // namespace cstatsd
