// cstatsd-loader --replay (docs/capture.md#replay): rotated files are read oldest first whatever
// order they are given in; a corrupt or missing file is an error before anything is sent; a
// sender always maps to the same socket; the summary's JSON is one object with the counts.
// (Sending itself is checked end to end by tests/integration/test_capture_replay.py.)
#include "loader/replay.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "unit/support/temp_dir.h"

namespace cstatsd::loader {
namespace {

namespace fs = std::filesystem;

class ReplayTest : public ::testing::Test {
 protected:
  test::TempDir tmp_{"cstatsd_replay_test_"};
  const fs::path dir_ = tmp_.path();

  // A capture file with one datagram per time.
  std::string Write(const std::string& name, std::initializer_list<int64_t> times) {
    std::string bytes;
    capture::AppendFileHeader(bytes);
    capture::Endpoint src, local;
    inet_pton(AF_INET, "127.0.0.1", src.address.data());
    src.port = 1234;
    for (int64_t t : times) capture::AppendPacket(bytes, t, src, local, "x:1|c");
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
};

TEST_F(ReplayTest, RotatedFilesAreReadOldestFirst) {
  const std::string cur = Write("cap", {300, 301});
  const std::string one = Write("cap.1", {200});
  const std::string two = Write("cap.2", {100, 150});
  const std::string empty = Write("cap.3", {});  // a file with no datagram is left out
  auto ordered = OrderCaptureFiles({cur, one, empty, two});
  ASSERT_TRUE(ordered.ok()) << ordered.error();
  EXPECT_EQ(*ordered, (std::vector<std::string>{two, one, cur}));
}

TEST_F(ReplayTest, OnATieTheRotationSuffixDecides) {
  // One recvmmsg batch shares a time: a rotation inside it starts a file at the time the
  // previous one ended.
  const std::string cur = Write("t", {500});
  const std::string one = Write("t.1", {500});
  const std::string two = Write("t.2", {500});
  auto ordered = OrderCaptureFiles({cur, one, two});
  ASSERT_TRUE(ordered.ok()) << ordered.error();
  EXPECT_EQ(*ordered, (std::vector<std::string>{two, one, cur}));
}

TEST_F(ReplayTest, AMissingOrCorruptFileIsAnError) {
  const std::string good = Write("cap", {1});
  auto missing = OrderCaptureFiles({good, (dir_ / "nope").string()});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("nope"), std::string::npos) << missing.error();

  const std::string bad = (dir_ / "bad").string();
  std::ofstream(bad, std::ios::binary) << "metric:1|c\n";  // not a capture file
  auto corrupt = OrderCaptureFiles({good, bad});
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.error().find("bad"), std::string::npos) << corrupt.error();
}

TEST(ReplaySocketTest, ASenderAlwaysGoesFromTheSameSocket) {
  std::set<size_t> used;
  for (uint16_t port = 1; port <= 64; ++port) {
    capture::Endpoint e;
    e.port = port;
    const size_t s = SocketFor(e, 4);
    EXPECT_LT(s, 4U);
    EXPECT_EQ(SocketFor(e, 4), s);
    used.insert(s);
    EXPECT_EQ(SocketFor(e, 1), 0U);
  }
  EXPECT_GT(used.size(), 1U);  // senders spread over the sockets
}

TEST(ReplaySummaryTest, JsonHoldsTheCounts) {
  ReplaySummary s;
  s.files = 2;
  s.datagrams = 10;
  s.lines = 25;
  s.bytes = 300;
  s.seconds = 0.5;
  s.error = "f: offset 8: \"bad\"";
  const std::string j = FormatReplaySummary(s, true);
  EXPECT_NE(j.find("\"datagrams\":10,"), std::string::npos) << j;
  EXPECT_NE(j.find("\"lines\":25,"), std::string::npos) << j;
  EXPECT_NE(j.find("\"datagrams_per_second\":20.0,"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("error":"f: offset 8: \"bad\"")"), std::string::npos) << j;
  EXPECT_NE(FormatReplaySummary(s, false).find("replayed 10 datagrams (25 lines"),
            std::string::npos);
}

}  // namespace
}  // namespace cstatsd::loader
