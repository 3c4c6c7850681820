// Opening the metrics sockets (docs/configuration.md, metrics-addr): UDP on host:port (IPv4 or
// IPv6, SO_REUSEPORT so each worker has its own socket), or a unix datagram socket when the
// address is an absolute path. A port or a socket file another process serves is refused unless
// a hand-over is asked for (metrics-reuse-port), and only this process's own socket file is ever
// removed (docs/limits.md). Called on the main thread at startup and shutdown.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct sockaddr_storage;
struct msghdr;

#include "core/result.h"

namespace cstatsd::ingest {

struct ListenAddress {
  bool is_unix = false;
  std::string host;  // empty = all interfaces
  std::string port;  // service or number
  std::string path;  // unix socket path
};

Result<ListenAddress> ParseListenAddress(std::string_view addr);

// A bound UDP socket. `port` 0 picks a free port; open the next ones with the port it got.
// recv_buffer_bytes > 0 asks for that SO_RCVBUF (SO_RCVBUFFORCE when permitted).
Result<int> OpenUdpSocket(const ListenAddress& addr, bool reuse_port, int recv_buffer_bytes);

// Before the workers bind with SO_REUSEPORT (which Linux shares with any socket of the same
// user, another cstatsd included): binds a probe socket without it, so that a port any other
// socket holds fails with an error naming metrics-addr, and returns the port (the free one the
// kernel picked for port 0). The probe is closed again.
Result<int> ClaimUdpPort(const ListenAddress& addr);

// Process hand-over (docs/restarts.md): stops the kernel from queueing new datagrams on these
// SO_REUSEPORT sockets (all bound to one address) while what they hold stays readable. Each is
// connect()ed to a placeholder socket's address, bound here next to them: a connected member of
// a reuseport group matches only datagrams from its peer, which no client can send from while
// the placeholder holds it, so the kernel gives every datagram to the group's unconnected
// sockets (another process's). Returns the placeholder, to close after the sockets. Alone in the
// group, a detached socket makes the kernel refuse new datagrams (ICMP port unreachable).
Result<int> DetachUdpSockets(const std::vector<int>& fds);

// A unix socket file this process created: removed at exit only if it is still this one.
struct SocketFile {
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
};

// A bound unix datagram socket. An existing file is replaced only when it is a stale socket
// (nothing listens: connect() is refused); a live one is an error naming metrics-addr.
// `file` receives the identity of the new socket file.
Result<int> OpenUnixgramSocket(const std::string& path, int recv_buffer_bytes, SocketFile* file);

// Unlinks file.path if it is still the socket file recorded at bind (same device and inode).
void RemoveSocketFile(const SocketFile& file);

// The local port a socket is bound to (0 for unix sockets).
int LocalPort(int fd);

// The sender's IP as text (docs/protocol.md#reading-datagrams): IPv4 dotted, IPv4-mapped IPv6 as
// IPv4, else IPv6 (canonical); empty for other families (unix sockets have no source).
void FormatSender(const sockaddr_storage& ss, std::string& out);

// UDP receive offload (UDP_GRO, Linux 5.0): the kernel may then hand several datagrams of one
// flow over as one receive entry — all of one size but the last, which may be shorter — with that
// size in a control message, so a batch costs fewer per-datagram steps in the kernel
// (docs/performance.md#receive-path). False where unsupported (unix sockets, older kernels).
bool EnableUdpGro(int fd);

// Control-message space a receive entry needs for UDP_GRO's segment size.
inline constexpr size_t kGroControlBytes = 32;  // CMSG_SPACE(sizeof(int)) on every Linux ABI

// The segment size a received entry carries (its UDP_GRO control message), 0 when it holds one
// datagram.
size_t GroSegmentSize(const msghdr& h);

// Wall-clock time in unix nanoseconds (a batch's timestamp).
int64_t NowUnixNanos();

// The receive buffer the kernel granted a socket (bytes of payload it can queue).
int ReceiveBufferBytes(int fd);

}  // namespace cstatsd::ingest
