#include "capture/pcapng.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace cstatsd::capture {
namespace {

constexpr uint32_t kSectionHeader = 0x0A0D0D0A;
constexpr uint32_t kInterfaceDescription = 1;
constexpr uint32_t kEnhancedPacket = 6;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kOptComment = 1;
constexpr uint16_t kOptUserAppl = 4;  // shb_userappl
constexpr uint16_t kOptTsResol = 9;   // if_tsresol
constexpr size_t kIPv4Header = 20;
constexpr size_t kIPv6Header = 40;
constexpr size_t kUdpHeader = 8;
constexpr size_t kMaxUdpPayload = 65507;
constexpr size_t kEpbFixed = 20;  // interface id, timestamp (2), captured and original lengths
// A block: type, length, body, length. The longest body a reader accepts.
constexpr size_t kMaxBody = kEpbFixed + kIPv6Header + kUdpHeader + kMaxPayload + 4096;

size_t Pad4(size_t n) { return (n + 3) & ~size_t{3}; }

void Put16(std::string& out, uint16_t v) { out.append(reinterpret_cast<const char*>(&v), 2); }
void Put32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void PutBE16(std::string& out, uint16_t v) { Put16(out, htons(v)); }
void PutPadding(std::string& out) { out.append(Pad4(out.size()) - out.size(), '\0'); }

uint16_t Get16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
uint32_t Get32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint16_t GetBE16(const char* p) { return ntohs(Get16(p)); }

void PutOption(std::string& out, uint16_t code, std::string_view value) {
  Put16(out, code);
  Put16(out, static_cast<uint16_t>(value.size()));
  out.append(value);
  PutPadding(out);
}

// Starts a block at out.size(); FinishBlock writes its length at both ends.
size_t StartBlock(std::string& out, uint32_t type) {
  const size_t start = out.size();
  Put32(out, type);
  Put32(out, 0);
  return start;
}
void FinishBlock(std::string& out, size_t start) {
  const auto len = static_cast<uint32_t>(out.size() - start + 4);
  std::memcpy(out.data() + start + 4, &len, 4);
  Put32(out, len);
}

// RFC 768 / RFC 8200 8.1: the UDP checksum over the IPv6 pseudo-header, header and payload.
uint16_t UdpChecksumV6(const Endpoint& src, const Endpoint& dst, const char* udp, size_t len) {
  uint64_t sum = 0;
  auto add = [&](const uint8_t* p, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n % 2) sum += static_cast<uint32_t>(p[n - 1] << 8);
  };
  add(src.address.data(), 16);
  add(dst.address.data(), 16);
  sum += len;  // upper-layer length (32 bits) and next header
  sum += IPPROTO_UDP;
  add(reinterpret_cast<const uint8_t*>(udp), len);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  const auto c = static_cast<uint16_t>(~sum);
  return c == 0 ? 0xFFFF : c;
}

uint16_t IPv4HeaderChecksum(const char* h) {
  uint32_t sum = 0;
  for (size_t i = 0; i < kIPv4Header; i += 2) {
    sum += static_cast<uint32_t>(static_cast<uint8_t>(h[i]) << 8 | static_cast<uint8_t>(h[i + 1]));
  }
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

bool EndpointFromSockaddr(const void* addr, size_t len, Endpoint& out) {
  out = Endpoint();
  if (len == 0) {
    out.kind = SourceKind::kUnix;  // an unnamed unix datagram sender
    return true;
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, addr, std::min(len, sizeof(ss)));
  switch (ss.ss_family) {
    case AF_INET: {
      const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
      out.kind = SourceKind::kIPv4;
      std::memcpy(out.address.data(), &in.sin_addr, 4);
      out.port = ntohs(in.sin_port);
      return true;
    }
    case AF_INET6: {
      const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
      out.port = ntohs(in6.sin6_port);
      if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
        out.kind = SourceKind::kIPv4;
        std::memcpy(out.address.data(), in6.sin6_addr.s6_addr + 12, 4);
      } else {
        out.kind = SourceKind::kIPv6;
        std::memcpy(out.address.data(), in6.sin6_addr.s6_addr, 16);
      }
      return true;
    }
    case AF_UNIX: {
      const auto& un = reinterpret_cast<const sockaddr_un&>(ss);
      out.kind = SourceKind::kUnix;
      const size_t path_len = std::min(len, sizeof(sockaddr_un)) - offsetof(sockaddr_un, sun_path);
      if (len > offsetof(sockaddr_un, sun_path)) {
        std::string_view path(un.sun_path, path_len);
        if (!path.empty() && path[0] != '\0') path = path.substr(0, path.find('\0'));
        out.unix_path.assign(path);  // an abstract name keeps its leading NUL
      }
      return true;
    }
    default:
      return false;
  }
}

std::string EndpointText(const Endpoint& e) {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (e.kind) {
    case SourceKind::kIPv4:
      inet_ntop(AF_INET, e.address.data(), buf, sizeof(buf));
      return fmt::format("{}:{}", buf, e.port);
    case SourceKind::kIPv6:
      inet_ntop(AF_INET6, e.address.data(), buf, sizeof(buf));
      return fmt::format("[{}]:{}", buf, e.port);
    case SourceKind::kUnix:
      break;
  }
  return e.unix_path.empty() ? "unix" : "unix:" + e.unix_path;
}

void AppendFileHeader(std::string& out, bool unix_socket) {
  size_t b = StartBlock(out, kSectionHeader);
  Put32(out, kByteOrderMagic);
  Put16(out, 1);           // major
  Put16(out, 0);           // minor
  Put32(out, 0xFFFFFFFF);  // section length: not given (-1)
  Put32(out, 0xFFFFFFFF);
  PutOption(out, kOptUserAppl, "cstatsd");
  PutOption(out, kOptEnd, {});
  FinishBlock(out, b);
  b = StartBlock(out, kInterfaceDescription);
  Put16(out, static_cast<uint16_t>(unix_socket ? kLinkTypeUser0 : kLinkTypeRaw));
  Put16(out, 0);
  Put32(out, 0);                                             // snaplen: no limit
  PutOption(out, kOptTsResol, std::string_view("\x09", 1));  // 10^-9 s
  PutOption(out, kOptEnd, {});
  FinishBlock(out, b);
}

size_t PacketBlockSize(const Endpoint& source, size_t payload_len) {
  size_t data = payload_len;
  size_t options = 0;
  if (source.kind == SourceKind::kUnix) {
    if (!source.unix_path.empty()) options = 4 + Pad4(source.unix_path.size()) + 4;
  } else {
    data = std::min(payload_len, kMaxUdpPayload) + kUdpHeader +
           (source.kind == SourceKind::kIPv4 ? kIPv4Header : kIPv6Header);
  }
  return 12 + kEpbFixed + Pad4(data) + options;
}

void AppendPacket(std::string& out, int64_t time_ns, const Endpoint& source, const Endpoint& local,
                  std::string_view payload) {
  const size_t b = StartBlock(out, kEnhancedPacket);
  const bool unix_source = source.kind == SourceKind::kUnix;
  if (!unix_source) payload = payload.substr(0, kMaxUdpPayload);
  const size_t ip_header = source.kind == SourceKind::kIPv4 ? kIPv4Header : kIPv6Header;
  const size_t len = unix_source ? payload.size() : ip_header + kUdpHeader + payload.size();
  const auto ts = static_cast<uint64_t>(std::max<int64_t>(0, time_ns));
  Put32(out, 0);  // the file's one interface
  Put32(out, static_cast<uint32_t>(ts >> 32));
  Put32(out, static_cast<uint32_t>(ts));
  Put32(out, static_cast<uint32_t>(len));
  Put32(out, static_cast<uint32_t>(len));
  if (!unix_source) {
    // The destination: the server's socket when it is of the same family, else unspecified.
    Endpoint dst;
    dst.kind = source.kind;
    dst.port = local.port;
    if (local.kind == source.kind) dst.address = local.address;
    const auto udp_len = static_cast<uint16_t>(kUdpHeader + payload.size());
    const size_t ip_at = out.size();
    if (source.kind == SourceKind::kIPv4) {
      out += '\x45';                                               // version 4, 20-byte header
      out += '\0';                                                 // DSCP/ECN
      PutBE16(out, static_cast<uint16_t>(kIPv4Header + udp_len));  // total length
      PutBE16(out, 0);                                             // identification
      PutBE16(out, 0x4000);                                        // don't fragment
      out += '\x40';                                               // TTL 64
      out += static_cast<char>(IPPROTO_UDP);
      PutBE16(out, 0);  // header checksum, below
      out.append(reinterpret_cast<const char*>(source.address.data()), 4);
      out.append(reinterpret_cast<const char*>(dst.address.data()), 4);
      const uint16_t sum = IPv4HeaderChecksum(out.data() + ip_at);
      out[ip_at + 10] = static_cast<char>(sum >> 8);
      out[ip_at + 11] = static_cast<char>(sum & 0xFF);
    } else {
      Put32(out, htonl(0x60000000));  // version 6
      PutBE16(out, udp_len);          // payload length
      out += static_cast<char>(IPPROTO_UDP);
      out += '\x40';  // hop limit 64
      out.append(reinterpret_cast<const char*>(source.address.data()), 16);
      out.append(reinterpret_cast<const char*>(dst.address.data()), 16);
    }
    const size_t udp_at = out.size();
    PutBE16(out, source.port);
    PutBE16(out, dst.port);
    PutBE16(out, udp_len);
    PutBE16(out, 0);  // IPv4: no checksum; IPv6: below
    out.append(payload);
    if (source.kind == SourceKind::kIPv6) {
      const uint16_t sum = UdpChecksumV6(source, dst, out.data() + udp_at, udp_len);
      out[udp_at + 6] = static_cast<char>(sum >> 8);
      out[udp_at + 7] = static_cast<char>(sum & 0xFF);
    }
  } else {
    out.append(payload);
  }
  PutPadding(out);
  if (unix_source && !source.unix_path.empty()) {
    PutOption(out, kOptComment, source.unix_path);
    PutOption(out, kOptEnd, {});
  }
  FinishBlock(out, b);
}

CaptureReader::Next CaptureReader::Fail(std::string message) {
  error_ = fmt::format("offset {}: {}", block_offset_, message);
  return Next::kError;
}

bool CaptureReader::ReadBlock(uint32_t& type) {
  block_offset_ = offset_;
  char head[8];
  in_.read(head, 8);
  const auto got = static_cast<size_t>(in_.gcount());
  offset_ += got;
  if (got == 0) return false;  // the end, between blocks
  if (got < 8) {
    Fail("truncated block header");
    return false;
  }
  type = Get32(head);
  const uint32_t len = Get32(head + 4);
  if (len < 12 || len % 4 != 0 || len - 12 > kMaxBody) {
    Fail(fmt::format("bad block length {}", len));
    return false;
  }
  block_.resize(len - 8);
  in_.read(block_.data(), static_cast<std::streamsize>(block_.size()));
  const auto body = static_cast<size_t>(in_.gcount());
  offset_ += body;
  if (body < block_.size()) {
    Fail(fmt::format("truncated block: {} of {} bytes", body + 8, len));
    return false;
  }
  if (Get32(block_.data() + block_.size() - 4) != len) {
    Fail("block lengths differ at its start and end");
    return false;
  }
  block_.resize(block_.size() - 4);
  return true;
}

CaptureReader::Next CaptureReader::ParseInterface() {
  if (block_.size() < 8) return Fail("interface description too short");
  if (interface_count_ == kMaxInterfaces) return Fail("too many interfaces");
  Interface itf;
  itf.link_type = Get16(block_.data());
  for (size_t at = 8; at + 4 <= block_.size();) {
    const uint16_t code = Get16(block_.data() + at);
    const uint16_t len = Get16(block_.data() + at + 2);
    if (code == kOptEnd) break;
    if (at + 4 + len > block_.size()) return Fail("interface option overruns its block");
    if (code == kOptTsResol && len >= 1) {
      const auto r = static_cast<uint8_t>(block_[at + 4]);
      if ((r & 0x80) != 0 || r > 18) {
        return Fail(fmt::format("unsupported timestamp resolution {}", r));
      }
      itf.multiply = 1;
      itf.divide = 1;
      for (int i = r; i < 9; ++i) itf.multiply *= 10;
      for (int i = 9; i < r; ++i) itf.divide *= 10;
    }
    at += 4 + Pad4(len);
  }
  interfaces_[interface_count_++] = itf;
  return Next::kRecord;
}

CaptureReader::Next CaptureReader::ParsePacket(Record& out, bool& produced) {
  produced = false;
  if (block_.size() < kEpbFixed) return Fail("packet block too short");
  const char* b = block_.data();
  const uint32_t iface = Get32(b);
  if (iface >= interface_count_) return Fail(fmt::format("packet on unknown interface {}", iface));
  const Interface& itf = interfaces_[iface];
  const uint64_t units = static_cast<uint64_t>(Get32(b + 4)) << 32 | Get32(b + 8);
  const uint32_t caplen = Get32(b + 12);
  if (Pad4(caplen) > block_.size() - kEpbFixed) return Fail("packet data overruns its block");
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (units > kMax / static_cast<uint64_t>(itf.multiply)) return Fail("timestamp out of range");
  const auto time_ns = static_cast<int64_t>(units) * itf.multiply / itf.divide;
  const char* data = b + kEpbFixed;
  out.source = Endpoint();
  out.destination = Endpoint();
  out.time_ns = time_ns;
  if (itf.link_type == kLinkTypeUser0) {
    out.source.kind = SourceKind::kUnix;
    out.payload.assign(data, caplen);
    for (size_t at = kEpbFixed + Pad4(caplen); at + 4 <= block_.size();) {
      const uint16_t code = Get16(b + at);
      const uint16_t len = Get16(b + at + 2);
      if (code == kOptEnd) break;
      if (at + 4 + len > block_.size()) return Fail("packet option overruns its block");
      if (code == kOptComment) out.source.unix_path.assign(b + at + 4, len);
      at += 4 + Pad4(len);
    }
    produced = true;
    return Next::kRecord;
  }
  if (itf.link_type != kLinkTypeRaw || caplen < 1) {
    ++skipped_;
    return Next::kRecord;
  }
  const auto version = static_cast<uint8_t>(data[0]) >> 4;
  size_t ip_len = 0;
  if (version == 4) {
    ip_len = static_cast<size_t>(data[0] & 0x0F) * 4;
    // Fragments (offset or more-fragments set) are skipped: a datagram must come whole.
    if (ip_len < kIPv4Header || caplen < ip_len + kUdpHeader || data[9] != IPPROTO_UDP ||
        (GetBE16(data + 6) & 0x3FFF) != 0) {
      ++skipped_;
      return Next::kRecord;
    }
    out.source.kind = out.destination.kind = SourceKind::kIPv4;
    std::memcpy(out.source.address.data(), data + 12, 4);
    std::memcpy(out.destination.address.data(), data + 16, 4);
  } else if (version == 6) {
    ip_len = kIPv6Header;
    if (caplen < ip_len + kUdpHeader || data[6] != IPPROTO_UDP) {
      ++skipped_;
      return Next::kRecord;
    }
    out.source.kind = out.destination.kind = SourceKind::kIPv6;
    std::memcpy(out.source.address.data(), data + 8, 16);
    std::memcpy(out.destination.address.data(), data + 24, 16);
  } else {
    ++skipped_;
    return Next::kRecord;
  }
  const char* udp = data + ip_len;
  const uint16_t udp_len = GetBE16(udp + 4);
  if (udp_len < kUdpHeader || ip_len + udp_len > caplen) {
    ++skipped_;  // cut by a snap length, or not a whole datagram
    return Next::kRecord;
  }
  out.source.port = GetBE16(udp);
  out.destination.port = GetBE16(udp + 2);
  out.payload.assign(udp + kUdpHeader, udp_len - kUdpHeader);
  produced = true;
  return Next::kRecord;
}

CaptureReader::Next CaptureReader::Read(Record& out) {
  while (true) {
    if (!error_.empty()) return Next::kError;
    uint32_t type = 0;
    if (!ReadBlock(type)) return error_.empty() ? Next::kEnd : Next::kError;
    if (type == kSectionHeader) {
      if (block_.size() < 16) return Fail("section header too short");
      const uint32_t magic = Get32(block_.data());
      if (magic == __builtin_bswap32(kByteOrderMagic)) {
        return Fail("big-endian pcapng is not supported");
      }
      if (magic != kByteOrderMagic) return Fail("bad byte-order magic");
      if (Get16(block_.data() + 4) != 1) return Fail("unsupported pcapng major version");
      in_section_ = true;
      interface_count_ = 0;
      continue;
    }
    if (!in_section_) return Fail("not a pcapng file: no section header first");
    if (type == kInterfaceDescription) {
      if (ParseInterface() == Next::kError) return Next::kError;
      continue;
    }
    if (type == kEnhancedPacket) {
      bool produced = false;
      if (ParsePacket(out, produced) == Next::kError) return Next::kError;
      if (produced) return Next::kRecord;
      continue;
    }
    // Other blocks (statistics, name resolution, simple packets...) carry no datagram.
  }
}

}  // namespace cstatsd::capture
