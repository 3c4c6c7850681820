#include "loader/generator.h"

#include <fmt/format.h>

#include <cstdio>

namespace cstatsd::loader {
namespace {

constexpr const char* kTypeName[4] = {"counter", "gauge", "set", "timer"};
constexpr const char* kTypeSuffix[4] = {"c", "g", "s", "ms"};

}  // namespace

uint64_t LoadSpec::TotalLines() const {
  uint64_t n = 0;
  for (const auto& t : types) n += t.count;
  return n;
}

uint64_t LoadSpec::MaxSeries() const {
  uint64_t total = 0;
  for (const auto& t : types) {
    if (t.count == 0) continue;
    uint64_t s = t.name_cardinality;
    for (uint64_t c : t.tag_cardinalities) s *= c;
    total += s;
  }
  return total;
}

Generator::Generator(const LoadSpec& spec, uint64_t seed) : spec_(spec), rng_(seed) {
  for (int i = 0; i < 4; ++i) remaining_[i] = spec_.types[i].count;
}

std::string Generator::Name(LineType t) {
  const TypeSpec& ts = spec_.types[static_cast<int>(t)];
  uint64_t idx = 0;
  if (ts.name_cardinality > 1) {
    idx = sequential_ ? next_series_[static_cast<int>(t)]++ % ts.name_cardinality
                      : rng_() % ts.name_cardinality;
  }
  std::string suffix = spec_.suffix;
  const size_t pos = suffix.find("%d");
  if (pos != std::string::npos) suffix.replace(pos, 2, std::to_string(idx));
  return spec_.prefix + kTypeName[static_cast<int>(t)] + suffix;
}

bool Generator::NextLine(std::string& line, LineType& type) {
  uint64_t total = 0;
  for (uint64_t r : remaining_) total += r;
  if (total == 0) return false;
  uint64_t pick = rng_() % total;
  int t = 0;
  while (pick >= remaining_[t]) pick -= remaining_[t++];
  if (!unbounded_) --remaining_[t];
  type = static_cast<LineType>(t);
  const TypeSpec& ts = spec_.types[t];

  line = Name(type);
  line += ':';
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  switch (type) {
    case LineType::kCounter: {
      const uint64_t limit = static_cast<uint64_t>(ts.value_limit);
      line += std::to_string(1 + (limit > 0 ? rng_() % (limit + 1) : 0));
      break;
    }
    case LineType::kGauge:
      line += fmt::format("{}", unit(rng_) * ts.value_limit);
      break;
    case LineType::kSet: {
      const uint64_t n = ts.value_limit >= 1 ? static_cast<uint64_t>(ts.value_limit) : 1;
      line += std::to_string(rng_() % n);
      break;
    }
    case LineType::kTimer:
      line += fmt::format("{:.3f}", unit(rng_) * ts.value_limit);
      break;
  }
  line += '|';
  line += kTypeSuffix[t];
  for (size_t i = 0; i < ts.tag_cardinalities.size(); ++i) {
    line += i == 0 ? "|#" : ",";
    const uint64_t c = ts.tag_cardinalities[i] > 0 ? ts.tag_cardinalities[i] : 1;
    line += fmt::format("tag{}:{}", i, rng_() % c);
  }
  return true;
}

bool Generator::NextDatagram(Datagram& d, uint64_t budget) {
  d.bytes.clear();
  for (auto& l : d.lines) l = 0;
  while (budget == 0 || d.total_lines() < budget) {
    if (!has_pending_) {
      if (!NextLine(pending_, pending_type_)) break;
      has_pending_ = true;
    }
    const size_t need = pending_.size() + (d.bytes.empty() ? 0 : 1);
    if (!d.bytes.empty() && d.bytes.size() + need > spec_.buffer_size) break;
    if (!d.bytes.empty()) d.bytes += '\n';
    d.bytes += pending_;
    ++d.lines[static_cast<int>(pending_type_)];
    has_pending_ = false;
  }
  return !d.bytes.empty();
}

}  // namespace cstatsd::loader
