#include "protocol/service_check.h"

#include <cstdint>
#include <limits>

namespace cstatsd::protocol {
namespace {

constexpr std::string_view kPrefix = "_sc|";

bool Fail(ParseError& error, ParseError why) {
  error = why;
  return false;
}

size_t FieldEnd(std::string_view line, size_t pos) {
  const size_t end = line.find('|', pos);
  return end == std::string_view::npos ? line.size() : end;
}

// `d:` as the DogStatsD grammar writes it: one or more digits, within int64.
bool ParseSeconds(std::string_view v, int64_t& out) {
  if (v.empty()) return false;
  uint64_t n = 0;
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  for (const char c : v) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (n > (kMax - digit) / 10) return false;
    n = n * 10 + digit;
  }
  out = static_cast<int64_t>(n);
  return true;
}

}  // namespace

bool ParseServiceCheck(std::string_view line, ServiceCheck& check, ParseError& error) {
  error = ParseError::kNone;
  check = ServiceCheck{};
  if (!line.starts_with(kPrefix)) return Fail(error, ParseError::kInvalidFormat);
  size_t pos = kPrefix.size();
  size_t end = FieldEnd(line, pos);
  if (end == pos) return Fail(error, ParseError::kInvalidFormat);          // empty name
  if (end == line.size()) return Fail(error, ParseError::kInvalidFormat);  // no status
  const std::string_view name = line.substr(pos, end - pos);
  pos = end + 1;
  end = FieldEnd(line, pos);
  const std::string_view status = line.substr(pos, end - pos);
  if (status.size() != 1 || status[0] < '0' || status[0] > '3') {
    return Fail(error, ParseError::kInvalidValue);
  }
  check.name.assign(name);
  check.status = static_cast<ServiceCheckStatus>(status[0] - '0');
  pos = end;
  while (pos < line.size()) {  // line[pos] == '|'
    ++pos;
    const std::string_view rest = line.substr(pos);
    if (rest.starts_with("m:")) {  // the last field: the rest of the line, '|' included
      check.message.assign(rest.substr(2));
      break;
    }
    end = FieldEnd(line, pos);
    const std::string_view field = line.substr(pos, end - pos);
    pos = end;
    if (field.starts_with("d:")) {
      if (!ParseSeconds(field.substr(2), check.timestamp)) {
        return Fail(error, ParseError::kInvalidFormat);
      }
    } else if (field.starts_with("h:")) {
      check.source.assign(field.substr(2));
    } else if (field.starts_with('#')) {
      std::string_view tags = field.substr(1);
      while (!tags.empty()) {
        const size_t comma = tags.find(',');
        const std::string_view tag = tags.substr(0, comma);
        if (!tag.empty()) check.tags.emplace_back(tag);
        if (comma == std::string_view::npos) break;
        tags.remove_prefix(comma + 1);
      }
    } else if (field.starts_with("c:")) {
      check.container_id.assign(field.substr(2));
    }
    // e:, card:, empty and unknown fields are skipped, as the Datadog Agent does.
  }
  return true;
}

}  // namespace cstatsd::protocol
