#include "core/key_arena.h"

#include <sys/mman.h>

namespace cstatsd {

namespace {

// Address space only (PROT_NONE, no reservation of memory): 16 GiB is 350 million typical keys.
constexpr size_t kProcessReserve = size_t{16} << 30;

}  // namespace

KeyArena& KeyArena::Get() {
  // Never destroyed: a key may be released by another static object's destructor at exit.
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer checks a key's lifetime only in memory malloc gave.
  static KeyArena* const arena = new KeyArena(0);
#else
  static KeyArena* const arena = new KeyArena(kProcessReserve);
#endif
  return *arena;
}

KeyArena::KeyArena(size_t reserve_bytes) {
  if (reserve_bytes == 0) return;
  reserve_bytes = (reserve_bytes + kCommitStep - 1) & ~(kCommitStep - 1);
  void* p =
      mmap(nullptr, reserve_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return;  // every key from malloc
  base_ = reinterpret_cast<uintptr_t>(p);
  reserved_ = reserve_bytes;
}

KeyArena::~KeyArena() {
  if (reserved_ != 0) munmap(reinterpret_cast<void*>(base_), reserved_);
}

void KeyArena::Push(size_t cls, void* p) {
  *static_cast<void**>(p) = free_[cls];
  free_[cls] = p;
  nonempty_[cls / 64] |= uint64_t{1} << (cls % 64);
}

void* KeyArena::Pop(size_t cls) {
  void* p = free_[cls];
  free_[cls] = *static_cast<void**>(p);
  if (free_[cls] == nullptr) nonempty_[cls / 64] &= ~(uint64_t{1} << (cls % 64));
  return p;
}

void* KeyArena::Allocate(size_t size) {
  size = Rounded(size < kMinSize ? kMinSize : size);
  if (size > kMaxSize || reserved_ == 0) return nullptr;
  const size_t cls = size / kAlign;
  std::lock_guard lock(mu_);
  if (free_[cls] != nullptr) {
    in_use_ += size;
    return Pop(cls);
  }
  // The smallest larger class with a free block that leaves a rest of at least kMinSize.
  for (size_t w = (cls + 1) / 64; w < nonempty_.size(); ++w) {
    uint64_t bits = nonempty_[w];
    if (w == (cls + 1) / 64) bits &= ~uint64_t{0} << ((cls + 1) % 64);
    for (; bits != 0; bits &= bits - 1) {
      const size_t big = w * 64 + static_cast<size_t>(__builtin_ctzll(bits));
      if (big * kAlign - size < kMinSize) continue;
      char* p = static_cast<char*>(Pop(big));
      Push(big - cls, p + size);
      in_use_ += size;
      return p;
    }
  }
  if (used_ + size > committed_) {
    if (committed_ + kCommitStep > reserved_) return nullptr;  // reservation used up: malloc
    if (mprotect(reinterpret_cast<void*>(base_ + committed_), kCommitStep,
                 PROT_READ | PROT_WRITE) != 0) {
      return nullptr;
    }
    committed_ += kCommitStep;
  }
  void* p = reinterpret_cast<void*>(base_ + used_);
  used_ += size;
  in_use_ += size;
  return p;
}

void KeyArena::Free(void* p, size_t size) {
  size = Rounded(size < kMinSize ? kMinSize : size);
  std::lock_guard lock(mu_);
  in_use_ -= size;
  Push(size / kAlign, p);
}

size_t KeyArena::committed() const {
  std::lock_guard lock(mu_);
  return committed_;
}

size_t KeyArena::in_use() const {
  std::lock_guard lock(mu_);
  return in_use_;
}

}  // namespace cstatsd
