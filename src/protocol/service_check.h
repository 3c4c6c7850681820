// DogStatsD service checks (docs/protocol.md#service-checks):
// `_sc|<name>|<status>[|d:<unix
// seconds>][|h:<hostname>][|#<tags>][|c:…][|e:…][|card:…][|m:<message>]`. Parser::Parse only
// recognises the `_sc|` prefix (LineKind::kServiceCheck); this fills the owning ServiceCheck.
// Checks are rare, so this parse may allocate. Pure; any thread.
#pragma once

#include <string_view>

#include "core/metric.h"
#include "protocol/parser.h"

namespace cstatsd::protocol {

// Parses one line (without its '\n'). On success `check` holds the line's fields (source = the
// h: hostname, empty when not given) and true is returned; otherwise `error` says why:
// kInvalidFormat (no `_sc|` prefix, an empty name, no status, a `d:` that is not a number of
// seconds) or kInvalidValue (a status other than 0, 1, 2, 3). `m:` takes the rest of the line,
// `|` included; unknown fields, `e:` and `card:` are skipped.
bool ParseServiceCheck(std::string_view line, ServiceCheck& check, ParseError& error);

}  // namespace cstatsd::protocol
