// LineAssembler (no sockets): a TCP byte stream split at arbitrary points gives the same lines,
// an over-long line is one "too long" and its bytes are skipped, and the buffer a connection
// keeps never exceeds max_line however long a line without '\n' is.
#include "ingest/line_assembler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cstatsd::ingest {
namespace {

struct Collected {
  std::string lines;  // every run handed over, concatenated
  int runs = 0;
  int too_long = 0;
};

void Feed(LineAssembler& a, std::string data, Collected& out) {
  a.Feed(
      data.data(), data.size(),
      [&](char* p, size_t n) {
        ASSERT_GT(n, 0u);
        ASSERT_EQ(p[n - 1], '\n');
        out.lines.append(p, n);
        ++out.runs;
      },
      [&] { ++out.too_long; });
}

void Finish(LineAssembler& a, Collected& out) {
  a.Finish([&](char* p, size_t n) { out.lines.append(p, n); });
}

TEST(LineAssemblerTest, EverySplitGivesTheSameLines) {
  const std::string stream = "a:1|c\nbb:2|g\n\nccc:3|ms|#t:1\nd:4|c";
  for (size_t cut1 = 0; cut1 <= stream.size(); ++cut1) {
    for (size_t cut2 = cut1; cut2 <= stream.size(); ++cut2) {
      LineAssembler a(64);
      Collected out;
      Feed(a, stream.substr(0, cut1), out);
      Feed(a, stream.substr(cut1, cut2 - cut1), out);
      Feed(a, stream.substr(cut2), out);
      EXPECT_EQ(out.lines, "a:1|c\nbb:2|g\n\nccc:3|ms|#t:1\n") << cut1 << " " << cut2;
      Finish(a, out);
      EXPECT_EQ(out.lines, stream) << cut1 << " " << cut2;
      EXPECT_EQ(out.too_long, 0);
    }
  }
}

TEST(LineAssemblerTest, CompleteLinesOfOneReadGoInOneRun) {
  LineAssembler a(64);
  Collected out;
  Feed(a, "a:1|c\nb:1|c\nc:1|c\nd:", out);
  EXPECT_EQ(out.runs, 1);
  EXPECT_EQ(a.buffered(), 2u);
}

TEST(LineAssemblerTest, AnEndlessLineKeepsAtMostMaxLineBytes) {
  const size_t max_line = 1000;
  LineAssembler a(max_line);
  Collected out;
  // 100 MiB without '\n' in reads of assorted sizes.
  const std::string chunk(65536, 'x');
  size_t peak = 0;
  for (int i = 0; i < 1600; ++i) {
    Feed(a, chunk.substr(0, 1 + (i * 7919) % chunk.size()), out);
    peak = std::max(peak, a.capacity());
  }
  EXPECT_LE(a.buffered(), max_line);
  EXPECT_LE(peak, 2 * max_line);  // std::string's growth over max_line at most
  EXPECT_EQ(out.too_long, 1);
  EXPECT_TRUE(out.lines.empty());
  // The line's end, then good lines: they count; the over-long line never does.
  Feed(a, "xxx\nok:1|c\n", out);
  EXPECT_EQ(out.lines, "ok:1|c\n");
  EXPECT_FALSE(a.skipping());
  EXPECT_EQ(out.too_long, 1);
}

TEST(LineAssemblerTest, ALineGrowingPastMaxLineAcrossReadsIsOneTooLong) {
  LineAssembler a(10);
  Collected out;
  Feed(a, "a:1|c\nbbbbbb", out);  // 6 bytes kept
  Feed(a, "bbbb", out);           // 10: still fits
  EXPECT_EQ(out.too_long, 0);
  Feed(a, "b", out);  // 11: too long
  EXPECT_EQ(out.too_long, 1);
  EXPECT_EQ(a.buffered(), 0u);
  Feed(a, "bbb\nc:1|c\n", out);
  EXPECT_EQ(out.lines, "a:1|c\nc:1|c\n");
  // Completed within the same read as its end: also too long.
  Feed(a, "dddddddd", out);
  Feed(a, "ddddd\ne:1|c\n", out);
  EXPECT_EQ(out.too_long, 2);
  EXPECT_EQ(out.lines, "a:1|c\nc:1|c\ne:1|c\n");
}

TEST(LineAssemblerTest, AnOverLongUnterminatedLastLineIsNotALineAtTheEnd) {
  LineAssembler a(4);
  Collected out;
  Feed(a, "ok\n123456", out);
  Finish(a, out);
  EXPECT_EQ(out.lines, "ok\n");
  EXPECT_EQ(out.too_long, 1);
}

TEST(LineAssemblerTest, ALargeTailIsReleasedOnceDelivered) {
  LineAssembler a(1 << 20);
  Collected out;
  Feed(a, std::string(100000, 'y'), out);
  EXPECT_GE(a.capacity(), 100000u);
  Feed(a, "\n", out);
  EXPECT_EQ(out.lines.size(), 100001u);
  EXPECT_LE(a.capacity(), 4096u);  // an idle connection does not keep a line's worth
}

}  // namespace
}  // namespace cstatsd::ingest
