// What tls/tls.h promises: contexts built from PEM files (errors name the file), TLS 1.2 at
// least, peer verification by CA, host name and IP, and client certificates. Certificates are
// made by the test (OpenSSL, in a temporary directory); the handshakes run over a socketpair in
// one thread, so no network and no waiting.
#include "tls/tls.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace cstatsd::tls {
namespace {

namespace fs = std::filesystem;

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertDeleter {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using Cert = std::unique_ptr<X509, CertDeleter>;

Key NewKey() { return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key`, named `cn`, signed by issuer_key (self-signed when issuer is null).
Cert NewCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
             const char* san, bool ca) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600L * 24);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (ca) {
    AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert.get(), signer, NID_basic_constraints, "CA:FALSE");
  }
  if (san != nullptr) AddExtension(cert.get(), signer, NID_subject_alt_name, san);
  X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return cert;
}

void WriteCert(const fs::path& path, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_X509(f, cert);
  std::fclose(f);
}

void WriteKey(const fs::path& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

void WriteText(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

// A CA, a server certificate for "localhost" and 127.0.0.1, a client certificate, a second
// (untrusted) CA, and files that are not what they claim to be.
class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cstatsd_tls_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    Key ca_key = NewKey();
    Cert ca = NewCert(ca_key.get(), "test CA", nullptr, nullptr, nullptr, true);
    Key server_key = NewKey();
    Cert server = NewCert(server_key.get(), "localhost", ca.get(), ca_key.get(),
                          "DNS:localhost,IP:127.0.0.1", false);
    Key client_key = NewKey();
    Cert client = NewCert(client_key.get(), "client", ca.get(), ca_key.get(), nullptr, false);
    Key other_key = NewKey();
    Cert other_ca = NewCert(other_key.get(), "other CA", nullptr, nullptr, nullptr, true);
    WriteCert(Path("ca.pem"), ca.get());
    WriteCert(Path("server.pem"), server.get());
    WriteKey(Path("server.key"), server_key.get());
    WriteCert(Path("client.pem"), client.get());
    WriteKey(Path("client.key"), client_key.get());
    WriteCert(Path("other_ca.pem"), other_ca.get());
    WriteText(Path("garbage.pem"), "-----BEGIN CERTIFICATE-----\nnot base64 at all\n");
    WriteText(Path("empty.pem"), "");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  ServerOptions Server(std::string client_ca = "") const {
    return {Path("server.pem"), Path("server.key"), std::move(client_ca)};
  }
  ClientOptions Client(std::string ca = "ca.pem", bool with_cert = false) const {
    ClientOptions o;
    o.ca_path = Path(ca);
    if (with_cert) {
      o.cert_path = Path("client.pem");
      o.key_path = Path("client.key");
    }
    return o;
  }

  fs::path dir_;
};

// Two connected non-blocking sockets.
struct Pair {
  int fds[2] = {-1, -1};
  Pair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0); }
  ~Pair() {
    for (int fd : fds) {
      if (fd >= 0) close(fd);
    }
  }
};

// Steps both ends' handshakes until neither can go on; true if both completed.
bool Handshake(TlsStream& client, TlsStream& server) {
  bool client_done = false;
  bool server_done = false;
  for (int i = 0; i < 100 && !(client_done && server_done); ++i) {
    if (!client_done) {
      const IoResult r = client.Handshake();
      if (r.state == IoState::kDone) client_done = true;
      if (r.state == IoState::kError || r.state == IoState::kClosed) return false;
    }
    if (!server_done) {
      const IoResult r = server.Handshake();
      if (r.state == IoState::kDone) server_done = true;
      if (r.state == IoState::kError || r.state == IoState::kClosed) return false;
    }
  }
  return client_done && server_done;
}

struct Session {
  Pair pair;
  std::unique_ptr<TlsStream> client;
  std::unique_ptr<TlsStream> server;
  Session(const std::shared_ptr<TlsContext>& c, const std::shared_ptr<TlsContext>& s,
          std::string_view host) {
    client = std::make_unique<TlsStream>(c, pair.fds[0], host);
    server = std::make_unique<TlsStream>(s, pair.fds[1]);
  }
  bool Handshake() { return tls::Handshake(*client, *server); }
};

TEST_F(TlsTest, ServerNeedsCertificateAndKey) {
  auto r = TlsContext::Server({Path("server.pem"), "", ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "a certificate and its key are both required");
  EXPECT_FALSE(TlsContext::Server({"", Path("server.key"), ""}).ok());
}

TEST_F(TlsTest, ClientCertificateAndKeyGoTogether) {
  ClientOptions o = Client();
  o.cert_path = Path("client.pem");
  auto r = TlsContext::Client(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "a client certificate and its key must be given together");
}

TEST_F(TlsTest, LoadsGoodFiles) {
  auto server = TlsContext::Server(Server(Path("ca.pem")));
  ASSERT_TRUE(server.ok()) << server.error();
  EXPECT_TRUE((*server)->is_server());
  EXPECT_NE((*server)->get(), nullptr);
  auto client = TlsContext::Client(Client("ca.pem", true));
  ASSERT_TRUE(client.ok()) << client.error();
  EXPECT_FALSE((*client)->is_server());
  // TLS 1.2 is the minimum on both sides.
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*server)->get()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*client)->get()), TLS1_2_VERSION);
}

TEST_F(TlsTest, ClientWithoutCaUsesTheSystemStore) {
  auto client = TlsContext::Client(ClientOptions{});
  ASSERT_TRUE(client.ok()) << client.error();
  EXPECT_EQ(SSL_CTX_get_verify_mode((*client)->get()) & SSL_VERIFY_PEER, SSL_VERIFY_PEER);
}

TEST_F(TlsTest, MissingFilesAreNamed) {
  auto cert = TlsContext::Server({Path("nope.pem"), Path("server.key"), ""});
  ASSERT_FALSE(cert.ok());
  EXPECT_NE(cert.error().find("loading certificate " + Path("nope.pem")), std::string::npos)
      << cert.error();
  auto key = TlsContext::Server({Path("server.pem"), Path("nope.key"), ""});
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.error().find("loading private key " + Path("nope.key")), std::string::npos)
      << key.error();
  auto ca = TlsContext::Client(Client("nope_ca.pem"));
  ASSERT_FALSE(ca.ok());
  EXPECT_NE(ca.error().find("loading CA bundle " + Path("nope_ca.pem")), std::string::npos)
      << ca.error();
  auto client_ca = TlsContext::Server(Server(Path("nope_ca.pem")));
  ASSERT_FALSE(client_ca.ok());
  EXPECT_NE(client_ca.error().find("loading client CA bundle " + Path("nope_ca.pem")),
            std::string::npos)
      << client_ca.error();
}

TEST_F(TlsTest, BadPemIsNamed) {
  for (const char* bad : {"garbage.pem", "empty.pem"}) {
    auto cert = TlsContext::Server({Path(bad), Path("server.key"), ""});
    ASSERT_FALSE(cert.ok()) << bad;
    EXPECT_NE(cert.error().find("loading certificate " + Path(bad)), std::string::npos)
        << cert.error();
    auto key = TlsContext::Server({Path("server.pem"), Path(bad), ""});
    ASSERT_FALSE(key.ok()) << bad;
    EXPECT_NE(key.error().find("loading private key " + Path(bad)), std::string::npos)
        << key.error();
    auto ca = TlsContext::Client(Client(bad));
    ASSERT_FALSE(ca.ok()) << bad;
    EXPECT_NE(ca.error().find(Path(bad)), std::string::npos) << ca.error();
  }
}

TEST_F(TlsTest, KeyThatDoesNotMatchTheCertificate) {
  // OpenSSL 3 refuses it while loading the key ("loading private key <file>: ... key values
  // mismatch"); older versions at the check ("private key <file> does not match <cert>").
  auto r = TlsContext::Server({Path("server.pem"), Path("client.key"), ""});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("private key " + Path("client.key")), std::string::npos) << r.error();
}

TEST_F(TlsTest, HandshakeAndDataByHostName) {
  auto server = TlsContext::Server(Server());
  auto client = TlsContext::Client(Client());
  ASSERT_TRUE(server.ok() && client.ok());
  Session s(*client, *server, "localhost");
  ASSERT_TRUE(s.Handshake()) << s.client->error() << " / " << s.server->error();

  const std::string msg = "foo:1|c\n";
  IoResult w = s.client->Write(msg.data(), msg.size());
  ASSERT_EQ(w.state, IoState::kDone);
  EXPECT_EQ(w.n, msg.size());
  char buf[64];
  IoResult r = s.server->Read(buf, sizeof(buf));
  ASSERT_EQ(r.state, IoState::kDone);
  EXPECT_EQ(std::string(buf, r.n), msg);
  // Nothing more to read yet: the non-blocking read asks to be called again.
  EXPECT_EQ(s.server->Read(buf, sizeof(buf)).state, IoState::kWantRead);
}

TEST_F(TlsTest, HandshakeByIpAddress) {
  auto server = TlsContext::Server(Server());
  auto client = TlsContext::Client(Client());
  ASSERT_TRUE(server.ok() && client.ok());
  Session s(*client, *server, "127.0.0.1");
  EXPECT_TRUE(s.Handshake()) << s.client->error();
}

TEST_F(TlsTest, WrongHostNameFails) {
  auto server = TlsContext::Server(Server());
  auto client = TlsContext::Client(Client());
  ASSERT_TRUE(server.ok() && client.ok());
  Session s(*client, *server, "example.com");
  EXPECT_FALSE(s.Handshake());
  EXPECT_NE(s.client->error().find("certificate:"), std::string::npos) << s.client->error();
}

TEST_F(TlsTest, WrongIpFails) {
  auto server = TlsContext::Server(Server());
  auto client = TlsContext::Client(Client());
  ASSERT_TRUE(server.ok() && client.ok());
  Session s(*client, *server, "10.1.2.3");
  EXPECT_FALSE(s.Handshake());
  EXPECT_NE(s.client->error().find("certificate:"), std::string::npos) << s.client->error();
}

TEST_F(TlsTest, UntrustedServerFails) {
  auto server = TlsContext::Server(Server());
  auto client = TlsContext::Client(Client("other_ca.pem"));
  ASSERT_TRUE(server.ok() && client.ok());
  Session s(*client, *server, "localhost");
  EXPECT_FALSE(s.Handshake());
  EXPECT_NE(s.client->error().find("certificate:"), std::string::npos) << s.client->error();
}

TEST_F(TlsTest, ClientCertificateRequiredWhenServerHasClientCa) {
  auto server = TlsContext::Server(Server(Path("ca.pem")));
  ASSERT_TRUE(server.ok()) << server.error();
  {
    auto client = TlsContext::Client(Client("ca.pem", /*with_cert=*/false));
    ASSERT_TRUE(client.ok());
    Session s(*client, *server, "localhost");
    EXPECT_FALSE(s.Handshake());
    EXPECT_FALSE(s.server->error().empty());
  }
  {
    auto client = TlsContext::Client(Client("ca.pem", /*with_cert=*/true));
    ASSERT_TRUE(client.ok());
    Session s(*client, *server, "localhost");
    EXPECT_TRUE(s.Handshake()) << s.client->error() << " / " << s.server->error();
  }
}

TEST_F(TlsTest, PeerCloseIsReported) {
  auto server = TlsContext::Server(Server());
  auto client = TlsContext::Client(Client());
  ASSERT_TRUE(server.ok() && client.ok());
  Session s(*client, *server, "localhost");
  ASSERT_TRUE(s.Handshake());
  close(s.pair.fds[0]);
  s.pair.fds[0] = -1;
  char buf[16];
  const IoResult r = s.server->Read(buf, sizeof(buf));
  EXPECT_EQ(r.state, IoState::kClosed);
}

TEST_F(TlsTest, MovedStreamKeepsTheSession) {
  auto server = TlsContext::Server(Server());
  auto client = TlsContext::Client(Client());
  ASSERT_TRUE(server.ok() && client.ok());
  Session s(*client, *server, "localhost");
  ASSERT_TRUE(s.Handshake());
  TlsStream moved(std::move(*s.client));
  const std::string msg = "x";
  EXPECT_EQ(moved.Write(msg.data(), msg.size()).state, IoState::kDone);
  char buf[4];
  const IoResult r = s.server->Read(buf, sizeof(buf));
  ASSERT_EQ(r.state, IoState::kDone);
  EXPECT_EQ(std::string(buf, r.n), "x");
}

}  // namespace
}  // namespace cstatsd::tls
