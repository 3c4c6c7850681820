// Body compression of the forwarding protocol (spec §4.5, §5.1) and the HTTP backends: zlib
// streams (HTTP Content-Encoding `deflate`), gzip (`gzip`) and LZ4 frames (`lz4`). Decompression is
// bounded: a body that would grow past `max_output` bytes is refused without allocating more than
// that (decompression bombs).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cstatsd::wire {

enum class Compression { kNone, kZlib, kGzip, kLz4 };

// The HTTP Content-Encoding for a compression: "identity", "deflate", "gzip", "lz4".
std::string_view ContentEncoding(Compression c);

// Compresses `in` at `level` (zlib and gzip 0..9, lz4 0 = fast .. 9 = high compression).
Result<std::string> Compress(Compression c, std::string_view in, int level);

enum class DecompressError { kNone, kCorrupt, kTooLarge };

struct Decompressed {
  std::string data;
  DecompressError error = DecompressError::kNone;
  std::string message;  // why, when error != kNone
};

// Decompresses `in`; the output never exceeds max_output bytes (kTooLarge beyond).
Decompressed Decompress(Compression c, std::string_view in, size_t max_output);

}  // namespace cstatsd::wire
