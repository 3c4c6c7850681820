#include "ingest/socket.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace cstatsd::ingest {
namespace {

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

void SetRecvBuffer(int fd, int bytes) {
  if (bytes <= 0) return;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
  }
}

}  // namespace

Result<ListenAddress> ParseListenAddress(std::string_view addr) {
  ListenAddress out;
  if (!addr.empty() && addr.front() == '/') {
    out.is_unix = true;
    out.path = std::string(addr);
    return out;
  }
  std::string_view host, port;
  if (!addr.empty() && addr.front() == '[') {
    size_t close = addr.find(']');
    if (close == std::string_view::npos || close + 1 >= addr.size() || addr[close + 1] != ':') {
      return Status::Error("metrics-addr: invalid address \"" + std::string(addr) +
                           "\" (want host:port, [ipv6]:port or an absolute path)");
    }
    host = addr.substr(1, close - 1);
    port = addr.substr(close + 2);
  } else {
    size_t colon = addr.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::Error("metrics-addr: missing port in address \"" + std::string(addr) + "\"");
    }
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Status::Error("metrics-addr: IPv6 addresses need brackets: \"" + std::string(addr) +
                           "\"");
    }
  }
  if (port.empty()) {
    return Status::Error("metrics-addr: missing port in address \"" + std::string(addr) + "\"");
  }
  out.host = std::string(host);
  out.port = std::string(port);
  return out;
}

namespace {

// `bind_error` receives the errno of the last failed bind (0 if none failed).
Result<int> OpenUdp(const ListenAddress& addr, bool reuse_port, int recv_buffer_bytes,
                    int& bind_error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  // No host: listen on all interfaces, IPv6 dual-stack first, then IPv4.
  const char* node = addr.host.empty() ? nullptr : addr.host.c_str();
  if (node == nullptr) hints.ai_family = AF_INET6;
  int rc = getaddrinfo(node, addr.port.c_str(), &hints, &res);
  if (rc != 0 && node == nullptr) {
    hints.ai_family = AF_INET;
    rc = getaddrinfo(node, addr.port.c_str(), &hints, &res);
  }
  if (rc != 0) {
    return Status::Error("metrics-addr: cannot resolve \"" + addr.host + ":" + addr.port +
                         "\": " + gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = Errno("socket");
      continue;
    }
    int one = 1, zero = 0;
    if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (ai->ai_family == AF_INET6 && node == nullptr) {
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    SetRecvBuffer(fd, recv_buffer_bytes);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      freeaddrinfo(res);
      return fd;
    }
    bind_error = errno;
    last_error = Errno("bind " + addr.host + ":" + addr.port);
    close(fd);
  }
  freeaddrinfo(res);
  if (node == nullptr && hints.ai_family == AF_INET6 && bind_error != EADDRINUSE) {
    // IPv6 may be disabled on this host: fall back to IPv4.
    ListenAddress v4 = addr;
    v4.host = "0.0.0.0";
    return OpenUdp(v4, reuse_port, recv_buffer_bytes, bind_error);
  }
  return Status::Error("metrics-addr: " + last_error);
}

std::string HostPort(const ListenAddress& addr) {
  if (addr.host.find(':') != std::string::npos) return "[" + addr.host + "]:" + addr.port;
  return addr.host + ":" + addr.port;
}

}  // namespace

Result<int> OpenUdpSocket(const ListenAddress& addr, bool reuse_port, int recv_buffer_bytes) {
  int bind_error = 0;
  return OpenUdp(addr, reuse_port, recv_buffer_bytes, bind_error);
}

Result<int> ClaimUdpPort(const ListenAddress& addr) {
  int bind_error = 0;
  auto fd = OpenUdp(addr, false, 0, bind_error);
  if (!fd.ok()) {
    if (bind_error == EADDRINUSE) {
      return Status::Error("metrics-addr: " + HostPort(addr) +
                           " is already in use by another process (set metrics-reuse-port = true "
                           "only to share it deliberately, for a hand-over)");
    }
    return fd.status();
  }
  const int port = LocalPort(*fd);
  close(*fd);
  return port;
}

namespace {

// Binds a UDP socket of `addr`'s family to `addr` (port 0) and connects every fd to the address
// it got. Returns it, or -1 with errno set.
int ConnectToPlaceholder(sockaddr_storage addr, socklen_t len, const std::vector<int>& fds) {
  if (addr.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in&>(addr).sin_port = 0;
  } else {
    reinterpret_cast<sockaddr_in6&>(addr).sin6_port = 0;
  }
  const int peer = socket(addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (peer < 0) return -1;
  if (bind(peer, reinterpret_cast<const sockaddr*>(&addr), len) == 0 &&
      getsockname(peer, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    bool connected = true;
    for (int fd : fds) {
      if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
        connected = false;
        break;
      }
    }
    if (connected) return peer;
  }
  const int err = errno;
  close(peer);
  errno = err;
  return -1;
}

}  // namespace

Result<int> DetachUdpSockets(const std::vector<int>& fds) {
  if (fds.empty()) return Status::Error("socket hand-over: no socket to detach");
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (getsockname(fds.front(), reinterpret_cast<sockaddr*>(&local), &len) != 0) {
    return Status::Error(Errno("socket hand-over: getsockname"));
  }
  // The placeholder sits on the sockets' own address; on loopback when they listen on every
  // interface (IPv6 ::1, else the IPv4-mapped 127.0.0.1 of a dual-stack socket).
  std::vector<sockaddr_storage> candidates;
  if (local.ss_family == AF_INET) {
    auto& a = reinterpret_cast<sockaddr_in&>(local);
    if (a.sin_addr.s_addr == htonl(INADDR_ANY)) a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    candidates.push_back(local);
  } else if (local.ss_family == AF_INET6) {
    auto& a = reinterpret_cast<sockaddr_in6&>(local);
    if (IN6_IS_ADDR_UNSPECIFIED(&a.sin6_addr)) {
      a.sin6_addr = in6addr_loopback;
      candidates.push_back(local);
      inet_pton(AF_INET6, "::ffff:127.0.0.1", &a.sin6_addr);
    }
    candidates.push_back(local);
  } else {
    return Status::Error("socket hand-over: not an IP socket");
  }
  for (const sockaddr_storage& c : candidates) {
    const int peer = ConnectToPlaceholder(c, len, fds);
    if (peer >= 0) return peer;
  }
  return Status::Error(Errno("socket hand-over: connect"));
}

Result<int> OpenUnixgramSocket(const std::string& path, int recv_buffer_bytes, SocketFile* file) {
  sockaddr_un sa{};
  if (path.size() >= sizeof(sa.sun_path)) {
    return Status::Error("metrics-addr: unix socket path too long: " + path);
  }
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.data(), path.size());
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::Error("metrics-addr: " + path + " exists and is not a socket");
    }
    // Someone listening there (another cstatsd) keeps it; only a stale file is replaced.
    const int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return Status::Error(Errno("metrics-addr: socket"));
    const int rc = connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    const int err = errno;
    close(probe);
    if (rc == 0 || err == EPROTOTYPE) {
      return Status::Error("metrics-addr: " + path +
                           " is the socket of a running process (it accepts connections); stop "
                           "that process or choose another path");
    }
    if (err != ECONNREFUSED) {
      return Status::Error("metrics-addr: cannot tell whether " + path +
                           " is in use: connect: " + std::strerror(err));
    }
    unlink(path.c_str());
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Error(Errno("metrics-addr: socket"));
  SetRecvBuffer(fd, recv_buffer_bytes);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    std::string err = errno == EADDRINUSE
                          ? "metrics-addr: " + path + " was created by another process meanwhile"
                          : Errno("metrics-addr: bind " + path);
    close(fd);
    return Status::Error(err);
  }
  if (file != nullptr) {
    file->path = path;
    if (lstat(path.c_str(), &st) == 0) {
      file->dev = st.st_dev;
      file->ino = st.st_ino;
    }
  }
  return fd;
}

void RemoveSocketFile(const SocketFile& file) {
  if (file.path.empty()) return;
  struct stat st {};
  if (lstat(file.path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode) || st.st_dev != file.dev || st.st_ino != file.ino) return;
  unlink(file.path.c_str());
}

void FormatSender(const sockaddr_storage& ss, std::string& out) {
  char buf[INET6_ADDRSTRLEN] = {0};
  out.clear();
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(ss).sin_addr, buf, sizeof(buf));
  } else if (ss.ss_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      inet_ntop(AF_INET, reinterpret_cast<const uint8_t*>(&a6) + 12, buf, sizeof(buf));
    } else {
      inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
    }
  } else {
    return;
  }
  out = buf;
}

#ifndef UDP_GRO
#define UDP_GRO 104  // linux/udp.h (Linux 5.0)
#endif

static_assert(CMSG_SPACE(sizeof(int)) <= kGroControlBytes);

bool EnableUdpGro(int fd) {
  int one = 1;
  return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
}

size_t GroSegmentSize(const msghdr& h) {
  if (h.msg_controllen == 0) return 0;
  for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int size = 0;
      std::memcpy(&size, CMSG_DATA(c), sizeof(size));
      return size > 0 ? static_cast<size_t>(size) : 0;
    }
  }
  return 0;
}

int64_t NowUnixNanos() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int ReceiveBufferBytes(int fd) {
  int bytes = 0;
  socklen_t len = sizeof(bytes);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, &len) != 0) return 0;
  return bytes / 2;  // Linux reports twice the payload it accounts for (bookkeeping overhead)
}

int LocalPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

}  // namespace cstatsd::ingest
