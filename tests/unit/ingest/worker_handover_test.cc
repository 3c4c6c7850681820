// A hand-over takes what is already queued on the worker's socket (a UDP socket on loopback,
// run on its own thread for the test): the Lambda extension flushes right after the function
// returns, and a datagram sent before the flush was asked for must be in that flush.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "aggregate/aggregator.h"
#include "ingest/socket.h"
#include "ingest/worker.h"
#include "udp_loopback_util.h"

namespace cstatsd::ingest {
namespace {

using WorkerHandOverTest = UdpLoopbackTest;

TEST_F(WorkerHandOverTest, TakesTheDatagramsAlreadyQueued) {
  pipeline::PipelineOptions popts;
  Worker worker(0, fd_, WorkerOptions{}, &popts, nullptr);
  std::thread loop([&] { worker.Run(); });

  // Rounds of: send (the kernel queues the datagrams on the socket before sendto returns on
  // loopback), then ask for the map at once; each round's map holds exactly that round.
  for (int round = 1; round <= 50; ++round) {
    for (int i = 0; i < round % 4 + 1; ++i) {
      Send("queued:" + std::to_string(round) + "|c");
    }
    MetricMap* m = worker.HandOver(std::chrono::seconds(5));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(CounterTotal(*m, "queued"), round * (round % 4 + 1)) << "round " << round;
    m->Clear();  // as the flusher's merge leaves it: nothing counted twice
  }
  worker.Stop();
  loop.join();
}

// A worker attached to the aggregator's indexes receives by series id while the flusher adopts
// new series, expires every series after each flush (so ids are erased, retired, freed and
// reused all the time) and frees retired memory as the server does. Every count sent reaches a
// flush exactly once. Under ThreadSanitizer this checks the index's publication and reuse.
TEST_F(WorkerHandOverTest, AttachedWorkerLosesNothingWhileSeriesExpireAndIdsAreReused) {
  aggregate::AggregatorOptions aopts;
  aopts.expiry_counter = std::chrono::nanoseconds(-1);  // every series leaves after each flush
  aopts.expiry_gauge = std::chrono::nanoseconds(-1);
  aggregate::Aggregator agg(aopts);
  pipeline::PipelineOptions popts;
  Worker worker(0, fd_, WorkerOptions{}, &popts, nullptr);
  worker.AttachIndexes(&agg.counter_index(), &agg.gauge_index());
  std::thread loop([&] { worker.Run(); });

  constexpr int kRounds = 60;
  constexpr int kNames = 40;
  int64_t sent = 0, flushed = 0;
  for (int round = 0; round < kRounds; ++round) {
    // Each round sends to a sliding window of names: some new, most known, some known earlier.
    std::string datagram;
    for (int i = 0; i < kNames; ++i) {
      datagram += "n" + std::to_string((round * 7 + i) % 97) + ":" + std::to_string(i + 1) + "|c\n";
      sent += i + 1;
      datagram += "g" + std::to_string(i % 5) + ":1|g\n";
    }
    Send(datagram);
    MetricMap* m = worker.HandOver(std::chrono::seconds(5));
    ASSERT_NE(m, nullptr);
    const uint64_t safe = agg.round();  // as the server: the round of this hand-over
    agg.Merge(*m);
    agg.ReleaseRetired(safe);
    const int64_t now = 1000000000LL * (100 + round);
    auto snap = agg.Flush(now, 1);
    for (const auto& c : snap->counters) flushed += c.value;
    agg.Reset(now);
  }
  worker.Stop();
  loop.join();
  // What the worker received after its last hand-over.
  worker.map(0).TakeReceivedIds();
  for (int i = 0; i < 2; ++i) agg.Merge(worker.map(i));
  auto last = agg.Flush(1000000000LL * 1000, 1);
  for (const auto& c : last->counters) flushed += c.value;
  EXPECT_EQ(flushed, sent);
}

}  // namespace
}  // namespace cstatsd::ingest
