// UDP receive offload (UDP_GRO, docs/performance.md#receive-path): a worker's socket may hand it
// several datagrams of one flow as one entry, and the worker must still see every datagram alone,
// with its exact boundaries. On loopback the kernel keeps a sender's segmentation-offload message
// (UDP_SEGMENT) whole for a socket with UDP_GRO, so the test sends those: same-size datagrams, the
// last one shorter, mixed with ordinary datagrams of other sizes.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ingest/socket.h"
#include "ingest/worker.h"
#include "udp_loopback_util.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h (Linux 4.18)
#endif

namespace cstatsd::ingest {
namespace {

msghdr OneBuffer(iovec& iov, char* control, size_t control_len) {
  msghdr h{};
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  h.msg_control = control;
  h.msg_controllen = control_len;
  return h;
}

// A datagram of exactly `size` bytes: "<name>:1|c", padded with newlines (empty lines, which the
// parser skips) or cut. Two of them run together without a boundary would read
// "...|c<name>:1|c": a bad line instead of two counts.
std::string Datagram(const std::string& name, size_t size) {
  std::string d = name + ":1|c";
  d.resize(size, '\n');
  return d;
}

class WorkerGroTest : public UdpLoopbackTest {
 protected:
  // One sendmsg of several datagrams with segmentation offload: `segment` bytes each, the last
  // one `last` bytes (0: `segment` too). Returns false where the kernel has no UDP_SEGMENT.
  bool SendSegmented(const std::string& name, size_t segment, int count, size_t last) {
    std::string payload;
    for (int i = 0; i < count; ++i) {
      payload += Datagram(name, i + 1 == count && last != 0 ? last : segment);
    }
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint16_t))] = {};
    iovec iov{payload.data(), payload.size()};
    msghdr h = OneBuffer(iov, control, sizeof(control));
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    const auto seg = static_cast<uint16_t>(segment);
    std::memcpy(CMSG_DATA(c), &seg, sizeof(seg));
    return sendmsg(client_, &h, 0) == static_cast<ssize_t>(payload.size());
  }
};

// The kernel side: with UDP_GRO on, a segmented message arrives as one entry whose control
// message names the segment size (what the worker splits by).
TEST_F(WorkerGroTest, KernelCoalescesASegmentedMessage) {
  if (!EnableUdpGro(fd_)) GTEST_SKIP() << "no UDP_GRO on this kernel";
  if (!SendSegmented("a", 100, 5, 37)) GTEST_SKIP() << "no UDP_SEGMENT on this kernel";
  std::vector<char> buf(65535);
  alignas(cmsghdr) char control[kGroControlBytes];
  iovec iov{buf.data(), buf.size()};
  msghdr h = OneBuffer(iov, control, sizeof(control));
  const ssize_t n = recvmsg(fd_, &h, MSG_DONTWAIT);
  ASSERT_EQ(n, 4 * 100 + 37);
  EXPECT_EQ(GroSegmentSize(h), 100u);
  EXPECT_EQ(h.msg_flags & MSG_TRUNC, 0);
}

TEST_F(WorkerGroTest, EveryCoalescedDatagramIsReadAloneWithItsBoundaries) {
  // On before anything is sent (the worker asks again when it starts), so that every segmented
  // message below arrives as one entry.
  if (!EnableUdpGro(fd_)) GTEST_SKIP() << "no UDP_GRO on this kernel";
  if (!SendSegmented("probe", 64, 2, 0)) GTEST_SKIP() << "no UDP_SEGMENT on this kernel";
  pipeline::PipelineOptions popts;
  Worker worker(0, fd_, WorkerOptions{}, &popts, nullptr);
  std::thread loop([&] { worker.Run(); });

  // Segmented messages of several sizes (a last datagram shorter, or as long as the others),
  // ordinary datagrams between them, and a segment size of one line exactly (no padding).
  uint64_t datagrams = 2;  // the probe's
  ASSERT_TRUE(SendSegmented("seg", 200, 10, 51));
  datagrams += 10;
  Send(Datagram("pl", 900));
  Send(Datagram("pl", 7));
  datagrams += 2;
  ASSERT_TRUE(SendSegmented("seg", 1400, 40, 0));
  datagrams += 40;
  ASSERT_TRUE(SendSegmented("tight", 9, 64, 8));  // "tight:1|c" is 9 bytes; the last is cut
  datagrams += 64;
  ASSERT_TRUE(SendSegmented("seg", 500, 3, 499));
  datagrams += 3;

  MetricMap* m = worker.HandOver(std::chrono::seconds(5));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(CounterTotal(*m, "probe"), 2);
  EXPECT_EQ(CounterTotal(*m, "seg"), 10 + 40 + 3);
  EXPECT_EQ(CounterTotal(*m, "pl"), 2);
  EXPECT_EQ(CounterTotal(*m, "tight"), 63);  // the last one, "tight:1|", is a bad line
  worker.Stop();
  loop.join();
  const auto& c = worker.counters();
  EXPECT_EQ(c.datagrams_received.load(), datagrams);
  EXPECT_EQ(c.bad_lines_seen.load(), 1u);
  EXPECT_EQ(c.metrics_received.load(), 2u + 53 + 2 + 63);
  EXPECT_EQ(c.truncated_datagrams.load(), 0u);
}

}  // namespace
}  // namespace cstatsd::ingest
