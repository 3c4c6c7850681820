// Test helper: a fresh directory for one test, under the system's temporary directory and named
// after the process and the running test, removed with the object. Header-only; tests include it
// as "unit/support/temp_dir.h".
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace cstatsd::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    path_ = std::filesystem::temp_directory_path() /
            (prefix + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace cstatsd::test
