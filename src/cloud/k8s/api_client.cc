#include "cloud/k8s/api_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "cloud/k8s/watch_stream.h"
#include "transport/http_client.h"

namespace cstatsd::cloud::k8s {
namespace {

std::once_flag g_curl_init;

constexpr size_t kErrorBodyKept = 4096;

struct CurlDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

void StopSignal::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
}

bool StopSignal::WaitFor(Duration d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return stopped(); });
}

std::string ApiResponse::Describe() const {
  if (status == 0 || !error.empty()) return error.empty() ? "no response" : error;
  std::string snippet = body.substr(0, 300);
  std::replace(snippet.begin(), snippet.end(), '\n', ' ');
  return "HTTP " + std::to_string(status) + (snippet.empty() ? "" : ": " + snippet);
}

struct ApiClient::Transfer {
  CURL* easy = nullptr;
  bool stream = false;
  const std::function<bool(std::string_view)>* on_line = nullptr;
  LineSplitter lines{0};  // a stream's lines
  std::string body;
  bool ended_by_caller = false;
  bool line_too_long = false;

  bool Success() const {
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    return code >= 200 && code < 300;
  }

  // What the splitter said; false if the stream must end.
  bool Lines(LineSplitter::Fed fed) {
    if (fed == LineSplitter::Fed::kStopped) ended_by_caller = true;
    if (fed == LineSplitter::Fed::kTooLong) line_too_long = true;
    return fed == LineSplitter::Fed::kMore;
  }

  static size_t Write(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const size_t len = size * n;
    if (!t->stream || !t->Success()) {
      if (!t->stream || t->body.size() < kErrorBodyKept) t->body.append(data, len);
      return len;
    }
    return t->Lines(t->lines.Feed(std::string_view(data, len), *t->on_line))
               ? len
               : 0;  // 0 ends the transfer (CURLE_WRITE_ERROR)
  }
};

ApiClient::ApiClient(Connection connection, std::string user_agent, double qps, double burst,
                     StopSignal* stop)
    : connection_(std::move(connection)),
      user_agent_(std::move(user_agent)),
      bucket_(qps, burst),
      stop_(stop) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

ApiResponse ApiClient::Get(const std::string& path_and_query, Duration timeout) {
  return Perform(path_and_query, timeout, false, 0, nullptr, nullptr);
}

ApiResponse ApiClient::Stream(const std::string& path_and_query, Duration timeout, size_t max_line,
                              const std::function<bool(std::string_view)>& on_line,
                              const std::function<void()>& tick) {
  return Perform(path_and_query, timeout, true, max_line, &on_line, &tick);
}

ApiResponse ApiClient::Perform(const std::string& path_and_query, Duration timeout, bool stream,
                               size_t max_line,
                               const std::function<bool(std::string_view)>* on_line,
                               const std::function<void()>* tick) {
  ApiResponse r;
  const Duration wait = bucket_.Reserve(std::chrono::steady_clock::now());
  if ((wait > Duration::zero() && !stop_->WaitFor(wait)) || stop_->stopped()) {
    r.stopped = true;
    r.error = "stopped";
    return r;
  }

  std::unique_ptr<CURL, CurlDeleter> easy(curl_easy_init());
  std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
  if (!easy || !multi) {
    r.error = "cannot create a libcurl handle";
    return r;
  }
  Transfer t;
  t.easy = easy.get();
  t.stream = stream;
  t.on_line = on_line;
  t.lines = LineSplitter(max_line);
  CURL* e = easy.get();
  const std::string url = connection_.server + path_and_query;
  const std::string no_proxy = transport::NoProxyList();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_NOPROXY, no_proxy.c_str());
  curl_easy_setopt(e, CURLOPT_USERAGENT, user_agent_.c_str());
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<int64_t>(
                       1, std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count())));
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 15L);
  // Lists can be large and the API server compresses them; a watch stream is left as it is.
  if (!stream) curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::Write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);

  curl_slist* raw_headers = curl_slist_append(nullptr, "Accept: application/json");
  const std::string token = CurrentToken(connection_);
  if (!token.empty()) {
    raw_headers = curl_slist_append(raw_headers, ("Authorization: Bearer " + token).c_str());
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw_headers);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  if (!connection_.username.empty() || !connection_.password.empty()) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERNAME, connection_.username.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, connection_.password.c_str());
  }

  // TLS (ignored by libcurl for http:// servers).
  auto blob = [](const std::string& pem) {
    curl_blob b{};
    b.data = const_cast<char*>(pem.data());  // copied by libcurl (CURL_BLOB_COPY)
    b.len = pem.size();
    b.flags = CURL_BLOB_COPY;
    return b;
  };
  if (connection_.insecure_skip_tls_verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!connection_.ca_pem.empty()) {
    curl_blob b = blob(connection_.ca_pem);
    curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
  } else if (!connection_.ca_file.empty()) {
    curl_easy_setopt(e, CURLOPT_CAINFO, connection_.ca_file.c_str());
  }
  if (!connection_.client_cert_pem.empty()) {
    curl_blob b = blob(connection_.client_cert_pem);
    curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!connection_.client_cert_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLCERT, connection_.client_cert_file.c_str());
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!connection_.client_key_pem.empty()) {
    curl_blob b = blob(connection_.client_key_pem);
    curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!connection_.client_key_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLKEY, connection_.client_key_file.c_str());
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  }

  // A private multi handle, polled every 100 ms: the transfer can be abandoned at once on
  // Stop() and a stream's caller gets its ticks while the connection is idle.
  curl_multi_add_handle(multi.get(), e);
  CURLcode result = CURLE_OK;
  bool finished = false;
  while (true) {
    int running = 0;
    const CURLMcode mc = curl_multi_perform(multi.get(), &running);
    if (mc != CURLM_OK) {
      r.error = curl_multi_strerror(mc);
      break;
    }
    if (running == 0) {
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
        if (msg->msg == CURLMSG_DONE) result = msg->data.result;
      }
      finished = true;
      break;
    }
    if (stop_->stopped()) {
      r.stopped = true;
      r.error = "stopped";
      break;
    }
    if (tick != nullptr && *tick) (*tick)();
    curl_multi_poll(multi.get(), nullptr, 0, 100, nullptr);
  }
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
  curl_multi_remove_handle(multi.get(), e);

  const bool http_ok = r.status >= 200 && r.status < 300;
  if (finished) {
    if (result == CURLE_OK) {
      if (stream && http_ok) t.Lines(t.lines.Finish(*on_line));  // a last line without '\n'
    } else if (t.line_too_long) {
      r.error = "a line of the stream is longer than " + std::to_string(max_line) + " bytes";
    } else if (!(result == CURLE_WRITE_ERROR && t.ended_by_caller)) {
      r.error = curl_easy_strerror(result);
      if (result == CURLE_OPERATION_TIMEDOUT && stream && http_ok) r.error.clear();  // ended
    }
  }
  if (!r.stopped && !r.error.empty() && r.status != 0 && !http_ok) {
    r.error.clear();  // an HTTP error status says it better
  }
  r.body = std::move(t.body);
  return r;
}

}  // namespace cstatsd::cloud::k8s
