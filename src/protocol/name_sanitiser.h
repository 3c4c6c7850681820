// Metric-name sanitising exactly as gostatsd's lexer does it (docs/protocol.md#metric-lines): keep
// A-Z a-z 0-9 . - _, turn '/' into '-', space and TAB into '_', delete every other byte. Pure; any
// thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace cstatsd::protocol {

// What the name lexer does with one byte.
enum class NameByte : uint8_t { kKeep, kSlash, kBlank, kDelete, kColon };

namespace internal {
constexpr std::array<NameByte, 256> MakeNameByteTable() {
  std::array<NameByte, 256> t{};
  for (int c = 0; c < 256; ++c) {
    NameByte k = NameByte::kDelete;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '-' || c == '_') {
      k = NameByte::kKeep;
    } else if (c == '/') {
      k = NameByte::kSlash;
    } else if (c == ' ' || c == '\t') {
      k = NameByte::kBlank;
    } else if (c == ':') {
      k = NameByte::kColon;
    }
    t[static_cast<size_t>(c)] = k;
  }
  return t;
}
}  // namespace internal

inline constexpr std::array<NameByte, 256> kNameByteClass = internal::MakeNameByteTable();

inline NameByte ClassifyNameByte(char c) { return kNameByteClass[static_cast<unsigned char>(c)]; }

// Appends the sanitised form of `raw` (a key without its ':') to `out`.
void AppendSanitisedName(std::string_view raw, std::string& out);

// True when `raw` is already sanitised (every byte is kept as is).
bool IsSanitisedName(std::string_view raw);

}  // namespace cstatsd::protocol
