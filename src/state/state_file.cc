#include "state/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/file_read.h"

namespace cstatsd::state {
namespace {

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

int64_t MtimeNs(const struct stat& st) {
  return int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
}

Status WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(Errno("cannot write"));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace

Status StateFile::CheckWritable(const std::string& path) {
  if (path.empty()) return Status::Error("is empty");
  if (path.back() == '/') return Status::Error("\"" + path + "\" names a directory, not a file");
  const std::string dir = DirOf(path);
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) {
    return Status::Error("directory \"" + dir + "\" " + Errno("cannot be used"));
  }
  if (!S_ISDIR(st.st_mode)) return Status::Error("\"" + dir + "\" is not a directory");
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return Status::Error("directory \"" + dir + "\" is not writable (" + std::strerror(errno) +
                         ")");
  }
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::Error("\"" + path + "\" is a directory");
  }
  return {};
}

Status StateFile::Write(std::string_view bytes) {
  const std::string tmp = path_ + ".tmp." + std::to_string(getpid());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Error(Errno("cannot create " + tmp));
  Status s = WriteAll(fd, bytes);
  if (s.ok() && fsync(fd) != 0) s = Status::Error(Errno("cannot fsync " + tmp));
  if (close(fd) != 0 && s.ok()) s = Status::Error(Errno("cannot close " + tmp));
  if (s.ok() && rename(tmp.c_str(), path_.c_str()) != 0) {
    s = Status::Error(Errno("cannot rename " + tmp + " to " + path_));
  }
  if (!s.ok()) {
    unlink(tmp.c_str());
    return s;
  }
  // The rename is durable once the directory is.
  const int dfd = open(DirOf(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
  return {};
}

bool StateFile::Present() {
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) return false;
  return !taken_ || !(*taken_ == Identity{st.st_dev, st.st_ino, MtimeNs(st)});
}

StateFile::Taken StateFile::Take() {
  Taken out;
  struct stat st {};
  const bool found = stat(path_.c_str(), &st) == 0;
  if (found) taken_ = Identity{st.st_dev, st.st_ino, MtimeNs(st)};
  Result<std::string> bytes = ReadRegularFile(path_, kMaxFileBytes);
  if (bytes.ok()) {
    Result<State> state = Decode(*bytes);
    if (state.ok()) {
      out.state = std::move(*state);
      if (unlink(path_.c_str()) != 0 && errno != ENOENT) out.error = Errno("cannot remove it");
      return out;
    }
    out.error = state.error();
  } else {
    out.error = bytes.error();
  }
  // A directory at the path stays (the configuration check refuses it at the next start).
  out.renamed = !(found && S_ISDIR(st.st_mode)) && rename(path_.c_str(), bad_path().c_str()) == 0;
  return out;
}

}  // namespace cstatsd::state
