// Fuzz target for the state file's decoder (docs/state-file.md#format), which a start runs over
// whatever file it finds at `state-file`. The first byte chooses the mode: even, the rest is the
// whole file (header checks); odd, the rest is a body given a valid header, so the body parser is
// reached despite the checksum. Traps unless a decoded state encodes to bytes that decode and
// encode again to the same bytes.
#include <xxhash.h>

#include <cstdint>
#include <string>

#include "state/state_format.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

std::string Sealed(std::string_view body) {
  std::string out(cstatsd::state::kMagic);
  auto put = [&out](auto v) { out.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
  put(cstatsd::state::kVersion);
  put(uint32_t{0});
  put(uint64_t{body.size()});
  put(uint64_t{XXH3_64bits(body.data(), body.size())});
  out.append(body);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string file = (data[0] & 1) != 0 ? Sealed(rest) : std::string(rest);
  cstatsd::Result<cstatsd::state::State> state = cstatsd::state::Decode(file);
  if (!state.ok()) return 0;
  const std::string again = cstatsd::state::Encode(*state);
  cstatsd::Result<cstatsd::state::State> back = cstatsd::state::Decode(again);
  Check(back.ok());
  Check(cstatsd::state::Encode(*back) == again);
  return 0;
}
