// Helpers for the config unit tests: argv from strings, temporary config files.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "config/config.h"

namespace cstatsd::config::testing {

// Owns the strings behind an argv array; argv[0] is "cstatsd".
class Args {
 public:
  Args(std::initializer_list<std::string> args) : strings_{"cstatsd"} {
    strings_.insert(strings_.end(), args.begin(), args.end());
    for (const std::string& s : strings_) pointers_.push_back(s.c_str());
    pointers_.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(strings_.size()); }
  const char* const* argv() const { return pointers_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<const char*> pointers_;
};

inline Result<LoadOutcome> LoadWith(std::initializer_list<std::string> args,
                                    const Environment& env = {}) {
  Args a(args);
  return Load(a.argc(), a.argv(), env);
}

// A temporary directory removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "cstatsd-config-XXXXXX").string();
    char* made = mkdtemp(pattern.data());
    path_ = made != nullptr ? made : pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `content` to <dir>/<name> and returns the full path.
  std::string Write(const std::string& name, const std::string& content) const {
    std::string full = (std::filesystem::path(path_) / name).string();
    std::ofstream(full, std::ios::binary) << content;
    return full;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace cstatsd::config::testing
