#include "cloud/k8s/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "core/file_read.h"

namespace cstatsd::cloud::k8s {
namespace {

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  const size_t end = s.find_last_not_of(ws);
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s;
}

// Regular files only: a kubeconfig or token path naming /dev/zero, a FIFO or a directory would
// otherwise read for ever (or block) at startup and before every API request.
// Opened with O_NONBLOCK and checked with fstat before reading (no stat-then-open race), and at
// most 16 MiB (core/file_read.h).
Result<std::string> ReadFile(const std::string& path) {
  auto text = ReadRegularFile(path, size_t{16} << 20);
  if (!text.ok()) {
    const std::string& e = text.error();
    return Status::Error("cannot read " + path + ": " +
                         (e == "is a directory" ? "not a regular file (a directory)" : e));
  }
  return text;
}

std::string Resolve(std::string_view base_dir, const std::string& file) {
  if (file.empty() || file.front() == '/' || base_dir.empty()) return file;
  std::string out(base_dir);
  if (out.back() != '/') out += '/';
  return out + file;
}

// A string field of a map node ("" if absent); an error if it is there but not a scalar.
std::string Scalar(const YAML::Node& map, const char* key, std::string& error) {
  if (!map.IsMap()) return "";
  const YAML::Node n = map[key];
  if (!n.IsDefined() || n.IsNull()) return "";
  if (!n.IsScalar()) {
    error = std::string(key) + " is not a string";
    return "";
  }
  return n.Scalar();
}

// The `inner` map of the entry of list `list` named `name` (kubeconfig's named lists).
Result<YAML::Node> Named(const YAML::Node& root, const char* list, const char* inner,
                         const std::string& name) {
  const YAML::Node entries = root[list];
  if (entries.IsDefined() && !entries.IsNull() && !entries.IsSequence()) {
    return Status::Error(std::string(list) + " is not a list");
  }
  if (entries.IsDefined() && entries.IsSequence()) {
    for (const YAML::Node& e : entries) {
      if (!e.IsMap()) continue;
      const YAML::Node n = e["name"];
      if (n.IsDefined() && n.IsScalar() && n.Scalar() == name) {
        const YAML::Node v = e[inner];
        if (v.IsDefined() && !v.IsNull() && !v.IsMap()) {
          return Status::Error(std::string(list) + " entry \"" + name + "\" has no " + inner +
                               " map");
        }
        return v.IsDefined() && v.IsMap() ? v : YAML::Node(YAML::NodeType::Map);
      }
    }
  }
  return Status::Error(std::string(list) + " has no entry named \"" + name + "\"");
}

Result<Connection> Parse(const YAML::Node& root, std::string_view context_name,
                         std::string_view base_dir) {
  if (!root.IsMap()) return Status::Error("not a kubeconfig (not a YAML map)");
  std::string err;
  std::string ctx_name(context_name);
  if (ctx_name.empty()) ctx_name = Scalar(root, "current-context", err);
  if (!err.empty()) return Status::Error(err);
  if (ctx_name.empty()) return Status::Error("no context given and no current-context set");

  auto ctx = Named(root, "contexts", "context", ctx_name);
  if (!ctx.ok()) return ctx.status();
  const std::string cluster_name = Scalar(*ctx, "cluster", err);
  const std::string user_name = Scalar(*ctx, "user", err);
  if (!err.empty()) return Status::Error("context \"" + ctx_name + "\": " + err);
  if (cluster_name.empty()) return Status::Error("context \"" + ctx_name + "\" names no cluster");

  auto cluster = Named(root, "clusters", "cluster", cluster_name);
  if (!cluster.ok()) return cluster.status();
  Connection c;
  c.server = Scalar(*cluster, "server", err);
  c.ca_file = Resolve(base_dir, Scalar(*cluster, "certificate-authority", err));
  const std::string ca_data = Scalar(*cluster, "certificate-authority-data", err);
  const std::string insecure = Scalar(*cluster, "insecure-skip-tls-verify", err);
  if (!err.empty()) return Status::Error("cluster \"" + cluster_name + "\": " + err);
  // As client-go: a bare host:port means https. Trailing '/' go, after the scheme is split off
  // ("https://" alone, or "/", is no server rather than "https://" or "https://https:").
  std::string scheme = "https://";
  std::string_view host(c.server);
  for (std::string_view s : {"https://", "http://"}) {
    if (host.starts_with(s)) {
      scheme = s;
      host.remove_prefix(s.size());
      break;
    }
  }
  while (!host.empty() && host.back() == '/') host.remove_suffix(1);
  if (host.empty()) return Status::Error("cluster \"" + cluster_name + "\" has no server");
  c.server = scheme + std::string(host);
  if (!ca_data.empty()) {
    auto pem = Base64Decode(ca_data);
    if (!pem.ok()) {
      return Status::Error("cluster \"" + cluster_name +
                           "\": certificate-authority-data: " + pem.error());
    }
    c.ca_pem = std::move(*pem);
  }
  if (!insecure.empty()) {
    std::string v = insecure;
    for (char& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (v == "true" || v == "yes" || v == "on") {
      c.insecure_skip_tls_verify = true;
    } else if (v != "false" && v != "no" && v != "off") {
      return Status::Error("cluster \"" + cluster_name +
                           "\": insecure-skip-tls-verify is not true or false");
    }
  }

  if (!user_name.empty()) {
    auto user = Named(root, "users", "user", user_name);
    if (!user.ok()) return user.status();
    const std::string where = "user \"" + user_name + "\": ";
    if (user->IsMap() &&
        (user->operator[]("exec").IsDefined() || user->operator[]("auth-provider").IsDefined())) {
      return Status::Error(where +
                           "exec and auth-provider credentials are not supported; use a token "
                           "or a client certificate");
    }
    c.token = Scalar(*user, "token", err);
    c.token_file = Resolve(base_dir, Scalar(*user, "tokenFile", err));
    c.username = Scalar(*user, "username", err);
    c.password = Scalar(*user, "password", err);
    c.client_cert_file = Resolve(base_dir, Scalar(*user, "client-certificate", err));
    c.client_key_file = Resolve(base_dir, Scalar(*user, "client-key", err));
    const std::string cert_data = Scalar(*user, "client-certificate-data", err);
    const std::string key_data = Scalar(*user, "client-key-data", err);
    if (!err.empty()) return Status::Error(where + err);
    for (auto [data, out, key] :
         {std::tuple{&cert_data, &c.client_cert_pem, "client-certificate-data"},
          std::tuple{&key_data, &c.client_key_pem, "client-key-data"}}) {
      if (data->empty()) continue;
      auto pem = Base64Decode(*data);
      if (!pem.ok()) return Status::Error(where + key + ": " + pem.error());
      *out = std::move(*pem);
    }
    const bool has_cert = !c.client_cert_file.empty() || !c.client_cert_pem.empty();
    const bool has_key = !c.client_key_file.empty() || !c.client_key_pem.empty();
    if (has_cert != has_key) {
      return Status::Error(where + "a client certificate needs both a certificate and a key");
    }
    if (!c.token_file.empty() && c.token.empty()) {
      auto token = ReadFile(c.token_file);
      if (!token.ok()) return Status::Error(where + "tokenFile: " + token.error());
      c.token = Trim(std::move(*token));
    }
  }
  c.origin = "context " + ctx_name;
  return c;
}

}  // namespace

Result<Connection> ParseKubeconfig(std::string_view yaml, std::string_view context,
                                   std::string_view base_dir) {
  try {
    return Parse(YAML::Load(std::string(yaml)), context, base_dir);
  } catch (const YAML::Exception& e) {
    return Status::Error(std::string("invalid YAML: ") + e.what());
  }
}

Result<Connection> LoadKubeconfig(const std::string& path, std::string_view context) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  auto c = ParseKubeconfig(*text, context, dir);
  if (!c.ok()) return Status::Error(path + ": " + c.error());
  c->origin = "kubeconfig " + path + " " + c->origin;
  return c;
}

Result<Connection> InClusterConnection(const config::Environment& env,
                                       std::string_view service_account_dir) {
  auto host = env.find("KUBERNETES_SERVICE_HOST");
  auto port = env.find("KUBERNETES_SERVICE_PORT");
  if (host == env.end() || host->second.empty() || port == env.end() || port->second.empty()) {
    return Status::Error(
        "not running in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not "
        "set) and no kubeconfig-path given");
  }
  Connection c;
  const bool ipv6 = host->second.find(':') != std::string::npos;
  c.server = "https://" + (ipv6 ? "[" + host->second + "]" : host->second) + ":" + port->second;
  const std::string dir(service_account_dir);
  c.token_file = dir + "/token";
  auto token = ReadFile(c.token_file);
  if (!token.ok()) return Status::Error("in-cluster service account: " + token.error());
  c.token = Trim(std::move(*token));
  const std::string ca = dir + "/ca.crt";
  if (std::ifstream(ca).good()) c.ca_file = ca;
  c.origin = "in-cluster";
  return c;
}

std::string CurrentToken(const Connection& connection) {
  if (!connection.token_file.empty()) {
    auto token = ReadFile(connection.token_file);
    if (token.ok()) {
      std::string t = Trim(std::move(*token));
      if (!t.empty()) return t;
    }
  }
  return connection.token;
}

Result<std::string> Base64Decode(std::string_view text) {
  auto value = [](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char ch : text) {
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
    if (ch == '=') {
      padding = true;
      continue;
    }
    const int v = value(ch);
    if (v < 0 || padding) return Status::Error("invalid base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits >= 6) return Status::Error("invalid base64 (truncated)");
  return out;
}

}  // namespace cstatsd::cloud::k8s
