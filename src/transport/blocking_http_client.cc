#include "transport/blocking_http_client.h"

#include <algorithm>
#include <memory>

#include "transport/curl_easy.h"

namespace cstatsd::transport {
namespace {

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// libcurl copies a blob at setopt time (CURL_BLOB_COPY): `pem` need not outlive the call.
void SetBlob(CURL* e, CURLoption option, const std::string& pem) {
  curl_blob b{};
  b.data = const_cast<char*>(pem.data());
  b.len = pem.size();
  b.flags = CURL_BLOB_COPY;
  curl_easy_setopt(e, option, &b);
}

void SetTls(CURL* e, const ClientTls& tls) {
  if (tls.insecure_skip_verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!tls.ca_pem.empty()) {
    SetBlob(e, CURLOPT_CAINFO_BLOB, tls.ca_pem);
  } else if (!tls.ca_file.empty()) {
    curl_easy_setopt(e, CURLOPT_CAINFO, tls.ca_file.c_str());
  }
  if (!tls.cert_pem.empty()) {
    SetBlob(e, CURLOPT_SSLCERT_BLOB, tls.cert_pem);
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!tls.cert_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLCERT, tls.cert_file.c_str());
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!tls.key_pem.empty()) {
    SetBlob(e, CURLOPT_SSLKEY_BLOB, tls.key_pem);
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!tls.key_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLKEY, tls.key_file.c_str());
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  }
}

}  // namespace

struct BlockingHttpClient::Transfer {
  CURL* easy = nullptr;
  const CallOptions* call = nullptr;
  BlockingResponse* response = nullptr;
  bool too_large = false;

  bool Success() const {
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    return code >= 200 && code < 300;
  }

  static size_t OnBody(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const size_t len = size * n;
    std::string& body = t->response->body;
    if (t->call->on_data) {
      if (t->Success()) {
        if (t->call->on_data(std::string_view(data, len))) return len;
        t->response->ended_by_caller = true;
        return 0;  // ends the transfer (CURLE_WRITE_ERROR)
      }
      if (body.size() < HttpResponse::kMaxBodyKept) {
        body.append(data, std::min(len, HttpResponse::kMaxBodyKept - body.size()));
      }
      return len;
    }
    const size_t room = t->call->max_body - std::min(t->call->max_body, body.size());
    if (len > room) t->too_large = true;
    body.append(data, std::min(len, room));
    return len;
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const size_t len = size * n;
    if (auto h = curl::ParseHeaderLine(std::string_view(data, len))) {
      if (h->first == "retry-after") t->response->retry_after = h->second;
      if (t->call->keep_headers) t->response->headers[h->first] = std::move(h->second);
    }
    return len;
  }
};

BlockingHttpClient::BlockingHttpClient(BlockingClientOptions options)
    : options_(std::move(options)),
      no_proxy_(options_.proxy_from_environment ? NoProxyList() : "*") {
  curl::GlobalInit();
  multi_ = curl_multi_init();
  easy_ = curl_easy_init();
}

BlockingHttpClient::~BlockingHttpClient() {
  if (easy_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(easy_));
  if (multi_ != nullptr) curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

void BlockingHttpClient::Abort() {
  aborted_.store(true, std::memory_order_release);
  if (multi_ != nullptr) curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

BlockingResponse BlockingHttpClient::Do(const HttpRequest& request, const CallOptions& call) {
  BlockingResponse r;
  const auto is_aborted = [&] {
    return (call.abortable && aborted()) || (call.cancelled && call.cancelled());
  };
  if (is_aborted()) {
    r.aborted = true;
    r.error = "aborted";
    return r;
  }
  std::lock_guard lock(mu_);
  auto* multi = static_cast<CURLM*>(multi_);
  auto* e = static_cast<CURL*>(easy_);
  if (multi == nullptr || e == nullptr) {
    r.error = "cannot create a libcurl handle";
    return r;
  }
  curl_easy_reset(e);
  std::unique_ptr<curl_slist, SlistDeleter> headers(curl::SetRequest(e, request));
  curl::ConnectionSetup c;
  c.no_proxy = &no_proxy_;
  c.http2 = options_.http2;
  c.timeout = call.timeout;
  c.connect_timeout = options_.connect_timeout;
  if (call.timeout > Duration::zero() && c.connect_timeout > Duration::zero()) {
    c.connect_timeout = std::min(c.connect_timeout, call.timeout);
  }
  c.keep_alive_idle = options_.keep_alive_idle;
  c.keep_alive_interval = options_.keep_alive_interval;
  curl::SetConnection(e, c);
  if (!options_.user_agent.empty()) {
    curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
  }
  if (!options_.username.empty() || !options_.password.empty()) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, options_.password.c_str());
  }
  SetTls(e, options_.tls);
  if (call.accept_encoding) curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  Transfer t;
  t.easy = e;
  t.call = &call;
  t.response = &r;
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);

  // Driven through the multi handle, polled every 100 ms: Abort() (which wakes the poll) and
  // `cancelled` end the transfer at once, and a stream's caller gets its ticks while the
  // connection is idle.
  const auto start = SteadyClock::now();
  curl_multi_add_handle(multi, e);
  CURLcode result = CURLE_OK;
  bool finished = false;
  for (;;) {
    int running = 0;
    const CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc != CURLM_OK) {
      r.error = curl_multi_strerror(mc);
      break;
    }
    if (running == 0) {
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg == CURLMSG_DONE) result = msg->data.result;
      }
      finished = true;
      break;
    }
    if (is_aborted()) {
      r.aborted = true;
      r.error = "aborted";
      break;
    }
    if (call.tick) call.tick();
    curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  r.latency = SteadyClock::now() - start;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
  curl_multi_remove_handle(multi, e);
  if (finished && result != CURLE_OK && !(result == CURLE_WRITE_ERROR && r.ended_by_caller)) {
    r.timed_out = result == CURLE_OPERATION_TIMEDOUT;
    r.error = curl_easy_strerror(result);
  } else if (finished && t.too_large) {
    r.error = "response body larger than " + std::to_string(call.max_body) + " bytes";
  }
  return r;
}

}  // namespace cstatsd::transport
