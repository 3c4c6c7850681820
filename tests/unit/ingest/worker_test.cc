// A worker's processing of datagrams (no sockets): lines counted, bad lines counted while the
// good lines of the same datagram still count, events handed to the sink.
#include "ingest/worker.h"

#include <gtest/gtest.h>

#include <string>

namespace cstatsd::ingest {
namespace {

class WorkerTest : public ::testing::Test {
 protected:
  void Send(std::string datagram, std::string_view sender = "127.0.0.1") {
    worker_.ProcessDatagram(datagram.data(), datagram.size(), sender, 1000);
  }
  int64_t CounterValue(std::string_view name) {
    for (auto& e : worker_.active_map().counters.entries()) {
      if (e.key->name() == name) return e.value.value;
    }
    return -1;
  }

  pipeline::PipelineOptions popts_;
  std::vector<Event> events_;
  Worker worker_{0, -1, WorkerOptions{}, &popts_, [this](Event&& e) { events_.push_back(e); }};
};

TEST_F(WorkerTest, GoodLinesCountNextToBadOnes) {
  Send("a:1|c\nx:|g\nbad line\n_sc|svc|9\nb:2|c\r\n\n\nc:3|c|@0\nd:4|c");
  EXPECT_EQ(CounterValue("a"), 1);
  EXPECT_EQ(CounterValue("b"), 2);
  EXPECT_EQ(CounterValue("d"), 4);
  EXPECT_EQ(CounterValue("c"), -1);
  EXPECT_EQ(stats::Read(worker_.counters().metrics_received), 3u);
  EXPECT_EQ(stats::Read(worker_.counters().bad_lines_seen), 4u);
}

TEST_F(WorkerTest, EventsGoToTheSinkWithTheSenderAsSource) {
  Send("_e{1,1}:a|b|h:other\nf:6|c", "10.0.0.9");
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].title, "a");
  EXPECT_EQ(events_[0].source, "10.0.0.9");
  EXPECT_EQ(CounterValue("f"), 6);
  EXPECT_EQ(stats::Read(worker_.counters().events_received), 1u);
}

TEST_F(WorkerTest, ServiceChecksGoToTheirSink) {
  std::vector<ServiceCheck> checks;
  popts_.default_tags = {"team:db"};
  worker_.SetServiceCheckSink([&](ServiceCheck&& c) { checks.push_back(std::move(c)); });
  Send("_sc|db.up|2|#env:prod|m:down|#not:a:tag\n_sc|web.up|0|h:web-1\nf:6|c\n_sc||0", "10.0.0.9");
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].name, "db.up");
  EXPECT_EQ(checks[0].status, ServiceCheckStatus::kCritical);
  EXPECT_EQ(checks[0].message, "down|#not:a:tag");
  EXPECT_EQ(checks[0].tags, (std::vector<std::string>{"env:prod", "team:db"}));
  EXPECT_EQ(checks[0].source, "10.0.0.9");  // no h:: the sender
  EXPECT_EQ(checks[1].source, "web-1");     // h: wins
  EXPECT_EQ(CounterValue("f"), 6);
  EXPECT_EQ(stats::Read(worker_.counters().service_checks_received), 2u);
  EXPECT_EQ(stats::Read(worker_.counters().bad_lines_seen), 1u);  // the empty name
  EXPECT_TRUE(events_.empty());
}

TEST_F(WorkerTest, GarbageNeverCrashes) {
  std::string junk;
  uint32_t x = 12345;
  for (int i = 0; i < 65000; ++i) {
    x = x * 1103515245 + 12345;
    junk.push_back(static_cast<char>(x >> 16));
  }
  Send(junk);
  Send(std::string(65000, 'a') + ":1|c");
  Send("_e{99999999999999999999,1}:a|b");
  Send("NaN:NaN|g\nok:1|c");
  EXPECT_EQ(CounterValue("ok"), 1);
  EXPECT_EQ(CounterValue(std::string(65000, 'a')), 1);
}

}  // namespace
}  // namespace cstatsd::ingest
