#include "backends/common/tcp_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cstatsd::backends {
namespace {

int Millis(std::chrono::nanoseconds d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return ms > 0x7fffffff ? 0x7fffffff : static_cast<int>(ms);
}

}  // namespace

bool SplitHostPort(std::string_view address, std::string& host, std::string& port) {
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return false;
    }
    host = std::string(address.substr(1, close - 1));
    port = std::string(address.substr(close + 2));
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = std::string(address.substr(0, colon));
    port = std::string(address.substr(colon + 1));
  }
  return !port.empty();
}

TcpClient::TcpClient(std::string address, std::chrono::nanoseconds dial_timeout,
                     std::chrono::nanoseconds write_timeout, std::shared_ptr<tls::TlsContext> tls)
    : address_(std::move(address)),
      dial_timeout_(dial_timeout),
      write_timeout_(write_timeout),
      tls_(std::move(tls)) {}

TcpClient::~TcpClient() { Close(); }

void TcpClient::Close() {
  stream_.reset();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

Status TcpClient::Dial() {
  std::string host, port;
  if (!SplitHostPort(address_, host, port)) {
    return Status::Error("invalid address \"" + address_ + "\"");
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Status::Error("resolve " + address_ + ": " + gai_strerror(rc));
  std::string error = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      r = poll(&p, 1, Millis(dial_timeout_));
      if (r == 0) {
        error = "dial " + address_ + ": timed out";
        close(fd);
        continue;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      r = err == 0 ? 0 : -1;
      errno = err;
    }
    if (r != 0) {
      error = "dial " + address_ + ": " + std::strerror(errno);
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fd_ = fd;
    freeaddrinfo(res);
    return tls_ ? Handshake(host) : Status();
  }
  freeaddrinfo(res);
  return Status::Error(error);
}

bool TcpClient::WaitFor(short events, bool has_deadline,
                        std::chrono::steady_clock::time_point deadline) {
  int wait_ms = -1;
  if (has_deadline) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds(0)) return false;
    wait_ms = std::max(1, Millis(left));
  }
  pollfd p{fd_, events, 0};
  poll(&p, 1, wait_ms);
  return true;
}

Status TcpClient::Handshake(const std::string& host) {
  stream_.emplace(tls_, fd_, host);
  const auto deadline = std::chrono::steady_clock::now() + dial_timeout_;
  while (true) {
    const tls::IoResult r = stream_->Handshake();
    if (r.state == tls::IoState::kDone) return {};
    if (r.state == tls::IoState::kWantRead || r.state == tls::IoState::kWantWrite) {
      const short ev = r.state == tls::IoState::kWantRead ? POLLIN : POLLOUT;
      if (WaitFor(ev, true, deadline)) continue;
      Close();
      return Status::Error("TLS handshake with " + address_ + ": timed out");
    }
    const std::string err = stream_->error();
    Close();
    return Status::Error("TLS handshake with " + address_ + ": " + err);
  }
}

bool TcpClient::PeerClosed() {
  // The peer (Carbon, a statsd server) never sends data: hung up, or readable without TLS,
  // means it closed the connection. A write into a dead connection would "succeed" into the
  // kernel buffer and be lost. Under TLS, readable may also be a session ticket: read it.
  pollfd p{fd_, POLLIN | POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
  if (!(p.revents & POLLIN)) return false;
  if (!stream_) return true;
  char scratch[512];
  while (true) {
    const tls::IoResult r = stream_->Read(scratch, sizeof(scratch));
    if (r.state == tls::IoState::kDone) continue;
    return r.state != tls::IoState::kWantRead && r.state != tls::IoState::kWantWrite;
  }
}

TcpClient::Delivery TcpClient::Finish(std::chrono::nanoseconds timeout, std::string* error) {
  if (fd_ < 0) {
    if (error != nullptr) *error = "not connected";
    return Delivery::kReset;
  }
  if (stream_) {
    Close();
    return Delivery::kConfirmed;
  }
  if (shutdown(fd_, SHUT_WR) != 0) {
    if (error != nullptr) *error = std::string("shutdown: ") + std::strerror(errno);
    Close();
    return Delivery::kReset;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char scratch[4096];
  Delivery out = Delivery::kNoAnswer;
  while (true) {
    const ssize_t n = recv(fd_, scratch, sizeof(scratch), MSG_DONTWAIT);
    if (n == 0) {
      out = Delivery::kConfirmed;
      break;
    }
    if (n > 0) continue;  // Carbon does not write; whatever it is, it is not our concern
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      if (error != nullptr) *error = std::strerror(errno);
      out = Delivery::kReset;
      break;
    }
    if (!WaitFor(POLLIN | POLLRDHUP, true, deadline)) break;
  }
  Close();
  return out;
}

Status TcpClient::Write(std::string_view data, bool wait_for_backoff) {
  if (fd_ >= 0 && PeerClosed()) Close();
  if (fd_ < 0) {
    if (wait_for_backoff) backoff_.Wait();
    if (Status s = Dial(); !s.ok()) {
      backoff_.Failed();
      return s;
    }
    backoff_.Succeeded();
  }
  const bool has_deadline = write_timeout_.count() > 0;
  const auto deadline = std::chrono::steady_clock::now() + write_timeout_;
  size_t done = 0;
  while (done < data.size()) {
    short wait_for = POLLOUT;
    if (stream_) {
      const tls::IoResult r = stream_->Write(data.data() + done, data.size() - done);
      if (r.state == tls::IoState::kDone) {
        done += r.n;
        continue;
      }
      if (r.state != tls::IoState::kWantRead && r.state != tls::IoState::kWantWrite) {
        const std::string err = stream_->error().empty() ? "closed" : stream_->error();
        Close();
        return Status::Error("write " + address_ + ": " + err);
      }
      if (r.state == tls::IoState::kWantRead) wait_for = POLLIN;
    } else {
      const ssize_t n = send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (!(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
        const std::string err = std::strerror(errno);
        Close();
        return Status::Error("write " + address_ + ": " + err);
      }
    }
    if (!WaitFor(wait_for, has_deadline, deadline)) {
      Close();
      return Status::Error("write " + address_ + ": timed out");
    }
  }
  return {};
}

}  // namespace cstatsd::backends
