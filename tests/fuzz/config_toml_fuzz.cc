// Fuzz target for the TOML config loader (toml++, then the conversion to one JSON tree with
// lower-cased keys): see config_fuzz.h. A config file is the operator's, but a loader that
// crashes, hangs or exhausts memory on a bad file is still a bug.
#include "config_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return cstatsd::fuzz::FuzzConfigText(data, size, cstatsd::config::internal::FileFormat::kToml,
                                       "fuzz.toml");
}
