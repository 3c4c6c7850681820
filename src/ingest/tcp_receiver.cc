#include "ingest/tcp_receiver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "ingest/socket.h"

namespace cstatsd::ingest {
namespace {

// Out of file descriptors and without a spare to free: the listener is not polled for this
// long (a listener that stays readable would make the loop spin).
constexpr auto kAcceptPause = std::chrono::milliseconds(250);
// Connections taken off the listen queue per round at most, so that a flood of new connections
// delays neither the reads nor the hand-over (the rest wait in the queue for the next round).
constexpr int kAcceptsPerRound = 256;
// Refusals and timeouts are logged at most once per 10 s (with the number since the last line).
constexpr double kLogsPerMinute = 6;

int OpenSpareFd() { return open("/dev/null", O_RDONLY | O_CLOEXEC); }

bool OutOfFds(int err) { return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM; }

}  // namespace

Result<int> OpenTcpListener(const std::string& address, bool reuse_port) {
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
  // SO_REUSEADDR only skips TIME_WAIT leftovers: a live listener still makes bind fail.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, SOMAXCONN) != 0) {
    const int err = errno;
    close(fd);
    if (err == EADDRINUSE) {
      return Status::Error("metrics-tcp-addr: " + address +
                           " is already in use by another process (set metrics-reuse-port = "
                           "true only to share it deliberately, for a hand-over)");
    }
    return Status::Error("metrics-tcp-addr: bind " + address + ": " + strerror(err));
  }
  return fd;
}

TcpReceiver::TcpReceiver(int listen_fd, Worker* worker, const TcpOptions& options,
                         std::shared_ptr<tls::TlsContext> tls)
    : listen_fd_(listen_fd),
      worker_(worker),
      options_(options),
      tls_(std::move(tls)),
      chunk_(std::max<size_t>(1, std::min<size_t>(options.read_budget, 64 * 1024))),
      spare_fd_(OpenSpareFd()),
      refusal_log_(kLogsPerMinute),
      timeout_log_(kLogsPerMinute),
      tls_error_log_(kLogsPerMinute) {}

TcpReceiver::~TcpReceiver() {
  for (auto& c : connections_) {
    if (c.fd >= 0) close(c.fd);
  }
  if (spare_fd_ >= 0) close(spare_fd_);
}

void TcpReceiver::Refuse(int fd, const char* why, Clock::time_point now) {
  close(fd);
  stats::Bump(counters_.refused);
  ++refused_unlogged_;
  if (refusal_log_.Allow(now)) {
    spdlog::warn("refused TCP metric connections count={} reason=\"{}\" max_connections={}",
                 refused_unlogged_, why, options_.max_connections);
    refused_unlogged_ = 0;
  }
}

void TcpReceiver::Accept(Clock::time_point now) {
  for (int round = 0; round < kAcceptsPerRound; ++round) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    const int fd =
        accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;  // that client left
      if (!OutOfFds(err)) return;  // EAGAIN: the queue is empty
      // Out of file descriptors: free the spare to take the connection off the queue and close
      // it, so that the listener does not stay readable (a busy loop) and the client learns.
      if (spare_fd_ >= 0) {
        close(spare_fd_);
        const int taken = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        const int taken_err = errno;
        if (taken >= 0) Refuse(taken, "out of file descriptors", now);  // frees the slot again
        spare_fd_ = OpenSpareFd();
        if (spare_fd_ >= 0) {
          if (taken >= 0) continue;
          if (taken_err == EAGAIN || taken_err == EWOULDBLOCK) return;  // the queue is empty
        }
      }
      // No spare (another thread took the descriptor): rest the listener for a while.
      listen_paused_until_ = now + kAcceptPause;
      return;
    }
    if (connections_.size() >= options_.max_connections) {
      Refuse(fd, "metrics-tcp-max-connections reached", now);
      continue;
    }
    Connection c{fd, {}, LineAssembler(options_.max_line), {}, now};
    FormatSender(ss, c.sender);
    if (tls_) c.tls.emplace(tls_, fd);
    connections_.push_back(std::move(c));
    stats::Bump(counters_.accepted);
  }
}

ssize_t TcpReceiver::ReadSome(Connection& c, size_t max, bool& ended) {
  ended = false;
  c.wait_for = POLLIN;
  if (c.tls) {
    const tls::IoResult r = c.tls->Read(chunk_.data(), max);
    switch (r.state) {
      case tls::IoState::kDone:
        return static_cast<ssize_t>(r.n);
      case tls::IoState::kWantWrite:
        c.wait_for = POLLOUT;
        [[fallthrough]];
      case tls::IoState::kWantRead:
        return 0;
      case tls::IoState::kError:
        if (tls_error_log_.Allow()) {
          spdlog::warn(
              "TLS metrics connection failed sender={} error={} (logged at most every 10 s)",
              c.sender, c.tls->error());
        }
        [[fallthrough]];
      case tls::IoState::kClosed:
        ended = true;
        return -1;
    }
  }
  while (true) {
    const ssize_t n = read(c.fd, chunk_.data(), max);
    if (n > 0) return n;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    ended = n == 0;  // a read error ends the connection without its unterminated last line
    return -1;
  }
}

bool TcpReceiver::ReadFrom(Connection& c, size_t budget, Clock::time_point now) {
  auto lines = [&](char* data, size_t len) {
    worker_->ProcessDatagram(data, len, c.sender, NowUnixNanos());
  };
  auto too_long = [&] { worker_->CountBadLine("line longer than receive-buffer-size", c.sender); };
  c.pending = false;
  size_t read_so_far = 0;
  while (read_so_far < budget) {
    bool ended = false;
    const ssize_t n = ReadSome(c, std::min(chunk_.size(), budget - read_so_far), ended);
    if (n > 0) {
      read_so_far += static_cast<size_t>(n);
      c.last_active = now;
      c.lines.Feed(chunk_.data(), static_cast<size_t>(n), lines, too_long);
      continue;
    }
    if (n == 0) return true;
    // The peer closed: its last line needs no newline.
    if (ended) c.lines.Finish(lines);
    return false;
  }
  c.pending = true;  // the budget is spent; the rest waits for the next round
  return true;
}

void TcpReceiver::Close(Connection& c) {
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
}

void TcpReceiver::CompactClosed() {
  std::erase_if(connections_, [](const Connection& c) { return c.fd < 0; });
  counters_.open.store(connections_.size(), std::memory_order_relaxed);
}

TcpReceiver::Clock::time_point TcpReceiver::ExpireIdle(Clock::time_point now) {
  auto next = Clock::time_point::max();
  if (options_.idle_timeout <= std::chrono::nanoseconds::zero()) return next;
  const auto timeout = std::chrono::duration_cast<Clock::duration>(options_.idle_timeout);
  uint64_t expired = 0;
  for (auto& c : connections_) {
    const auto deadline = c.last_active + timeout;
    if (deadline <= now) {
      Close(c);
      ++expired;
    } else {
      next = std::min(next, deadline);
    }
  }
  if (expired > 0) {
    stats::Bump(counters_.timed_out, expired);
    timed_out_unlogged_ += expired;
    if (timeout_log_.Allow(now)) {
      spdlog::info("closed idle TCP metric connections count={} idle_timeout={}ms",
                   timed_out_unlogged_,
                   std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
      timed_out_unlogged_ = 0;
    }
    CompactClosed();
  }
  return next;
}

void TcpReceiver::Run() {
  std::vector<pollfd> fds;
  while (!worker_->stop_requested()) {
    worker_->ServiceHandOver();
    auto now = Clock::now();
    const auto next_expiry = ExpireIdle(now);
    const bool listening = now >= listen_paused_until_;
    fds.clear();
    fds.push_back({worker_->wake_fd(), POLLIN, 0});
    fds.push_back({listening ? listen_fd_ : -1, POLLIN, 0});
    bool pending = false;
    for (const auto& c : connections_) {
      fds.push_back({c.fd, c.wait_for, 0});
      pending = pending || c.pending;
    }
    auto wake_at = std::min(next_expiry, now + std::chrono::seconds(1));
    if (!listening) wake_at = std::min(wake_at, listen_paused_until_);
    int timeout_ms = 0;
    if (!pending && wake_at > now) {
      timeout_ms =
          static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wake_at - now).count());
    }
    const int ready = poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0) continue;  // EINTR
    if (ready == 0 && !pending) continue;
    now = Clock::now();
    if (fds[0].revents & POLLIN) {
      uint64_t drain;
      [[maybe_unused]] ssize_t r = read(worker_->wake_fd(), &drain, sizeof(drain));
    }
    // Every connection gets one budget per round, in turn; hand-over and stop are looked at
    // between connections, so no client delays them by more than one budget.
    const size_t polled = fds.size() - 2;
    for (size_t i = 0; i < polled && !worker_->stop_requested(); ++i) {
      Connection& c = connections_[i];
      if (fds[i + 2].revents == 0 && !c.pending) continue;
      if (!ReadFrom(c, options_.read_budget, now)) Close(c);
      worker_->ServiceHandOver();
    }
    if (fds[1].revents & POLLIN) Accept(now);
    CompactClosed();
  }
  // Stop: take connections already queued, read what each had already delivered (bounded by
  // what its socket held then, so a client that keeps sending cannot delay the exit), then hand
  // over the last map.
  const auto now = Clock::now();
  Accept(now);
  for (auto& c : connections_) {
    int queued = 0;
    if (ioctl(c.fd, FIONREAD, &queued) != 0) queued = 0;
    const size_t budget = std::max(options_.read_budget, static_cast<size_t>(queued));
    if (!ReadFrom(c, budget, now)) Close(c);
  }
  CompactClosed();
  worker_->ServiceHandOver();
}

}  // namespace cstatsd::ingest
