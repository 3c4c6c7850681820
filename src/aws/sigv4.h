// AWS Signature Version 4 (HMAC-SHA256 via OpenSSL) for the cloudwatch backend and the aws cloud
// provider: canonical request, string to sign, signing key and the Authorization header, as AWS
// documents them. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cstatsd::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only; sent as X-Amz-Security-Token
  bool valid() const { return !access_key_id.empty() && !secret_access_key.empty(); }
};

struct SigningRequest {
  std::string method = "POST";
  std::string path = "/";                                  // unencoded; each segment is URI-encoded
  std::vector<std::pair<std::string, std::string>> query;  // unencoded name, value
  std::vector<std::pair<std::string, std::string>> headers;  // must include Host
  std::string payload;
};

struct Signature {
  std::string amz_date;        // X-Amz-Date value, e.g. 20150830T123600Z
  std::string signed_headers;  // "host;x-amz-date"
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // hex
  std::string authorization;  // the Authorization header value
};

// Signs `r` for region/service at unix time `now_seconds`. X-Amz-Date (and X-Amz-Security-Token
// with a session token) are signed; the caller sends them as headers.
Signature Sign(const SigningRequest& r, const Credentials& c, std::string_view region,
               std::string_view service, int64_t now_seconds);

// Helpers, exposed for tests and for building query strings and bodies.
std::string UriEncode(std::string_view s, bool keep_slash = false);
std::string Sha256Hex(std::string_view data);
std::string AmzDate(int64_t unix_seconds);

// The host ("host[:port]") and path of an endpoint URL, as signed: "https://h:1/p?q" → "h:1",
// "/p"; "/" without a path.
void SplitUrl(const std::string& url, std::string& host, std::string& path);

}  // namespace cstatsd::aws
