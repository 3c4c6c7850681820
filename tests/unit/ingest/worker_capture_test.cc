// --capture's hook in the worker (docs/capture.md#what-is-recorded): every datagram a worker
// reads on its socket (a UDP socket on loopback, the worker on its own thread) lands in its
// CaptureRing as received — bytes, sender, one time per batch — bad lines included, and the
// lines are aggregated as without capture.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <thread>
#include <vector>

#include "capture/capture_ring.h"
#include "capture/pcapng.h"
#include "ingest/worker.h"
#include "udp_loopback_util.h"

namespace cstatsd::ingest {
namespace {

using WorkerCaptureTest = UdpLoopbackTest;

TEST_F(WorkerCaptureTest, EveryDatagramReadIsCopiedWithItsSender) {
  capture::CaptureRing ring(1 << 20);
  pipeline::PipelineOptions popts;
  Worker worker(0, fd_, WorkerOptions{}, &popts, nullptr);
  worker.SetCapture(&ring);
  std::thread loop([&] { worker.Run(); });
  const std::vector<std::string> sent = {"cap:1|c", "cap:2|c\nnot a line", "cap:4|c", ""};
  for (const std::string& d : sent) Send(d);
  MetricMap* m = worker.HandOver(std::chrono::seconds(5));  // reads what is queued first
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(CounterTotal(*m, "cap"), 7);
  worker.Stop();
  loop.join();

  sockaddr_in client{};
  socklen_t len = sizeof(client);
  ASSERT_EQ(getsockname(client_, reinterpret_cast<sockaddr*>(&client), &len), 0);
  capture::CaptureRing::Entry e;
  for (const std::string& d : sent) {
    ASSERT_TRUE(ring.Front(e)) << d;
    EXPECT_EQ(e.payload, d);
    EXPECT_GT(e.time_ns, 0);
    capture::Endpoint source;
    ASSERT_TRUE(capture::EndpointFromSockaddr(e.address.data(), e.address.size(), source));
    EXPECT_EQ(capture::EndpointText(source), "127.0.0.1:" + std::to_string(ntohs(client.sin_port)));
    ring.Pop();
  }
  EXPECT_FALSE(ring.Front(e));
  EXPECT_EQ(ring.dropped(), 0U);
}

TEST_F(WorkerCaptureTest, AFullRingDropsFromTheCaptureNotFromAggregation) {
  capture::CaptureRing ring(4096);  // room for a few of these datagrams
  pipeline::PipelineOptions popts;
  Worker worker(0, fd_, WorkerOptions{}, &popts, nullptr);
  worker.SetCapture(&ring);
  std::thread loop([&] { worker.Run(); });
  const std::string pad(900, '\n');  // empty lines: no value, only bytes
  for (int i = 0; i < 20; ++i) Send("full:1|c" + pad);
  MetricMap* m = worker.HandOver(std::chrono::seconds(5));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(CounterTotal(*m, "full"), 20);  // every one aggregated
  worker.Stop();
  loop.join();
  uint64_t captured = 0;
  capture::CaptureRing::Entry e;
  for (; ring.Front(e); ring.Pop()) ++captured;
  EXPECT_GT(captured, 0U);
  EXPECT_EQ(captured + ring.dropped(), 20U);  // nobody read the ring: the rest were dropped
}

}  // namespace
}  // namespace cstatsd::ingest
