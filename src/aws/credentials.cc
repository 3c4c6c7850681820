#include "aws/credentials.h"

#include <fstream>
#include <sstream>

#include "core/file_read.h"

namespace cstatsd::aws {
namespace {

const std::string* Get(const Environment& env, std::string_view key) {
  auto it = env.find(key);
  return it == env.end() || it->second.empty() ? nullptr : &it->second;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::optional<Credentials> CredentialsFromEnvironment(const Environment& env) {
  const std::string* id = Get(env, "AWS_ACCESS_KEY_ID");
  const std::string* secret = Get(env, "AWS_SECRET_ACCESS_KEY");
  if (id == nullptr || secret == nullptr) return std::nullopt;
  Credentials c{*id, *secret, ""};
  if (const std::string* token = Get(env, "AWS_SESSION_TOKEN")) c.session_token = *token;
  return c;
}

std::string SharedCredentialsPath(const Environment& env) {
  if (const std::string* p = Get(env, "AWS_SHARED_CREDENTIALS_FILE")) return *p;
  if (const std::string* home = Get(env, "HOME")) return *home + "/.aws/credentials";
  return "";
}

std::string ProfileName(const Environment& env) {
  if (const std::string* p = Get(env, "AWS_PROFILE")) return *p;
  return "default";
}

std::optional<Credentials> CredentialsFromSharedFile(std::string_view ini,
                                                     std::string_view profile) {
  Credentials c;
  bool in_profile = false;
  while (!ini.empty()) {
    const size_t nl = ini.find('\n');
    std::string_view line = Trim(ini.substr(0, nl));
    ini.remove_prefix(nl == std::string_view::npos ? ini.size() : nl + 1);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      in_profile = Trim(line.substr(1, line.size() - 2)) == profile;
      continue;
    }
    if (!in_profile) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = Trim(line.substr(0, eq));
    const std::string value(Trim(line.substr(eq + 1)));
    if (key == "aws_access_key_id") c.access_key_id = value;
    if (key == "aws_secret_access_key") c.secret_access_key = value;
    if (key == "aws_session_token") c.session_token = value;
  }
  if (!c.valid()) return std::nullopt;
  return c;
}

std::optional<Credentials> CredentialsFromSharedFile(const Environment& env) {
  const std::string path = SharedCredentialsPath(env);
  if (path.empty()) return std::nullopt;
  // A regular file of at most 1 MiB: a FIFO or /dev/zero here must not hang or exhaust memory.
  auto text = ReadRegularFile(path, size_t{1} << 20);
  if (!text.ok()) return std::nullopt;
  return CredentialsFromSharedFile(*text, ProfileName(env));
}

std::optional<std::string> RegionFromEnvironment(const Environment& env) {
  if (const std::string* r = Get(env, "AWS_REGION")) return *r;
  if (const std::string* r = Get(env, "AWS_DEFAULT_REGION")) return *r;
  return std::nullopt;
}

}  // namespace cstatsd::aws
