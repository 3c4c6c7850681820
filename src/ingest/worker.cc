#include "ingest/worker.h"

#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "capture/capture_ring.h"
#include "core/log_escape.h"
#include "ingest/socket.h"
#include "protocol/service_check.h"

namespace cstatsd::ingest {

Worker::Worker(int id, int fd, const WorkerOptions& options,
               const pipeline::PipelineOptions* pipeline, EventSink events)
    : id_(id),
      fd_(fd),
      options_(options),
      events_(std::move(events)),
      pipeline_options_(pipeline),
      parser_(protocol::ParserOptions{options.namespace_prefix, pipeline->max_histogram_bounds,
                                      options.tag_dialects}),
      pipeline_(pipeline),
      bad_line_log_(options.bad_lines_per_minute) {
  const size_t batch = static_cast<size_t>(options_.receive_batch_size);
  const size_t size = static_cast<size_t>(options_.receive_buffer_size);
  buffers_.resize(batch * size);
  msgs_ = std::make_unique<mmsghdr[]>(batch);
  iovs_ = std::make_unique<iovec[]>(batch);
  addrs_.resize(batch * sizeof(sockaddr_storage));
  controls_.resize(batch * kGroControlBytes);
  metric_.values.reserve(64);
  metric_.tags.reserve(16);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Worker::~Worker() {
  if (wake_fd_ >= 0) close(wake_fd_);
}

void Worker::Wake() {
  uint64_t one = 1;
  if (wake_fd_ >= 0) {
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
  }
}

void Worker::Stop() {
  stop_.store(true, std::memory_order_release);
  Wake();
}

MetricMap* Worker::HandOver(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  const uint64_t want = requested_.load(std::memory_order_relaxed) + 1;
  requested_.store(want, std::memory_order_release);
  Wake();
  if (!cv_.wait_for(lock, timeout, [&] { return served_ >= want; })) {
    // The worker is slow to answer: it will switch maps at its next batch; this flush goes
    // without its data, the next one takes it.
    return nullptr;
  }
  return &maps_[active_ ^ 1];
}

void Worker::AttachIndexes(const SeriesIndex<CounterAgg>* counters,
                           const SeriesIndex<GaugeAgg>* gauges) {
  ids_.counters.index = counters;
  ids_.gauges.index = gauges;
  maps_[0].ids = maps_[1].ids = &ids_;
}

void Worker::MaybeHandOver() {
  const uint64_t req = requested_.load(std::memory_order_acquire);
  if (req == served_) return;  // served_ is only written by this thread
  maps_[active_].TakeReceivedIds();
  {
    std::lock_guard lock(mu_);
    active_ ^= 1;
    served_ = req;
  }
  cv_.notify_all();
}

void Worker::SetCloud(cloud::CloudHandler* handler) {
  enricher_ = std::make_unique<cloud::Enricher>(handler);
  pipeline_.set_cloud(enricher_.get());
}

// Inlined into ProcessDatagram: an out-of-line call per line costs ~3 % of a datagram.
[[gnu::always_inline]] inline void Worker::ProcessLine(std::string_view line,
                                                       std::string_view sender, int64_t now_ns,
                                                       bool replay, MetricMap& map) {
  protocol::ParseError err = protocol::ParseError::kNone;
  switch (parser_.Parse(line, metric_, event_, err)) {
    case protocol::LineKind::kMetric:
      if (!replay) stats::Bump(counters_.metrics_received);
      if (options_.log_raw_metric && !replay) {
        spdlog::info("metric name={} type={} values={} tags={}", LogEscaped{metric_.name},
                     MetricTypeName(metric_.type), metric_.values.size(), metric_.tags.size());
      }
      if (!pipeline_.Stage(metric_, sender, map, now_ns, !replay)) {
        enricher_->Park(pipeline_.missed_source(), sender, line);
      }
      break;
    case protocol::LineKind::kEvent:
      stats::Bump(counters_.events_received);
      pipeline_.ReceiveEvent(event_, sender);
      if (enricher_ &&
          enricher_->ApplyToEvent(event_, now_ns, true) == cloud::Enricher::Action::kPark) {
        std::string source = event_.source;
        enricher_->handler()->ParkEvent(std::move(source), std::move(event_));
      } else if (events_) {
        events_(std::move(event_));
      }
      event_ = Event();
      break;
    case protocol::LineKind::kServiceCheck:
      // Never parked, so never replayed (only metric lines are).
      if (protocol::ParseServiceCheck(line, check_, err)) {
        stats::Bump(counters_.service_checks_received);
        ReceiveServiceCheck(sender, now_ns);
        break;
      }
      [[fallthrough]];
    case protocol::LineKind::kBad:
      stats::Bump(counters_.bad_lines_seen);
      if (bad_line_log_.Allow()) {
        constexpr size_t kMaxLogged = 256;
        spdlog::info("error parsing line error=\"{}\" ip={} line=\"{}\"{}",
                     protocol::ParseErrorName(err), sender, LogEscaped{line.substr(0, kMaxLogged)},
                     line.size() > kMaxLogged ? " (truncated)" : "");
      }
      break;
  }
}

// docs/protocol.md#service-checks: the source is the h: hostname when given, else the sender;
// with a cloud provider, the pod of a known `c:` container id, else the sender's instance, adds
// its tags (and its id as the source when there is no h:).
void Worker::ReceiveServiceCheck(std::string_view sender, int64_t now_ns) {
  pipeline::UniqueEventTags(check_.tags, pipeline_options_->default_tags);
  const cloud::Instance* instance = nullptr;
  if (enricher_) {
    if (!check_.container_id.empty()) instance = enricher_->ResolveContainer(check_.container_id);
    // A source not looked up yet passes unchanged: checks are rare and are not parked.
    if (instance == nullptr) instance = enricher_->Resolve(sender, now_ns, false).instance;
  }
  if (instance != nullptr) {
    for (const std::string& t : instance->tags) {
      if (std::find(check_.tags.begin(), check_.tags.end(), t) == check_.tags.end()) {
        check_.tags.push_back(t);
      }
    }
  }
  if (check_.source.empty()) {
    if (instance != nullptr) {
      check_.source = instance->id;
    } else {
      check_.source.assign(sender);
    }
  }
  if (checks_) checks_(std::move(check_));
  check_ = ServiceCheck();
}

void Worker::ProcessDatagram(char* data, size_t len, std::string_view sender, int64_t now_ns) {
  MetricMap& map = maps_[active_];
  if (enricher_) enricher_->Refresh();  // one atomic load unless the handler published
  protocol::ForEachLine(std::string_view(data, len), [&](std::string_view line) {
    ProcessLine(line, sender, now_ns, false, map);
  });
  pipeline_.Commit(now_ns, map);
  if (enricher_) enricher_->Submit();
}

void Worker::ReplayLines(std::vector<cloud::ParkedLine>& lines, int64_t now_ns) {
  if (!enricher_) return;
  enricher_->Refresh();
  MetricMap& map = maps_[active_];
  for (const cloud::ParkedLine& l : lines) ProcessLine(l.line, l.sender, now_ns, true, map);
  pipeline_.Commit(now_ns, map);
  lines.clear();
}

void Worker::ReplayParked(int64_t now_ns) {
  if (enricher_->handler()->replay_ready() == 0) return;
  constexpr size_t kMaxReplayedPerBatch = 4096;  // the socket is read in between
  enricher_->handler()->TakeReplay(replay_, kMaxReplayedPerBatch);
  ReplayLines(replay_, now_ns);
}

void Worker::CountBadLine(std::string_view why, std::string_view sender) {
  stats::Bump(counters_.bad_lines_seen);
  if (bad_line_log_.Allow()) spdlog::info("bad line error=\"{}\" ip={}", why, sender);
}

void Worker::WaitForTraffic() {
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  if (poll(fds, 2, 1000) > 0 && (fds[1].revents & POLLIN)) {
    uint64_t drain;
    [[maybe_unused]] ssize_t r = read(wake_fd_, &drain, sizeof(drain));
  }
}

void Worker::Run() {
  const int batch = options_.receive_batch_size;
  const size_t size = static_cast<size_t>(options_.receive_buffer_size);
  auto* addrs = reinterpret_cast<sockaddr_storage*>(addrs_.data());
  last_addr_.assign(sizeof(sockaddr_storage), 0);
  bool have_last = false;
  // An entry coalesced by UDP_GRO is at most one maximal UDP payload: only a buffer that holds
  // one can take it whole (receive-buffer-size below that: each datagram alone, as before). A
  // capture records each entry as one datagram, so it reads them one by one too.
  constexpr size_t kMaxUdpPayload = 65507;
  const bool gro = fd_ >= 0 && size >= kMaxUdpPayload && capture_ == nullptr && EnableUdpGro(fd_);

  // After Stop(), read what is already queued on the socket (docs/compatibility.md#decision-10:
  // nothing received is lost), bounded so that a flood cannot keep a stopping worker alive.
  int drain_batches = 0;
  int empty_while_stopping = 0;
  bool coalesce = false;
  constexpr long kCoalesceNanos = 200000;  // 200 µs: ~160 datagrams at 800,000/s
  constexpr int kMaxDrainBatches = 100000;
  // A hand-over also takes what is already queued on the socket: once a request is noticed the
  // socket is read until it is empty (bounded under a flood) before the maps switch, so a flush
  // includes every datagram that arrived before it was asked for (the Lambda extension flushes
  // right after the function returns and must not leave its last metrics behind).
  constexpr int kMaxBatchesBeforeHandOver = 16;
  uint64_t noticed = 0;  // the last hand-over request seen
  bool drained = false;  // the socket was empty since `noticed` was seen
  int reads = 0;         // batches read since `noticed` was seen
  while (true) {
    const bool stopping = stop_.load(std::memory_order_acquire);
    if (stopping && ++drain_batches > kMaxDrainBatches) break;
    if (const uint64_t req = requested_.load(std::memory_order_acquire); req != served_) {
      if (req != noticed) {
        noticed = req;
        drained = false;
        reads = 0;
      }
      if (drained || stopping || reads >= kMaxBatchesBeforeHandOver) MaybeHandOver();
    }
    if (coalesce && !stopping) {
      // The last batch was partial: the queue is empty but traffic flows. Let datagrams gather
      // for a moment instead of waking for every few of them; a wake-up (context switch) per
      // datagram costs more than parsing it. Bounded, so latency and buffer use stay tiny.
      coalesce = false;
      const timespec pause{0, kCoalesceNanos};
      nanosleep(&pause, nullptr);
    }
    if (enricher_) ReplayParked(NowUnixNanos());
    for (int i = 0; i < batch; ++i) {
      iovs_[i].iov_base = buffers_.data() + static_cast<size_t>(i) * size;
      iovs_[i].iov_len = size;
      msgs_[i].msg_hdr = msghdr{};
      msgs_[i].msg_hdr.msg_iov = &iovs_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_hdr.msg_name = &addrs[i];
      msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      if (gro) {
        msgs_[i].msg_hdr.msg_control = controls_.data() + static_cast<size_t>(i) * kGroControlBytes;
        msgs_[i].msg_hdr.msg_controllen = kGroControlBytes;
      }
      msgs_[i].msg_len = 0;
    }
    const int n = recvmmsg(fd_, msgs_.get(), static_cast<unsigned>(batch), MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (stopping) {
          // Drained when empty twice, 10 ms apart: a datagram the kernel was still queueing as
          // a process hand-over detached the socket is read too (docs/restarts.md).
          if (++empty_while_stopping >= 2) break;
          pollfd p{fd_, POLLIN, 0};
          poll(&p, 1, 10);
          continue;
        }
        drained = true;
        if (requested_.load(std::memory_order_acquire) != served_) continue;  // hand over first
        WaitForTraffic();
        continue;
      }
      if (errno == EINTR) continue;
      if (errno == EBADF || errno == ENOTSOCK) break;
      spdlog::warn("receive failed worker={} error=\"{}\"", id_, std::strerror(errno));
      drained = true;  // do not hold a hand-over back on a failing socket
      continue;
    }
    coalesce = n < batch;
    drained = drained || n < batch;
    ++reads;
    const int64_t now = NowUnixNanos();
    stats::Bump(counters_.batches_read);
    stats::Bump(counters_.datagrams_received, static_cast<uint64_t>(n));
    if (capture_ != nullptr) capture_->Put(msgs_.get(), n, now);  // docs/capture.md
    for (int i = 0; i < n; ++i) {
      const msghdr& h = msgs_[i].msg_hdr;
      if (h.msg_flags & MSG_TRUNC) stats::Bump(counters_.truncated_datagrams);
      const size_t alen = h.msg_namelen;
      if (!have_last || alen > sizeof(sockaddr_storage) ||
          std::memcmp(last_addr_.data(), &addrs[i], alen) != 0) {
        // Unix datagram senders are usually unnamed; only IP families have a source.
        sockaddr_storage ss{};
        std::memcpy(&ss, &addrs[i], std::min(alen, sizeof(ss)));
        if (alen == 0) ss.ss_family = AF_UNIX;
        FormatSender(ss, last_sender_);
        std::memcpy(last_addr_.data(), &addrs[i], std::min(alen, sizeof(ss)));
        have_last = alen > 0;
      }
      char* data = static_cast<char*>(iovs_[i].iov_base);
      const size_t len = msgs_[i].msg_len;
      const size_t segment = gro ? GroSegmentSize(h) : 0;
      if (segment == 0 || segment >= len) {
        ProcessDatagram(data, len, last_sender_, now);
        continue;
      }
      // Several datagrams of one flow, coalesced by the kernel (UDP_GRO): `segment` bytes each,
      // the last one possibly shorter. Each is its own datagram, as if read alone.
      uint64_t datagrams = 0;
      for (size_t off = 0; off < len; off += segment, ++datagrams) {
        ProcessDatagram(data + off, std::min(segment, len - off), last_sender_, now);
      }
      stats::Bump(counters_.datagrams_received, datagrams - 1);
    }
  }
  MaybeHandOver();
}

}  // namespace cstatsd::ingest
