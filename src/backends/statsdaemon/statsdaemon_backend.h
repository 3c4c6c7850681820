// The statsdaemon backend (docs/backends.md#statsdaemon, docs/compatibility.md#decision-6):
// re-emits each flush as statsd text to another statsd server — every counter, raw timer value,
// gauge and set member — over UDP (datagrams of at most 1472 bytes) or TCP/TLS (1 MiB writes), with
// the metric's real tags only. Events become DogStatsD `_e{}` lines on a fresh connection each, and
// service checks `_sc|` lines likewise.
// Runs on its backend thread; Format* are pure and used by the golden tests.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/common/tcp_client.h"

namespace cstatsd::backends::statsdaemon {

struct StatsdaemonOptions {
  std::string address;  // required
  std::chrono::nanoseconds dial_timeout = std::chrono::seconds(5);
  std::chrono::nanoseconds write_timeout = std::chrono::seconds(30);
  bool disable_tags = false;
  bool tcp_transport = false;
  bool tls_transport = false;  // TLS ≥ 1.2 over the TCP transport (requires tcp_transport)
  std::string tls_ca_path;     // trusted CAs (PEM); empty = the system's
  std::string tls_cert_path;   // client certificate and key, given together or not at all
  std::string tls_key_path;

  static Result<StatsdaemonOptions> From(const config::Config& config);
};

class StatsdaemonBackend : public Backend {
 public:
  static constexpr std::string_view kName = "statsdaemon";
  static constexpr size_t kMaxUdpPacket = 1472;
  static constexpr size_t kMaxTcpPacket = 1 << 20;
  static Result<std::unique_ptr<Backend>> Create(const BackendContext& ctx);

  StatsdaemonBackend(StatsdaemonOptions options, std::shared_ptr<tls::TlsContext> tls);
  ~StatsdaemonBackend() override;

  std::string_view Name() const override { return kName; }
  bool WantsRawValues() const override { return true; }
  Status SendMetrics(const snapshot::FlushSnapshot& snapshot) override;
  Status SendEvent(const Event& event) override;
  bool CarriesServiceChecks() const override { return true; }
  Status SendServiceCheck(const ServiceCheck& check) override;
  void Interrupt() override { tcp_.Interrupt(); }

  // The packets for a snapshot, each at most max_packet bytes of '\n'-separated lines (a single
  // longer line goes alone).
  static std::vector<std::string> FormatPackets(const snapshot::FlushSnapshot& s, bool disable_tags,
                                                size_t max_packet);
  static std::string FormatEvent(const Event& e, bool disable_tags);
  // A DogStatsD `_sc|...` line (docs/backends.md#service-checks), `m:` last; a newline in the
  // message is written as `\n`.
  static std::string FormatServiceCheck(const ServiceCheck& c, bool disable_tags);

 private:
  Status SendUdp(const std::vector<std::string>& packets);
  // One event or service check line: a datagram, or a TCP connection of its own.
  Status SendAlone(std::string line);
  Status OpenUdp();
  void CloseUdp();

  StatsdaemonOptions options_;
  std::shared_ptr<tls::TlsContext> tls_;  // null without tls_transport
  TcpClient tcp_;
  int udp_fd_ = -1;
};

}  // namespace cstatsd::backends::statsdaemon
