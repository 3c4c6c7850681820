#include "aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace cstatsd::aws {
namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 0xF];
  }
  return out;
}

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Header values: leading/trailing spaces removed, runs of spaces collapsed to one.
std::string TrimAll(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return Hex(md, sizeof(md));
}

std::string AmzDate(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Signature Sign(const SigningRequest& r, const Credentials& c, std::string_view region,
               std::string_view service, int64_t now_seconds) {
  Signature s;
  s.amz_date = AmzDate(now_seconds);
  const std::string day = s.amz_date.substr(0, 8);

  // Headers: lower-case names, sorted; repeated names joined with ','.
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [k, v] : r.headers) headers.emplace_back(Lower(k), TrimAll(v));
  headers.emplace_back("x-amz-date", s.amz_date);
  if (!c.session_token.empty()) headers.emplace_back("x-amz-security-token", c.session_token);
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canonical_headers;
  for (size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      canonical_headers.back() = ',';
      canonical_headers += headers[i].second + "\n";
      continue;
    }
    if (!s.signed_headers.empty()) s.signed_headers += ';';
    s.signed_headers += headers[i].first;
    canonical_headers += headers[i].first + ":" + headers[i].second + "\n";
  }

  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [k, v] : r.query) query.emplace_back(UriEncode(k), UriEncode(v));
  std::sort(query.begin(), query.end());
  std::string canonical_query;
  for (const auto& [k, v] : query) {
    if (!canonical_query.empty()) canonical_query += '&';
    canonical_query += k + "=" + v;
  }

  s.canonical_request = r.method + "\n" + UriEncode(r.path.empty() ? "/" : r.path, true) + "\n" +
                        canonical_query + "\n" + canonical_headers + "\n" + s.signed_headers +
                        "\n" + Sha256Hex(r.payload);
  const std::string scope =
      day + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  s.string_to_sign =
      "AWS4-HMAC-SHA256\n" + s.amz_date + "\n" + scope + "\n" + Sha256Hex(s.canonical_request);
  std::string key = Hmac("AWS4" + c.secret_access_key, day);
  key = Hmac(key, region);
  key = Hmac(key, service);
  key = Hmac(key, "aws4_request");
  const std::string sig = Hmac(key, s.string_to_sign);
  s.signature = Hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
  s.authorization = "AWS4-HMAC-SHA256 Credential=" + c.access_key_id + "/" + scope +
                    ", SignedHeaders=" + s.signed_headers + ", Signature=" + s.signature;
  return s;
}

void SplitUrl(const std::string& url, std::string& host, std::string& path) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  const size_t slash = url.find('/', start);
  host = url.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
  path = slash == std::string::npos ? "/" : url.substr(slash);
  if (const size_t q = path.find('?'); q != std::string::npos) path.resize(q);
  if (path.empty()) path = "/";
}

}  // namespace cstatsd::aws
