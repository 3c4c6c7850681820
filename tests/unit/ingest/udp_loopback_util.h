// For the ingest tests that run a Worker on a real socket: a UDP socket bound on loopback (the
// worker's) and a client socket connected to it, and the total a map holds for a counter name.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/metric_map.h"
#include "ingest/socket.h"

namespace cstatsd::ingest {

inline int64_t CounterTotal(MetricMap& m, std::string_view name) {
  int64_t total = 0;
  for (auto& e : m.counters.entries()) {
    if (e.key->name() == name) total += e.value.value;
  }
  return total;
}

class UdpLoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto addr = ParseListenAddress("127.0.0.1:0");
    ASSERT_TRUE(addr.ok()) << addr.error();
    auto fd = OpenUdpSocket(*addr, false, 4 << 20);
    ASSERT_TRUE(fd.ok()) << fd.error();
    fd_ = *fd;
    client_ = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(client_, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(LocalPort(fd_)));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(client_, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
  }
  void TearDown() override {
    if (client_ >= 0) close(client_);
    if (fd_ >= 0) close(fd_);
  }
  void Send(const std::string& datagram) {
    ASSERT_EQ(send(client_, datagram.data(), datagram.size(), 0),
              static_cast<ssize_t>(datagram.size()));
  }

  int fd_ = -1;      // the worker's
  int client_ = -1;  // connected to fd_
};

}  // namespace cstatsd::ingest
