#include "tls/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <utility>

namespace cstatsd::tls {
namespace {

std::string OpenSslError(std::string_view what) {
  std::string msg(what);
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return msg;
}

Status LoadKeyPair(SSL_CTX* ctx, const std::string& cert, const std::string& key) {
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    return Status::Error(OpenSslError("loading certificate " + cert));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status::Error(OpenSslError("loading private key " + key));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Status::Error(OpenSslError("private key " + key + " does not match " + cert));
  }
  return {};
}

SSL_CTX* NewContext(const SSL_METHOD* method) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Writes may be retried with a moved buffer after a partial write (the buffer is a std::string).
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::Client(const ClientOptions& o) {
  if (o.cert_path.empty() != o.key_path.empty()) {
    return Status::Error("a client certificate and its key must be given together");
  }
  SSL_CTX* ctx = NewContext(TLS_client_method());
  if (ctx == nullptr) return Status::Error(OpenSslError("creating a TLS context"));
  std::shared_ptr<TlsContext> c(new TlsContext(ctx, false));
  if (!o.ca_path.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca_path.c_str(), nullptr) != 1) {
      return Status::Error(OpenSslError("loading CA bundle " + o.ca_path));
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return Status::Error(OpenSslError("loading the system's CA certificates"));
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!o.cert_path.empty()) {
    if (Status s = LoadKeyPair(ctx, o.cert_path, o.key_path); !s.ok()) return s;
  }
  return c;
}

Result<std::shared_ptr<TlsContext>> TlsContext::Server(const ServerOptions& o) {
  if (o.cert_path.empty() || o.key_path.empty()) {
    return Status::Error("a certificate and its key are both required");
  }
  SSL_CTX* ctx = NewContext(TLS_server_method());
  if (ctx == nullptr) return Status::Error(OpenSslError("creating a TLS context"));
  std::shared_ptr<TlsContext> c(new TlsContext(ctx, true));
  if (Status s = LoadKeyPair(ctx, o.cert_path, o.key_path); !s.ok()) return s;
  if (!o.client_ca_path.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.client_ca_path.c_str(), nullptr) != 1) {
      return Status::Error(OpenSslError("loading client CA bundle " + o.client_ca_path));
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return c;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsStream::TlsStream(std::shared_ptr<TlsContext> ctx, int fd, std::string_view peer_host)
    : ctx_(std::move(ctx)), ssl_(SSL_new(ctx_->get())) {
  if (ssl_ == nullptr) {
    error_ = OpenSslError("SSL_new");
    return;
  }
  SSL_set_fd(ssl_, fd);
  if (ctx_->is_server()) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (!peer_host.empty()) {
    const std::string host(peer_host);
    in6_addr probe{};
    const bool is_ip = inet_pton(AF_INET, host.c_str(), &probe) == 1 ||
                       inet_pton(AF_INET6, host.c_str(), &probe) == 1;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    if (is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_, host.c_str());
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    }
  }
}

TlsStream::~TlsStream() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

TlsStream::TlsStream(TlsStream&& o) noexcept
    : ctx_(std::move(o.ctx_)), ssl_(std::exchange(o.ssl_, nullptr)), error_(std::move(o.error_)) {}

TlsStream& TlsStream::operator=(TlsStream&& o) noexcept {
  if (this != &o) {
    if (ssl_ != nullptr) SSL_free(ssl_);
    ctx_ = std::move(o.ctx_);
    ssl_ = std::exchange(o.ssl_, nullptr);
    error_ = std::move(o.error_);
  }
  return *this;
}

IoResult TlsStream::Map(int ret, size_t n) {
  if (ret > 0) return {IoState::kDone, n};
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      return {IoState::kWantRead};
    case SSL_ERROR_WANT_WRITE:
      return {IoState::kWantWrite};
    case SSL_ERROR_ZERO_RETURN:
      return {IoState::kClosed};
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        error_ = "connection closed during TLS";
        return {IoState::kClosed};
      }
      [[fallthrough]];
    default: {
      error_ = OpenSslError("TLS");
      const long verify = SSL_get_verify_result(ssl_);
      if (verify != X509_V_OK) {
        error_ += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
      }
      return {IoState::kError};
    }
  }
}

IoResult TlsStream::Handshake() {
  if (ssl_ == nullptr) return {IoState::kError};
  ERR_clear_error();
  return Map(SSL_do_handshake(ssl_), 0);
}

IoResult TlsStream::Read(char* buf, size_t len) {
  if (ssl_ == nullptr) return {IoState::kError};
  ERR_clear_error();
  size_t n = 0;
  const int ret = SSL_read_ex(ssl_, buf, len, &n);
  return Map(ret, n);
}

IoResult TlsStream::Write(const char* buf, size_t len) {
  if (ssl_ == nullptr) return {IoState::kError};
  ERR_clear_error();
  size_t n = 0;
  const int ret = SSL_write_ex(ssl_, buf, len, &n);
  return Map(ret, n);
}

}  // namespace cstatsd::tls
