#include "ingest/kernel_drops.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace cstatsd::ingest {

namespace {

// Calls f(fields) for each row of /proc/net/udp{,6} tables with all 13 columns: sl local rem st
// tx:rx tr:when retrnsmt uid timeout inode ref pointer drops. Header lines (an `sl` that is not
// a row number like `200:`) are skipped.
template <typename F>
void ForEachProcRow(std::string_view table, F f) {
  size_t pos = table.find('\n');  // skip the header
  while (pos != std::string_view::npos && pos + 1 < table.size()) {
    const size_t end = table.find('\n', pos + 1);
    std::string_view line = table.substr(
        pos + 1, end == std::string_view::npos ? std::string_view::npos : end - pos - 1);
    pos = end;
    std::string_view fields[13];
    size_t n = 0, i = 0;
    while (n < 13 && i < line.size()) {
      while (i < line.size() && line[i] == ' ') ++i;
      const size_t start = i;
      while (i < line.size() && line[i] != ' ') ++i;
      if (i > start) fields[n++] = line.substr(start, i - start);
    }
    if (n == 13 && fields[0].back() == ':') f(fields);
  }
}

uint64_t Number(std::string_view field) {
  uint64_t v = 0;
  std::from_chars(field.data(), field.data() + field.size(), v);
  return v;
}

bool Contains(const std::vector<uint64_t>& inodes, uint64_t inode) {
  return std::find(inodes.begin(), inodes.end(), inode) != inodes.end();
}

std::vector<uint64_t> Inodes(const std::vector<int>& fds) {
  std::vector<uint64_t> inodes;
  for (int fd : fds) {
    struct stat st {};
    if (fstat(fd, &st) == 0) inodes.push_back(static_cast<uint64_t>(st.st_ino));
  }
  return inodes;
}

// The text of /proc/net/udp and /proc/net/udp6 (either may be missing).
std::string ProcUdpTables() {
  std::string out;
  for (const char* path : {"/proc/net/udp", "/proc/net/udp6"}) {
    std::ifstream in(path);
    if (!in) continue;
    std::stringstream ss;
    ss << in.rdbuf();
    out += ss.str();
  }
  return out;
}

}  // namespace

uint64_t SumDropsFromProcTable(std::string_view table, const std::vector<uint64_t>& inodes) {
  uint64_t total = 0;
  ForEachProcRow(table, [&](const std::string_view* fields) {
    if (Contains(inodes, Number(fields[9]))) total += Number(fields[12]);
  });
  return total;
}

size_t CountOtherSocketsFromProcTable(std::string_view table, const std::vector<uint64_t>& inodes) {
  std::vector<std::string_view> ours;  // local address:port of our sockets
  ForEachProcRow(table, [&](const std::string_view* fields) {
    if (Contains(inodes, Number(fields[9]))) ours.push_back(fields[1]);
  });
  size_t others = 0;
  ForEachProcRow(table, [&](const std::string_view* fields) {
    // 07 (TCP_CLOSE) is an unconnected UDP socket: one the kernel may pick for any sender.
    if (fields[3] == "07" && !Contains(inodes, Number(fields[9])) &&
        std::find(ours.begin(), ours.end(), fields[1]) != ours.end()) {
      ++others;
    }
  });
  return others;
}

size_t OtherSocketsOnPort(const std::vector<int>& fds) {
  const std::vector<uint64_t> inodes = Inodes(fds);
  if (inodes.empty()) return 0;
  return CountOtherSocketsFromProcTable(ProcUdpTables(), inodes);
}

uint64_t KernelDrops(const std::vector<int>& fds) {
  const std::vector<uint64_t> inodes = Inodes(fds);
  if (inodes.empty()) return 0;
  return SumDropsFromProcTable(ProcUdpTables(), inodes);
}

}  // namespace cstatsd::ingest
