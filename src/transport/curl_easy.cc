#include "transport/curl_easy.h"

#include <algorithm>
#include <cctype>
#include <mutex>

namespace cstatsd::transport::curl {
namespace {

std::once_flag g_curl_init;

long Seconds(Duration d, long min) {
  return std::max(min,
                  static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(d).count()));
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

void GlobalInit() {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

long Millis(Duration d, long min) {
  return std::max(
      min, static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
}

curl_slist* SetRequest(CURL* e, const HttpRequest& request) {
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  if (request.method == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    if (request.method != "POST") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  return headers;
}

void SetConnection(CURL* e, const ConnectionSetup& c) {
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, Millis(c.timeout));
  if (c.connect_timeout > Duration::zero()) {
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, Millis(c.connect_timeout, 1));
  }
  if (c.keep_alive_idle >= Duration::zero()) {
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (c.keep_alive_idle > Duration::zero()) {
      curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, Seconds(c.keep_alive_idle, 1));
      curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL,
                       Seconds(c.keep_alive_interval > Duration::zero() ? c.keep_alive_interval
                                                                        : c.keep_alive_idle,
                               1));
    }
  }
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                   c.http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_IPRESOLVE,
                   c.network == "tcp4"   ? CURL_IPRESOLVE_V4
                   : c.network == "tcp6" ? CURL_IPRESOLVE_V6
                                         : CURL_IPRESOLVE_WHATEVER);
  curl_easy_setopt(e, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  // Proxies come from HTTP_PROXY/HTTPS_PROXY as libcurl reads them, except for this list.
  if (c.no_proxy != nullptr) curl_easy_setopt(e, CURLOPT_NOPROXY, c.no_proxy->c_str());
}

std::optional<std::pair<std::string, std::string>> ParseHeaderLine(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && IsSpace(value.front())) value.remove_prefix(1);
  while (!value.empty() && IsSpace(value.back())) value.remove_suffix(1);
  return std::make_pair(std::move(name), std::string(value));
}

}  // namespace cstatsd::transport::curl
