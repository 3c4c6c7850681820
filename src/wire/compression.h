// Body compression of the forwarding protocol (docs/forwarder.md#http-transport,
// docs/http.md#ingestion) and the HTTP backends: zlib streams (HTTP Content-Encoding `deflate`),
// gzip (`gzip`), LZ4 frames (`lz4`) and snappy's block format (`snappy`, Prometheus remote write,
// docs/prometheus.md#backend-prometheus-remote-write). Decompression is bounded: a body that would
// grow past `max_output` bytes is refused without allocating more than that (decompression bombs),
// bytes after the end of the stream are refused, and the output can draw on a byte budget shared by
// concurrent requests (BudgetLease). Pure functions; any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cstatsd::wire {

enum class Compression { kNone, kZlib, kGzip, kLz4, kSnappy };

// The HTTP Content-Encoding for a compression: "identity", "deflate", "gzip", "lz4", "snappy".
std::string_view ContentEncoding(Compression c);

// Compresses `in` at `level` (zlib and gzip 0..9, lz4 0 = fast .. 9 = high compression; snappy
// has no level).
Result<std::string> Compress(Compression c, std::string_view in, int level);

// One request's share of a byte budget that concurrent requests draw on (`in_flight`, shared,
// atomic; `limit` its ceiling). What the lease took is given back when it is destroyed, on every
// path. A lease is used by one thread; the counter by any number.
class BudgetLease {
 public:
  // in_flight == nullptr: no budget (Grow always succeeds, nothing is counted).
  BudgetLease(std::atomic<uint64_t>* in_flight, uint64_t limit)
      : in_flight_(in_flight), limit_(limit) {}
  ~BudgetLease() { Release(); }
  BudgetLease(const BudgetLease&) = delete;
  BudgetLease& operator=(const BudgetLease&) = delete;

  // Takes n more bytes; false (nothing taken) when the budget has not that much left.
  bool Grow(uint64_t n);
  // After a failed Grow: true when this lease alone (held + n) is above the whole limit, so
  // waiting for other requests to finish would not help.
  bool never_fits() const { return never_fits_; }
  uint64_t held() const { return held_; }
  void Release();

 private:
  std::atomic<uint64_t>* in_flight_;
  uint64_t limit_;
  uint64_t held_ = 0;
  bool never_fits_ = false;
};

// A growable byte buffer in its own anonymous mapping, reserved at its maximum size up front:
// only the pages written cost memory, and they go back to the operating system on Trim or when it
// is destroyed (a request's buffer never stays behind in a malloc arena). One thread.
class PageBuffer {
 public:
  PageBuffer() = default;
  ~PageBuffer();
  PageBuffer(PageBuffer&& other) noexcept;
  PageBuffer& operator=(PageBuffer&& other) noexcept;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  // Room for `capacity` bytes, size 0: the mapping already held when it is large enough (its
  // pages kept by Trim are reused without faulting them in again), else a new one; false when
  // mmap fails.
  bool Reserve(size_t capacity);
  // Gives the pages beyond the first `keep` bytes back to the system (the mapping stays); size 0.
  void Trim(size_t keep);
  char* data() { return base_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  void set_size(size_t n) { size_ = n; }
  std::string_view view() const { return {base_, size_}; }

 private:
  char* base_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

enum class DecompressError { kNone, kCorrupt, kTooLarge, kOverBudget };

struct Decompressed {
  std::string data;
  DecompressError error = DecompressError::kNone;
  std::string message;  // why, when error != kNone
};

// Decompresses `in`; the output never exceeds max_output bytes (kTooLarge beyond). A stream
// followed by more bytes (garbage, a second stream) is kCorrupt.
Decompressed Decompress(Compression c, std::string_view in, size_t max_output);

// The same into `out` (reserved here at max_output), taking each chunk of output from `lease`
// before writing it (kOverBudget when the budget has no room; `lease` may be null).
DecompressError DecompressTo(Compression c, std::string_view in, size_t max_output,
                             BudgetLease* lease, PageBuffer& out, std::string& message);

}  // namespace cstatsd::wire
