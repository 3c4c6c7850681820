#include "lambda/telemetry.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace cstatsd::lambda {
namespace {

constexpr std::string_view kKey = "lambda-extension-telemetry-address";

Status Bad(std::string_view address, std::string_view why) {
  return Status::Error(std::string(kKey) + ": \"" + std::string(address) + "\" " +
                       std::string(why));
}

}  // namespace

Result<TelemetryAddress> ParseTelemetryAddress(std::string_view address) {
  TelemetryAddress out;
  std::string_view host;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return Bad(address, "is not host:port");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
    if (host.empty()) return Bad(address, "is not host:port");
    out.uri_host = "[" + std::string(host) + "]";
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return Bad(address, "is not host:port");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Bad(address, "is not host:port (write an IPv6 address as [addr]:port)");
    }
    out.uri_host = host.empty() ? std::string(kSandboxHost) : std::string(host);
  }
  int p = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p < 0 || p > 65535) {
    return Bad(address, "has no valid port (0-65535)");
  }
  out.port = p;
  out.bind_host = host.empty() ? "0.0.0.0" : std::string(host);
  return out;
}

std::string DestinationUri(const TelemetryAddress& address, int bound_port) {
  return "http://" + address.uri_host + ":" + std::to_string(bound_port) + "/telemetry";
}

Result<std::vector<std::string>> RuntimeDoneRequestIds(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return Status::Error("telemetry body is not a JSON array");
  }
  std::vector<std::string> ids;
  for (const auto& event : j) {
    if (!event.is_object()) continue;
    auto type = event.find("type");
    if (type == event.end() || !type->is_string() ||
        type->get_ref<const std::string&>() != "platform.runtimeDone") {
      continue;
    }
    std::string id;
    if (auto record = event.find("record"); record != event.end() && record->is_object()) {
      if (auto rid = record->find("requestId"); rid != record->end() && rid->is_string()) {
        id = rid->get<std::string>();
      }
    }
    ids.push_back(std::move(id));
  }
  return ids;
}

}  // namespace cstatsd::lambda
