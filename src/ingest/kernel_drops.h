// Kernel drop visibility: how many datagrams the kernel dropped on our sockets because their
// receive buffers were full — loss that no statsd server reports. Read from /proc/net/udp and
// /proc/net/udp6 (the `drops` column of each socket, found by inode) and, for unix sockets,
// not available (0). Called by the flusher once per flush; a few small file reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace cstatsd::ingest {

// Sum of the kernel's drop counters of these sockets since they were opened.
uint64_t KernelDrops(const std::vector<int>& fds);

// Parses a /proc/net/udp{,6} table and sums the drops of the given inodes (tests).
uint64_t SumDropsFromProcTable(std::string_view table, const std::vector<uint64_t>& inodes);

// Process hand-over (docs/restarts.md): how many unconnected UDP sockets other than these are
// bound to the same local address and port as one of them — another process that joined their
// SO_REUSEPORT group. Read from the same tables.
size_t OtherSocketsOnPort(const std::vector<int>& fds);

// Counts them in /proc/net/udp{,6} text (tests).
size_t CountOtherSocketsFromProcTable(std::string_view table, const std::vector<uint64_t>& inodes);

}  // namespace cstatsd::ingest
