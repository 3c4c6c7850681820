// cstatsd-loader: offers statsd load over UDP (gostatsd's cmd/loader flags,
// docs/performance.md#loader) from pre-built datagrams with sendmmsg over several sockets and
// threads, in a total-count mode or a duration mode, and reports exactly what it sent. With
// --replay it sends the datagrams of capture files instead (docs/capture.md#replay).
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "loader/generator.h"
#include "loader/replay.h"

namespace {

using cstatsd::loader::Datagram;
using cstatsd::loader::Generator;
using cstatsd::loader::LoadSpec;
using Clock = std::chrono::steady_clock;

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h: UDP generic segmentation offload (Linux 4.18)
#endif

struct Totals {
  std::atomic<uint64_t> lines{0}, datagrams{0}, bytes{0}, errors{0};
  std::atomic<uint64_t> per_type[4] = {0, 0, 0, 0};
};

struct WorkerPlan {
  LoadSpec spec;
  uint64_t seed = 0;
  double datagram_rate = 0;      // per worker, 0 = unlimited
  Clock::time_point deadline{};  // duration mode
  bool duration_mode = false;
  bool sequential = false;
  int sockets = 4;
  int batch = 64;
  size_t pool = 2048;
  int gso = 0;    // datagrams per message with UDP segmentation offload, 0 = off
  int burst = 0;  // messages back to back per socket before the pause, 0 = paced per sendmmsg
};

// What one sendmmsg message carries: `count` datagrams of the pool. With UDP segmentation
// offload a message holds several datagrams of one size (the last may be shorter) and the kernel
// cuts it into those datagrams, so the sender pays the send path once per message; the receiver
// still gets every datagram on its own. Without it a message is one datagram.
struct Message {
  const Datagram* const* first = nullptr;
  uint32_t count = 0;
};

// Groups `order` into messages of up to `gso` consecutive datagrams of one size.
std::vector<Message> GroupMessages(const std::vector<const Datagram*>& order, int gso) {
  constexpr size_t kMaxMessageBytes = 60000;  // a UDP payload is at most 65,507 bytes
  std::vector<Message> out;
  for (size_t i = 0; i < order.size();) {
    Message m{&order[i], 0};
    size_t bytes = 0;
    const size_t size = order[i]->bytes.size();
    while (i < order.size() && m.count < static_cast<uint32_t>(std::max(1, gso)) &&
           order[i]->bytes.size() == size && bytes + size <= kMaxMessageBytes) {
      bytes += size;
      ++m.count;
      ++i;
    }
    if (m.count == 0) {  // one datagram larger than kMaxMessageBytes goes alone
      m.count = 1;
      ++i;
    }
    out.push_back(m);
  }
  return out;
}

std::vector<int> OpenSockets(const sockaddr_storage& target, socklen_t len, int n) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    int fd = socket(target.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    if (connect(fd, reinterpret_cast<const sockaddr*>(&target), len) != 0) {
      close(fd);
      continue;
    }
    fds.push_back(fd);
  }
  return fds;
}

// Sorts a set of datagrams into messages: by size when segmenting, so that same-size datagrams
// share a message.
std::vector<Message> MakeMessages(const std::vector<Datagram>& datagrams, int gso,
                                  std::vector<const Datagram*>& order) {
  order.clear();
  for (const auto& d : datagrams) order.push_back(&d);
  if (gso > 1) {
    std::stable_sort(order.begin(), order.end(), [](const Datagram* a, const Datagram* b) {
      return a->bytes.size() < b->bytes.size();
    });
  }
  return GroupMessages(order, gso);
}

// Duration mode cycles through a pool of datagrams built once (types drawn in proportion to the
// counts); count mode draws exactly the worker's per-type counts, a chunk of datagrams at a time.
void RunWorker(WorkerPlan plan, const sockaddr_storage& target, socklen_t tlen, Totals& totals,
               const std::atomic<bool>& stop) {
  std::vector<int> fds = OpenSockets(target, tlen, plan.sockets);
  if (fds.empty()) {
    std::fprintf(stderr, "cstatsd-loader: cannot open sockets: %s\n", std::strerror(errno));
    return;
  }
  if (plan.gso > 1) {
    int off = 0;
    if (setsockopt(fds[0], SOL_UDP, UDP_SEGMENT, &off, sizeof(off)) != 0) {
      std::fprintf(stderr, "cstatsd-loader: no UDP segmentation offload here (%s); --gso ignored\n",
                   std::strerror(errno));
      plan.gso = 0;
    }
  }
  const size_t per_message = static_cast<size_t>(std::max(1, plan.gso));
  const int batch = plan.batch;

  Generator gen(plan.spec, plan.seed);
  gen.set_unbounded(plan.duration_mode);
  gen.set_sequential(plan.sequential);
  std::vector<Datagram> datagrams(plan.duration_mode ? plan.pool
                                                     : static_cast<size_t>(batch) * per_message);
  std::vector<const Datagram*> order;
  std::vector<Message> messages;
  size_t next = 0;
  bool exhausted = false;
  if (plan.duration_mode) {
    for (auto& d : datagrams) gen.NextDatagram(d);
    messages = MakeMessages(datagrams, plan.gso, order);
  }
  // The next message to send, or false once count mode has sent everything.
  auto next_message = [&](Message& m) {
    if (next == messages.size()) {
      if (plan.duration_mode) {
        next = 0;
      } else {
        if (exhausted) return false;
        size_t n = 0;
        while (n < datagrams.size() && gen.NextDatagram(datagrams[n])) ++n;
        exhausted = n < datagrams.size();
        if (n == 0) return false;
        datagrams.resize(n);
        messages = MakeMessages(datagrams, plan.gso, order);
        next = 0;
      }
    }
    m = messages[next++];
    return true;
  };

  constexpr size_t kControl = CMSG_SPACE(sizeof(uint16_t));
  std::vector<mmsghdr> msgs(static_cast<size_t>(batch));
  std::vector<iovec> iovs(static_cast<size_t>(batch) * per_message);
  std::vector<Message> picked(static_cast<size_t>(batch));
  std::vector<char> control(static_cast<size_t>(batch) * kControl);
  size_t sock = 0;
  int on_socket = 0;  // messages of the current burst already sent on fds[sock]
  uint64_t sent_datagrams = 0;
  const auto start = Clock::now();

  while (!stop.load(std::memory_order_relaxed)) {
    if (plan.duration_mode && Clock::now() >= plan.deadline) break;
    int n = 0;
    uint64_t batch_datagrams = 0;
    const int limit = plan.burst > 0 ? std::min(batch, plan.burst - on_socket) : batch;
    // A batch ends where count mode needs a new chunk: the messages point into the current one.
    for (Message m;
         n < limit && (n == 0 || next < messages.size() || plan.duration_mode) && next_message(m);
         ++n) {
      const size_t i = static_cast<size_t>(n);
      picked[i] = m;
      msgs[i] = mmsghdr{};
      msghdr& h = msgs[i].msg_hdr;
      h.msg_iov = &iovs[i * per_message];
      h.msg_iovlen = m.count;
      for (uint32_t k = 0; k < m.count; ++k) {
        h.msg_iov[k].iov_base = const_cast<char*>(m.first[k]->bytes.data());
        h.msg_iov[k].iov_len = m.first[k]->bytes.size();
      }
      if (m.count > 1) {
        h.msg_control = &control[i * kControl];
        h.msg_controllen = kControl;
        cmsghdr* c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        const auto segment = static_cast<uint16_t>(m.first[0]->bytes.size());
        std::memcpy(CMSG_DATA(c), &segment, sizeof(segment));
      }
      batch_datagrams += m.count;
    }
    if (n == 0) break;
    // With --burst the pause comes only before a burst's first message on the first socket: every
    // socket then gets `burst` messages back to back, as clients that flush together send.
    if (plan.datagram_rate > 0 && (plan.burst == 0 || (sock == 0 && on_socket == 0))) {
      // Pace: the batch may go once the time for all earlier datagrams has passed.
      const auto due =
          start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                      static_cast<double>(sent_datagrams) / plan.datagram_rate));
      const auto now = Clock::now();
      if (due > now) std::this_thread::sleep_for(due - now);
    }
    int done = 0;
    while (done < n) {
      int r = sendmmsg(fds[sock], msgs.data() + done, static_cast<unsigned>(n - done), 0);
      if (r < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS) continue;
        totals.errors.fetch_add(1, std::memory_order_relaxed);  // e.g. ECONNREFUSED: retry
        if (stop.load(std::memory_order_relaxed)) break;
        continue;
      }
      uint64_t lines = 0, bytes = 0, datagrams_sent = 0, per_type[4] = {0, 0, 0, 0};
      for (int i = done; i < done + r; ++i) {
        const Message& m = picked[static_cast<size_t>(i)];
        datagrams_sent += m.count;
        for (uint32_t k = 0; k < m.count; ++k) {
          const Datagram* d = m.first[k];
          lines += d->total_lines();
          bytes += d->bytes.size();
          for (int t = 0; t < 4; ++t) per_type[t] += d->lines[t];
        }
      }
      totals.lines.fetch_add(lines, std::memory_order_relaxed);
      totals.bytes.fetch_add(bytes, std::memory_order_relaxed);
      totals.datagrams.fetch_add(datagrams_sent, std::memory_order_relaxed);
      for (int t = 0; t < 4; ++t) {
        if (per_type[t]) totals.per_type[t].fetch_add(per_type[t], std::memory_order_relaxed);
      }
      done += r;
    }
    sent_datagrams += batch_datagrams;
    on_socket += n;
    if (plan.burst == 0 || on_socket >= plan.burst) {
      on_socket = 0;
      sock = (sock + 1) % fds.size();
    }
  }
  for (int fd : fds) close(fd);
}

bool ResolveTarget(const std::string& address, sockaddr_storage& out, socklen_t& len) {
  std::string host = address, port;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string::npos || close + 2 > host.size()) return false;
    port = host.substr(close + 2);
    host = host.substr(1, close - 1);
  } else {
    const size_t colon = host.rfind(':');
    if (colon == std::string::npos) return false;
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) host = "127.0.0.1";
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) return false;
  std::memcpy(&out, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  freeaddrinfo(res);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cstatsd-loader: offers statsd load over UDP"};
  LoadSpec spec;
  std::string address = "127.0.0.1:8125";
  double rate = 0, line_rate = 0, duration = 0;
  int workers = 1, sockets = 4, batch = 64, gso = 0, burst = 0;
  size_t pool = 2048;
  bool json = false, quiet = false, sequential = false;
  uint64_t seed = 1;
  const char* kNames[4] = {"counter", "gauge", "set", "timer"};
  const char* kShort[4] = {"-c", "-g", "-s", "-t"};

  app.add_option("-a,--address", address, "UDP target host:port")->capture_default_str();
  app.add_option("-p,--metric-prefix", spec.prefix, "metric name prefix")->capture_default_str();
  app.add_option("--metric-suffix", spec.suffix, "name suffix; %d is the name index")
      ->capture_default_str();
  app.add_option("-r,--rate", rate, "datagrams per second, all workers (0 = as fast as possible)")
      ->capture_default_str();
  app.add_option("--line-rate", line_rate, "lines per second instead of --rate (0 = off)");
  app.add_option("--buffer-size", spec.buffer_size, "max datagram size in bytes")
      ->capture_default_str();
  app.add_option("-w,--workers", workers, "sending threads")->capture_default_str();
  app.add_option("--sockets", sockets, "UDP sockets per worker (spreads SO_REUSEPORT receivers)")
      ->capture_default_str();
  app.add_option("--batch", batch, "messages per sendmmsg")->capture_default_str();
  app.add_option("--gso", gso,
                 "up to this many same-size datagrams per message with UDP segmentation offload, "
                 "which the kernel cuts into separate datagrams (0 = off, at most 64)")
      ->check(CLI::Range(0, 64));
  app.add_option("--burst", burst,
                 "send this many messages back to back on each socket in turn, then pause as long "
                 "as the rate allows (0 = pace every --batch)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--duration", duration,
                 "seconds to send for; the per-type counts become proportions (0 = count mode)");
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  app.add_option("--pool", pool, "pre-built datagrams per worker, sent in a cycle")
      ->capture_default_str();
  app.add_flag("--sequential", sequential,
               "names in order instead of at random (a large enough --pool covers every series)");
  app.add_flag("--json", json, "print the summary as one JSON line");
  app.add_flag("-q,--quiet", quiet, "no progress line");
  std::vector<std::string> replay;
  double speed = 1;
  app.add_option("--replay", replay,
                 "send the datagrams of these capture files (cstatsd --capture) instead, a "
                 "sender always from the same one of --sockets");
  app.add_option("--speed", speed, "--replay: the recorded gaps divided by this (0 = no gaps)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  for (int t = 0; t < 4; ++t) {
    auto& ts = spec.types[t];
    app.add_option(fmt::format("{},--{}-count", kShort[t], kNames[t]), ts.count,
                   fmt::format("{} lines to send (proportion with --duration)", kNames[t]));
    app.add_option(fmt::format("--{}-cardinality", kNames[t]), ts.name_cardinality,
                   "distinct names")
        ->capture_default_str();
    app.add_option(fmt::format("--{}-tag-cardinality", kNames[t]), ts.tag_cardinalities,
                   "repeatable: adds a tag with this many values");
  }
  spec.types[0].value_limit = 0;
  spec.types[1].value_limit = 1;
  spec.types[2].value_limit = 1;
  spec.types[3].value_limit = 1;
  app.add_option("--counter-value-limit", spec.types[0].value_limit, "counter value = 1+[0,limit]")
      ->capture_default_str();
  app.add_option("--gauge-value-limit", spec.types[1].value_limit, "gauge value = [0,limit)")
      ->capture_default_str();
  app.add_option("--set-value-cardinality", spec.types[2].value_limit, "distinct set members")
      ->capture_default_str();
  app.add_option("--timer-value-limit", spec.types[3].value_limit, "timer value = [0,limit)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (!replay.empty()) {
    sockaddr_storage to{};
    socklen_t to_len = 0;
    if (!ResolveTarget(address, to, to_len)) {
      std::fprintf(stderr, "cstatsd-loader: cannot resolve --address %s\n", address.c_str());
      return 2;
    }
    auto sent = cstatsd::loader::Replay({replay, speed, std::max(1, sockets)}, to, to_len);
    if (!sent.ok()) {
      std::fprintf(stderr, "cstatsd-loader: %s\n", sent.error().c_str());
      return 2;
    }
    std::printf("%s\n", cstatsd::loader::FormatReplaySummary(*sent, json).c_str());
    return sent->error.empty() ? 0 : 1;
  }
  if (spec.TotalLines() == 0) {
    if (duration <= 0) {
      std::fprintf(stderr, "cstatsd-loader: give at least one of -c -g -s -t, or --duration\n");
      return 2;
    }
    spec.types[0].count = 1;  // duration mode with no proportions: counters only
  }
  workers = std::max(1, workers);
  sockaddr_storage target{};
  socklen_t tlen = 0;
  if (!ResolveTarget(address, target, tlen)) {
    std::fprintf(stderr, "cstatsd-loader: cannot resolve --address %s\n", address.c_str());
    return 2;
  }

  // Average lines per datagram, to turn --line-rate into a datagram rate.
  double lines_per_datagram = 1;
  {
    Generator g(spec, seed);
    g.set_unbounded(true);
    Datagram d;
    uint64_t lines = 0;
    for (int i = 0; i < 256; ++i) {
      g.NextDatagram(d);
      lines += d.total_lines();
    }
    lines_per_datagram = static_cast<double>(lines) / 256;
  }
  if (line_rate > 0) rate = line_rate / lines_per_datagram;

  Totals totals;
  std::atomic<bool> stop{false};
  const uint64_t total_lines = duration > 0 ? 0 : spec.TotalLines();
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int w = 0; w < workers; ++w) {
    WorkerPlan plan;
    plan.spec = spec;
    plan.seed = seed + static_cast<uint64_t>(w) * 7919;
    plan.duration_mode = duration > 0;
    plan.deadline = start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(duration));
    if (duration <= 0) {  // count mode: each type's count split evenly across the workers
      for (auto& t : plan.spec.types) {
        const auto share = static_cast<uint64_t>(workers);
        t.count = t.count / share + (static_cast<uint64_t>(w) < t.count % share ? 1 : 0);
      }
    }
    plan.datagram_rate = rate / workers;
    plan.sockets = std::max(1, sockets);
    plan.batch = std::max(1, batch);
    plan.pool = std::max<size_t>(1, pool);
    plan.sequential = sequential;
    plan.gso = gso;
    plan.burst = burst;
    threads.emplace_back(
        [plan, &target, tlen, &totals, &stop] { RunWorker(plan, target, tlen, totals, stop); });
  }

  const bool progress = !quiet && isatty(STDERR_FILENO);
  std::atomic<bool> finished{false};
  std::thread reporter;
  if (progress) {
    reporter = std::thread([&] {
      uint64_t prev = 0;
      auto prev_t = Clock::now();
      while (!finished.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        const auto now = Clock::now();
        if (now - prev_t < std::chrono::seconds(1) && !finished.load()) continue;
        const uint64_t lines = totals.lines.load();
        const double secs = std::chrono::duration<double>(now - prev_t).count();
        std::string remaining =
            duration > 0
                ? fmt::format(
                      "{:.0f}s left",
                      std::max(0.0, duration - std::chrono::duration<double>(now - start).count()))
                : fmt::format("{} lines left", total_lines - std::min(total_lines, lines));
        std::fprintf(stderr, "\rsent %llu lines, %.0f lines/s, %s        ",
                     static_cast<unsigned long long>(lines),
                     static_cast<double>(lines - prev) / secs, remaining.c_str());
        prev = lines;
        prev_t = now;
      }
      std::fputc('\n', stderr);
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  finished = true;
  if (reporter.joinable()) reporter.join();

  const uint64_t lines = totals.lines.load(), datagrams = totals.datagrams.load();
  if (json) {
    std::printf(
        "{\"lines\":%llu,\"datagrams\":%llu,\"bytes\":%llu,\"seconds\":%.6f,"
        "\"lines_per_second\":%.1f,\"datagrams_per_second\":%.1f,\"errors\":%llu,"
        "\"counters\":%llu,\"gauges\":%llu,\"sets\":%llu,\"timers\":%llu,"
        "\"max_series\":%llu}\n",
        static_cast<unsigned long long>(lines), static_cast<unsigned long long>(datagrams),
        static_cast<unsigned long long>(totals.bytes.load()), seconds,
        static_cast<double>(lines) / seconds, static_cast<double>(datagrams) / seconds,
        static_cast<unsigned long long>(totals.errors.load()),
        static_cast<unsigned long long>(totals.per_type[0].load()),
        static_cast<unsigned long long>(totals.per_type[1].load()),
        static_cast<unsigned long long>(totals.per_type[2].load()),
        static_cast<unsigned long long>(totals.per_type[3].load()),
        static_cast<unsigned long long>(spec.MaxSeries()));
  } else {
    std::printf(
        "sent %llu lines (%llu counters, %llu gauges, %llu sets, %llu timers) in %llu datagrams, "
        "%llu bytes, %.3f s: %.0f lines/s, %.0f datagrams/s, %llu send errors\n",
        static_cast<unsigned long long>(lines),
        static_cast<unsigned long long>(totals.per_type[0].load()),
        static_cast<unsigned long long>(totals.per_type[1].load()),
        static_cast<unsigned long long>(totals.per_type[2].load()),
        static_cast<unsigned long long>(totals.per_type[3].load()),
        static_cast<unsigned long long>(datagrams),
        static_cast<unsigned long long>(totals.bytes.load()), seconds,
        static_cast<double>(lines) / seconds, static_cast<double>(datagrams) / seconds,
        static_cast<unsigned long long>(totals.errors.load()));
  }
  return 0;
}
