#include "cloud/aws/blocking_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "transport/http_client.h"

namespace cstatsd::cloud::aws {
namespace {

std::once_flag g_curl_init;

struct Transfer {
  std::string body;
  bool truncated = false;
  const std::atomic<bool>* aborted = nullptr;

  static size_t OnBody(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const size_t len = size * n;
    const size_t room = BlockingHttp::kMaxBody - std::min(BlockingHttp::kMaxBody, t->body.size());
    if (len > room) t->truncated = true;
    t->body.append(data, std::min(len, room));
    return len;
  }
  static int OnProgress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<Transfer*>(self)->aborted->load() ? 1 : 0;
  }
};

long Millis(std::chrono::nanoseconds d) {
  return std::max(
      1L, static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
}

}  // namespace

BlockingHttp::BlockingHttp() : no_proxy_(transport::NoProxyList()) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  easy_ = curl_easy_init();
}

BlockingHttp::~BlockingHttp() {
  if (easy_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(easy_));
}

transport::HttpResponse BlockingHttp::Do(const transport::HttpRequest& request,
                                         std::chrono::nanoseconds timeout) {
  transport::HttpResponse r;
  if (aborted_.load()) {
    r.error = "aborted (stopping)";
    return r;
  }
  std::lock_guard lock(mu_);
  auto* e = static_cast<CURL*>(easy_);
  if (e == nullptr) {
    r.error = "curl_easy_init failed";
    return r;
  }
  curl_easy_reset(e);
  Transfer t;
  t.aborted = &aborted_;
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  if (request.method == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &Transfer::OnProgress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, Millis(timeout));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   Millis(std::min(timeout, std::chrono::nanoseconds(std::chrono::seconds(8)))));
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(e, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt(e, CURLOPT_NOPROXY, no_proxy_.c_str());
  const auto start = std::chrono::steady_clock::now();
  const CURLcode code = curl_easy_perform(e);
  r.latency = std::chrono::steady_clock::now() - start;
  curl_slist_free_all(headers);
  if (code == CURLE_OK) {
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
    r.body = std::move(t.body);
    if (t.truncated) {
      r.status = 0;
      r.error = "response body larger than " + std::to_string(kMaxBody) + " bytes";
    }
  } else if (code == CURLE_ABORTED_BY_CALLBACK) {
    r.error = "aborted (stopping)";
  } else {
    r.error = curl_easy_strerror(code);
  }
  return r;
}

}  // namespace cstatsd::cloud::aws
