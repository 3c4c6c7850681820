#include "protocol/name_sanitiser.h"

namespace cstatsd::protocol {

void AppendSanitisedName(std::string_view raw, std::string& out) {
  size_t i = 0;
  const size_t n = raw.size();
  while (i < n) {
    // Copy a run of kept bytes at once, then deal with the byte that ended it.
    const size_t run_start = i;
    while (i < n && ClassifyNameByte(raw[i]) == NameByte::kKeep) ++i;
    out.append(raw.data() + run_start, i - run_start);
    if (i == n) break;
    switch (ClassifyNameByte(raw[i++])) {
      case NameByte::kKeep:
        break;
      case NameByte::kSlash:
        out.push_back('-');
        break;
      case NameByte::kBlank:
        out.push_back('_');
        break;
      case NameByte::kDelete:
      case NameByte::kColon:
        break;
    }
  }
}

bool IsSanitisedName(std::string_view raw) {
  for (const char c : raw) {
    if (ClassifyNameByte(c) != NameByte::kKeep) return false;
  }
  return true;
}

}  // namespace cstatsd::protocol
