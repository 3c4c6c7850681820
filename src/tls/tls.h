// TLS over the project's own non-blocking sockets, with OpenSSL: a TlsContext holds the
// certificates (built once at startup, shared read-only between threads) and a TlsStream is one
// connection's session, owned by the thread that owns the socket. TLS 1.2 is the minimum.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cstatsd::tls {

struct ClientOptions {
  std::string ca_path;    // PEM bundle of trusted CAs; empty = the system's trust store
  std::string cert_path;  // client certificate (PEM); with key_path, or neither
  std::string key_path;
};

struct ServerOptions {
  std::string cert_path;       // required
  std::string key_path;        // required
  std::string client_ca_path;  // when set, clients must present a certificate signed by it
};

class TlsContext {
 public:
  static Result<std::shared_ptr<TlsContext>> Client(const ClientOptions& o);
  static Result<std::shared_ptr<TlsContext>> Server(const ServerOptions& o);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  bool is_server() const { return server_; }

 private:
  TlsContext(SSL_CTX* ctx, bool server) : ctx_(ctx), server_(server) {}
  SSL_CTX* ctx_;
  bool server_;
};

// What a non-blocking TLS call needs before it can go on.
enum class IoState {
  kDone,       // the call made progress (n bytes) or finished
  kWantRead,   // poll for POLLIN and call again
  kWantWrite,  // poll for POLLOUT and call again
  kClosed,     // the peer closed the session
  kError,      // the connection is unusable; error() says why
};

struct IoResult {
  IoState state;
  size_t n = 0;
};

class TlsStream {
 public:
  // For a client, `peer_host` is checked against the server's certificate (DNS name or IP).
  TlsStream(std::shared_ptr<TlsContext> ctx, int fd, std::string_view peer_host = {});
  ~TlsStream();
  TlsStream(TlsStream&&) noexcept;
  TlsStream& operator=(TlsStream&&) noexcept;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  IoResult Handshake();
  IoResult Read(char* buf, size_t len);
  IoResult Write(const char* buf, size_t len);
  const std::string& error() const { return error_; }

 private:
  IoResult Map(int ret, size_t n);

  std::shared_ptr<TlsContext> ctx_;
  SSL* ssl_ = nullptr;
  std::string error_;
};

}  // namespace cstatsd::tls
