#include "wire/compression.h"

#include <gtest/gtest.h>

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
