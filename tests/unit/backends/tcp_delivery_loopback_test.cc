// The socket backends' delivery on loopback (docs/compatibility.md#decision-5): one retry per
// failed flush against a closed port on 127.0.0.1 (graphite, statsdaemon over TCP and over UDP),
// and the TCP client's dial backoff. Real sockets: a loopback_ test (label integration).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "backends/common/tcp_client.h"
#include "backends/graphite/graphite_backend.h"
#include "backends/statsdaemon/statsdaemon_backend.h"
#include "unit/support/series.h"

namespace cstatsd::backends {
namespace {

using std::chrono::seconds;

// A loopback port nothing listens on (bound, then closed).
std::string ClosedAddress(int type = SOCK_STREAM) {
  const int fd = socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  bind(fd, reinterpret_cast<sockaddr*>(&a), len);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

TEST(TcpClientTest, AFailedDialBacksOffTheNextOne) {
  TcpClient c(ClosedAddress(), seconds(1), seconds(1));
  EXPECT_FALSE(c.Write("x 1 1\n").ok());
  EXPECT_GT(c.backoff().next_dial(), DialBackoff::Clock::now());
  EXPECT_EQ(c.backoff().delay(), seconds(1));
  const auto next = c.backoff().next_dial();
  // Without waiting (the immediate retry) it dials at once, fails, and the wait stays as it was.
  EXPECT_FALSE(c.Write("x 1 1\n", /*wait_for_backoff=*/false).ok());
  EXPECT_EQ(c.backoff().next_dial(), next);
  EXPECT_EQ(c.backoff().delay(), seconds(1));
  // At shutdown the wait ends: this dials without waiting out the half second.
  c.Interrupt();
  EXPECT_FALSE(c.Write("x 1 1\n").ok());
}

snapshot::FlushSnapshot OneCounter() {
  snapshot::FlushSnapshot s;
  s.flush_time_ns = 1234LL * 1000000000;
  s.flush_seconds = 1;
  s.counters.push_back({test::Key(MetricType::kCounter, "c"), 1, 1});
  return s;
}

TEST(GraphiteDeliveryTest, AFailedFlushIsRetriedOnceThenGivenUp) {
  graphite::GraphiteOptions o;
  o.address = ClosedAddress();
  graphite::GraphiteBackend b(o);
  const auto s = OneCounter();
  EXPECT_FALSE(b.SendMetrics(s).ok());
  EXPECT_EQ(b.stats().retried.load(), 1u);
  // The next flush would wait out the dial backoff; at shutdown it is tried at once.
  b.Interrupt();
  EXPECT_FALSE(b.SendMetrics(s).ok());
  EXPECT_EQ(b.stats().retried.load(), 2u);
}

TEST(StatsdaemonDeliveryTest, AFailedTcpFlushIsRetriedOnceThenGivenUp) {
  statsdaemon::StatsdaemonOptions o;
  o.address = ClosedAddress();
  o.tcp_transport = true;
  statsdaemon::StatsdaemonBackend b(o, nullptr);
  const auto s = OneCounter();
  EXPECT_FALSE(b.SendMetrics(s).ok());
  EXPECT_EQ(b.stats().retried.load(), 1u);
  b.Interrupt();
  EXPECT_FALSE(b.SendMetrics(s).ok());
  EXPECT_EQ(b.stats().retried.load(), 2u);
}

TEST(StatsdaemonDeliveryTest, RefusedDatagramsAreSentOnceMoreOnAFreshSocket) {
  statsdaemon::StatsdaemonOptions o;
  o.address = ClosedAddress(SOCK_DGRAM);
  statsdaemon::StatsdaemonBackend b(o, nullptr);
  const auto s = OneCounter();
  EXPECT_TRUE(b.SendMetrics(s).ok());  // UDP: the kernel only learns of the closed port after
  EXPECT_EQ(b.stats().retried.load(), 0u);
  // The port-unreachable answer makes the next send on that socket fail (on loopback at once);
  // the datagram goes again on a fresh socket.
  EXPECT_TRUE(b.SendMetrics(s).ok());
  EXPECT_EQ(b.stats().retried.load(), 1u);
}

}  // namespace
}  // namespace cstatsd::backends
