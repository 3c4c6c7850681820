#include "core/log_escape.h"

#include "core/utf8.h"

namespace cstatsd {

void AppendLogEscaped(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = Utf8SequenceLength(s.substr(i));
      if (n == 0) {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
        ++i;
        continue;
      }
      // U+0080..U+009F (C1 controls, 0xC2 0x80..0x9F) act as controls on some terminals.
      if (n == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0) {
        const auto b = static_cast<unsigned char>(s[i + 1]);
        out += "\\u00";
        out += kHex[b >> 4];
        out += kHex[b & 0xf];
      } else {
        out.append(s.substr(i, n));
      }
      i += n;
      continue;
    }
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
}

std::string LogEscape(std::string_view s) {
  std::string out;
  AppendLogEscaped(s, out);
  return out;
}

}  // namespace cstatsd
