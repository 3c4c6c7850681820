// DnsDiscovery: [http-transport] api-endpoints-dns (docs/scaling.md#discovery-by-dns). The A and
// AAAA records of `name:port` are the aggregators (a Kubernetes headless service); the name is
// resolved again every dns-refresh-period, and every set that differs from the last is handed to a
// callback (the forwarder's endpoint set). A failed or empty answer keeps the last set. Refresh and
// Run: the discovery's own thread (created by server/; the first Refresh may run on the main thread
// before that thread starts). Stop, Totals, endpoints: any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "stats/rate_limiter.h"

namespace cstatsd::forward {

// The discovery keys of [http-transport] (docs/scaling.md#discovery-by-dns).
struct DnsDiscoveryOptions {
  // api-endpoints-dns: "name:port"; empty (the default) = no discovery.
  std::string name;
  // dns-refresh-period: how often the name is resolved again (default 30s).
  std::chrono::nanoseconds refresh_period = std::chrono::seconds(30);
  // dns-server: "address:port" of the one DNS server to ask (c-ares, UDP then TCP); empty (the
  // default) = the system's resolver (getaddrinfo: /etc/hosts, /etc/resolv.conf, nsswitch).
  std::string server;
  // dns-timeout: the longest one resolution may take (default 5s).
  std::chrono::nanoseconds timeout = std::chrono::seconds(5);

  bool enabled() const { return !name.empty(); }
  // Reads and checks the keys above; every problem names its key (errors appended).
  static DnsDiscoveryOptions Load(const config::Section& section, std::vector<std::string>* errors);
  // The keys Load reads (for the section's unknown-key warning).
  static const std::vector<std::string_view>& Keys();
};

// "aggregators.monitoring.svc.cluster.local:8080" → host and port.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
Result<HostPort> ParseHostPort(std::string_view text);

// The forwarder's base URL of one discovered address: http://10.0.0.7:8080, http://[fd00::7]:8080.
std::string EndpointUrl(std::string_view address, uint16_t port);

// Resolves a host name to its addresses, as text ("10.0.0.7", "fd00::7"). Blocking; called on the
// discovery's thread only.
class HostResolver {
 public:
  virtual ~HostResolver() = default;
  virtual Result<std::vector<std::string>> Resolve(const std::string& host) = 0;
};

// The system's resolver (getaddrinfo, A and AAAA).
std::unique_ptr<HostResolver> MakeSystemResolver();
// c-ares asking only `server` ("127.0.0.1:5353"), at most `timeout` per resolution.
Result<std::unique_ptr<HostResolver>> MakeCaresResolver(std::string_view server,
                                                        std::chrono::nanoseconds timeout);

// Cumulative counts since the start (the forwarder.dns.* internal metrics, /expvar).
struct DnsDiscoveryStats {
  uint64_t lookups = 0;    // resolutions attempted
  uint64_t failed = 0;     // resolutions that failed or answered no address (last set kept)
  uint64_t changes = 0;    // times the set differed from the previous one (the first set included)
  uint64_t endpoints = 0;  // the size of the current set
};

class DnsDiscovery {
 public:
  // on_change receives the new set of base URLs, sorted and without duplicates.
  using OnChange = std::function<void(const std::vector<std::string>& endpoints)>;

  DnsDiscovery(DnsDiscoveryOptions options, HostPort target, std::unique_ptr<HostResolver> resolver,
               OnChange on_change);
  // Builds the resolver that options.server asks for.
  static Result<std::unique_ptr<DnsDiscovery>> Create(const DnsDiscoveryOptions& options,
                                                      OnChange on_change);

  // One resolution: a set that differs from the last goes to on_change. A failure (or an empty
  // answer) keeps the last set, is counted and logged at a limited rate, and is returned.
  Status Refresh();
  // Refresh every refresh period (every second while no set is known yet) until Stop.
  void Run();
  void Stop();

  DnsDiscoveryStats Totals() const;
  std::vector<std::string> endpoints() const;
  const HostPort& target() const { return target_; }

 private:
  DnsDiscoveryOptions options_;
  HostPort target_;
  std::unique_ptr<HostResolver> resolver_;
  OnChange on_change_;
  stats::RateLimiter failure_log_{6, 2};  // discovery thread only

  std::atomic<uint64_t> lookups_{0}, failed_{0}, changes_{0};
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;               // guarded by mu_
  std::vector<std::string> endpoints_;  // guarded by mu_
};

}  // namespace cstatsd::forward
