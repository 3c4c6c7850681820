// SectionReader: reads a config section (a backend's, a cloud provider's) into option fields,
// collecting every error
// ("<section>.<key>: ...") so that startup reports them all at once. Used by the backends' and
// cloud providers' factories on the main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/result.h"

namespace cstatsd::config {

class SectionReader {
 public:
  explicit SectionReader(config::Section section) : sec_(std::move(section)) {}

  const config::Section& section() const { return sec_; }

  void Str(std::string_view key, std::string& field) { Take(sec_.GetString(key, field), field); }
  void Bool(std::string_view key, bool& field) { Take(sec_.GetBool(key, field), field); }
  void Dur(std::string_view key, std::chrono::nanoseconds& field) {
    Take(sec_.GetDuration(key, field), field);
  }
  void List(std::string_view key, std::vector<std::string>& field) {
    Take(sec_.GetStringList(key, field), field);
  }
  // A retry budget (max-request-elapsed-time): positive, or -1 for no retries.
  void RetryBudget(std::string_view key, std::chrono::nanoseconds& field) {
    Dur(key, field);
    if (field <= std::chrono::nanoseconds::zero() && field != std::chrono::nanoseconds(-1)) {
      Problem(key, "must be positive or -1");
    }
  }
  template <typename Int>
  void Integer(std::string_view key, Int& field) {
    auto v = sec_.GetInt(key, static_cast<int64_t>(field));
    if (v.ok()) {
      field = static_cast<Int>(*v);
    } else {
      Fail(v.error());
    }
  }

  // Records a problem with `key`: "<section>.<key>: <problem>".
  void Problem(std::string_view key, std::string_view problem) {
    Fail(sec_.path() + "." + std::string(key) + ": " + std::string(problem));
  }

  // Ok, or every error, one per line.
  Status Finish() const {
    if (errors_.empty()) return {};
    return Status::Error(errors_.substr(0, errors_.size() - 1));
  }

 private:
  template <typename T>
  void Take(Result<T> v, T& field) {
    if (v.ok()) {
      field = std::move(*v);
    } else {
      Fail(v.error());
    }
  }
  void Fail(const std::string& e) { errors_ += e + "\n"; }

  config::Section sec_;
  std::string errors_;
};

}  // namespace cstatsd::config
