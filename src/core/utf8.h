// UTF-8 validity for the formats that require it (protobuf strings, JSON): statsd lines are
// bytes, and one invalid byte must not make a receiver reject a whole request. Pure; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cstatsd {

// The length of the valid UTF-8 sequence at the start of `s` (1 to 4), or 0 when it is not
// valid (stray or truncated bytes, overlong forms, surrogates, code points above U+10FFFF).
size_t Utf8SequenceLength(std::string_view s);

// `s` with each run of invalid bytes replaced by U+FFFD, as Go's strings.ToValidUTF8.
std::string ToValidUtf8(std::string_view s);

}  // namespace cstatsd
