// cstatsd-loader: offers statsd load over UDP (gostatsd's cmd/loader flags, spec §9.1) from
// pre-built datagrams with sendmmsg over several sockets and threads, in a total-count mode or
// a duration mode, and reports exactly what it sent.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "loader/generator.h"

namespace {

using cstatsd::loader::Datagram;
using cstatsd::loader::Generator;
using cstatsd::loader::LoadSpec;
using Clock = std::chrono::steady_clock;

struct Totals {
  std::atomic<uint64_t> lines{0}, datagrams{0}, bytes{0}, errors{0};
  std::atomic<uint64_t> per_type[4] = {0, 0, 0, 0};
};

struct WorkerPlan {
  LoadSpec spec;
  uint64_t seed = 0;
  uint64_t lines = 0;            // count mode: lines to send; 0 with a duration
  double datagram_rate = 0;      // per worker, 0 = unlimited
  Clock::time_point deadline{};  // duration mode
  bool duration_mode = false;
  bool sequential = false;
  int sockets = 4;
  int batch = 64;
  size_t pool = 2048;
};

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

void RunWorker(const WorkerPlan& plan, const sockaddr_storage& target, socklen_t tlen,
               Totals& totals, const std::atomic<bool>& stop) {
  Generator gen(plan.spec, plan.seed);
  gen.set_unbounded(true);
  gen.set_sequential(plan.sequential);
  std::vector<Datagram> pool(plan.pool);
  for (auto& d : pool) gen.NextDatagram(d);

  std::vector<int> fds = OpenSockets(target, tlen, plan.sockets);
  if (fds.empty()) {
    std::fprintf(stderr, "cstatsd-loader: cannot open sockets: %s\n", std::strerror(errno));
    return;
  }
  const int batch = plan.batch;
  std::vector<mmsghdr> msgs(static_cast<size_t>(batch));
  std::vector<iovec> iovs(static_cast<size_t>(batch));
  std::vector<const Datagram*> picked(static_cast<size_t>(batch));
  Datagram last;  // count mode: the final, shorter datagram
  uint64_t remaining = plan.lines;
  size_t next = 0;
  size_t sock = 0;
  uint64_t sent_datagrams = 0;
  const auto start = Clock::now();

  while (!stop.load(std::memory_order_relaxed)) {
    if (plan.duration_mode && Clock::now() >= plan.deadline) break;
    if (!plan.duration_mode && remaining == 0) break;
    int n = 0;
    for (; n < batch; ++n) {
      const Datagram* d = &pool[next];
      if (!plan.duration_mode) {
        if (remaining == 0) break;
        if (d->total_lines() > remaining) {
          gen.NextDatagram(last, remaining);
          d = &last;
        }
        remaining -= d->total_lines();
      }
      next = (next + 1) % pool.size();
      picked[static_cast<size_t>(n)] = d;
      iovs[static_cast<size_t>(n)].iov_base = const_cast<char*>(d->bytes.data());
      iovs[static_cast<size_t>(n)].iov_len = d->bytes.size();
      msgs[static_cast<size_t>(n)] = mmsghdr{};
      msgs[static_cast<size_t>(n)].msg_hdr.msg_iov = &iovs[static_cast<size_t>(n)];
      msgs[static_cast<size_t>(n)].msg_hdr.msg_iovlen = 1;
    }
    if (n == 0) break;
    if (plan.datagram_rate > 0) {
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
      for (int i = done; i < done + r; ++i) {
        const Datagram* d = picked[static_cast<size_t>(i)];
        totals.lines.fetch_add(d->total_lines(), std::memory_order_relaxed);
        totals.bytes.fetch_add(d->bytes.size(), std::memory_order_relaxed);
        for (int t = 0; t < 4; ++t) {
          if (d->lines[t]) totals.per_type[t].fetch_add(d->lines[t], std::memory_order_relaxed);
        }
      }
      totals.datagrams.fetch_add(static_cast<uint64_t>(r), std::memory_order_relaxed);
      done += r;
    }
    sent_datagrams += static_cast<uint64_t>(n);
    sock = (sock + 1) % fds.size();
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
  int workers = 1, sockets = 4, batch = 64;
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
  app.add_option("--batch", batch, "datagrams per sendmmsg")->capture_default_str();
  app.add_option("--duration", duration,
                 "seconds to send for; the per-type counts become proportions (0 = count mode)");
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  app.add_option("--pool", pool, "pre-built datagrams per worker, sent in a cycle")
      ->capture_default_str();
  app.add_flag("--sequential", sequential,
               "names in order instead of at random (a large enough --pool covers every series)");
  app.add_flag("--json", json, "print the summary as one JSON line");
  app.add_flag("-q,--quiet", quiet, "no progress line");
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
    plan.lines = total_lines / static_cast<uint64_t>(workers) +
                 (static_cast<uint64_t>(w) < total_lines % static_cast<uint64_t>(workers) ? 1 : 0);
    plan.datagram_rate = rate / workers;
    plan.sockets = std::max(1, sockets);
    plan.batch = std::max(1, batch);
    plan.pool = std::max<size_t>(1, pool);
    plan.sequential = sequential;
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
