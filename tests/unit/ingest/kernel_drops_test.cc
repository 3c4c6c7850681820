#include "ingest/kernel_drops.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "ingest/socket.h"

namespace cstatsd::ingest {
namespace {

TEST(KernelDropsTest, SumsTheDropsColumnOfOurInodes) {
  const std::string table =
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode ref pointer drops            \n"
      "  200: 0100007F:80CE 00000000:0000 07 00000000:00000000 00:00000000 00000000     0    "
      "    0 22668 2 00000000c3886abb 7         \n"
      "  201: 0100007F:80CE 00000000:0000 07 00000000:00000000 00:00000000 00000000     0    "
      "    0 22667 2 00000000a5045815 35        \n"
      "  202: 0100007F:80CF 00000000:0000 07 00000000:00000000 00:00000000 00000000     0    "
      "    0 99999 2 00000000a5045815 1000      \n";
  EXPECT_EQ(SumDropsFromProcTable(table, {22668, 22667}), 42u);
  EXPECT_EQ(SumDropsFromProcTable(table, {1}), 0u);
  EXPECT_EQ(SumDropsFromProcTable("garbage", {1}), 0u);
}

TEST(KernelDropsTest, ReadsOurOwnSocket) {
  auto addr = ParseListenAddress("127.0.0.1:0");
  ASSERT_TRUE(addr.ok());
  auto fd = OpenUdpSocket(*addr, true, 0);
  ASSERT_TRUE(fd.ok()) << fd.error();
  EXPECT_EQ(KernelDrops({*fd}), 0u);  // nothing dropped yet
  // The socket is in the table KernelDrops reads (so the 0 above was looked up, not assumed).
  struct stat st {};
  ASSERT_EQ(fstat(*fd, &st), 0);
  std::ifstream in("/proc/net/udp");
  std::stringstream table;
  table << in.rdbuf();
  EXPECT_NE(table.str().find(" " + std::to_string(st.st_ino) + " "), std::string::npos);
  close(*fd);
}

}  // namespace
}  // namespace cstatsd::ingest
