// gzip for the scrape endpoint (docs/prometheus.md#memory): an exposition is kept only
// compressed. GzipWriter deflates a rendering as it is written, in slices, so the text itself is
// never held whole; each scrape then finishes the member with its own lines (GzipFinish), or, for
// a scraper that does not accept gzip, reads the text back through an Inflater as it sends it.
// Plain values: a GzipWriter or Inflater belongs to one thread at a time.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cstatsd::backends::prometheus {

// The start of a gzip member: the header and the body's deflate blocks, flushed to a byte
// boundary but not finished, so that each scrape appends its own lines, the final block and the
// trailer (GzipFinish) and the whole is one gzip stream that any client reads.
struct GzipPrefix {
  std::string bytes;
  uint32_t crc = 0;     // CRC-32 of the body
  uint64_t length = 0;  // body bytes
};

// Deflates a body written in pieces into a GzipPrefix, at zlib's fastest level: every flush
// compresses its exposition (1,000,000 series, ~100 MB of text) and must not take a second.
class GzipWriter {
 public:
  GzipWriter();
  ~GzipWriter();
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;

  void Append(std::string_view piece);
  // The prefix (byte-aligned, not final); the writer is spent.
  GzipPrefix Finish();

 private:
  void Deflate(std::string_view in, int flush);

  z_stream z_{};
  bool ok_ = false;
  GzipPrefix out_;
};

// The prefix of a body given whole.
GzipPrefix GzipStart(std::string_view body);
// The rest of the member: `tail` deflated and finished, then the trailer for body + tail.
std::string GzipFinish(const GzipPrefix& prefix, std::string_view tail);

// Reads a GzipPrefix's body back, front to back, for a scraper that does not accept gzip.
class Inflater {
 public:
  explicit Inflater(const GzipPrefix& prefix);
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Writes the next at most `max` bytes of the body to `buf`; returns how many (0 at the end, or
  // on corrupt input: then failed()).
  size_t Read(char* buf, size_t max);
  uint64_t produced() const { return produced_; }
  bool failed() const { return failed_; }

 private:
  const GzipPrefix& prefix_;
  z_stream z_{};
  bool ok_ = false;
  bool failed_ = false;
  uint64_t produced_ = 0;
};

}  // namespace cstatsd::backends::prometheus
