#include "ingest/tcp_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "ingest/socket.h"

namespace cstatsd::ingest {

Result<int> OpenTcpListener(const std::string& address) {
  auto addr = ParseListenAddress(address);
  if (!addr.ok() || addr->is_unix) {
    return Status::Error("metrics-tcp-addr: invalid address \"" + address + "\" (want host:port)");
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  const std::string host = addr->host.empty() ? "::" : addr->host;
  const int port = std::atoi(addr->port.c_str());
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    return Status::Error("metrics-tcp-addr: want a numeric IP address, got \"" + host + "\"");
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::Error(std::string("metrics-tcp-addr: socket: ") + strerror(errno));
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 128) != 0) {
    const std::string err = strerror(errno);
    close(fd);
    return Status::Error("metrics-tcp-addr: bind " + address + ": " + err);
  }
  return fd;
}

TcpReceiver::TcpReceiver(int listen_fd, Worker* worker, size_t max_line,
                         std::shared_ptr<tls::TlsContext> tls, size_t max_connections)
    : listen_fd_(listen_fd),
      worker_(worker),
      max_line_(max_line),
      tls_(std::move(tls)),
      max_connections_(max_connections),
      chunk_(64 * 1024) {}

TcpReceiver::~TcpReceiver() {
  for (auto& c : connections_) close(c.fd);
}

void TcpReceiver::Accept() {
  while (true) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    const int fd =
        accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error: poll again
    if (connections_.size() >= max_connections_) {
      spdlog::warn("too many TCP metric connections, refusing one limit={}", max_connections_);
      close(fd);
      continue;
    }
    Connection c{fd, {}, {}, false, {}, POLLIN};
    FormatSender(ss, c.sender);
    if (tls_) c.tls.emplace(tls_, fd);
    connections_.push_back(std::move(c));
  }
}

ssize_t TcpReceiver::ReadSome(Connection& c, bool& ended) {
  ended = false;
  c.wait_for = POLLIN;
  if (c.tls) {
    const tls::IoResult r = c.tls->Read(chunk_.data(), chunk_.size());
    switch (r.state) {
      case tls::IoState::kDone:
        return static_cast<ssize_t>(r.n);
      case tls::IoState::kWantWrite:
        c.wait_for = POLLOUT;
        [[fallthrough]];
      case tls::IoState::kWantRead:
        return 0;
      case tls::IoState::kError:
        spdlog::warn("TLS metrics connection failed sender={} error={}", c.sender, c.tls->error());
        [[fallthrough]];
      case tls::IoState::kClosed:
        ended = true;
        return -1;
    }
  }
  while (true) {
    const ssize_t n = read(c.fd, chunk_.data(), chunk_.size());
    if (n > 0) return n;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    ended = n == 0;  // a read error ends the connection without its unterminated last line
    return -1;
  }
}

void TcpReceiver::Consume(Connection& c, std::string_view data) {
  if (c.skipping) {
    const size_t nl = data.find('\n');
    if (nl == std::string_view::npos) return;
    data.remove_prefix(nl + 1);
    c.skipping = false;
  }
  c.buffer.append(data);
  const size_t last_nl = c.buffer.rfind('\n');
  if (last_nl != std::string::npos) {
    worker_->ProcessDatagram(c.buffer.data(), last_nl + 1, c.sender, NowUnixNanos());
    c.buffer.erase(0, last_nl + 1);
  }
  if (c.buffer.size() > max_line_) {
    // An over-long line: dropped as one bad line; its remaining bytes are skipped.
    worker_->CountBadLine("line longer than receive-buffer-size", c.sender);
    c.buffer.clear();
    c.skipping = true;
  }
}

bool TcpReceiver::ReadFrom(Connection& c) {
  while (true) {
    bool ended = false;
    const ssize_t n = ReadSome(c, ended);
    if (n > 0) {
      Consume(c, std::string_view(chunk_.data(), static_cast<size_t>(n)));
      continue;
    }
    if (n == 0) return true;
    // The peer closed: its last line needs no newline.
    if (ended && !c.skipping && !c.buffer.empty()) {
      worker_->ProcessDatagram(c.buffer.data(), c.buffer.size(), c.sender, NowUnixNanos());
    }
    return false;
  }
}

void TcpReceiver::Run() {
  std::vector<pollfd> fds;
  while (!worker_->stop_requested()) {
    worker_->ServiceHandOver();
    fds.clear();
    fds.push_back({worker_->wake_fd(), POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const auto& c : connections_) fds.push_back({c.fd, c.wait_for, 0});
    if (poll(fds.data(), fds.size(), 1000) <= 0) continue;
    if (fds[0].revents & POLLIN) {
      uint64_t drain;
      [[maybe_unused]] ssize_t r = read(worker_->wake_fd(), &drain, sizeof(drain));
    }
    if (fds[1].revents & POLLIN) Accept();
    // Connections are read in poll order; finished ones are removed afterwards.
    size_t kept = 0;
    const size_t polled = fds.size() - 2;
    for (size_t i = 0; i < connections_.size(); ++i) {
      bool alive = true;
      if (i < polled && fds[i + 2].revents != 0) alive = ReadFrom(connections_[i]);
      if (alive) {
        if (kept != i) connections_[kept] = std::move(connections_[i]);
        ++kept;
      } else {
        close(connections_[i].fd);
      }
    }
    connections_.erase(connections_.begin() + static_cast<std::ptrdiff_t>(kept),
                       connections_.end());
  }
  // Stop: take connections already queued, read what they already delivered, then hand over
  // the last map.
  Accept();
  for (auto& c : connections_) ReadFrom(c);
  worker_->ServiceHandOver();
}

}  // namespace cstatsd::ingest
