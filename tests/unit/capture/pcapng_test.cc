// The capture file format (docs/capture.md#file-format): what AppendPacket writes reads back the
// same (time, source, destination, payload) for IPv4, IPv6 and unix senders; the synthesized
// headers are valid IP/UDP (checksums); the reader refuses truncated and corrupt input with an
// error, and skips packets that are not statsd datagrams.
#include "capture/pcapng.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace cstatsd::capture {
namespace {

Endpoint Ip(SourceKind kind, const char* ip, uint16_t port) {
  Endpoint e;
  e.kind = kind;
  inet_pton(kind == SourceKind::kIPv4 ? AF_INET : AF_INET6, ip, e.address.data());
  e.port = port;
  return e;
}
Endpoint V4(const char* ip, uint16_t port) { return Ip(SourceKind::kIPv4, ip, port); }
Endpoint V6(const char* ip, uint16_t port) { return Ip(SourceKind::kIPv6, ip, port); }

Endpoint Unix(std::string path) {
  Endpoint e;
  e.kind = SourceKind::kUnix;
  e.unix_path = std::move(path);
  return e;
}

std::vector<Record> ReadAll(const std::string& bytes, std::string* error = nullptr,
                            uint64_t* skipped = nullptr) {
  std::istringstream in(bytes);
  CaptureReader reader(in);
  std::vector<Record> out;
  Record r;
  CaptureReader::Next n;
  while ((n = reader.Read(r)) == CaptureReader::Next::kRecord) out.push_back(r);
  if (error != nullptr) *error = n == CaptureReader::Next::kError ? reader.error() : "";
  if (skipped != nullptr) *skipped = reader.skipped();
  return out;
}

TEST(PcapngTest, RoundTripKeepsTimeSourceAndPayload) {
  std::string file;
  AppendFileHeader(file);  // a UDP socket's file
  const Endpoint local4 = V4("127.0.0.1", 8125);
  AppendPacket(file, 1700000000123456789, V4("10.1.2.3", 40000), local4, "a:1|c\nb:2|g");
  AppendPacket(file, 1700000000123456790, V6("2001:db8::7", 5353), V6("::1", 8125), "c:3|ms");
  AppendPacket(file, 5, V4("192.0.2.9", 1), local4, "");  // an empty datagram is kept too
  AppendFileHeader(file, true);                           // then a unix socket's file, concatenated
  const Endpoint local_unix = Unix("/run/cstatsd.sock");
  AppendPacket(file, 1700000000123456791, Unix("/run/client.sock"), local_unix, "d:4|s");
  AppendPacket(file, 1700000000123456792, Unix(""), local_unix, std::string("e:5|c\0x", 8));
  EXPECT_EQ(file.size() % 4, 0U);

  std::string error;
  const std::vector<Record> r = ReadAll(file, &error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(r.size(), 5U);
  EXPECT_EQ(r[0].time_ns, 1700000000123456789);
  EXPECT_EQ(EndpointText(r[0].source), "10.1.2.3:40000");
  EXPECT_EQ(EndpointText(r[0].destination), "127.0.0.1:8125");
  EXPECT_EQ(r[0].payload, "a:1|c\nb:2|g");
  EXPECT_EQ(EndpointText(r[1].source), "[2001:db8::7]:5353");
  EXPECT_EQ(EndpointText(r[1].destination), "[::1]:8125");
  EXPECT_EQ(r[1].payload, "c:3|ms");
  EXPECT_EQ(r[2].time_ns, 5);
  EXPECT_EQ(r[2].payload, "");
  EXPECT_EQ(r[3].time_ns, 1700000000123456791);
  EXPECT_EQ(EndpointText(r[3].source), "unix:/run/client.sock");
  EXPECT_EQ(r[3].payload, "d:4|s");
  EXPECT_EQ(EndpointText(r[4].source), "unix");
  EXPECT_EQ(r[4].payload, std::string("e:5|c\0x", 8));
}

TEST(PcapngTest, BlockSizeIsWhatAppendWrites) {
  for (const Endpoint& src : {V4("10.0.0.1", 9), V6("::2", 9), Unix("/x/y/zz"), Unix("")}) {
    for (size_t len : {0, 1, 3, 4, 5, 700}) {
      std::string out;
      AppendPacket(out, 1, src, V4("0.0.0.0", 1), std::string(len, 'x'));
      EXPECT_EQ(out.size(), PacketBlockSize(src, len)) << EndpointText(src) << " " << len;
    }
  }
}

// Offsets inside the first packet block after the file header.
size_t FirstPacket() {
  std::string h;
  AppendFileHeader(h);
  return h.size();
}

TEST(PcapngTest, SynthesizedHeadersAreValidIpAndUdp) {
  std::string file;
  AppendFileHeader(file);
  const std::string payload = "abc:1|c";
  AppendPacket(file, 1, V4("10.0.0.1", 1234), V4("10.0.0.2", 8125), payload);
  const unsigned char* ip =
      reinterpret_cast<const unsigned char*>(file.data()) + FirstPacket() + 28;
  uint32_t sum = 0;  // the IPv4 header sums to 0xFFFF with its checksum
  for (int i = 0; i < 20; i += 2) sum += static_cast<uint32_t>(ip[i] << 8 | ip[i + 1]);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  EXPECT_EQ(sum, 0xFFFFU);
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(ip[9], IPPROTO_UDP);
  EXPECT_EQ(ip[2] << 8 | ip[3], 20 + 8 + static_cast<int>(payload.size()));
  EXPECT_EQ(ip[20] << 8 | ip[21], 1234);  // UDP source port
  EXPECT_EQ(ip[22] << 8 | ip[23], 8125);

  std::string file6;
  AppendFileHeader(file6);
  const Endpoint src = V6("2001:db8::1", 40000), dst = V6("2001:db8::2", 8125);
  AppendPacket(file6, 1, src, dst, payload);
  const unsigned char* ip6 =
      reinterpret_cast<const unsigned char*>(file6.data()) + FirstPacket() + 28;
  // The UDP checksum over the pseudo-header verifies: the sum with it is 0xFFFF.
  sum = 0;
  for (int i = 8; i < 40; i += 2) sum += static_cast<uint32_t>(ip6[i] << 8 | ip6[i + 1]);
  const size_t udp_len = 8 + payload.size();
  sum += static_cast<uint32_t>(udp_len) + IPPROTO_UDP;
  for (size_t i = 0; i < udp_len; i += 2) {
    const uint32_t hi = ip6[40 + i];
    const uint32_t lo = i + 1 < udp_len ? ip6[40 + i + 1] : 0;
    sum += hi << 8 | lo;
  }
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  EXPECT_EQ(sum, 0xFFFFU);
}

TEST(PcapngTest, EndpointFromSockaddrReadsEveryFamily) {
  Endpoint e;
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(99);
  inet_pton(AF_INET, "192.0.2.1", &in.sin_addr);
  ASSERT_TRUE(EndpointFromSockaddr(&in, sizeof(in), e));
  EXPECT_EQ(EndpointText(e), "192.0.2.1:99");

  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(7);
  inet_pton(AF_INET6, "::ffff:192.0.2.4", &in6.sin6_addr);
  ASSERT_TRUE(EndpointFromSockaddr(&in6, sizeof(in6), e));
  EXPECT_EQ(EndpointText(e), "192.0.2.4:7");  // a mapped address is IPv4
  inet_pton(AF_INET6, "fe80::1", &in6.sin6_addr);
  ASSERT_TRUE(EndpointFromSockaddr(&in6, sizeof(in6), e));
  EXPECT_EQ(EndpointText(e), "[fe80::1]:7");

  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strcpy(un.sun_path, "/tmp/c.sock");
  ASSERT_TRUE(EndpointFromSockaddr(&un, offsetof(sockaddr_un, sun_path) + 12, e));
  EXPECT_EQ(EndpointText(e), "unix:/tmp/c.sock");
  ASSERT_TRUE(EndpointFromSockaddr(&un, 0, e));
  EXPECT_EQ(EndpointText(e), "unix");
  ASSERT_TRUE(EndpointFromSockaddr(&un, sizeof(sa_family_t), e));  // unnamed, autobind-less
  EXPECT_EQ(EndpointText(e), "unix");

  sockaddr other{};
  other.sa_family = AF_PACKET;
  EXPECT_FALSE(EndpointFromSockaddr(&other, sizeof(other), e));
}

std::string TwoPackets() {
  std::string file;
  AppendFileHeader(file);
  AppendPacket(file, 10, V4("10.0.0.1", 1), V4("10.0.0.2", 2), "first:1|c");
  AppendPacket(file, 20, V4("10.0.0.1", 1), V4("10.0.0.2", 2), "second:1|c");
  return file;
}

TEST(PcapngTest, TruncatedFileEndsWithAnErrorAfterTheWholeRecords) {
  const std::string file = TwoPackets();
  const size_t whole = file.size() - PacketBlockSize(V4("10.0.0.1", 1), 10);
  // Block boundaries: the section header (44 bytes), the interface (32), two packets.
  const std::vector<size_t> ends = {44, FirstPacket(), whole};
  ASSERT_EQ(FirstPacket(), 76U);
  for (size_t cut = 1; cut < file.size(); ++cut) {
    std::string error;
    const auto r = ReadAll(file.substr(0, cut), &error);
    if (std::find(ends.begin(), ends.end(), cut) != ends.end()) {
      EXPECT_EQ(error, "") << cut;  // a cut between blocks is a clean end
      EXPECT_EQ(r.size(), cut == whole ? 1U : 0U);
    } else {
      EXPECT_NE(error, "") << cut;
      EXPECT_LE(r.size(), 1U);
    }
  }
}

TEST(PcapngTest, CorruptInputIsRefusedWithAnError) {
  std::string error;
  EXPECT_TRUE(ReadAll("", &error).empty());
  EXPECT_EQ(error, "");  // an empty file holds nothing

  ReadAll("not a capture file at all, just text\n", &error);
  EXPECT_NE(error, "");

  std::string file = TwoPackets();
  std::string bad = file;
  bad[4] = '\x7f';  // the section header's length no longer matches its end
  ReadAll(bad, &error);
  EXPECT_NE(error, "");

  bad = file;
  std::memcpy(bad.data() + 8, "\x1a\x2b\x3c\x4d", 4);  // big-endian magic
  ReadAll(bad, &error);
  EXPECT_NE(error.find("big-endian"), std::string::npos) << error;

  // A packet block claiming more captured bytes than it holds.
  bad = file;
  const size_t epb = FirstPacket();
  const uint32_t huge = 0x7ffffff0;
  std::memcpy(bad.data() + epb + 20, &huge, 4);
  EXPECT_EQ(ReadAll(bad, &error).size(), 0U);
  EXPECT_NE(error, "");

  // A packet on an interface never described.
  bad = file;
  const uint32_t iface = 7;
  std::memcpy(bad.data() + epb + 8, &iface, 4);
  ReadAll(bad, &error);
  EXPECT_NE(error.find("interface"), std::string::npos) << error;

  // A block length beyond the bound is refused before anything is allocated for it.
  bad = file;
  const uint32_t len = 0xFFFFFFF0;
  std::memcpy(bad.data() + epb + 4, &len, 4);
  ReadAll(bad, &error);
  EXPECT_NE(error.find("length"), std::string::npos) << error;
}

TEST(PcapngTest, PacketsThatAreNotUdpAreSkippedAndCounted) {
  std::string file = TwoPackets();
  const size_t epb = FirstPacket();
  file[epb + 28 + 9] = 6;  // the first packet is TCP now
  std::string error;
  uint64_t skipped = 0;
  const auto r = ReadAll(file, &error, &skipped);
  EXPECT_EQ(error, "");
  ASSERT_EQ(r.size(), 1U);
  EXPECT_EQ(r[0].payload, "second:1|c");
  EXPECT_EQ(skipped, 1U);
}

TEST(PcapngTest, ConcatenatedFilesReadAsOneStream) {
  const std::string file = TwoPackets() + TwoPackets();
  std::string error;
  EXPECT_EQ(ReadAll(file, &error).size(), 4U);
  EXPECT_EQ(error, "");
}

}  // namespace
}  // namespace cstatsd::capture
