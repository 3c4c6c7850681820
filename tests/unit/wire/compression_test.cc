#include "wire/compression.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>

#include "gostatsd.pb.h"

namespace cstatsd::wire {
namespace {

std::string Sample() {
  std::string s;
  for (int i = 0; i < 5000; ++i) s += "metric.name." + std::to_string(i % 97) + ":1|c\n";
  return s;
}

class RoundTrip : public ::testing::TestWithParam<Compression> {};

TEST_P(RoundTrip, DecompressGivesBackWhatWasCompressed) {
  std::string in = Sample();
  for (int level : {0, 1, 9}) {
    auto packed = Compress(GetParam(), in, level);
    ASSERT_TRUE(packed.ok()) << packed.error();
    Decompressed out = Decompress(GetParam(), *packed, 1 << 20);
    ASSERT_EQ(out.error, DecompressError::kNone) << out.message;
    EXPECT_EQ(out.data, in);
  }
}

TEST_P(RoundTrip, OutputBeyondTheLimitIsRefused) {
  std::string bomb(8 << 20, 'a');  // compresses to a few KiB
  auto packed = Compress(GetParam(), bomb, 9);
  ASSERT_TRUE(packed.ok());
  Decompressed out = Decompress(GetParam(), *packed, 1 << 20);
  EXPECT_EQ(out.error, DecompressError::kTooLarge);
  EXPECT_TRUE(out.data.empty());
  // Exactly at the limit is fine.
  Decompressed exact = Decompress(GetParam(), *packed, bomb.size());
  EXPECT_EQ(exact.error, DecompressError::kNone) << exact.message;
  EXPECT_EQ(exact.data.size(), bomb.size());
}

class Framed : public ::testing::TestWithParam<Compression> {};  // identity has no framing

TEST_P(Framed, TruncatedOrGarbageInputIsCorrupt) {
  auto packed = Compress(GetParam(), Sample(), 6);
  ASSERT_TRUE(packed.ok());
  std::string cut = packed->substr(0, packed->size() / 2);
  EXPECT_EQ(Decompress(GetParam(), cut, 1 << 20).error, DecompressError::kCorrupt);
  EXPECT_EQ(Decompress(GetParam(), "this is not compressed at all", 1 << 20).error,
            DecompressError::kCorrupt);
  EXPECT_EQ(Decompress(GetParam(), "", 1 << 20).error, DecompressError::kCorrupt);
}

TEST_P(Framed, BytesAfterTheEndOfTheStreamAreCorrupt) {
  // gostatsd's readers stop at the end of the stream and ignore the rest; a 202 for a body whose
  // tail was never read hides a broken or probing sender (issue 14).
  auto packed = Compress(GetParam(), Sample(), 6);
  ASSERT_TRUE(packed.ok());
  for (const std::string& tail : {std::string("x"), std::string(1000, '\0'), *packed}) {
    Decompressed out = Decompress(GetParam(), *packed + tail, 1 << 20);
    EXPECT_EQ(out.error, DecompressError::kCorrupt) << tail.size();
    EXPECT_NE(out.message.find("after the end"), std::string::npos) << out.message;
  }
}

TEST_P(Framed, OutputIsTakenFromTheBudgetAndGivenBackOnEveryPath) {
  const std::string in = Sample();  // ~100 KB
  auto packed = Compress(GetParam(), in, 6);
  ASSERT_TRUE(packed.ok());
  std::atomic<uint64_t> in_flight{0};
  {
    BudgetLease lease(&in_flight, 1 << 20);
    PageBuffer out;
    std::string why;
    ASSERT_EQ(DecompressTo(GetParam(), *packed, 1 << 20, &lease, out, why), DecompressError::kNone)
        << why;
    EXPECT_EQ(out.view(), in);
    // Charged in chunks of at most 64 KiB ahead of what was written.
    EXPECT_GE(in_flight.load(), in.size());
    EXPECT_LE(in_flight.load(), in.size() + 64 * 1024);
    EXPECT_EQ(lease.held(), in_flight.load());
  }
  EXPECT_EQ(in_flight.load(), 0u);

  // Another request holds all but 10 KB: this one stops at its first chunk, takes nothing.
  in_flight = (1 << 20) - 10000;
  {
    BudgetLease lease(&in_flight, 1 << 20);
    PageBuffer out;
    std::string why;
    EXPECT_EQ(DecompressTo(GetParam(), *packed, 1 << 20, &lease, out, why),
              DecompressError::kOverBudget);
    EXPECT_FALSE(lease.never_fits());  // it would fit once the other request is done
  }
  EXPECT_EQ(in_flight.load(), (1u << 20) - 10000);

  // A budget smaller than this body alone: never fits.
  in_flight = 0;
  {
    BudgetLease lease(&in_flight, 50000);
    PageBuffer out;
    std::string why;
    EXPECT_EQ(DecompressTo(GetParam(), *packed, 1 << 20, &lease, out, why),
              DecompressError::kOverBudget);
    EXPECT_TRUE(lease.never_fits());
  }
  EXPECT_EQ(in_flight.load(), 0u);

  // Corrupt and too large: given back too.
  {
    BudgetLease lease(&in_flight, 1 << 30);
    PageBuffer out;
    std::string why;
    EXPECT_EQ(DecompressTo(GetParam(), *packed + "junk", 1 << 20, &lease, out, why),
              DecompressError::kCorrupt);
    EXPECT_EQ(DecompressTo(GetParam(), *packed, 1000, &lease, out, why),
              DecompressError::kTooLarge);
  }
  EXPECT_EQ(in_flight.load(), 0u);
}

TEST(BudgetLease, GrowStopsAtTheSharedLimit) {
  std::atomic<uint64_t> in_flight{0};
  BudgetLease a(&in_flight, 100);
  BudgetLease b(&in_flight, 100);
  EXPECT_TRUE(a.Grow(60));
  EXPECT_FALSE(b.Grow(50));  // 110 > 100
  EXPECT_FALSE(b.never_fits());
  EXPECT_TRUE(b.Grow(40));
  EXPECT_EQ(in_flight.load(), 100u);
  a.Release();
  EXPECT_EQ(in_flight.load(), 40u);
  EXPECT_FALSE(b.Grow(61));  // 101 for b alone
  EXPECT_TRUE(b.never_fits());
  BudgetLease none(nullptr, 0);  // no budget
  EXPECT_TRUE(none.Grow(uint64_t{1} << 40));
}

TEST(PageBuffer, OnlyWhatIsReservedAndMovedOwnership) {
  PageBuffer a;
  ASSERT_TRUE(a.Reserve(size_t{1} << 30));  // address space only
  EXPECT_GE(a.capacity(), size_t{1} << 30);
  std::memset(a.data(), 'x', 10);
  a.set_size(10);
  PageBuffer b(std::move(a));
  EXPECT_EQ(b.view(), "xxxxxxxxxx");
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
  ASSERT_TRUE(b.Reserve(0));
  EXPECT_EQ(b.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(All, RoundTrip,
                         ::testing::Values(Compression::kNone, Compression::kZlib,
                                           Compression::kGzip, Compression::kLz4));

INSTANTIATE_TEST_SUITE_P(ZlibAndLz4, Framed,
                         ::testing::Values(Compression::kZlib, Compression::kGzip,
                                           Compression::kLz4));

TEST(ContentEncoding, NamesMatchTheForwardingProtocol) {
  EXPECT_EQ(ContentEncoding(Compression::kZlib), "deflate");
  EXPECT_EQ(ContentEncoding(Compression::kLz4), "lz4");
  EXPECT_EQ(ContentEncoding(Compression::kGzip), "gzip");
  EXPECT_EQ(Compress(Compression::kGzip, "x", 9)->substr(0, 2), "\x1f\x8b");  // gzip magic
  EXPECT_EQ(ContentEncoding(Compression::kNone), "identity");
}

TEST(Schema, FieldNumbersAreGostatsds) {
  const auto* d = pb::RawTimerV2::descriptor();
  EXPECT_EQ(d->FindFieldByName("SampleCount")->number(), 3);
  EXPECT_EQ(d->FindFieldByName("Values")->number(), 4);
  EXPECT_EQ(pb::EventV2::descriptor()->FindFieldByName("Type")->number(), 10);
  EXPECT_EQ(pb::RawMessageV2::descriptor()->FindFieldByName("Timers")->number(), 4);
}

}  // namespace
}  // namespace cstatsd::wire
