#include "prometheus/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

namespace cstatsd::prometheus {
namespace {

void AppendOne(Format f, FamilyType t, std::string_view name, std::string_view help, double v,
               std::string& out) {
  AppendHeader(f, t, name, help, out);
  if (t == FamilyType::kCounter) {
    AppendCounterSampleName(f, name, out);
    out += ' ';
  } else {
    AppendSampleStart(name, "", "", "", "", out);
  }
  AppendValue(f, v, out);
  out += '\n';
}

// Seconds since the epoch at which the machine booted (/proc/stat's btime); 0 if unknown.
double BootTime() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) return std::strtod(line.c_str() + 6, nullptr);
  }
  return 0;
}

int OpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  int n = 0;
  while (const dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the directory's own descriptor
}

}  // namespace

void AppendProcessMetrics(Format f, std::string& out) {
  // /proc/self/stat: fields after the command name (which may hold spaces) start at state (3);
  // utime 14, stime 15, starttime 22, vsize 23, rss 24 (pages).
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  if (paren != std::string::npos && ticks > 0) {
    std::istringstream fields(stat.substr(paren + 2));
    std::string field;
    double v[25] = {};
    for (int i = 3; i <= 24 && fields >> field; ++i) v[i] = std::strtod(field.c_str(), nullptr);
    AppendOne(f, FamilyType::kCounter, "process_cpu_seconds_total",
              "Total user and system CPU time spent in seconds.", (v[14] + v[15]) / ticks, out);
    AppendOne(f, FamilyType::kGauge, "process_virtual_memory_bytes",
              "Virtual memory size in bytes.", v[23], out);
    AppendOne(f, FamilyType::kGauge, "process_resident_memory_bytes",
              "Resident memory size in bytes.", v[24] * page, out);
    if (const double boot = BootTime(); boot > 0) {
      AppendOne(f, FamilyType::kGauge, "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.", boot + v[22] / ticks,
                out);
    }
  }
  if (const int fds = OpenFds(); fds >= 0) {
    AppendOne(f, FamilyType::kGauge, "process_open_fds", "Number of open file descriptors.", fds,
              out);
  }
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    AppendOne(
        f, FamilyType::kGauge, "process_max_fds", "Maximum number of open file descriptors.",
        lim.rlim_cur == RLIM_INFINITY ? 18446744073709551615.0 : static_cast<double>(lim.rlim_cur),
        out);
  }
}

}  // namespace cstatsd::prometheus
