// BlockingHttpClient: the blocking face of the project's one HTTP client (the asynchronous face
// is HttpClient, transport/http_client.h; both set up libcurl the same way,
// transport/curl_easy.h). For callers that may block and have no event loop: the aws cloud
// provider (instance metadata, EC2), the k8s provider (pod lists and the watch stream) and the
// Lambda extension (Extensions and Telemetry APIs). One request at a time on one reused
// connection (keep-alive between requests); Do() may be called from any thread but calls are
// serialised (a mutex); Abort() may be called from any thread and ends the request in progress
// at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "transport/http_client.h"

namespace cstatsd::transport {

// Certificates for https:// URLs (ignored for http://). A file name or PEM text for each.
struct ClientTls {
  bool insecure_skip_verify = false;  // no check of the server's certificate and name
  std::string ca_file;                // trusted CAs; both empty = the system's trust store
  std::string ca_pem;
  std::string cert_file;  // client certificate (PEM)
  std::string cert_pem;
  std::string key_file;  // its key (PEM)
  std::string key_pem;
};

struct BlockingClientOptions {
  // true: proxies from HTTP_PROXY/HTTPS_PROXY, except NO_PROXY and loopback (NoProxyList());
  // false: never a proxy (a local endpoint such as the Lambda Runtime API).
  bool proxy_from_environment = true;
  bool http2 = true;  // HTTP/2 over TLS when the server offers it; false = HTTP/1.1 only
  // TCP connect + TLS handshake, capped by each request's timeout; 0 = libcurl's (300 s).
  Duration connect_timeout = std::chrono::seconds(10);
  // TCP keep-alive: off when negative; 0 = on with libcurl's periods (60 s). Interval 0 = idle.
  Duration keep_alive_idle{0};
  Duration keep_alive_interval{0};
  std::string user_agent;  // "" = none
  std::string username;    // HTTP basic authentication when either is set
  std::string password;
  ClientTls tls;
};

// Per request.
struct CallOptions {
  Duration timeout{0};  // the whole exchange; 0 = none
  // The most body bytes kept; a larger body is an error ("response body larger than N bytes").
  size_t max_body = std::numeric_limits<size_t>::max();
  bool accept_encoding = false;  // ask for a compressed body (libcurl decodes it)
  bool keep_headers = false;     // fill BlockingResponse::headers
  bool abortable = true;         // Abort() ends it (else it still runs after an Abort())
  // Streaming: the chunks of a 2xx body go here as they arrive instead of into `body`; false
  // ends the transfer (ended_by_caller, no error). A non-2xx body is kept (its first
  // HttpResponse::kMaxBodyKept bytes).
  std::function<bool(std::string_view)> on_data;
  // Called about every 100 ms while the request runs, and after each arrival of data.
  std::function<void()> tick;
  // Polled as often as tick: true ends the request like Abort() (for a caller's own stop flag).
  std::function<bool()> cancelled;
};

struct BlockingResponse : HttpResponse {
  // status: the HTTP status as soon as one arrived, even when the transfer failed afterwards
  // (a stream that timed out): `error` says whether it completed.
  std::map<std::string, std::string> headers;  // lower-case names (CallOptions::keep_headers)
  bool aborted = false;          // ended by Abort() or CallOptions::cancelled (error "aborted")
  bool timed_out = false;        // CallOptions::timeout passed
  bool ended_by_caller = false;  // on_data returned false
};

class BlockingHttpClient {
 public:
  explicit BlockingHttpClient(BlockingClientOptions options = {});
  ~BlockingHttpClient();
  BlockingHttpClient(const BlockingHttpClient&) = delete;
  BlockingHttpClient& operator=(const BlockingHttpClient&) = delete;

  // One attempt; returns when the response is complete, on an error, after `call.timeout`, or
  // soon after Abort(). Any thread (serialised).
  BlockingResponse Do(const HttpRequest& request, const CallOptions& call = {});

  // Ends the abortable request in progress and makes every later abortable one fail at once
  // (error "aborted"). Any thread.
  void Abort();
  bool aborted() const { return aborted_.load(std::memory_order_acquire); }

 private:
  struct Transfer;

  BlockingClientOptions options_;
  std::string no_proxy_;
  std::mutex mu_;          // one request at a time
  void* multi_ = nullptr;  // CURLM*: its connection cache keeps the connection between requests
  void* easy_ = nullptr;   // CURL*, guarded by mu_
  std::atomic<bool> aborted_{false};
};

}  // namespace cstatsd::transport
