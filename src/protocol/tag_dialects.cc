#include "protocol/tag_dialects.h"

namespace cstatsd::protocol {

bool FindNameTagSection(std::string_view key, size_t from, TagDialects enabled,
                        NameTagSection& section) {
  const size_t n = key.size();
  for (size_t i = from; i < n; ++i) {
    const char c = key[i];
    if ((c == ',' && (enabled & kTagDialectInfluxDb) != 0) ||
        (c == '#' && (enabled & kTagDialectLibrato) != 0)) {
      section = {i, n, n, ','};
      return true;
    }
    if (c == ';' && (enabled & kTagDialectGraphite) != 0) {
      section = {i, n, n, ';'};
      return true;
    }
    if (c == '[' && (enabled & kTagDialectSignalFx) != 0) {
      const size_t close = key.find(']', i + 1);
      if (close != std::string_view::npos) {
        section = {i, close, close + 1, ','};
        return true;
      }
    }
  }
  return false;
}

size_t AppendNameTags(std::string_view text, char separator, std::string& scratch,
                      std::vector<std::string_view>& tags) {
  scratch.assign(text);  // sized once: no view below is taken before this
  const size_t n = scratch.size();
  size_t added = 0;
  size_t start = 0;
  while (start <= n) {
    size_t end = start;
    size_t eq = std::string::npos;
    bool carries = true;
    for (; end < n && scratch[end] != separator; ++end) {
      const char c = scratch[end];
      if (c == '=' && eq == std::string::npos) eq = end;
      if (c == '|' || c == ',') carries = false;  // ',' only reaches here with separator ';'
    }
    if (carries && eq != std::string::npos && eq > start && eq + 1 < end) {
      scratch[eq] = ':';
      tags.emplace_back(scratch.data() + start, end - start);
      ++added;
    }
    start = end + 1;
  }
  return added;
}

}  // namespace cstatsd::protocol
