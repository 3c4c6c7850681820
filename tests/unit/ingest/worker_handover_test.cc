// A hand-over takes what is already queued on the worker's socket (a UDP socket on loopback,
// run on its own thread for the test): the Lambda extension flushes right after the function
// returns, and a datagram sent before the flush was asked for must be in that flush.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "ingest/socket.h"
#include "ingest/worker.h"

namespace cstatsd::ingest {
namespace {

int64_t CounterTotal(MetricMap& m, std::string_view name) {
  int64_t total = 0;
  for (auto& e : m.counters.entries()) {
    if (e.key->name() == name) total += e.value.value;
  }
  return total;
}

TEST(WorkerHandOverTest, TakesTheDatagramsAlreadyQueued) {
  auto addr = ParseListenAddress("127.0.0.1:0");
  ASSERT_TRUE(addr.ok()) << addr.error();
  auto fd = OpenUdpSocket(*addr, false, 1 << 20);
  ASSERT_TRUE(fd.ok()) << fd.error();
  const int port = LocalPort(*fd);

  pipeline::PipelineOptions popts;
  Worker worker(0, *fd, WorkerOptions{}, &popts, nullptr);
  std::thread loop([&] { worker.Run(); });

  const int client = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(client, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  // Rounds of: send (the kernel queues the datagrams on the socket before sendto returns on
  // loopback), then ask for the map at once; each round's map holds exactly that round.
  for (int round = 1; round <= 50; ++round) {
    for (int i = 0; i < round % 4 + 1; ++i) {
      const std::string line = "queued:" + std::to_string(round) + "|c";
      ASSERT_EQ(
          sendto(client, line.data(), line.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
          static_cast<ssize_t>(line.size()));
    }
    MetricMap* m = worker.HandOver(std::chrono::seconds(5));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(CounterTotal(*m, "queued"), round * (round % 4 + 1)) << "round " << round;
    m->Clear();  // as the flusher's merge leaves it: nothing counted twice
  }
  close(client);
  worker.Stop();
  loop.join();
  close(*fd);
}

}  // namespace
}  // namespace cstatsd::ingest
