#include "ingest/kernel_drops.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace cstatsd::ingest {

uint64_t SumDropsFromProcTable(std::string_view table, const std::vector<uint64_t>& inodes) {
  uint64_t total = 0;
  size_t pos = table.find('\n');  // skip the header
  while (pos != std::string_view::npos && pos + 1 < table.size()) {
    const size_t end = table.find('\n', pos + 1);
    std::string_view line = table.substr(
        pos + 1, end == std::string_view::npos ? std::string_view::npos : end - pos - 1);
    pos = end;
    // Columns: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    std::string_view fields[13];
    size_t n = 0, i = 0;
    while (n < 13 && i < line.size()) {
      while (i < line.size() && line[i] == ' ') ++i;
      const size_t start = i;
      while (i < line.size() && line[i] != ' ') ++i;
      if (i > start) fields[n++] = line.substr(start, i - start);
    }
    if (n < 13) continue;
    uint64_t inode = 0, drops = 0;
    std::from_chars(fields[9].data(), fields[9].data() + fields[9].size(), inode);
    if (std::find(inodes.begin(), inodes.end(), inode) == inodes.end()) continue;
    std::from_chars(fields[12].data(), fields[12].data() + fields[12].size(), drops);
    total += drops;
  }
  return total;
}

uint64_t KernelDrops(const std::vector<int>& fds) {
  std::vector<uint64_t> inodes;
  for (int fd : fds) {
    struct stat st {};
    if (fstat(fd, &st) == 0) inodes.push_back(static_cast<uint64_t>(st.st_ino));
  }
  if (inodes.empty()) return 0;
  uint64_t total = 0;
  for (const char* path : {"/proc/net/udp", "/proc/net/udp6"}) {
    std::ifstream in(path);
    if (!in) continue;
    std::stringstream ss;
    ss << in.rdbuf();
    total += SumDropsFromProcTable(ss.str(), inodes);
  }
  return total;
}

}  // namespace cstatsd::ingest
