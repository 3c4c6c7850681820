#include "wire/compression.h"

#include <lz4frame.h>
#include <zlib.h>

#include <algorithm>
#include <memory>

namespace cstatsd::wire {

std::string_view ContentEncoding(Compression c) {
  switch (c) {
    case Compression::kZlib:
      return "deflate";
    case Compression::kGzip:
      return "gzip";
    case Compression::kLz4:
      return "lz4";
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

constexpr size_t kChunk = 64 * 1024;

// window_bits: 15 for a zlib stream, 15 + 16 for gzip.
Decompressed ZlibDecompress(std::string_view in, size_t max_output, int window_bits) {
  Decompressed r;
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) {
    return {{}, DecompressError::kCorrupt, "inflateInit failed"};
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    size_t old = r.data.size();
    if (old >= max_output) {
      // Full: one more byte of output means the body is too large.
      char probe;
      zs.next_out = reinterpret_cast<Bytef*>(&probe);
      zs.avail_out = 1;
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc == Z_STREAM_END && zs.avail_out == 1) break;
      inflateEnd(&zs);
      if (rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR) {
        return {{}, DecompressError::kTooLarge, "body larger than the limit after decompression"};
      }
      return {{}, DecompressError::kCorrupt, zs.msg ? zs.msg : "corrupt zlib stream"};
    }
    size_t grow = std::min(kChunk, max_output - old);
    r.data.resize(old + grow);
    zs.next_out = reinterpret_cast<Bytef*>(r.data.data() + old);
    zs.avail_out = static_cast<uInt>(grow);
    rc = inflate(&zs, Z_NO_FLUSH);
    r.data.resize(old + grow - zs.avail_out);
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && !(rc == Z_BUF_ERROR && zs.avail_out == 0)) {
      std::string msg = zs.msg ? zs.msg : "truncated or corrupt zlib stream";
      inflateEnd(&zs);
      return {{}, DecompressError::kCorrupt, msg};
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return {{}, DecompressError::kCorrupt, "truncated zlib stream"};
    }
  }
  inflateEnd(&zs);
  return r;
}

Decompressed Lz4Decompress(std::string_view in, size_t max_output) {
  Decompressed r;
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    return {{}, DecompressError::kCorrupt, "lz4 context"};
  }
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(
      raw, &LZ4F_freeDecompressionContext);
  const char* src = in.data();
  size_t left = in.size();
  size_t hint = 1;
  while (left > 0 && hint != 0) {
    size_t old = r.data.size();
    char probe;
    bool full = old >= max_output;
    size_t grow = full ? 0 : std::min(kChunk, max_output - old);
    r.data.resize(old + grow);
    size_t dst_size = full ? 1 : grow;
    size_t src_size = left;
    hint = LZ4F_decompress(ctx.get(), full ? &probe : r.data.data() + old, &dst_size, src,
                           &src_size, nullptr);
    if (LZ4F_isError(hint)) {
      return {{}, DecompressError::kCorrupt, std::string("lz4: ") + LZ4F_getErrorName(hint)};
    }
    if (full && dst_size > 0) {
      return {{}, DecompressError::kTooLarge, "body larger than the limit after decompression"};
    }
    r.data.resize(old + (full ? 0 : dst_size));
    src += src_size;
    left -= src_size;
    if (src_size == 0 && dst_size == 0 && !full) break;  // no progress
  }
  if (hint != 0) return {{}, DecompressError::kCorrupt, "truncated lz4 frame"};
  return r;
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
    case Compression::kNone:
      break;
  }
  return std::string(in);
}

Decompressed Decompress(Compression c, std::string_view in, size_t max_output) {
  switch (c) {
    case Compression::kZlib:
      return ZlibDecompress(in, max_output, 15);
    case Compression::kGzip:
      return ZlibDecompress(in, max_output, 15 + 16);
    case Compression::kLz4:
      return Lz4Decompress(in, max_output);
    case Compression::kNone:
      break;
  }
  if (in.size() > max_output) {
    return {{}, DecompressError::kTooLarge, "body larger than the limit"};
  }
  return {std::string(in), DecompressError::kNone, {}};
}

}  // namespace cstatsd::wire
