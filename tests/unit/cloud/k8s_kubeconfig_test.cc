// The k8s provider's connection: kubeconfig parsing (contexts, clusters, users, errors), the
// in-cluster service account, base64.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cloud/k8s/kubeconfig.h"

namespace cstatsd::cloud::k8s {
namespace {

using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cstatsd-k8s-XXXXXX").string();
    char* made = mkdtemp(pattern.data());
    path_ = made != nullptr ? made : pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& content) const {
    const std::string full = path_ + "/" + name;
    std::ofstream(full, std::ios::binary) << content;
    return full;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// "-----BEGIN CERTIFICATE-----\nCA\n" in base64.
constexpr const char* kCaData = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCg==";

constexpr const char* kKubeconfig = R"(
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://dev.example.com:6443/
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCg==
- name: prod-cluster
  cluster:
    server: https://prod.example.com
    certificate-authority: certs/prod-ca.crt
    insecure-skip-tls-verify: true
contexts:
- name: dev
  context:
    cluster: dev-cluster
    user: dev-user
    namespace: metrics
- name: prod
  context:
    cluster: prod-cluster
    user: prod-user
- name: anonymous
  context:
    cluster: prod-cluster
- name: broken
  context:
    cluster: nowhere
    user: dev-user
users:
- name: dev-user
  user:
    token: abc.def
- name: prod-user
  user:
    client-certificate: certs/client.crt
    client-key-data: a2V5
)";

TEST(K8sKubeconfigTest, CurrentContextWithAToken) {
  auto c = ParseKubeconfig(kKubeconfig, "", "/etc/k/");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->server, "https://dev.example.com:6443");
  EXPECT_EQ(c->token, "abc.def");
  EXPECT_EQ(c->ca_pem, "-----BEGIN CERTIFICATE-----\nCA\n");
  EXPECT_EQ(c->ca_file, "");
  EXPECT_FALSE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->client_cert_file, "");
  EXPECT_EQ(CurrentToken(*c), "abc.def");
}

TEST(K8sKubeconfigTest, AnExplicitContextWithAClientCertificate) {
  auto c = ParseKubeconfig(kKubeconfig, "prod", "/etc/k/");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->server, "https://prod.example.com");
  EXPECT_EQ(c->ca_file, "/etc/k/certs/prod-ca.crt");  // relative to the file's directory
  EXPECT_TRUE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->token, "");
  EXPECT_EQ(c->client_cert_file, "/etc/k/certs/client.crt");
  EXPECT_EQ(c->client_key_pem, "key");
}

TEST(K8sKubeconfigTest, AContextWithoutAUserHasNoCredentials) {
  auto c = ParseKubeconfig(kKubeconfig, "anonymous", "");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->server, "https://prod.example.com");
  EXPECT_EQ(c->token, "");
  EXPECT_EQ(c->client_key_pem, "");
}

TEST(K8sKubeconfigTest, Errors) {
  auto err = [](std::string_view yaml, std::string_view context = "") {
    auto c = ParseKubeconfig(yaml, context, "");
    return c.ok() ? std::string("(ok)") : c.error();
  };
  EXPECT_THAT(err(kKubeconfig, "staging"), HasSubstr("contexts has no entry named \"staging\""));
  EXPECT_THAT(err(kKubeconfig, "broken"), HasSubstr("clusters has no entry named \"nowhere\""));
  EXPECT_THAT(err("clusters: []\n"), HasSubstr("no current-context"));
  EXPECT_THAT(err("clusters: [unclosed\n"), HasSubstr("invalid YAML"));
  EXPECT_THAT(err("just a string"), HasSubstr("not a kubeconfig"));
  EXPECT_THAT(err(R"(
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {certificate-authority-data: x}}]
)"),
              HasSubstr("cluster \"k\" has no server"));
  EXPECT_THAT(err(R"(
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://k", certificate-authority-data: "!!"}}]
)"),
              HasSubstr("certificate-authority-data: invalid base64"));
  EXPECT_THAT(err(R"(
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://k"}}]
)"),
              HasSubstr("users has no entry named \"u\""));
  EXPECT_THAT(err(R"(
current-context: c
contexts: [{context: {cluster: k}}, {name: c, context: {cluster: k}}]
clusters: [{name: k}]
)"),
              HasSubstr("cluster \"k\" has no server"));
  EXPECT_THAT(err(R"(
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://k"}}]
users: [{name: u, user: {exec: {command: aws}}}]
)"),
              HasSubstr("exec and auth-provider credentials are not supported"));
  EXPECT_THAT(err(R"(
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://k"}}]
users: [{name: u, user: {client-certificate: a.crt}}]
)"),
              HasSubstr("needs both a certificate and a key"));
}

TEST(K8sKubeconfigTest, LoadReadsTheFileAndItsTokenFile) {
  TempDir dir;
  dir.Write("token", "from-file\n");
  const std::string path = dir.Write("config", R"(
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "http://127.0.0.1:8080"}}]
users: [{name: u, user: {tokenFile: token}}]
)");
  auto c = LoadKubeconfig(path, "");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->server, "http://127.0.0.1:8080");
  EXPECT_EQ(c->token, "from-file");
  EXPECT_THAT(c->origin, HasSubstr(path));
  dir.Write("token", "rotated");
  EXPECT_EQ(CurrentToken(*c), "rotated");

  auto missing = LoadKubeconfig(dir.path() + "/nope", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error(), HasSubstr("cannot read"));
}

// A server that is only slashes, or only a scheme, names no host: it became "https://" or
// "https://https:" (trailing '/' were stripped before the scheme was looked at).
TEST(K8sKubeconfigTest, AServerWithoutAHostIsRefused) {
  for (const char* server : {"/", "///", "https://", "http:///"}) {
    auto c = ParseKubeconfig(std::string(R"(
current-context: c
contexts: [{name: c, context: {cluster: k}}]
clusters: [{name: k, cluster: {server: ")") +
                                 server + "\"}}]\n",
                             "", "");
    ASSERT_FALSE(c.ok()) << server << " -> " << c->server;
    EXPECT_THAT(c.error(), HasSubstr("cluster \"k\" has no server")) << server;
  }
  auto ok = ParseKubeconfig(R"(
current-context: c
contexts: [{name: c, context: {cluster: k}}]
clusters: [{name: k, cluster: {server: "http://127.0.0.1:8001//"}}]
)",
                            "", "");
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(ok->server, "http://127.0.0.1:8001");
}

// /dev/zero would be read for ever, a FIFO would block: only regular files are read.
TEST(K8sKubeconfigTest, OnlyRegularFilesAreRead) {
  for (const char* device : {"/dev/null", "/dev/zero", "/"}) {
    const std::string yaml = std::string(R"(
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "http://127.0.0.1:8080"}}]
users: [{name: u, user: {tokenFile: )") +
                             device + "}}]\n";
    auto c = ParseKubeconfig(yaml, "", "");
    ASSERT_FALSE(c.ok()) << device;
    EXPECT_THAT(c.error(), HasSubstr("not a regular file")) << device;
    auto file = LoadKubeconfig(device, "");
    ASSERT_FALSE(file.ok()) << device;
    EXPECT_THAT(file.error(), HasSubstr("not a regular file")) << device;
  }
}

TEST(K8sKubeconfigTest, InCluster) {
  TempDir dir;
  config::Environment env{{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                          {"KUBERNETES_SERVICE_PORT", "443"}};
  auto no_token = InClusterConnection(env, dir.path());
  ASSERT_FALSE(no_token.ok());
  EXPECT_THAT(no_token.error(), HasSubstr(dir.path() + "/token"));

  dir.Write("token", "sa-token\n");
  auto c = InClusterConnection(env, dir.path());
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->token, "sa-token");
  EXPECT_EQ(c->ca_file, "");  // no ca.crt: the system's CAs
  dir.Write("ca.crt", "pem");
  c = InClusterConnection(env, dir.path());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ca_file, dir.path() + "/ca.crt");
  dir.Write("token", "sa-token-2");
  EXPECT_EQ(CurrentToken(*c), "sa-token-2");

  env["KUBERNETES_SERVICE_HOST"] = "fd00::1";
  c = InClusterConnection(env, dir.path());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->server, "https://[fd00::1]:443");

  auto outside = InClusterConnection({}, dir.path());
  ASSERT_FALSE(outside.ok());
  EXPECT_THAT(outside.error(), HasSubstr("KUBERNETES_SERVICE_HOST"));
}

TEST(K8sKubeconfigTest, Base64) {
  EXPECT_EQ(*Base64Decode(""), "");
  EXPECT_EQ(*Base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(*Base64Decode("aGVsbG8"), "hello");
  EXPECT_EQ(*Base64Decode("aGVs\nbG8h"), "hello!");
  EXPECT_EQ(*Base64Decode(kCaData), "-----BEGIN CERTIFICATE-----\nCA\n");
  EXPECT_FALSE(Base64Decode("a*b=").ok());
  EXPECT_FALSE(Base64Decode("aGVsbG8=x").ok());
  EXPECT_FALSE(Base64Decode("a").ok());
}

}  // namespace
}  // namespace cstatsd::cloud::k8s
