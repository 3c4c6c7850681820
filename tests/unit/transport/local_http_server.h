// The transport tests' server is the shared fake (tests/unit/support/fake_http_server.h); this
// name stays for the forward and backends tests that include it.
#pragma once

#include "unit/support/fake_http_server.h"

namespace cstatsd::testing {
using LocalHttpServer = FakeHttpServer;
}  // namespace cstatsd::testing
