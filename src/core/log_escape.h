// Escaping of client bytes for log messages: a statsd line, a metric name or a tag may hold
// `\n`, `\r`, other control bytes or invalid UTF-8, which in a text log would forge a record or
// garble the terminal. Every log call that carries bytes from a client wraps them in
// LogEscaped. Pure; any thread; formatting allocates nothing beyond the log line itself.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace cstatsd {

// Appends `s` to `out` with `\` as `\\`, `"` as `\"`, `\n` `\r` `\t` as themselves escaped,
// every other control byte (< 0x20, 0x7f) and every byte that is not part of a valid UTF-8
// sequence as `\xNN`. Valid multi-byte UTF-8 is kept (except C1 controls U+0080..U+009F, as
// `\u00NN`).
void AppendLogEscaped(std::string_view s, std::string& out);
std::string LogEscape(std::string_view s);

// The same walk with Go's encoding/json rules, for the body of a JSON string (no quotes): `"`
// `\` `\n` `\r` `\t` escaped, other control bytes and the HTML-unsafe `<` `>` `&` as `\u00NN`,
// invalid UTF-8 as `\ufffd`, U+2028 and U+2029 as `\u2028` `\u2029`. The JSON payloads of the
// datadog and newrelic backends use it (backends/common/go_json.h).
void AppendGoJsonEscaped(std::string_view s, std::string& out);

// fmt argument: `spdlog::warn("bad line line=\"{}\"", LogEscaped{line})`.
struct LogEscaped {
  std::string_view bytes;
};

}  // namespace cstatsd

template <>
struct fmt::formatter<cstatsd::LogEscaped> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const cstatsd::LogEscaped& e, FormatContext& ctx) const -> decltype(ctx.out()) {
    return fmt::formatter<std::string_view>::format(cstatsd::LogEscape(e.bytes), ctx);
  }
};
