// How the k8s provider reaches the API server: a kubeconfig file (a context's cluster and user)
// or, without one, the pod's in-cluster service account. Resolved once on the main thread by
// the provider's factory; the Connection is then read-only (the token file is re-read per
// request, as bound service-account tokens rotate).
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"
#include "core/result.h"

namespace cstatsd::cloud::k8s {

inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

struct Connection {
  std::string server;  // base URL, "https://host:port[/prefix]" or "http://...", no trailing '/'
  // Server certificate verification: a CA bundle file or PEM text (else the system's), or none.
  std::string ca_file;
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
  // Authentication: a bearer token (or a file holding one), basic auth, or a client certificate
  // and key (files or PEM text).
  std::string token;
  std::string token_file;
  std::string username;
  std::string password;
  std::string client_cert_file;
  std::string client_cert_pem;
  std::string client_key_file;
  std::string client_key_pem;
  std::string origin;  // for messages: "kubeconfig <path> context <name>" or "in-cluster"
};

// Reads a kubeconfig document. `context` empty: its current-context. Relative file names are
// relative to `base_dir`. Errors say what is missing or wrong (no key name: the caller adds
// it). exec and auth-provider credentials are not supported (an error).
Result<Connection> ParseKubeconfig(std::string_view yaml, std::string_view context,
                                   std::string_view base_dir);

// Reads the file, then ParseKubeconfig.
Result<Connection> LoadKubeconfig(const std::string& path, std::string_view context);

// The in-cluster service account: https://KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT, the
// token in <dir>/token (must be readable), the CA in <dir>/ca.crt (if present).
Result<Connection> InClusterConnection(const config::Environment& env,
                                       std::string_view service_account_dir = kServiceAccountDir);

// The bearer token to send now: the token file's content (trimmed) if there is one and it can be
// read, else `token`.
std::string CurrentToken(const Connection& connection);

// Standard base64 (with or without padding; whitespace ignored).
Result<std::string> Base64Decode(std::string_view text);

}  // namespace cstatsd::cloud::k8s
