// Fuzz target for the k8s provider's kubeconfig reader (yaml-cpp, then the context, cluster and
// user lookups, base64 of the *-data fields). The context named by the config's current-context
// is used; relative file names resolve under a directory that does not exist, so only an
// absolute tokenFile is read. Traps unless a parsed connection has an http(s) server URL without
// a trailing '/', both or neither of a client certificate and key, and an origin.
#include <cstdint>
#include <string_view>

#include "cloud/k8s/kubeconfig.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cstatsd::cloud::k8s;
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto c = ParseKubeconfig(yaml, "", "/nonexistent-kubeconfig-dir");
  if (!c.ok()) {
    Check(!c.error().empty());
    return 0;
  }
  const std::string_view server = c->server;
  Check(server.starts_with("https://") || server.starts_with("http://"));
  Check(server.back() != '/');
  const bool has_cert = !c->client_cert_file.empty() || !c->client_cert_pem.empty();
  const bool has_key = !c->client_key_file.empty() || !c->client_key_pem.empty();
  Check(has_cert == has_key);
  Check(std::string_view(c->origin).starts_with("context "));
  return 0;
}
