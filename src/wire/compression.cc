#include "wire/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <sys/mman.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

namespace cstatsd::wire {

std::string_view ContentEncoding(Compression c) {
  switch (c) {
    case Compression::kZlib:
      return "deflate";
    case Compression::kGzip:
      return "gzip";
    case Compression::kLz4:
      return "lz4";
    case Compression::kSnappy:
      return "snappy";
    case Compression::kNone:
      break;
  }
  return "identity";
}

namespace {

Result<std::string> ZlibCompress(std::string_view in, int level) {
  uLongf size = compressBound(static_cast<uLong>(in.size()));
  std::string out(size, '\0');
  int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                     reinterpret_cast<const Bytef*>(in.data()), static_cast<uLong>(in.size()),
                     std::clamp(level, 0, 9));
  if (rc != Z_OK) return Status::Error("zlib compress failed: " + std::to_string(rc));
  out.resize(size);
  return out;
}

// zlib's deflate with a gzip wrapper (window bits 15 + 16).
Result<std::string> GzipCompress(std::string_view in, int level) {
  z_stream zs{};
  if (deflateInit2(&zs, std::clamp(level, 0, 9), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return Status::Error("gzip: deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::Error("gzip compress failed: " + std::to_string(rc));
  return out;
}

Result<std::string> Lz4Compress(std::string_view in, int level) {
  LZ4F_preferences_t prefs{};
  prefs.compressionLevel = std::clamp(level, 0, 9);
  size_t bound = LZ4F_compressFrameBound(in.size(), &prefs);
  std::string out(bound, '\0');
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return Status::Error(std::string("lz4 compress: ") + LZ4F_getErrorName(n));
  out.resize(n);
  return out;
}

// Snappy's block format (not its framing format): what Prometheus remote write sends.
Result<std::string> SnappyCompress(std::string_view in) {
  std::string out;
  snappy::Compress(in.data(), in.size(), &out);
  return out;
}

constexpr size_t kChunk = 64 * 1024;

// Output chunks of at most kChunk bytes, each taken from the lease before it is written.
class Output {
 public:
  Output(PageBuffer& out, size_t max_output, BudgetLease* lease)
      : out_(out), max_(max_output), lease_(lease) {}
  bool full() const { return out_.size() >= max_; }
  // The room of the next write (0 when the lease has none: kOverBudget).
  size_t Room() {
    const size_t want = std::min(kChunk, max_ - out_.size());
    const size_t end = out_.size() + want;
    if (lease_ != nullptr && end > charged_ && !lease_->Grow(end - charged_)) return 0;
    charged_ = std::max(charged_, end);
    return want;
  }
  char* tail() { return out_.data() + out_.size(); }
  void Wrote(size_t n) { out_.set_size(out_.size() + n); }

 private:
  PageBuffer& out_;
  size_t max_;
  BudgetLease* lease_;
  size_t charged_ = 0;
};

constexpr const char* kTooLargeMessage = "body larger than the limit after decompression";
constexpr const char* kOverBudgetMessage = "ingestion memory budget spent";

// window_bits: 15 for a zlib stream, 15 + 16 for gzip.
DecompressError ZlibDecompress(std::string_view in, int window_bits, Output& out,
                               std::string& message) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) {
    message = "inflateInit failed";
    return DecompressError::kCorrupt;
  }
  std::unique_ptr<z_stream, int (*)(z_stream*)> end(&zs, &inflateEnd);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (out.full()) {
      // Full: one more byte of output means the body is too large.
      char probe;
      zs.next_out = reinterpret_cast<Bytef*>(&probe);
      zs.avail_out = 1;
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc == Z_STREAM_END && zs.avail_out == 1) break;
      if (rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR) {
        message = kTooLargeMessage;
        return DecompressError::kTooLarge;
      }
      message = zs.msg ? zs.msg : "corrupt zlib stream";
      return DecompressError::kCorrupt;
    }
    const size_t room = out.Room();
    if (room == 0) {
      message = kOverBudgetMessage;
      return DecompressError::kOverBudget;
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.tail());
    zs.avail_out = static_cast<uInt>(room);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.Wrote(room - zs.avail_out);
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && !(rc == Z_BUF_ERROR && zs.avail_out == 0)) {
      message = zs.msg ? zs.msg : "truncated or corrupt zlib stream";
      return DecompressError::kCorrupt;
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      message = "truncated zlib stream";
      return DecompressError::kCorrupt;
    }
  }
  if (zs.avail_in != 0) {
    // gostatsd (Go's zlib reader) ignores them; a sender that appends bytes is broken or probing.
    message = std::to_string(zs.avail_in) + " bytes after the end of the compressed stream";
    return DecompressError::kCorrupt;
  }
  return DecompressError::kNone;
}

DecompressError Lz4Decompress(std::string_view in, Output& out, std::string& message) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    message = "lz4 context";
    return DecompressError::kCorrupt;
  }
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(
      raw, &LZ4F_freeDecompressionContext);
  const char* src = in.data();
  size_t left = in.size();
  size_t hint = 1;
  while (left > 0 && hint != 0) {
    char probe;
    const bool full = out.full();
    size_t dst_size = 1;
    if (!full) {
      dst_size = out.Room();
      if (dst_size == 0) {
        message = kOverBudgetMessage;
        return DecompressError::kOverBudget;
      }
    }
    size_t src_size = left;
    hint =
        LZ4F_decompress(ctx.get(), full ? &probe : out.tail(), &dst_size, src, &src_size, nullptr);
    if (LZ4F_isError(hint)) {
      message = std::string("lz4: ") + LZ4F_getErrorName(hint);
      return DecompressError::kCorrupt;
    }
    if (full && dst_size > 0) {
      message = kTooLargeMessage;
      return DecompressError::kTooLarge;
    }
    if (!full) out.Wrote(dst_size);
    src += src_size;
    left -= src_size;
    if (src_size == 0 && dst_size == 0 && !full) break;  // no progress
  }
  if (hint != 0) {
    message = "truncated lz4 frame";
    return DecompressError::kCorrupt;
  }
  if (left != 0) {
    message = std::to_string(left) + " bytes after the end of the lz4 frame";
    return DecompressError::kCorrupt;
  }
  return DecompressError::kNone;
}

// A block states its length first: checked against the limit and taken from the budget before
// anything is written (`out` is reserved at max_output).
DecompressError SnappyDecompress(std::string_view in, size_t max_output, BudgetLease* lease,
                                 PageBuffer& out, std::string& message) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(in.data(), in.size(), &length)) {
    message = "snappy: bad block header";
    return DecompressError::kCorrupt;
  }
  if (length > max_output) {
    message = kTooLargeMessage;
    return DecompressError::kTooLarge;
  }
  if (lease != nullptr && !lease->Grow(length)) {
    message = kOverBudgetMessage;
    return DecompressError::kOverBudget;
  }
  const bool ok = length == 0 ? snappy::IsValidCompressedBuffer(in.data(), in.size())
                              : snappy::RawUncompress(in.data(), in.size(), out.data());
  if (!ok) {
    message = "snappy: corrupt block";
    return DecompressError::kCorrupt;
  }
  out.set_size(length);
  return DecompressError::kNone;
}

}  // namespace

Result<std::string> Compress(Compression c, std::string_view in, int level) {
  switch (c) {
    case Compression::kZlib:
      return ZlibCompress(in, level);
    case Compression::kGzip:
      return GzipCompress(in, level);
    case Compression::kLz4:
      return Lz4Compress(in, level);
    case Compression::kSnappy:
      return SnappyCompress(in);
    case Compression::kNone:
      break;
  }
  return std::string(in);
}

bool BudgetLease::Grow(uint64_t n) {
  if (in_flight_ == nullptr) {
    held_ += n;
    return true;
  }
  if (held_ + n > limit_) {
    never_fits_ = true;
    return false;
  }
  uint64_t cur = in_flight_->load(std::memory_order_relaxed);
  do {
    if (cur + n > limit_) return false;
  } while (!in_flight_->compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
  held_ += n;
  return true;
}

void BudgetLease::Release() {
  if (in_flight_ != nullptr && held_ != 0) {
    in_flight_->fetch_sub(held_, std::memory_order_relaxed);
  }
  held_ = 0;
}

PageBuffer::~PageBuffer() {
  if (base_ != nullptr) munmap(base_, capacity_);
}

PageBuffer::PageBuffer(PageBuffer&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

PageBuffer& PageBuffer::operator=(PageBuffer&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) munmap(base_, capacity_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

void PageBuffer::Trim(size_t keep) {
  size_ = 0;
  const size_t page = 4096;
  keep = (keep + page - 1) / page * page;
  if (base_ != nullptr && keep < capacity_) {
    madvise(base_ + keep, capacity_ - keep, MADV_DONTNEED);
  }
}

bool PageBuffer::Reserve(size_t capacity) {
  if (base_ != nullptr && capacity_ >= capacity) {
    size_ = 0;
    return true;
  }
  if (base_ != nullptr) munmap(base_, capacity_);
  base_ = nullptr;
  size_ = 0;
  capacity_ = 0;
  if (capacity == 0) return true;
  const size_t page = 4096;
  const size_t bytes = (capacity + page - 1) / page * page;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  base_ = static_cast<char*>(p);
  capacity_ = bytes;
  return true;
}

DecompressError DecompressTo(Compression c, std::string_view in, size_t max_output,
                             BudgetLease* lease, PageBuffer& out, std::string& message) {
  if (!out.Reserve(max_output)) {
    message = "cannot map " + std::to_string(max_output) + " bytes";
    return DecompressError::kOverBudget;
  }
  Output o(out, max_output, lease);
  switch (c) {
    case Compression::kZlib:
      return ZlibDecompress(in, 15, o, message);
    case Compression::kGzip:
      return ZlibDecompress(in, 15 + 16, o, message);
    case Compression::kLz4:
      return Lz4Decompress(in, o, message);
    case Compression::kSnappy:
      return SnappyDecompress(in, max_output, lease, out, message);
    case Compression::kNone:
      break;
  }
  if (in.size() > max_output) {
    message = "body larger than the limit";
    return DecompressError::kTooLarge;
  }
  if (lease != nullptr && !lease->Grow(in.size())) {
    message = kOverBudgetMessage;
    return DecompressError::kOverBudget;
  }
  if (!in.empty()) std::memcpy(out.data(), in.data(), in.size());
  out.set_size(in.size());
  return DecompressError::kNone;
}

Decompressed Decompress(Compression c, std::string_view in, size_t max_output) {
  Decompressed r;
  PageBuffer out;
  r.error = DecompressTo(c, in, max_output, nullptr, out, r.message);
  if (r.error == DecompressError::kNone) r.data.assign(out.view());
  return r;
}

}  // namespace cstatsd::wire
