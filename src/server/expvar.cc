#include "server/expvar.h"

#include <chrono>
#include <string>

#include "core/version.h"
#include "ingest/kernel_drops.h"
#include "wire/compression.h"

namespace cstatsd::server {

nlohmann::json ExpvarVars(const config::Options& options, const Components& parts,
                          bool timed_flush) {
  nlohmann::json j = nlohmann::json::object();
  j["version"] = std::string(Version());
  j["commit"] = std::string(GitCommit());
  j["settings"] = config::OptionsAsJson(options);
  const auto [datagrams, batches, metrics, events, bad, truncated] = SumWorkerCounters(parts);
  j["counters"] = {{"receiver.datagrams_received", datagrams},
                   {"receiver.batches_read", batches},
                   {"receiver.datagrams_truncated", truncated},
                   {"parser.metrics_received", metrics},
                   {"parser.events_received", events},
                   {"parser.bad_lines_seen", bad},
                   {"receiver.kernel_drops", ingest::KernelDrops(parts.fds)}};
  if (parts.tcp_receiver) {
    const auto& t = parts.tcp_receiver->counters();
    j["counters"]["receiver.tcp_connections"] = stats::Read(t.open);
    j["counters"]["receiver.tcp_connections_refused"] = stats::Read(t.refused);
    j["counters"]["receiver.tcp_connections_timed_out"] = stats::Read(t.timed_out);
  }
  nlohmann::json backends = nlohmann::json::object();
  for (const auto& r : parts.runners) {
    auto& st = r->backend().stats();
    backends[std::string(r->backend().Name())] = {{"created", stats::Read(st.created)},
                                                  {"sent", stats::Read(st.sent)},
                                                  {"dropped", stats::Read(st.dropped)},
                                                  {"series_sent", stats::Read(st.series_sent)},
                                                  {"retried", stats::Read(st.retried)}};
  }
  j["backends"] = backends;
  nlohmann::json servers = nlohmann::json::object();
  for (const auto& h : parts.http_servers) {
    const auto& c = h->counters();
    servers[h->options().name] = {
        {"address", h->options().address},
        {"port", h->port()},
        {"enable-healthcheck", h->options().enable_healthcheck},
        {"enable-expvar", h->options().enable_expvar},
        {"enable-ingestion", h->options().enable_ingestion},
        {"enable-prof", h->options().enable_prof},
        {"enable-status", h->options().enable_status},
        {"max-request-body-size", h->options().max_request_body_size},
        {"max-connections", h->options().max_connections},
        {"max-connections-per-ip", h->options().max_connections_per_ip},
        {"max-header-bytes", h->options().max_header_bytes},
        {"ingestion-threads", h->options().ingestion_threads},
        {"connections", stats::Read(h->server_counters().connections_open)},
        {"connections-peak", stats::Read(h->server_counters().connections_peak)},
        {"connections-accepted", stats::Read(h->server_counters().connections_accepted)},
        {"incoming.success", stats::Read(c.success)},
        {"incoming.failure.read", stats::Read(c.failure_read)},
        {"incoming.failure.decompress", stats::Read(c.failure_decompress)},
        {"incoming.failure.encoding", stats::Read(c.failure_encoding)},
        {"incoming.failure.unmarshal", stats::Read(c.failure_unmarshal)},
        {"incoming.failure.too-large", stats::Read(c.failure_too_large)},
        {"incoming.failure.limit", stats::Read(c.failure_limit)},
        {"incoming.failure.over-budget", stats::Read(c.failure_over_budget)},
        {"ingest.bytes-in-flight", stats::Read(c.bytes_in_flight)},
        {"max-ingest-memory", h->options().max_ingest_memory},
        {"incoming.metrics", stats::Read(c.metrics)},
        {"incoming.metrics-refused", stats::Read(c.metrics_refused)},
        {"incoming.events", stats::Read(c.events)}};
    for (size_t r = 0; r < http::kRefusalCount; ++r) {  // http.refused, cumulative
      const std::string reason(http::RefusalName(static_cast<http::Refusal>(r)));
      servers[h->options().name]["refused." + reason] =
          stats::Read(h->server_counters().refused[r]);
    }
  }
  j["http"] = servers;
  if (parts.forwarder) {
    // Forwarder mode: [http-transport] as in effect, and the http.forwarder.* counts since the
    // start (the internal metrics report them per flush).
    const auto& fo = parts.forwarder->options();
    auto ms = [](auto d) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    };
    const forward::ForwarderStats t = parts.forwarder->Totals();
    j["forwarder"] = {
        {"settings",
         {{"api-endpoint", fo.api_endpoint},
          {"api-endpoints", fo.api_endpoints},
          {"endpoint-failure-threshold", fo.endpoint_failure_threshold},
          {"endpoint-probe-max-interval", config::FormatGoDuration(fo.endpoint_probe_max_interval)},
          {"transport", fo.transport},
          {"compress", fo.compression != wire::Compression::kNone},
          {"compression-type", fo.compression == wire::Compression::kLz4    ? "lz4"
                               : fo.compression == wire::Compression::kNone ? "none"
                                                                            : "zlib"},
          {"compression-level", fo.compression_level},
          {"max-requests", fo.max_requests},
          {"concurrent-merge", fo.concurrent_merge},
          {"consolidator-slots", fo.consolidator_slots},
          {"max-request-elapsed-time", config::FormatGoDuration(fo.max_request_elapsed_time)},
          {"flush-interval", config::FormatGoDuration(fo.flush_interval)},
          {"flush", timed_flush ? "timed" : "manual"},
          {"custom-headers", fo.custom_headers},
          {"dynamic-headers", fo.dynamic_headers},
          {"fast-fail-on-non-retryable-errors", fo.fast_fail_on_non_retryable_errors}}},
        {"counters",
         {{"http.forwarder.invalid", t.invalid},
          {"http.forwarder.created", t.created},
          {"http.forwarder.sent", t.sent},
          {"http.forwarder.retried", t.retried},
          {"http.forwarder.dropped", t.dropped}}},
        {"outstanding", parts.forwarder->outstanding()}};
    const auto last = parts.forwarder->LastSuccessfulSend();
    j["forwarder"]["last-successful-send-unix-ms"] =
        last ? nlohmann::json(ms(last->time_since_epoch())) : nlohmann::json(nullptr);
    // Several aggregators (docs/forwarder.md#health): each one's state and forwarder.* counts.
    const auto endpoints = parts.forwarder->EndpointTotals();
    if (endpoints.size() > 1) {
      nlohmann::json list = nlohmann::json::array();
      for (const forward::EndpointStatus& e : endpoints) {
        list.push_back({{"url", e.url},
                        {"state", !e.in_set ? "removed"
                                  : e.up    ? "up"
                                            : "down"},
                        {"consecutive-failures", e.consecutive_failures},
                        {"forwarder.posts", e.counts.posts},
                        {"forwarder.failures", e.counts.failures},
                        {"forwarder.rerouted_series", e.counts.rerouted_series},
                        {"forwarder.dropped_series", e.counts.dropped_series},
                        {"forwarder.dropped_messages", e.counts.dropped_messages}});
      }
      j["forwarder"]["endpoints"] = std::move(list);
    }
  }
  if (parts.discovery) {  // docs/scaling.md#discovery-by-dns
    const forward::DnsDiscoveryStats d = parts.discovery->Totals();
    j["forwarder"]["dns"] = {{"name", parts.forwarder->options().dns.name},
                             {"endpoints", parts.discovery->endpoints()},
                             {"forwarder.dns.lookups", d.lookups},
                             {"forwarder.dns.failed", d.failed},
                             {"forwarder.dns.changes", d.changes}};
  }
  return j;
}

}  // namespace cstatsd::server
