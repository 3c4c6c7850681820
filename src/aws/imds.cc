#include "aws/imds.h"

#include <ctime>
#include <nlohmann/json.hpp>

namespace cstatsd::aws {
namespace {

transport::RetryOptions OneAttempt() {
  transport::RetryOptions r;
  r.max_elapsed_time = std::chrono::nanoseconds(-1);
  return r;
}

std::optional<std::chrono::system_clock::time_point> ParseIso8601(const std::string& s) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

Imds::Imds(transport::HttpClient* client, const Environment& env)
    : Imds(Fetch([client](transport::HttpRequest req) {
             return client->SendAndWait(std::move(req), OneAttempt());
           }),
           env) {}

Imds::Imds(Fetch fetch, const Environment& env) : fetch_(std::move(fetch)) {
  auto it = env.find("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  endpoint_ = it != env.end() && !it->second.empty() ? it->second : "http://169.254.169.254";
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
  auto off = env.find("AWS_EC2_METADATA_DISABLED");
  enabled_ = !(off != env.end() && (off->second == "true" || off->second == "TRUE"));
}

Result<std::string> Imds::Token() {
  transport::HttpRequest req;
  req.method = "PUT";
  req.url = endpoint_ + "/latest/api/token";
  req.headers.emplace_back("X-aws-ec2-metadata-token-ttl-seconds", "21600");
  const transport::Outcome o = fetch_(std::move(req));
  if (o.completion != transport::Completion::kSent) {
    return Status::Error(
        "instance metadata token: " +
        (o.last.status ? "status " + std::to_string(o.last.status) : o.last.error));
  }
  return o.last.body;
}

Result<std::string> Imds::Get(const std::string& path) {
  if (!enabled_) return Status::Error("instance metadata disabled (AWS_EC2_METADATA_DISABLED)");
  auto token = Token();
  if (!token.ok()) return token.status();
  transport::HttpRequest req;
  req.method = "GET";
  req.url = endpoint_ + path;
  req.headers.emplace_back("X-aws-ec2-metadata-token", *token);
  const transport::Outcome o = fetch_(std::move(req));
  if (o.completion != transport::Completion::kSent) {
    return Status::Error(
        "instance metadata " + path + ": " +
        (o.last.status ? "status " + std::to_string(o.last.status) : o.last.error));
  }
  return o.last.body;
}

Result<std::string> Imds::Region() { return Get("/latest/meta-data/placement/region"); }

Result<Imds::RoleCredentials> Imds::RoleCredentialsNow() {
  auto roles = Get("/latest/meta-data/iam/security-credentials/");
  if (!roles.ok()) return roles.status();
  std::string role = *roles;
  role = role.substr(0, role.find('\n'));
  if (role.empty()) return Status::Error("instance metadata: no instance role");
  auto body = Get("/latest/meta-data/iam/security-credentials/" + role);
  if (!body.ok()) return body.status();
  auto doc = nlohmann::json::parse(*body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::Error("instance metadata: credentials are not JSON");
  }
  RoleCredentials rc;
  rc.credentials.access_key_id = doc.value("AccessKeyId", "");
  rc.credentials.secret_access_key = doc.value("SecretAccessKey", "");
  rc.credentials.session_token = doc.value("Token", "");
  if (!rc.credentials.valid()) return Status::Error("instance metadata: incomplete credentials");
  auto exp = ParseIso8601(doc.value("Expiration", ""));
  rc.expiration = exp.value_or(std::chrono::system_clock::now() + std::chrono::minutes(15));
  return rc;
}

CredentialChain::CredentialChain(transport::HttpClient* client, Environment env)
    : env_(std::move(env)), imds_(client, env_) {}

CredentialChain::CredentialChain(Fetch fetch, Environment env)
    : env_(std::move(env)), imds_(std::move(fetch), env_) {}

Result<Credentials> CredentialChain::Get() {
  if (auto c = CredentialsFromEnvironment(env_)) return *c;
  if (auto c = CredentialsFromSharedFile(env_)) return *c;
  const auto now = std::chrono::system_clock::now();
  if (cached_ && cached_->expiration - std::chrono::minutes(5) > now) return cached_->credentials;
  auto role = imds_.RoleCredentialsNow();
  if (!role.ok()) {
    return Status::Error(
        "no AWS credentials: not in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), "
        "not in " +
        SharedCredentialsPath(env_) + " (profile " + ProfileName(env_) +
        "), and the instance role failed: " + role.error());
  }
  cached_ = *role;
  return cached_->credentials;
}

Result<std::string> CredentialChain::Region(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (auto r = RegionFromEnvironment(env_)) return *r;
  auto r = imds_.Region();
  if (!r.ok()) {
    return Status::Error(
        "no AWS region: not configured, not in AWS_REGION/AWS_DEFAULT_REGION, "
        "and the instance metadata failed: " +
        r.error());
  }
  return *r;
}

}  // namespace cstatsd::aws
