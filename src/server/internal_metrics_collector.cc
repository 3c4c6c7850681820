#include "server/internal_metrics_collector.h"

#include <string>

#include "core/version.h"
#include "ingest/kernel_drops.h"

namespace cstatsd::server {

void InternalMetricsCollector::Collect(const FlushFigures& flush, InternalStats& s) {
  const auto [datagrams, batches, metrics, events, bad, truncated] = SumWorkerCounters(parts_);
  // "reported" metrics: gauges of the total standalone, counters of the change when forwarding.
  s.Report("receiver.datagrams_received", datagrams);
  s.Report("receiver.batches_read", batches);
  // cstatsd: datagrams the kernel dropped because a socket buffer was full.
  s.Gauge("receiver.kernel_drops", static_cast<double>(ingest::KernelDrops(parts_.fds)));
  // cstatsd: datagrams longer than receive-buffer-size, cut by the kernel (their tail is lost).
  s.SparseGauge("receiver.datagrams_truncated", truncated);
  s.Report("parser.metrics_received", metrics);
  s.Report("parser.events_received", events);
  // cstatsd: DogStatsD service checks parsed (docs/protocol.md#service-checks).
  uint64_t service_checks = 0;
  for (const auto& w : parts_.workers)
    service_checks += stats::Read(w->counters().service_checks_received);
  s.Report("parser.service_checks_received", service_checks);
  s.SparseGauge("parser.bad_lines_seen", bad);
  // cstatsd (docs/limits.md): series held (against max-series), values of new series folded
  // into an overflow series, values dropped past the overflow series' bound, flushes that ran
  // past the next tick.
  const aggregate::Aggregator& agg = *flush.aggregator;
  s.Gauge("aggregator.series", static_cast<double>(agg.series()), {"aggregator_id:0"});
  s.Report("aggregator.series_overflowed", agg.series_overflowed(), {"aggregator_id:0"});
  s.Report("aggregator.series_dropped", agg.series_dropped(), {"aggregator_id:0"});
  s.Report("flusher.overruns", flush.overruns);
  // cstatsd: DogStatsD timestamped samples dropped (docs/aggregation.md#timestamped-samples).
  s.SparseGauge("aggregator.timestamped_dropped", flush.timed_dropped_window,
                {"aggregator_id:0", "reason:window"});
  s.SparseGauge("aggregator.timestamped_dropped", flush.timed_dropped_limit,
                {"aggregator_id:0", "reason:limit"});
  if (parts_.tcp_receiver) {
    // cstatsd: TCP input connections open now, refused (over the cap or out of fds), timed out.
    const auto& t = parts_.tcp_receiver->counters();
    s.Gauge("receiver.tcp_connections", static_cast<double>(stats::Read(t.open)));
    s.SparseGauge("receiver.tcp_connections_refused", stats::Read(t.refused));
    s.SparseGauge("receiver.tcp_connections_timed_out", stats::Read(t.timed_out));
  }
  if (parts_.capture) {
    // cstatsd: --capture (docs/capture.md): datagrams and bytes written, datagrams left out.
    const capture::CaptureCounters c = parts_.capture->counters();
    s.Report("capture.written_datagrams", c.written_datagrams);
    s.Report("capture.written_bytes", c.written_bytes);
    s.Report("capture.dropped_datagrams", c.dropped_datagrams);
    s.SparseGauge("capture.write_errors", c.write_errors);
  }
  CollectCloud(s);
  CollectHttpIngest(s);
  if (parts_.forwarder) {
    CollectForwarder(s);
    return;
  }
  const std::vector<std::string> agg_tags = {"aggregator_id:0"};
  s.Gauge("aggregator.metricmaps_received", static_cast<double>(flush.maps_merged), agg_tags);
  s.Gauge("aggregator.aggregation_time", flush.aggregation_ms, agg_tags);
  s.Gauge("aggregator.process_time", flush.process_ms, agg_tags);
  s.Gauge("aggregator.reset_time", flush.reset_ms, agg_tags);
  s.Gauge("flusher.total_time", flush.total_ms);
  for (const auto& r : parts_.runners) {
    auto& st = r->backend().stats();
    std::vector<std::string> tags = {"backend:" + std::string(r->backend().Name())};
    s.Gauge("backend.created", static_cast<double>(stats::Read(st.created)), tags);
    s.Gauge("backend.sent", static_cast<double>(stats::Read(st.sent)), tags);
    s.Gauge("backend.dropped", static_cast<double>(stats::Read(st.dropped)), tags);
    s.Gauge("backend.series.sent", static_cast<double>(stats::Read(st.series_sent)), tags);
    s.SparseGauge("backend.retried", stats::Read(st.retried), tags);
    // cstatsd: service checks delivered and lost (docs/backends.md#service-checks).
    s.SparseGauge("backend.service_checks.sent", stats::Read(st.service_checks_sent), tags);
    s.SparseGauge("backend.service_checks.dropped", stats::Read(st.service_checks_dropped), tags);
  }
  if (options_.heartbeat_enabled) {
    s.Gauge("heartbeat", 1,
            {"version:" + std::string(Version()), "commit:" + std::string(GitCommit())});
  }
}

// http.incoming*: counters of the interval, per ingestion server, in either mode
// (docs/internal-metrics.md).
void InternalMetricsCollector::CollectHttpIngest(InternalStats& s) {
  http_reported_.resize(parts_.http_servers.size());
  for (size_t i = 0; i < parts_.http_servers.size(); ++i) {
    auto& h = *parts_.http_servers[i];
    // http.refused (cstatsd): connections and requests the server's limits refused (only
    // reasons that occurred in the interval).
    h.TakeRefusals([&](std::string_view reason, uint64_t n) {
      if (n > 0) {
        s.Counter("http.refused", n,
                  {"server-name:" + h.options().name, "reason:" + std::string(reason)});
      }
    });
    if (!h.options().enable_ingestion) continue;
    const auto& c = h.counters();
    IngestReported now{stats::Read(c.success),
                       stats::Read(c.failure_read),
                       stats::Read(c.failure_decompress),
                       stats::Read(c.failure_encoding),
                       stats::Read(c.failure_unmarshal),
                       stats::Read(c.failure_too_large),
                       stats::Read(c.metrics),
                       stats::Read(c.events),
                       stats::Read(c.failure_limit),
                       stats::Read(c.failure_over_budget),
                       stats::Read(c.metrics_refused),
                       stats::Read(c.service_checks)};
    IngestReported& last = http_reported_[i];
    const std::string server = "server-name:" + h.options().name;
    auto failure = [&](uint64_t n, uint64_t before, const char* why) {
      s.Counter("http.incoming", n - before,
                {server, "result:failure", std::string("failure:") + why});
    };
    s.Counter("http.incoming", now.success - last.success, {server, "result:success"});
    failure(now.read, last.read, "read");
    failure(now.decompress, last.decompress, "decompress");
    failure(now.encoding, last.encoding, "encoding");
    failure(now.unmarshal, last.unmarshal, "unmarshal");
    failure(now.too_large, last.too_large, "too-large");  // cstatsd: max-request-body-size
    failure(now.limit, last.limit, "limit");              // cstatsd: max-ingest-* (docs/limits.md)
    failure(now.over_budget, last.over_budget, "over-budget");  // cstatsd: max-ingest-memory
    s.Counter("http.incoming.metrics", now.metrics - last.metrics, {server});
    s.Counter("http.incoming.events", now.events - last.events, {server});
    s.Counter("http.incoming.service_checks", now.service_checks - last.service_checks, {server});
    // cstatsd: series the value rules refused (docs/limits.md, "Lines and values")
    s.Counter("http.incoming.metrics_refused", now.metrics_refused - last.metrics_refused,
              {server});
    last = now;
  }
}

void InternalMetricsCollector::CollectCloud(InternalStats& s) {
  if (!parts_.cloud) return;
  uint64_t hits = 0, misses = 0;
  for (const auto& w : parts_.workers) {
    if (const cloud::Enricher* e = w->enricher()) {
      hits += stats::Read(e->hits);
      misses += stats::Read(e->misses);
    }
  }
  const cloud::HandlerStats c = parts_.cloud->stats();
  s.Gauge("cloudprovider.cache_positive", static_cast<double>(c.cache_positive));
  s.Gauge("cloudprovider.cache_negative", static_cast<double>(c.cache_negative));
  s.Report("cloudprovider.cache_refresh_positive", c.refresh_positive);
  s.Report("cloudprovider.cache_refresh_negative", c.refresh_negative);
  s.Report("cloudprovider.cache_hit", hits);
  s.Report("cloudprovider.cache_miss", misses);
  s.Gauge("cloudprovider.hosts_queued", static_cast<double>(c.hosts_queued_metrics),
          {"type:metric"});
  s.Gauge("cloudprovider.hosts_queued", static_cast<double>(c.hosts_queued_events), {"type:event"});
  s.Gauge("cloudprovider.items_queued", static_cast<double>(c.items_queued_events), {"type:event"});
  // cstatsd: metric lines waiting, and what full queues refused.
  s.Gauge("cloudprovider.items_queued", static_cast<double>(c.items_queued_metrics),
          {"type:metric"});
  s.Report("cloudprovider.items_dropped", c.items_dropped_metrics, {"type:metric"});
  s.Report("cloudprovider.items_dropped", c.items_dropped_events, {"type:event"});
  std::vector<cloud::ProviderStat> provider_stats;
  parts_.cloud->provider().Stats(provider_stats);
  for (const auto& ps : provider_stats) s.Report(ps.name, ps.value);
}

void InternalMetricsCollector::CollectForwarder(InternalStats& s) {
  const forward::ForwarderStats f = parts_.forwarder->TakeStats();
  s.Counter("http.forwarder.invalid", static_cast<double>(f.invalid));
  s.Counter("http.forwarder.created", static_cast<double>(f.created));
  s.Counter("http.forwarder.sent", static_cast<double>(f.sent));
  s.Counter("http.forwarder.retried", static_cast<double>(f.retried));
  s.Counter("http.forwarder.dropped", static_cast<double>(f.dropped));
  s.Counter("http.forwarder.post_latency.sum", f.post_latency_sum_ms);
  s.Gauge("http.forwarder.post_latency.max", f.post_latency_max_ms);
  // Several aggregators (docs/forwarder.md#health): per aggregator, tagged
  // endpoint:<url>.
  const std::vector<forward::EndpointStatus> endpoints = parts_.forwarder->TakeEndpointStats();
  if (endpoints.size() > 1) {
    for (const forward::EndpointStatus& e : endpoints) {
      std::vector<std::string> tags = {"endpoint:" + e.url};
      s.Counter("forwarder.posts", static_cast<double>(e.counts.posts), tags);
      s.Counter("forwarder.failures", static_cast<double>(e.counts.failures), tags);
      s.Counter("forwarder.rerouted_series", static_cast<double>(e.counts.rerouted_series), tags);
      s.Counter("forwarder.dropped_series", static_cast<double>(e.counts.dropped_series), tags);
      s.Counter("forwarder.dropped_messages", static_cast<double>(e.counts.dropped_messages), tags);
      s.Gauge("forwarder.endpoint_up", e.up && e.in_set ? 1 : 0, std::move(tags));
    }
  }
  if (parts_.discovery) {  // docs/scaling.md#discovery-by-dns
    const forward::DnsDiscoveryStats d = parts_.discovery->Totals();
    s.Counter("forwarder.dns.lookups", static_cast<double>(d.lookups - dns_reported_.lookups));
    s.Counter("forwarder.dns.failed", static_cast<double>(d.failed - dns_reported_.failed));
    s.Counter("forwarder.dns.changes", static_cast<double>(d.changes - dns_reported_.changes));
    s.Gauge("forwarder.dns.endpoints", static_cast<double>(d.endpoints));
    dns_reported_ = d;
  }
  if (options_.heartbeat_enabled) {
    s.Counter("heartbeat", 1,
              {"version:" + std::string(Version()), "commit:" + std::string(GitCommit())});
  }
}

}  // namespace cstatsd::server
