// CaptureRing: one worker's bounded queue of received datagrams for the capture writer
// (docs/capture.md). Single producer (the worker thread: Put, once per recvmmsg batch, no lock,
// no allocation) and single consumer (the capture writer thread: Front/Pop). A datagram that
// does not fit is dropped from the capture and counted, never waited for.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

struct mmsghdr;

namespace cstatsd::capture {

class CaptureRing {
 public:
  explicit CaptureRing(size_t bytes);

  // Worker: copies the first `n` datagrams of a recvmmsg batch (bytes msg_len, sender
  // msg_name/msg_namelen), all received at `now_ns`.
  void Put(const mmsghdr* msgs, int n, int64_t now_ns);
  // The same for one datagram (tests).
  void PutOne(std::string_view payload, const void* addr, size_t addr_len, int64_t now_ns);

  struct Entry {
    int64_t time_ns = 0;
    std::string_view address;  // the sockaddr as received (empty: unnamed unix sender)
    std::string_view payload;
  };
  // Writer: the oldest datagram not yet popped (valid until Pop), or false when empty.
  bool Front(Entry& e);
  void Pop();

  // Writer: after a write failure, the worker stops copying (and stops counting drops).
  void Disable() { enabled_.store(false, std::memory_order_relaxed); }

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  bool Reserve(size_t need, uint64_t& head, uint64_t tail);
  void Copy(uint64_t head, int64_t now_ns, const void* addr, size_t addr_len, const void* data,
            size_t len, size_t need);

  const size_t capacity_;  // a multiple of 8
  std::unique_ptr<char[]> buffer_;
  std::atomic<bool> enabled_{true};
  alignas(64) std::atomic<uint64_t> head_{0};  // bytes ever written (producer)
  std::atomic<uint64_t> dropped_{0};           // producer
  alignas(64) std::atomic<uint64_t> tail_{0};  // bytes ever consumed (consumer)
  uint64_t front_size_ = 0;                    // consumer: the bytes Pop releases
};

}  // namespace cstatsd::capture
