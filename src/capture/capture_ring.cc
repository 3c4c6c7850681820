#include "capture/capture_ring.h"

#include <sys/socket.h>

#include <cstring>

#include "stats/internal_metrics.h"

namespace cstatsd::capture {
namespace {

// A record: this header, the sockaddr, the payload, padded to 8 bytes. A header whose size is 0
// marks the rest of the buffer as unused (the next record starts at the beginning).
struct RecordHeader {
  uint32_t size;
  uint32_t payload_len;
  int64_t time_ns;
  uint32_t addr_len;
  uint32_t unused;
};
static_assert(sizeof(RecordHeader) == 24);

constexpr size_t Align8(size_t n) { return (n + 7) & ~size_t{7}; }

}  // namespace

CaptureRing::CaptureRing(size_t bytes)
    : capacity_(Align8(std::max<size_t>(bytes, 4096))),
      buffer_(std::make_unique<char[]>(capacity_)) {}

bool CaptureRing::Reserve(size_t need, uint64_t& head, uint64_t tail) {
  if (need > capacity_) return false;
  const size_t at = head % capacity_;
  const size_t skip = at + need > capacity_ ? capacity_ - at : 0;
  if (capacity_ - (head - tail) < skip + need) return false;
  if (skip > 0) {
    const uint32_t marker = 0;
    std::memcpy(buffer_.get() + at, &marker, sizeof(marker));
    head += skip;
  }
  return true;
}

void CaptureRing::Copy(uint64_t head, int64_t now_ns, const void* addr, size_t addr_len,
                       const void* data, size_t len, size_t need) {
  char* p = buffer_.get() + head % capacity_;
  const RecordHeader h{static_cast<uint32_t>(need), static_cast<uint32_t>(len), now_ns,
                       static_cast<uint32_t>(addr_len), 0};
  std::memcpy(p, &h, sizeof(h));
  if (addr_len > 0) std::memcpy(p + sizeof(h), addr, addr_len);
  if (len > 0) std::memcpy(p + sizeof(h) + addr_len, data, len);
}

void CaptureRing::Put(const mmsghdr* msgs, int n, int64_t now_ns) {
  if (!enabled_.load(std::memory_order_relaxed)) return;
  uint64_t head = head_.load(std::memory_order_relaxed);
  const uint64_t tail = tail_.load(std::memory_order_acquire);
  uint64_t dropped = 0;
  for (int i = 0; i < n; ++i) {
    const msghdr& m = msgs[i].msg_hdr;
    const size_t addr_len = std::min<size_t>(m.msg_namelen, sizeof(sockaddr_storage));
    const size_t len = msgs[i].msg_len;
    const size_t need = Align8(sizeof(RecordHeader) + addr_len + len);
    if (!Reserve(need, head, tail)) {
      ++dropped;
      continue;
    }
    Copy(head, now_ns, m.msg_name, addr_len, m.msg_iov[0].iov_base, len, need);
    head += need;
  }
  head_.store(head, std::memory_order_release);
  if (dropped > 0) stats::Bump(dropped_, dropped);
}

void CaptureRing::PutOne(std::string_view payload, const void* addr, size_t addr_len,
                         int64_t now_ns) {
  if (!enabled_.load(std::memory_order_relaxed)) return;
  uint64_t head = head_.load(std::memory_order_relaxed);
  addr_len = std::min(addr_len, sizeof(sockaddr_storage));
  const size_t need = Align8(sizeof(RecordHeader) + addr_len + payload.size());
  if (!Reserve(need, head, tail_.load(std::memory_order_acquire))) {
    stats::Bump(dropped_);
    return;
  }
  Copy(head, now_ns, addr, addr_len, payload.data(), payload.size(), need);
  head_.store(head + need, std::memory_order_release);
}

bool CaptureRing::Front(Entry& e) {
  uint64_t tail = tail_.load(std::memory_order_relaxed);
  const uint64_t head = head_.load(std::memory_order_acquire);
  while (tail != head) {
    const size_t at = tail % capacity_;
    RecordHeader h;
    std::memcpy(&h.size, buffer_.get() + at, sizeof(h.size));
    if (h.size == 0) {  // the producer wrapped: the record is at the start
      tail += capacity_ - at;
      tail_.store(tail, std::memory_order_release);
      continue;
    }
    std::memcpy(&h, buffer_.get() + at, sizeof(h));
    const char* p = buffer_.get() + at + sizeof(h);
    e.time_ns = h.time_ns;
    e.address = std::string_view(p, h.addr_len);
    e.payload = std::string_view(p + h.addr_len, h.payload_len);
    front_size_ = h.size;
    return true;
  }
  return false;
}

void CaptureRing::Pop() {
  tail_.store(tail_.load(std::memory_order_relaxed) + front_size_, std::memory_order_release);
  front_size_ = 0;
}

}  // namespace cstatsd::capture
