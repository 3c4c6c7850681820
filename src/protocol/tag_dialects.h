// Tags written in the metric name (docs/protocol.md#tag-dialects): InfluxDB/Telegraf
// `name,k=v,k2=v2`, Graphite `name;k=v;k2=v2`, Librato `name#k=v,k2=v2` and SignalFx
// `name[k=v,k2=v2]`. Pure functions, called by the Parser on its worker thread; the names are
// also read by config/ to check `tag-dialects` (header only, nothing to link).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cstatsd::protocol {

// A set of tag dialects: one bit each.
using TagDialects = uint8_t;
inline constexpr TagDialects kTagDialectInfluxDb = 1;  // name,k=v,k2=v2
inline constexpr TagDialects kTagDialectGraphite = 2;  // name;k=v;k2=v2
inline constexpr TagDialects kTagDialectLibrato = 4;   // name#k=v,k2=v2
inline constexpr TagDialects kTagDialectSignalFx = 8;  // name[k=v,k2=v2] (anywhere in the name)
inline constexpr TagDialects kAllTagDialects = 15;     // the default of `tag-dialects`

struct TagDialectName {
  std::string_view name;  // as written in `tag-dialects`
  TagDialects dialect;
};
inline constexpr std::array<TagDialectName, 4> kTagDialectNames = {{
    {"influxdb", kTagDialectInfluxDb},
    {"graphite", kTagDialectGraphite},
    {"librato", kTagDialectLibrato},
    {"signalfx", kTagDialectSignalFx},
}};

// The dialect called `name`, or 0 when there is none.
inline constexpr TagDialects TagDialectFromName(std::string_view name) {
  for (const TagDialectName& d : kTagDialectNames) {
    if (d.name == name) return d.dialect;
  }
  return 0;
}

// The set of the dialects named in `names` (the `tag-dialects` list, checked by config/);
// unknown names add nothing.
inline TagDialects TagDialectsFromNames(const std::vector<std::string>& names) {
  TagDialects set = 0;
  for (const std::string& name : names) set |= TagDialectFromName(name);
  return set;
}

// Where a name's tag section is. The name is key[0, open) followed by key[resume, key.size()),
// the section is key[open + 1, close) and its elements are split on `separator`.
struct NameTagSection {
  size_t open = 0;   // the byte that opens the section: ',' ';' '#' or '['
  size_t close = 0;  // one past the section's text (SignalFx: its ']'; else key.size())
  size_t resume = 0;
  char separator = ',';
};

// Finds the tag section of `key` (a metric line's text before its first ':') among the
// `enabled` dialects, scanning from `from` (every byte before it must be a name byte that the
// sanitiser keeps, so none opens a section). The first byte of `,` `;` `#` `[` that an enabled
// dialect uses opens it; a `[` without a later `]` opens nothing and the scan goes on.
bool FindNameTagSection(std::string_view key, size_t from, TagDialects enabled,
                        NameTagSection& section);

// Appends each well-formed `k=v` element of `text` (split on `separator`) to `tags` as "k:v"
// (split at the first '='). An empty element, one without '=', with an empty key or value, or
// holding a byte that a tag cannot carry (`|`, and `,` for the Graphite separator `;`) is left
// out. The tags are views of `scratch`, which is overwritten and sized once before the first
// view is taken: they stay valid until the next call. Returns how many tags it appended.
size_t AppendNameTags(std::string_view text, char separator, std::string& scratch,
                      std::vector<std::string_view>& tags);

}  // namespace cstatsd::protocol
