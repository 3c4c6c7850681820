// The process hand-over's socket step (docs/restarts.md): an old process's SO_REUSEPORT socket,
// detached, keeps what it holds and gets no new datagram, which go to the group's other socket;
// without the detach, closing the old socket loses what the kernel kept hashing to it.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "ingest/kernel_drops.h"
#include "ingest/socket.h"

namespace cstatsd::ingest {
namespace {

constexpr int kSenders = 64;  // distinct source ports: the kernel hashes each to one socket

// The datagrams read from fd until it is empty twice, 20 ms apart.
std::vector<std::string> Drain(int fd) {
  std::vector<std::string> out;
  char buf[256];
  for (int empty = 0; empty < 2;) {
    const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n >= 0) {
      out.emplace_back(buf, static_cast<size_t>(n));
      continue;
    }
    ++empty;
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, 20);
  }
  return out;
}

size_t CountPrefix(const std::vector<std::string>& v, const std::string& prefix) {
  size_t n = 0;
  for (const auto& s : v) n += s.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

class SocketHandOverTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    auto addr = ParseListenAddress(GetParam());
    ASSERT_TRUE(addr.ok()) << addr.error();
    auto a = OpenUdpSocket(*addr, true, 1 << 20);
    ASSERT_TRUE(a.ok()) << a.error();
    old_ = *a;
    port_ = LocalPort(old_);
    addr->port = std::to_string(port_);
    auto b = OpenUdpSocket(*addr, true, 1 << 20);
    ASSERT_TRUE(b.ok()) << b.error();
    new_ = *b;
    for (int i = 0; i < kSenders; ++i) {
      const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      ASSERT_GE(s, 0);
      senders_.push_back(s);
    }
  }
  void TearDown() override {
    for (int fd : {old_, new_, placeholder_}) {
      if (fd >= 0) close(fd);
    }
    for (int s : senders_) close(s);
  }

  // One datagram "<tag>:<i>" from each sender to 127.0.0.1:port.
  void SendFromEach(const std::string& tag) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port_));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (size_t i = 0; i < senders_.size(); ++i) {
      const std::string d = tag + ":" + std::to_string(i);
      ASSERT_EQ(
          sendto(senders_[i], d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
          static_cast<ssize_t>(d.size()));
    }
  }

  // The old socket is read dry and closed as a stopping server does; returns what it read and
  // what the new socket got meanwhile.
  void CloseOld(std::vector<std::string>& from_old, std::vector<std::string>& from_new) {
    from_old = Drain(old_);
    close(old_);
    old_ = -1;
    from_new = Drain(new_);
  }

  int old_ = -1;
  int new_ = -1;
  int placeholder_ = -1;
  int port_ = 0;
  std::vector<int> senders_;
};

TEST_P(SocketHandOverTest, DetachedSocketKeepsWhatItHoldsAndGetsNothingNew) {
  SendFromEach("before");
  auto placeholder = DetachUdpSockets({old_});
  ASSERT_TRUE(placeholder.ok()) << placeholder.error();
  placeholder_ = *placeholder;
  SendFromEach("after");
  std::vector<std::string> from_old, from_new;
  CloseOld(from_old, from_new);

  // The old socket still held its share of what came before (so the check below means
  // something: 64 senders all hashed to one socket is a 2^-64 chance), and got nothing after.
  EXPECT_GT(CountPrefix(from_old, "before:"), 0u);
  EXPECT_EQ(CountPrefix(from_old, "after:"), 0u);
  EXPECT_EQ(CountPrefix(from_new, "after:"), static_cast<size_t>(kSenders));
  // Every datagram exactly once.
  std::set<std::string> all(from_old.begin(), from_old.end());
  all.insert(from_new.begin(), from_new.end());
  EXPECT_EQ(from_old.size() + from_new.size(), 2u * kSenders);
  EXPECT_EQ(all.size(), 2u * kSenders);
}

// The negative control: without the detach the kernel keeps hashing new datagrams to the old
// socket, and what it queued after the last read is discarded when it closes.
TEST_P(SocketHandOverTest, WithoutDetachClosingTheOldSocketLosesDatagrams) {
  SendFromEach("before");
  const std::vector<std::string> read_before = Drain(old_);
  EXPECT_GT(read_before.size(), 0u);
  SendFromEach("after");  // some hash to the old socket again, queued there
  close(old_);            // a stop without the detach: what is queued now is gone
  old_ = -1;
  const std::vector<std::string> from_new = Drain(new_);
  EXPECT_LT(CountPrefix(from_new, "after:"), static_cast<size_t>(kSenders));
  EXPECT_LT(read_before.size() + from_new.size(), 2u * kSenders);
}

TEST_P(SocketHandOverTest, OtherSocketsOnPortSeesTheOtherMemberUntilItIsDetached) {
  EXPECT_EQ(OtherSocketsOnPort({old_}), 1u);
  EXPECT_EQ(OtherSocketsOnPort({old_, new_}), 0u);
  auto placeholder = DetachUdpSockets({new_});  // connected: no longer takes any sender
  ASSERT_TRUE(placeholder.ok()) << placeholder.error();
  placeholder_ = *placeholder;
  EXPECT_EQ(OtherSocketsOnPort({old_}), 0u);
}

// Loopback, and every interface (a dual-stack IPv6 socket, or IPv4 where IPv6 is off).
INSTANTIATE_TEST_SUITE_P(Addresses, SocketHandOverTest, ::testing::Values("127.0.0.1:0", ":0"));

TEST(SocketHandOver, CountsUnconnectedSocketsOnOurAddressOnly) {
  const std::string table =
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode ref pointer drops            \n"
      "  200: 0100007F:1F90 00000000:0000 07 00000000:00000000 00:00000000 00000000     0    "
      "    0 100 2 00000000c3886abb 0         \n"
      "  200: 0100007F:1F90 00000000:0000 07 00000000:00000000 00:00000000 00000000     0    "
      "    0 200 2 00000000c3886abb 0         \n"
      "  200: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0    "
      "    0 300 2 00000000c3886abb 0         \n"
      "  201: 0100007F:1F91 00000000:0000 07 00000000:00000000 00:00000000 00000000     0    "
      "    0 400 2 00000000a5045815 0         \n"
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode ref pointer drops            \n";
  // 200 shares 100's address and is unconnected; 300 is connected (detached); 400 is another
  // port; the second header line is no row.
  EXPECT_EQ(CountOtherSocketsFromProcTable(table, {100}), 1u);
  EXPECT_EQ(CountOtherSocketsFromProcTable(table, {100, 200}), 0u);
  EXPECT_EQ(CountOtherSocketsFromProcTable(table, {400}), 0u);
  EXPECT_EQ(CountOtherSocketsFromProcTable(table, {999}), 0u);
  EXPECT_EQ(CountOtherSocketsFromProcTable("garbage", {100}), 0u);
}

}  // namespace
}  // namespace cstatsd::ingest
