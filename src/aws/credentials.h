// Where AWS credentials and the region come from, in the SDK's default order: the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; AWS_REGION, AWS_DEFAULT_REGION),
// then the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile
// AWS_PROFILE or "default"), then the instance metadata service (see aws/imds.h). Pure parsing
// here; the caller passes the environment and file contents in.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "aws/sigv4.h"

namespace cstatsd::aws {

using Environment = std::map<std::string, std::string, std::less<>>;

std::optional<Credentials> CredentialsFromEnvironment(const Environment& env);

// The path of the shared credentials file for this environment.
std::string SharedCredentialsPath(const Environment& env);
std::string ProfileName(const Environment& env);

// Parses the INI text of a shared credentials file and returns the profile's credentials.
std::optional<Credentials> CredentialsFromSharedFile(std::string_view ini,
                                                     std::string_view profile);

// Reads the file at SharedCredentialsPath(env), if any.
std::optional<Credentials> CredentialsFromSharedFile(const Environment& env);

std::optional<std::string> RegionFromEnvironment(const Environment& env);

}  // namespace cstatsd::aws
