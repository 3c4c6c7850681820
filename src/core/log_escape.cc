#include "core/log_escape.h"

#include "core/utf8.h"

namespace cstatsd {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendHex(std::string_view prefix, unsigned char b, std::string& out) {
  out += prefix;
  out += kHex[b >> 4];
  out += kHex[b & 0xf];
}

// One walk over client bytes for both escapings: kJson selects Go's encoding/json rules, else
// the log rules (see the header).
template <bool kJson>
void AppendEscaped(std::string_view s, std::string& out) {
  if constexpr (!kJson) out.reserve(out.size() + s.size());  // JSON: many short strings
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = Utf8SequenceLength(s.substr(i));
      if (n == 0) {
        if constexpr (kJson) {
          out += "\\ufffd";
        } else {
          AppendHex("\\x", c, out);
        }
        ++i;
        continue;
      }
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      if (!kJson && n == 2 && c == 0xc2 && c1 < 0xa0) {
        // U+0080..U+009F (C1 controls) act as controls on some terminals.
        AppendHex("\\u00", c1, out);
      } else if (kJson && n == 3 && c == 0xe2 && c1 == 0x80 &&
                 (static_cast<unsigned char>(s[i + 2]) & 0xfe) == 0xa8) {
        // U+2028 and U+2029 end lines in JavaScript.
        out += static_cast<unsigned char>(s[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";
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
        if (c < 0x20 || (!kJson && c == 0x7f)) {
          AppendHex(kJson ? "\\u00" : "\\x", c, out);
        } else if (kJson && (c == '<' || c == '>' || c == '&')) {
          AppendHex("\\u00", c, out);
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
}

}  // namespace

void AppendLogEscaped(std::string_view s, std::string& out) { AppendEscaped<false>(s, out); }

void AppendGoJsonEscaped(std::string_view s, std::string& out) { AppendEscaped<true>(s, out); }

std::string LogEscape(std::string_view s) {
  std::string out;
  AppendLogEscaped(s, out);
  return out;
}

}  // namespace cstatsd
