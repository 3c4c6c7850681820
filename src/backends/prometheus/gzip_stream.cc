#include "backends/prometheus/gzip_stream.h"

#include <algorithm>

namespace cstatsd::backends::prometheus {
namespace {

constexpr int kGzipLevel = 1;
// RFC 1952: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
constexpr std::string_view kGzipHeader("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
// Input is handed to zlib (whose lengths are 32-bit) in slices of this size.
constexpr size_t kSlice = 1 << 20;

void PutLe32(uint32_t v, std::string& out) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t Crc(uint32_t crc, std::string_view data) {
  uLong c = crc;
  for (size_t at = 0; at < data.size(); at += kSlice) {
    const std::string_view part = data.substr(at, kSlice);
    c = crc32(c, reinterpret_cast<const Bytef*>(part.data()), static_cast<uInt>(part.size()));
  }
  return static_cast<uint32_t>(c);
}

}  // namespace

GzipWriter::GzipWriter() {
  ok_ = deflateInit2(&z_, kGzipLevel, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  out_.bytes.assign(kGzipHeader);
  out_.crc = static_cast<uint32_t>(crc32(0L, Z_NULL, 0));
}

GzipWriter::~GzipWriter() {
  if (ok_) deflateEnd(&z_);
}

// Deflates `in` onto out_.bytes, ended by `flush` (Z_NO_FLUSH, or Z_SYNC_FLUSH: byte-aligned,
// not final). The output grows with what deflate writes, never by a bound on the whole input.
void GzipWriter::Deflate(std::string_view in, int flush) {
  if (!ok_) return;
  std::string& out = out_.bytes;
  size_t at = 0;
  do {
    const std::string_view slice = in.substr(at, kSlice);
    at += slice.size();
    const bool last = at >= in.size();
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(slice.data()));
    z_.avail_in = static_cast<uInt>(slice.size());
    const int mode = last ? flush : Z_NO_FLUSH;
    int rc = Z_OK;
    do {
      const size_t used = out.size();
      const size_t room = deflateBound(&z_, z_.avail_in) + 64;
      out.resize(used + room);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
      z_.avail_out = static_cast<uInt>(room);
      rc = deflate(&z_, mode);
      out.resize(used + room - z_.avail_out);
    } while (rc == Z_OK && (z_.avail_in > 0 || z_.avail_out == 0));
  } while (at < in.size());
}

void GzipWriter::Append(std::string_view piece) {
  if (piece.empty()) return;
  out_.crc = Crc(out_.crc, piece);
  out_.length += piece.size();
  Deflate(piece, Z_NO_FLUSH);
}

GzipPrefix GzipWriter::Finish() {
  Deflate({}, Z_SYNC_FLUSH);
  out_.bytes.shrink_to_fit();
  return std::move(out_);
}

GzipPrefix GzipStart(std::string_view body) {
  GzipWriter w;
  w.Append(body);
  return w.Finish();
}

std::string GzipFinish(const GzipPrefix& prefix, std::string_view tail) {
  std::string out;
  z_stream z{};
  if (deflateInit2(&z, kGzipLevel, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return out;
  }
  // The scrape's own lines are a few KiB: one call.
  out.resize(deflateBound(&z, static_cast<uLong>(tail.size())) + 64);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(tail.data()));
  z.avail_in = static_cast<uInt>(tail.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  const uint32_t tail_crc = Crc(static_cast<uint32_t>(crc32(0L, Z_NULL, 0)), tail);
  PutLe32(
      static_cast<uint32_t>(crc32_combine(prefix.crc, tail_crc, static_cast<z_off_t>(tail.size()))),
      out);
  PutLe32(static_cast<uint32_t>(prefix.length + tail.size()), out);
  return out;
}

Inflater::Inflater(const GzipPrefix& prefix) : prefix_(prefix) {
  ok_ = prefix.bytes.size() >= kGzipHeader.size() && inflateInit2(&z_, -MAX_WBITS) == Z_OK;
  if (ok_) {
    z_.next_in =
        reinterpret_cast<Bytef*>(const_cast<char*>(prefix.bytes.data())) + kGzipHeader.size();
    z_.avail_in = static_cast<uInt>(prefix.bytes.size() - kGzipHeader.size());
  }
  failed_ = !ok_ && prefix.length > 0;
}

Inflater::~Inflater() {
  if (ok_) inflateEnd(&z_);
}

size_t Inflater::Read(char* buf, size_t max) {
  if (!ok_ || failed_ || produced_ >= prefix_.length) return 0;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(
      {static_cast<uint64_t>(max), prefix_.length - produced_, uint64_t{1} << 30}));
  z_.next_out = reinterpret_cast<Bytef*>(buf);
  z_.avail_out = static_cast<uInt>(want);
  inflate(&z_, Z_SYNC_FLUSH);
  const size_t n = want - z_.avail_out;
  produced_ += n;
  // Bytes of the body are still due, so no output means a corrupt prefix (an error with some
  // output shows on the next call).
  failed_ = n == 0;
  return n;
}

}  // namespace cstatsd::backends::prometheus
