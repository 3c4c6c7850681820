#include "backends/null/null_backend.h"

namespace cstatsd::backends::null {

Result<std::unique_ptr<Backend>> NullBackend::Create(const BackendContext&) {
  return std::unique_ptr<Backend>(std::make_unique<NullBackend>());
}

}  // namespace cstatsd::backends::null
