// ListenTcp (core/listen_socket.h): the listening socket of the HTTP servers.
#include "core/listen_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cstatsd {
namespace {

// Connects to 127.0.0.1:port; true when the listener took the connection into its queue.
bool ConnectV4(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

TEST(ListenTcp, BindsAPortOfTheKernelsChoiceNonBlocking) {
  auto l = ListenTcp("127.0.0.1", 0, {});
  ASSERT_TRUE(l.ok()) << l.error();
  EXPECT_GT(l->port, 0);
  EXPECT_EQ(l->family, AF_INET);
  EXPECT_NE(::fcntl(l->fd, F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(l->fd, F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_TRUE(ConnectV4(l->port));
  ::close(l->fd);
}

TEST(ListenTcp, ASecondListenerOnThePortFailsUnlessBothReuseIt) {
  auto first = ListenTcp("127.0.0.1", 0, {});
  ASSERT_TRUE(first.ok()) << first.error();
  auto second = ListenTcp("127.0.0.1", first->port, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error(), "Address already in use");
  ::close(first->fd);

  const TcpListenOptions reuse{.reuse_port = true};
  auto a = ListenTcp("127.0.0.1", 0, reuse);
  ASSERT_TRUE(a.ok()) << a.error();
  auto b = ListenTcp("127.0.0.1", a->port, reuse);
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(b->port, a->port);
  ::close(a->fd);
  ::close(b->fd);
}

TEST(ListenTcp, NoHostWithDualStackTakesIpv4OnTheIpv6Wildcard) {
  auto l = ListenTcp("", 0, TcpListenOptions{.dual_stack = true});
  ASSERT_TRUE(l.ok()) << l.error();
  if (l->family != AF_INET6) {
    ::close(l->fd);
    GTEST_SKIP() << "no IPv6 on this machine";
  }
  EXPECT_TRUE(ConnectV4(l->port));
  ::close(l->fd);
}

TEST(ListenTcp, AnAddressOfNoInterfaceGivesTheSystemsReason) {
  auto l = ListenTcp("192.0.2.1", 0, {});  // TEST-NET-1: on no interface here
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error(), "Cannot assign requested address");
}

}  // namespace
}  // namespace cstatsd
