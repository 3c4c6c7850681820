// BlockingHttp: one synchronous HTTP attempt at a time on a reused libcurl easy handle, for the
// aws cloud provider (the EC2 API and the instance metadata service). Owned by AwsProvider; its
// Do() is called by one thread at a time (Start() on the main thread, then Lookup() on the cloud
// handler's lookup thread; a mutex makes overlap safe anyway). Abort() may be called from any
// thread and makes the transfer in progress, and every later one, fail at once.
//
// Why not transport::HttpClient: its loop needs a thread of its own that the server would have
// to run for the provider, yet Start() must ask the metadata service for the region before any
// such thread exists; and Lookup() is allowed to block (on its own thread, one batch at a time),
// so a blocking easy handle with CURLOPT_TIMEOUT_MS per attempt is simpler, keeps connections
// alive between batches, and needs no thread.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "transport/http_client.h"

namespace cstatsd::cloud::aws {

class BlockingHttp {
 public:
  BlockingHttp();
  ~BlockingHttp();
  BlockingHttp(const BlockingHttp&) = delete;
  BlockingHttp& operator=(const BlockingHttp&) = delete;

  // One attempt bounded by `timeout` (the whole exchange; connecting gets at most 5 s + 3 s for
  // TLS, as gostatsd's client). status 0 and `error` set when no response arrived. TLS >= 1.2,
  // HTTP/2 over TLS when the server offers it; loopback is never proxied.
  transport::HttpResponse Do(const transport::HttpRequest& request,
                             std::chrono::nanoseconds timeout);

  void Abort() { aborted_.store(true); }
  bool aborted() const { return aborted_.load(); }

  // The largest response body kept (DescribeInstances pages are a few hundred KiB at most).
  static constexpr size_t kMaxBody = 64 << 20;

 private:
  std::mutex mu_;
  void* easy_ = nullptr;  // CURL*, guarded by mu_
  std::string no_proxy_;
  std::atomic<bool> aborted_{false};
};

}  // namespace cstatsd::cloud::aws
