// The libcurl setup that both faces of the HTTP client share (transport/http_client.h, the
// asynchronous face; transport/blocking_http_client.h, the blocking face): one function per
// concern, applied to an easy handle by the thread that owns it. Internal to transport/: no
// other module includes libcurl.
#pragma once

#include <curl/curl.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "transport/http_client.h"

namespace cstatsd::transport::curl {

// curl_global_init, once per process (it is not thread-safe; the first client calls it).
void GlobalInit();

// Milliseconds for a libcurl option, at least `min`.
long Millis(Duration d, long min = 0);

// Method, URL, body and headers of `request` (plus "Expect:": Go never sends
// "Expect: 100-continue", libcurl would for large bodies). Returns the header list, which must
// outlive the transfer (free it with curl_slist_free_all). `request` must outlive it too.
curl_slist* SetRequest(CURL* e, const HttpRequest& request);

// How a connection is made, the same for both faces.
struct ConnectionSetup {
  const std::string* no_proxy = nullptr;  // libcurl's CURLOPT_NOPROXY list (must outlive it)
  bool http2 = false;                     // HTTP/2 over TLS when offered, else HTTP/1.1
  Duration timeout{0};                    // the whole exchange; 0 = none
  Duration connect_timeout{0};            // TCP connect + TLS handshake; 0 = libcurl's (300 s)
  // TCP keep-alive: off when negative; on with libcurl's periods (60 s) when zero.
  Duration keep_alive_idle{-1};
  Duration keep_alive_interval{0};   // 0 = the idle period
  std::string_view network = "tcp";  // tcp, tcp4, tcp6
};
void SetConnection(CURL* e, const ConnectionSetup& c);

// One response header line ("Name: value\r\n") as (lower-case name, trimmed value); nullopt for
// the status line and the blank line that ends the headers.
std::optional<std::pair<std::string, std::string>> ParseHeaderLine(std::string_view line);

}  // namespace cstatsd::transport::curl
