// The EC2 instance metadata service (IMDSv2: a session token first), for the region and the
// instance role's temporary credentials; and CredentialChain, the SDK's default order
// (environment, shared credentials file, instance role) with the role's credentials cached until
// shortly before they expire. The endpoint is http://169.254.169.254 unless
// AWS_EC2_METADATA_SERVICE_ENDPOINT says otherwise (tests); AWS_EC2_METADATA_DISABLED=true
// turns it off. Used from one backend or cloud-provider thread; blocking calls with short
// timeouts, never on a worker thread. The HTTP exchange is either a running HttpClient's
// SendAndWait (cloudwatch backend) or any synchronous Fetch (the aws cloud provider, whose
// Start() runs before any loop thread exists).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "aws/credentials.h"
#include "core/result.h"
#include "transport/http_client.h"

namespace cstatsd::aws {

// One synchronous HTTP attempt, no retries: completion kSent for a 2xx, else the failure in
// `last` (status, or the transport error).
using Fetch = std::function<transport::Outcome(transport::HttpRequest)>;

class Imds {
 public:
  // `client` must be running (its loop on some thread) while Imds is used.
  Imds(transport::HttpClient* client, const Environment& env);
  Imds(Fetch fetch, const Environment& env);

  bool enabled() const { return enabled_; }
  const std::string& endpoint() const { return endpoint_; }

  Result<std::string> Region();
  struct RoleCredentials {
    Credentials credentials;
    std::chrono::system_clock::time_point expiration;
  };
  Result<RoleCredentials> RoleCredentialsNow();

 private:
  Result<std::string> Get(const std::string& path);
  Result<std::string> Token();

  Fetch fetch_;
  std::string endpoint_;
  bool enabled_ = true;
};

class CredentialChain {
 public:
  CredentialChain(transport::HttpClient* client, Environment env);
  CredentialChain(Fetch fetch, Environment env);
  // Credentials from the first source that has them; an error naming every source tried.
  Result<Credentials> Get();
  // Region: `configured` if set, else the environment, else IMDS.
  Result<std::string> Region(const std::string& configured);

 private:
  Environment env_;
  Imds imds_;
  std::optional<Imds::RoleCredentials> cached_;
};

}  // namespace cstatsd::aws
