// Reading a small file that the configuration names (the config file, a kubeconfig, a token,
// AWS shared credentials): a regular file only, opened without blocking (a FIFO or a device
// must not hang or flood startup), and refused beyond a size. Main or startup thread; any
// thread may call it, it blocks on file I/O only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cstatsd {

// The whole content of `path`. Errors (no prefix; callers add what the file is): "cannot open:
// <errno text>", "is a directory", "is not a regular file (a FIFO)", "is larger than <max_bytes>
// bytes (<size> bytes)".
Result<std::string> ReadRegularFile(const std::string& path, size_t max_bytes);

}  // namespace cstatsd
