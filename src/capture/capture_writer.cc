#include "capture/capture_writer.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace cstatsd::capture {
namespace {

constexpr size_t kWriteChunk = 1 << 20;  // buffered bytes that trigger a write
constexpr int kRecordsPerDrain = 4096;   // then the buffer is written and Stop looked at

std::string RotatedName(const std::string& path, int i) {
  return i == 0 ? path : path + "." + std::to_string(i);
}

}  // namespace

CaptureWriter::CaptureWriter(CaptureOptions options, Endpoint local)
    : options_(std::move(options)), local_(std::move(local)) {}

CaptureWriter::~CaptureWriter() {
  if (fd_ >= 0) close(fd_);
}

Result<std::unique_ptr<CaptureWriter>> CaptureWriter::Open(CaptureOptions options, Endpoint local) {
  std::unique_ptr<CaptureWriter> w(new CaptureWriter(std::move(options), std::move(local)));
  if (Status s = w->OpenCurrent(); !s.ok()) return s;
  return w;
}

Status CaptureWriter::OpenCurrent() {
  // FILE.<n-2> -> FILE.<n-1> (replacing the oldest) ... FILE -> FILE.1; then a new FILE.
  for (int i = options_.files - 1; i >= 1; --i) {
    (void)std::rename(RotatedName(options_.path, i - 1).c_str(),
                      RotatedName(options_.path, i).c_str());
  }
  fd_ = open(options_.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    return Status::Error(
        fmt::format("capture: cannot open {}: {}", options_.path, std::strerror(errno)));
  }
  const size_t before = buffer_.size();
  AppendFileHeader(buffer_, local_.kind == SourceKind::kUnix);
  file_bytes_ = buffer_.size() - before;
  file_packets_ = 0;
  return {};
}

CaptureRing* CaptureWriter::AddRing() {
  rings_.push_back(std::make_unique<CaptureRing>(options_.ring_bytes));
  return rings_.back().get();
}

void CaptureWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

void CaptureWriter::Run() {
  while (true) {
    bool stopping;
    {
      std::lock_guard lock(mu_);
      stopping = stop_;
    }
    const bool any = Drain();
    WriteBuffer();
    if (any) continue;
    if (stopping) break;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, options_.idle_wait, [&] { return stop_; });
  }
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

bool CaptureWriter::Drain() {
  bool any = false;
  CaptureRing::Entry e, best;
  for (int n = 0; n < kRecordsPerDrain; ++n) {
    // Oldest first over the workers' rings, each of which is in receive order.
    CaptureRing* from = nullptr;
    for (auto& r : rings_) {
      if (r->Front(e) && (from == nullptr || e.time_ns < best.time_ns)) {
        from = r.get();
        best = e;
      }
    }
    if (from == nullptr) break;
    any = true;
    Append(best);
    from->Pop();
  }
  return any;
}

void CaptureWriter::Append(const CaptureRing::Entry& e) {
  if (failed_ || !EndpointFromSockaddr(e.address.data(), e.address.size(), source_)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const size_t size = PacketBlockSize(source_, e.payload.size());
  if (file_packets_ > 0 && file_bytes_ + size > options_.max_file_bytes) {
    WriteBuffer();
    if (failed_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    close(fd_);
    fd_ = -1;
    if (Status s = OpenCurrent(); !s.ok()) {
      Fail("open", s.message());
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  AppendPacket(buffer_, e.time_ns, source_, local_, e.payload);
  file_bytes_ += size;
  ++file_packets_;
  ++buffered_packets_;
  if (buffer_.size() >= kWriteChunk) WriteBuffer();
}

void CaptureWriter::WriteBuffer() {
  size_t done = 0;
  while (!failed_ && done < buffer_.size()) {
    const ssize_t n = write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Fail("write", std::strerror(errno));
      return;
    }
    done += static_cast<size_t>(n);
  }
  if (failed_) return;
  written_datagrams_.fetch_add(buffered_packets_, std::memory_order_relaxed);
  written_bytes_.fetch_add(done, std::memory_order_relaxed);
  buffer_.clear();
  buffered_packets_ = 0;
}

void CaptureWriter::Fail(std::string_view what, std::string_view error) {
  failed_ = true;
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  dropped_.fetch_add(buffered_packets_, std::memory_order_relaxed);
  buffer_.clear();
  buffered_packets_ = 0;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  for (auto& r : rings_) r->Disable();
  spdlog::error("capture stopped: {} failed path={} error=\"{}\"; metrics are still received", what,
                options_.path, error);
}

CaptureCounters CaptureWriter::counters() const {
  CaptureCounters c;
  c.written_datagrams = written_datagrams_.load(std::memory_order_relaxed);
  c.written_bytes = written_bytes_.load(std::memory_order_relaxed);
  c.dropped_datagrams = dropped_.load(std::memory_order_relaxed);
  for (const auto& r : rings_) c.dropped_datagrams += r->dropped();
  c.write_errors = write_errors_.load(std::memory_order_relaxed);
  return c;
}

}  // namespace cstatsd::capture
