#include "loader/replay.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <thread>

namespace cstatsd::loader {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxUdpPayload = 65507;

uint64_t CountLines(std::string_view payload) {
  uint64_t n = 0;
  while (!payload.empty()) {
    const size_t nl = payload.find('\n');
    if (nl != 0) ++n;
    if (nl == std::string_view::npos) break;
    payload.remove_prefix(nl + 1);
  }
  return n;
}

// Sends one datagram; false if the socket refused it.
bool Send(int fd, std::string_view payload) {
  int refused = 0;
  while (true) {
    if (send(fd, payload.data(), payload.size(), 0) >= 0) return true;
    if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS) continue;
    // ECONNREFUSED reports an ICMP error for an earlier datagram: this one was not sent yet.
    if (errno == ECONNREFUSED && ++refused < 2) continue;
    return false;
  }
}

// N for a rotated file FILE.N (older the larger), 0 otherwise.
int RotationIndex(const std::string& path) {
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos || dot + 1 == path.size() || path.size() - dot > 5) return 0;
  int n = 0;
  for (size_t i = dot + 1; i < path.size(); ++i) {
    if (path[i] < '0' || path[i] > '9') return 0;
    n = n * 10 + (path[i] - '0');
  }
  return n;
}

}  // namespace

size_t SocketFor(const capture::Endpoint& source, size_t sockets) {
  if (sockets <= 1) return 0;
  return std::hash<std::string>{}(capture::EndpointText(source)) % sockets;
}

Result<std::vector<std::string>> OrderCaptureFiles(const std::vector<std::string>& files) {
  struct First {
    int64_t time_ns;
    int rotation;
    std::string path;
  };
  std::vector<First> firsts;
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return Status::Error(fmt::format("cannot open {}: {}", f, std::strerror(errno)));
    capture::CaptureReader reader(in);
    capture::Record r;
    switch (reader.Read(r)) {
      case capture::CaptureReader::Next::kRecord:
        firsts.push_back({r.time_ns, RotationIndex(f), f});
        break;
      case capture::CaptureReader::Next::kEnd:
        break;  // no datagram: nothing to send
      case capture::CaptureReader::Next::kError:
        return Status::Error(fmt::format("{}: {}", f, reader.error()));
    }
  }
  // Datagrams of one batch share a time, so a file can start at the time the one before it
  // ended: then the rotation suffix decides (FILE.2 before FILE.1 before FILE).
  std::stable_sort(firsts.begin(), firsts.end(), [](const First& a, const First& b) {
    return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.rotation > b.rotation;
  });
  std::vector<std::string> out;
  for (First& f : firsts) out.push_back(std::move(f.path));
  return out;
}

Result<ReplaySummary> Replay(const ReplayOptions& options, const sockaddr_storage& target,
                             socklen_t target_len) {
  auto ordered = OrderCaptureFiles(options.files);
  if (!ordered.ok()) return ordered.status();
  std::vector<int> fds;
  auto close_all = [&] {
    for (int fd : fds) close(fd);
  };
  for (int i = 0; i < std::max(1, options.sockets); ++i) {
    const int fd = socket(target.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&target), target_len) != 0) {
      const std::string why = std::strerror(errno);
      if (fd >= 0) close(fd);
      close_all();
      return Status::Error("cannot open a socket to the target: " + why);
    }
    fds.push_back(fd);
  }

  ReplaySummary s;
  s.files = ordered->size();
  const auto start = Clock::now();
  bool have_first = false;
  int64_t first_ns = 0;
  capture::Record r;
  for (const std::string& f : *ordered) {
    std::ifstream in(f, std::ios::binary);
    capture::CaptureReader reader(in);
    capture::CaptureReader::Next next;
    while ((next = reader.Read(r)) == capture::CaptureReader::Next::kRecord) {
      if (!have_first) {
        have_first = true;
        first_ns = r.time_ns;
      }
      if (options.speed > 0) {
        // Gaps from the first datagram, so that sleeping late never accumulates; a datagram
        // recorded before the previous one (another worker's) goes at once.
        const double offset_s = static_cast<double>(r.time_ns - first_ns) / 1e9 / options.speed;
        const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(offset_s));
        if (due > Clock::now()) std::this_thread::sleep_until(due);
      }
      if (r.payload.size() > kMaxUdpPayload ||
          !Send(fds[SocketFor(r.source, fds.size())], r.payload)) {
        ++s.errors;  // a unix datagram too long for UDP, or refused
        continue;
      }
      ++s.datagrams;
      s.bytes += r.payload.size();
      s.lines += CountLines(r.payload);
    }
    s.skipped += reader.skipped();
    if (next == capture::CaptureReader::Next::kError) {
      s.error = fmt::format("{}: {}", f, reader.error());
      break;
    }
  }
  s.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  close_all();
  return s;
}

std::string FormatReplaySummary(const ReplaySummary& s, bool json) {
  const double secs = s.seconds > 0 ? s.seconds : 1e-9;
  if (json) {
    std::string error;
    for (char c : s.error) {  // JSON string: escape what a path or message may hold
      if (c == '"' || c == '\\') {
        error += '\\';
        error += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        error += fmt::format("\\u{:04x}", c);
      } else {
        error += c;
      }
    }
    return fmt::format(
        "{{\"files\":{},\"datagrams\":{},\"lines\":{},\"bytes\":{},\"seconds\":{:.6f},"
        "\"datagrams_per_second\":{:.1f},\"lines_per_second\":{:.1f},\"errors\":{},"
        "\"skipped\":{},\"error\":\"{}\"}}",
        s.files, s.datagrams, s.lines, s.bytes, s.seconds, static_cast<double>(s.datagrams) / secs,
        static_cast<double>(s.lines) / secs, s.errors, s.skipped, error);
  }
  return fmt::format(
      "replayed {} datagrams ({} lines, {} bytes) from {} files in {:.3f} s: {:.0f} datagrams/s, "
      "{:.0f} lines/s, {} send errors, {} packets skipped{}",
      s.datagrams, s.lines, s.bytes, s.files, s.seconds, static_cast<double>(s.datagrams) / secs,
      static_cast<double>(s.lines) / secs, s.errors, s.skipped,
      s.error.empty() ? "" : "; stopped: " + s.error);
}

}  // namespace cstatsd::loader
