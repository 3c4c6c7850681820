// KeyArena: the memory of every series key up to kMaxSize (SeriesKey), without malloc's 8-byte
// chunk header and 16-byte rounding: a key takes its size rounded up to 8 bytes, 48 for a
// typical one where malloc takes 64 (docs/adr/0004-series-keys-in-an-arena.md).
//
// One range of address space is reserved at the first allocation and made usable 2 MiB at a
// time, so whether a pointer is the arena's is a range check (SeriesKey::Destroy asks). Room is
// taken in order; a freed key's room goes on the free list of its size (8-byte classes), and an
// allocation takes, in this order, its own class's list, a larger class's block (split, the rest
// listed), or new room. Room is never given back to the kernel: the arena holds the peak of live
// keys (bounded by max-series), reused by the series that come after. Any thread may free (the
// last reference to a key may be a snapshot's); a mutex guards the lists, taken once per new or
// expired series, never per metric line. Sizes over kMaxSize, and every size when the reservation
// fails, are left to malloc (Allocate returns nullptr).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace cstatsd {

class KeyArena {
 public:
  static constexpr size_t kMaxSize = 1024;
  static constexpr size_t kCommitStep = size_t{2} << 20;

  // The process's arena (keys outlive any one aggregator in tests).
  static KeyArena& Get();

  explicit KeyArena(size_t reserve_bytes);
  ~KeyArena();
  KeyArena(const KeyArena&) = delete;
  KeyArena& operator=(const KeyArena&) = delete;

  // Room for `size` bytes (8-byte aligned), or nullptr: the caller uses malloc.
  void* Allocate(size_t size);
  // Gives back room that Allocate returned for the same size.
  void Free(void* p, size_t size);
  bool Owns(const void* p) const {
    const auto a = reinterpret_cast<uintptr_t>(p);
    return a >= base_ && a < base_ + reserved_;
  }

  size_t committed() const;  // bytes made usable
  size_t in_use() const;     // bytes of live keys (rounded sizes)

 private:
  static constexpr size_t kAlign = 8;
  static constexpr size_t kMinSize = 16;  // a key's header: a split leaves no smaller rest
  static constexpr size_t kClasses = kMaxSize / kAlign + 1;

  static size_t Rounded(size_t size) { return (size + kAlign - 1) & ~(kAlign - 1); }
  void Push(size_t cls, void* p);
  void* Pop(size_t cls);

  mutable std::mutex mu_;
  uintptr_t base_ = 0;
  size_t reserved_ = 0;
  size_t used_ = 0;       // room taken in order from base_
  size_t committed_ = 0;  // made usable from base_
  size_t in_use_ = 0;
  std::array<void*, kClasses> free_{};                     // by size / kAlign
  std::array<uint64_t, (kClasses + 63) / 64> nonempty_{};  // a bit per class with a free block
};

}  // namespace cstatsd
