// StateFile: the `state-file` on disk (docs/state-file.md): written atomically at shutdown, read
// back (and removed) at start or when one appears while the server runs, renamed aside when it
// cannot be used. Owned by the flusher thread (the final write runs on the thread that stops the
// server, after the flusher's last flush); blocking file I/O, never on a worker thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"
#include "state/state_format.h"

namespace cstatsd::state {

// The largest state file read (bytes); a larger one is refused like a corrupt one.
inline constexpr size_t kMaxFileBytes = size_t{4} << 30;

class StateFile {
 public:
  explicit StateFile(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  std::string bad_path() const { return path_ + ".bad"; }

  // The configuration check of `state-file` (docs/configuration.md): its directory exists and
  // this process may create and rename files in it, and the path is not a directory. The message
  // does not name the key (the caller does).
  static Status CheckWritable(const std::string& path);

  // Writes `bytes` as the state file: a temporary file in the same directory, fsync, rename over
  // the path, fsync of the directory. A reader sees the old file, the new one, or none.
  Status Write(std::string_view bytes);

  // One stat(): whether a file is at the path that Take() has not consumed yet.
  bool Present();

  struct Taken {
    std::optional<State> state;  // set when the file was read and decoded
    std::string error;           // otherwise why not (the file was renamed aside if it could)
    bool renamed = false;        // the refused file is now bad_path()
  };
  // Reads and decodes the file, then removes it (a later start must not use it twice). A file
  // that cannot be read or decoded is renamed to bad_path(), replacing an older one.
  Taken Take();

 private:
  // The identity of the last file taken, in case it could not be removed: not taken again.
  struct Identity {
    dev_t dev = 0;
    ino_t ino = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Identity&) const = default;
  };
  std::string path_;
  std::optional<Identity> taken_;
};

}  // namespace cstatsd::state
