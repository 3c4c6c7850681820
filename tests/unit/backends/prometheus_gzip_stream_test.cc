// The scrape endpoint's gzip (docs/prometheus.md#memory): a body deflated in pieces and finished
// by each scrape is one gzip member that zlib reads whole, and the Inflater gives the body back.
#include <gtest/gtest.h>

#include <string>

#include "backends/prometheus/gzip_stream.h"
#include "wire/compression.h"

namespace cstatsd::backends::prometheus {
namespace {

// One gzip member, nothing after it (wire::Decompress refuses trailing bytes; zlib checks the
// trailer's CRC and length).
std::string Gunzip(const std::string& in) {
  wire::Decompressed d = wire::Decompress(wire::Compression::kGzip, in, size_t{1} << 30);
  EXPECT_EQ(d.error, wire::DecompressError::kNone) << d.message;
  return std::move(d.data);
}

// Text of `n` bytes that does not compress to nothing.
std::string Body(size_t n) {
  std::string s;
  uint32_t x = 12345;
  while (s.size() < n) {
    x = x * 1103515245 + 12345;
    s += "metric_" + std::to_string(x % 997) + "{k=\"" + std::to_string(x % 31) + "\"} 1\n";
  }
  s.resize(n);
  return s;
}

TEST(GzipStreamTest, PiecesAndATailAreOneMember) {
  const std::string body = Body(3 << 20);  // several of the writer's 1 MiB slices
  GzipWriter w;
  for (size_t at = 0; at < body.size(); at += 777777) w.Append(body.substr(at, 777777));
  const GzipPrefix p = w.Finish();
  EXPECT_EQ(p.length, body.size());
  EXPECT_LT(p.bytes.size(), body.size() / 2);
  EXPECT_EQ(Gunzip(p.bytes + GzipFinish(p, "tail\n")), body + "tail\n");
  EXPECT_EQ(Gunzip(p.bytes + GzipFinish(p, "")), body);
  // Each scrape finishes the same prefix.
  EXPECT_EQ(Gunzip(p.bytes + GzipFinish(p, "other\n")), body + "other\n");
}

TEST(GzipStreamTest, AnEmptyBody) {
  const GzipPrefix p = GzipStart("");
  EXPECT_EQ(p.length, 0u);
  EXPECT_EQ(Gunzip(p.bytes + GzipFinish(p, "x\n")), "x\n");
  Inflater in(p);
  char buf[16];
  EXPECT_EQ(in.Read(buf, sizeof(buf)), 0u);
  EXPECT_FALSE(in.failed());
}

TEST(GzipStreamTest, TheInflaterGivesTheBodyBackInAnyBlockSize) {
  const std::string body = Body(1 << 20);
  const GzipPrefix p = GzipStart(body);
  for (const size_t block : {size_t{1}, size_t{4093}, size_t{65536}, size_t{4} << 20}) {
    Inflater in(p);
    std::string out;
    std::string buf(block, '\0');
    size_t n;
    while ((n = in.Read(buf.data(), buf.size())) > 0) out.append(buf.data(), n);
    EXPECT_FALSE(in.failed());
    EXPECT_EQ(in.produced(), body.size());
    EXPECT_EQ(out, body) << block;
  }
}

TEST(GzipStreamTest, ACorruptPrefixFailsAndStops) {
  GzipPrefix p = GzipStart(Body(100000));
  for (size_t i = 10; i < p.bytes.size(); ++i) p.bytes[i] = static_cast<char>(0xff);
  Inflater in(p);
  std::string buf(65536, '\0');
  uint64_t total = 0;
  size_t n;
  while ((n = in.Read(buf.data(), buf.size())) > 0) total += n;
  EXPECT_TRUE(in.failed());
  EXPECT_LT(total, p.length);
}

}  // namespace
}  // namespace cstatsd::backends::prometheus
