// The capture writer and the workers' rings (docs/capture.md): datagrams come out of the files
// oldest first with their source; files rotate at capture-max-size and only capture-files are
// kept (the oldest deleted), each a readable pcapng file of mode 0600; a full ring drops from the
// capture and counts; a restart keeps the previous capture as FILE.1. Run() is called on the
// test's thread after Stop(), so it drains once and returns: no threads, no sleeps.
#include "capture/capture_writer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "unit/support/temp_dir.h"

namespace cstatsd::capture {
namespace {

namespace fs = std::filesystem;

class CaptureWriterTest : public ::testing::Test {
 protected:
  test::TempDir tmp_{"cstatsd_capture_test_"};
  const fs::path dir_ = tmp_.path();
  const std::string path_ = (dir_ / "cap.pcapng").string();

  static sockaddr_in Addr(const char* ip, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
  }

  static Endpoint Local() {
    Endpoint e;
    e.port = 8125;
    return e;
  }

  std::vector<Record> Read(const std::string& path, std::string* error = nullptr) {
    std::ifstream in(path, std::ios::binary);
    CaptureReader reader(in);
    std::vector<Record> out;
    Record r;
    CaptureReader::Next n;
    while ((n = reader.Read(r)) == CaptureReader::Next::kRecord) out.push_back(r);
    if (error != nullptr) *error = reader.error();
    return out;
  }
};

TEST_F(CaptureWriterTest, WritesEveryRingOldestFirstWithSources) {
  CaptureOptions o;
  o.path = path_;
  auto w = CaptureWriter::Open(o, Local());
  ASSERT_TRUE(w.ok()) << w.error();
  CaptureRing* a = (*w)->AddRing();
  CaptureRing* b = (*w)->AddRing();
  const sockaddr_in s1 = Addr("10.0.0.1", 1111), s2 = Addr("10.0.0.2", 2222);
  a->PutOne("a1:1|c", &s1, sizeof(s1), 100);
  a->PutOne("a2:1|c", &s1, sizeof(s1), 300);
  b->PutOne("b1:1|c", &s2, sizeof(s2), 200);
  b->PutOne("b2:1|c", &s2, sizeof(s2), 400);
  (*w)->Stop();
  (*w)->Run();

  std::string error;
  const auto r = Read(path_, &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(r.size(), 4U);
  const char* want[] = {"a1:1|c", "b1:1|c", "a2:1|c", "b2:1|c"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(r[i].payload, want[i]);
    EXPECT_EQ(r[i].time_ns, static_cast<int64_t>(100 * (i + 1)));
    EXPECT_EQ(EndpointText(r[i].source), i % 2 == 0 ? "10.0.0.1:1111" : "10.0.0.2:2222");
    EXPECT_EQ(r[i].destination.port, 8125);
  }
  const CaptureCounters c = (*w)->counters();
  EXPECT_EQ(c.written_datagrams, 4U);
  EXPECT_EQ(c.written_bytes, fs::file_size(path_));
  EXPECT_EQ(c.dropped_datagrams, 0U);
  EXPECT_EQ(c.write_errors, 0U);
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);  // captures hold client data
}

TEST_F(CaptureWriterTest, RotatesAtMaxSizeAndKeepsOnlyFilesCount) {
  CaptureOptions o;
  o.path = path_;
  o.files = 3;
  const sockaddr_in src = Addr("127.0.0.1", 5000);
  Endpoint src_e;
  ASSERT_TRUE(EndpointFromSockaddr(&src, sizeof(src), src_e));
  std::string header;
  AppendFileHeader(header);
  const std::string payload(100, 'x');
  // Room for two datagrams per file (a UDP socket's header).
  o.max_file_bytes = header.size() + 2 * PacketBlockSize(src_e, payload.size());
  auto w = CaptureWriter::Open(o, Local());
  ASSERT_TRUE(w.ok()) << w.error();
  CaptureRing* ring = (*w)->AddRing();
  for (int i = 0; i < 9; ++i) {
    std::string p = payload;
    p[0] = static_cast<char>('0' + i);
    ring->PutOne(p, &src, sizeof(src), 1000 + i);
  }
  (*w)->Stop();
  (*w)->Run();

  // 9 datagrams, 2 per file: 5 files written, the 3 newest kept.
  EXPECT_TRUE(fs::exists(path_));
  EXPECT_TRUE(fs::exists(path_ + ".1"));
  EXPECT_TRUE(fs::exists(path_ + ".2"));
  EXPECT_FALSE(fs::exists(path_ + ".3"));
  std::string firsts;
  for (const char* suffix : {".2", ".1", ""}) {
    const std::string p = path_ + suffix;
    EXPECT_LE(fs::file_size(p), o.max_file_bytes) << p;
    std::string error;
    for (const Record& r : Read(p, &error)) firsts += r.payload[0];
    EXPECT_EQ(error, "") << p;
  }
  EXPECT_EQ(firsts, "45678");  // oldest deleted, the rest in order
  EXPECT_EQ((*w)->counters().written_datagrams, 9U);
}

TEST_F(CaptureWriterTest, ARecordLargerThanMaxSizeStillGetsAFileOfItsOwn) {
  CaptureOptions o;
  o.path = path_;
  o.files = 2;
  o.max_file_bytes = 1;
  auto w = CaptureWriter::Open(o, Local());
  ASSERT_TRUE(w.ok());
  CaptureRing* ring = (*w)->AddRing();
  const sockaddr_in src = Addr("127.0.0.1", 5000);
  ring->PutOne("one:1|c", &src, sizeof(src), 1);
  ring->PutOne("two:1|c", &src, sizeof(src), 2);
  (*w)->Stop();
  (*w)->Run();
  ASSERT_EQ(Read(path_ + ".1").size(), 1U);
  EXPECT_EQ(Read(path_ + ".1")[0].payload, "one:1|c");
  ASSERT_EQ(Read(path_).size(), 1U);
  EXPECT_EQ(Read(path_)[0].payload, "two:1|c");
}

TEST_F(CaptureWriterTest, ARestartKeepsThePreviousCaptureAsFileDotOne) {
  CaptureOptions o;
  o.path = path_;
  const sockaddr_in src = Addr("127.0.0.1", 5000);
  for (const char* p : {"before:1|c", "after:1|c"}) {
    auto w = CaptureWriter::Open(o, Local());
    ASSERT_TRUE(w.ok());
    (*w)->AddRing()->PutOne(p, &src, sizeof(src), 1);
    (*w)->Stop();
    (*w)->Run();
  }
  ASSERT_EQ(Read(path_ + ".1").size(), 1U);
  EXPECT_EQ(Read(path_ + ".1")[0].payload, "before:1|c");
  EXPECT_EQ(Read(path_)[0].payload, "after:1|c");
}

TEST_F(CaptureWriterTest, AnUnwritablePathFailsTheStart) {
  CaptureOptions o;
  o.path = (dir_ / "missing" / "cap.pcapng").string();
  auto w = CaptureWriter::Open(o, Local());
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().find("capture"), std::string::npos) << w.error();
}

TEST_F(CaptureWriterTest, AFailedWriteStopsTheCaptureNotTheCaller) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  CaptureOptions o;
  o.path = "/dev/full";  // every write fails with ENOSPC
  o.files = 1;
  auto w = CaptureWriter::Open(o, Local());
  ASSERT_TRUE(w.ok()) << w.error();
  CaptureRing* ring = (*w)->AddRing();
  const sockaddr_in src = Addr("127.0.0.1", 5000);
  ring->PutOne("lost:1|c", &src, sizeof(src), 1);
  (*w)->Stop();
  (*w)->Run();
  ring->PutOne("after:1|c", &src, sizeof(src), 2);  // the ring is disabled: nothing queued
  CaptureRing::Entry e;
  EXPECT_FALSE(ring->Front(e));
  const CaptureCounters c = (*w)->counters();
  EXPECT_EQ(c.write_errors, 1U);
  EXPECT_EQ(c.written_datagrams, 0U);
  EXPECT_EQ(c.dropped_datagrams, 1U);
}

TEST(CaptureRingTest, AFullRingDropsAndCountsAndWrapsAround) {
  CaptureRing ring(4096);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  const std::string payload(1000, 'p');
  int queued = 0;
  for (int i = 0; i < 10; ++i) ring.PutOne(payload, &src, sizeof(src), i);
  CaptureRing::Entry e;
  while (ring.Front(e)) {
    EXPECT_EQ(e.time_ns, queued);
    EXPECT_EQ(e.payload, payload);
    EXPECT_EQ(e.address.size(), sizeof(src));
    ring.Pop();
    ++queued;
  }
  EXPECT_EQ(queued, 3);  // 1,040 bytes a record in 4,096
  EXPECT_EQ(ring.dropped(), 7U);
  // Emptied, it takes more, across the end of the buffer, in order.
  for (int round = 0; round < 20; ++round) {
    ring.PutOne(payload, &src, sizeof(src), 100 + round);
    ring.PutOne("x", &src, sizeof(src), 200 + round);
    ASSERT_TRUE(ring.Front(e));
    EXPECT_EQ(e.time_ns, 100 + round);
    ring.Pop();
    ASSERT_TRUE(ring.Front(e));
    EXPECT_EQ(e.payload, "x");
    ring.Pop();
    EXPECT_FALSE(ring.Front(e));
  }
  EXPECT_EQ(ring.dropped(), 7U);
}

TEST(CaptureRingTest, PutCopiesARecvmmsgBatch) {
  CaptureRing ring(1 << 16);
  char d1[] = "one:1|c", d2[] = "two:2|c";
  sockaddr_in a1{}, a2{};
  a1.sin_family = a2.sin_family = AF_INET;
  a1.sin_port = htons(1);
  a2.sin_port = htons(2);
  iovec iov[2] = {{d1, sizeof(d1)}, {d2, sizeof(d2)}};
  mmsghdr msgs[2] = {};
  msgs[0].msg_hdr.msg_iov = &iov[0];
  msgs[0].msg_hdr.msg_name = &a1;
  msgs[0].msg_hdr.msg_namelen = sizeof(a1);
  msgs[0].msg_len = 3;  // only the bytes received, not the buffer
  msgs[1].msg_hdr.msg_iov = &iov[1];
  msgs[1].msg_hdr.msg_name = &a2;
  msgs[1].msg_hdr.msg_namelen = sizeof(a2);
  msgs[1].msg_len = 7;
  ring.Put(msgs, 2, 42);
  CaptureRing::Entry e;
  ASSERT_TRUE(ring.Front(e));
  EXPECT_EQ(e.payload, "one");
  EXPECT_EQ(e.time_ns, 42);
  ring.Pop();
  ASSERT_TRUE(ring.Front(e));
  EXPECT_EQ(e.payload, "two:2|c");
  Endpoint src;
  ASSERT_TRUE(EndpointFromSockaddr(e.address.data(), e.address.size(), src));
  EXPECT_EQ(src.port, 2);
  ring.Pop();
  EXPECT_FALSE(ring.Front(e));
}

}  // namespace
}  // namespace cstatsd::capture
