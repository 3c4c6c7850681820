// The capture file format (docs/capture.md): pcapng, little-endian, one section per file with
// one interface, nanosecond timestamps: LINKTYPE_RAW for a UDP socket, each datagram behind a
// synthesized IPv4 or IPv6 + UDP header; LINKTYPE_USER0 for a unix socket, each datagram's bytes
// as they came, the sender's path (if named) in the packet's comment. (libpcap, hence tcpdump,
// reads only one link type per file.) Pure functions and a reader over an istream; any thread,
// one object per thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <string_view>

namespace cstatsd::capture {

enum class SourceKind : uint8_t { kIPv4, kIPv6, kUnix };

// Where a datagram came from (the sender) or went to (the server's socket).
struct Endpoint {
  SourceKind kind = SourceKind::kIPv4;
  std::array<uint8_t, 16> address{};  // network order; IPv4 in the first 4 bytes
  uint16_t port = 0;
  std::string unix_path;  // kUnix: the sender's path, empty when unnamed
};

// Fills `out` from a socket address as recvmmsg gives it (an IPv4-mapped IPv6 address becomes
// IPv4; a zero length means an unnamed unix sender). False for another family.
bool EndpointFromSockaddr(const void* addr, size_t len, Endpoint& out);

// "127.0.0.1:8125", "[::1]:8125", "unix:/path" or "unix" (unnamed).
std::string EndpointText(const Endpoint& e);

// The largest payload a block may hold: the largest receive-buffer-size (1 MiB); the reader
// refuses a block longer than this plus its headers.
inline constexpr size_t kMaxPayload = 1 << 20;
inline constexpr uint32_t kLinkTypeRaw = 101;
inline constexpr uint32_t kLinkTypeUser0 = 147;

// Appends the section header and the interface description, LINKTYPE_USER0 for a unix socket's
// datagrams, LINKTYPE_RAW for a UDP socket's: the start of every file.
void AppendFileHeader(std::string& out, bool unix_socket = false);

// Appends one Enhanced Packet Block: `payload` received at `time_ns` (since the Unix epoch) from
// `source` on `local`, the server's socket (its address and port go into the synthesized
// header's destination). A unix source belongs in a file whose header said unix_socket, an IP
// one in the other kind. A UDP payload longer than 65,507 bytes (which no UDP socket receives)
// is cut to it.
void AppendPacket(std::string& out, int64_t time_ns, const Endpoint& source, const Endpoint& local,
                  std::string_view payload);

// The bytes AppendPacket will append for this source and payload length.
size_t PacketBlockSize(const Endpoint& source, size_t payload_len);

// One datagram read back.
struct Record {
  int64_t time_ns = 0;
  Endpoint source;
  Endpoint destination;  // UDP only: the synthesized header's destination
  std::string payload;
};

// Reads the files cstatsd writes (and other little-endian pcapng files: packets that are not
// UDP over IPv4/IPv6 without extension headers, or of another link type, are skipped and
// counted). Bounded: no block longer than kMaxPayload plus headers is buffered; any malformed
// block ends the read with an error naming its offset.
class CaptureReader {
 public:
  explicit CaptureReader(std::istream& in) : in_(in) {}

  enum class Next { kRecord, kEnd, kError };
  Next Read(Record& out);

  const std::string& error() const { return error_; }
  uint64_t skipped() const { return skipped_; }  // packets that were not statsd datagrams

 private:
  Next Fail(std::string message);
  bool ReadBlock(uint32_t& type);  // into block_; false at a clean end or an error
  Next ParseInterface();
  Next ParsePacket(Record& out, bool& produced);

  std::istream& in_;
  std::string block_;  // the current block's body (after type and length)
  uint64_t offset_ = 0;
  uint64_t block_offset_ = 0;
  bool in_section_ = false;
  struct Interface {
    uint32_t link_type = 0;
    int64_t multiply = 1000;  // ns per timestamp unit (default if_tsresol: microseconds)
    int64_t divide = 1;       // timestamp units per ns, when finer than a nanosecond
  };
  static constexpr size_t kMaxInterfaces = 64;
  std::array<Interface, kMaxInterfaces> interfaces_{};
  size_t interface_count_ = 0;
  uint64_t skipped_ = 0;
  std::string error_;
};

}  // namespace cstatsd::capture
