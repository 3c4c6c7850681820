// cstatsd-loader --replay (docs/capture.md#replay): sends the datagrams of capture files again,
// to one UDP address, keeping their recorded gaps divided by a speed. Runs on the caller's
// thread (the loader's main).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "capture/pcapng.h"
#include "core/result.h"

namespace cstatsd::loader {

struct ReplayOptions {
  std::vector<std::string> files;  // read in the order of their first datagram's time
  double speed = 1;                // 2 = twice as fast; 0 = as fast as possible
  int sockets = 4;                 // a sender is always sent from the same one of them
};

struct ReplaySummary {
  uint64_t files = 0;
  uint64_t datagrams = 0;  // sent
  uint64_t lines = 0;      // non-empty lines in what was sent
  uint64_t bytes = 0;
  uint64_t errors = 0;   // datagrams the socket refused (e.g. nothing listening)
  uint64_t skipped = 0;  // packets in the files that are not statsd datagrams
  double seconds = 0;
  std::string error;  // a file that could not be read to its end (what came before was sent)
};

// Orders `files` by the time of their first datagram (FILE.2, FILE.1, FILE for a rotated
// capture); a file that cannot be opened or holds no datagram is an error.
Result<std::vector<std::string>> OrderCaptureFiles(const std::vector<std::string>& files);

// The socket index a sender's datagrams go from, so that each sender's order is kept.
size_t SocketFor(const capture::Endpoint& source, size_t sockets);

// Sends every datagram of `options.files` to `target`. A read error ends the replay (the
// summary's error); an unopenable file or socket is an error before anything is sent.
Result<ReplaySummary> Replay(const ReplayOptions& options, const sockaddr_storage& target,
                             socklen_t target_len);

// The summary as the loader prints it: one line of text, or one JSON object.
std::string FormatReplaySummary(const ReplaySummary& s, bool json);

}  // namespace cstatsd::loader
