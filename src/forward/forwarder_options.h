// ForwarderOptions: the `[http-transport]` section of forwarder mode
// (docs/forwarder.md#http-transport). Loaded once on the main thread at startup; read-only
// afterwards.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "forward/dns_discovery.h"
#include "wire/compression.h"

namespace cstatsd::forward {

using Duration = std::chrono::nanoseconds;

struct ForwarderOptions {
  std::string api_endpoint;  // api-endpoint: base URL; /v2/raw, /v2/event added
  // api-endpoints: more aggregators' base URLs; together with api-endpoint (the union) the series
  // are sharded over them (docs/forwarder.md#sharding). One of the two (or api-endpoints-dns) is
  // required.
  std::vector<std::string> api_endpoints;
  // endpoint-failure-threshold: failed posts in a row (no answer, a timeout, a 5xx) after which an
  // aggregator leaves the ring (docs/forwarder.md#health); default 3. Only with several.
  int endpoint_failure_threshold = 3;
  // endpoint-probe-max-interval: the longest wait between two probes of an aggregator out of the
  // ring (the waits double from 1 s); default 30s.
  Duration endpoint_probe_max_interval = std::chrono::seconds(30);
  std::string transport = "default";  // transport: name of a [transport.<name>] section
  // compress (default true) and compression-type (zlib | lz4 | none); compress=false → none.
  wire::Compression compression = wire::Compression::kZlib;
  int compression_level = 9;  // compression-level: 0–9 (zlib 0 = store; lz4 0 = fast)
  int max_requests = 1000;    // max-requests: concurrent POSTs (a backoff wait included)
  // concurrent-merge and consolidator-slots: validated and accepted; in cstatsd the workers'
  // own maps are the consolidator slots and the flusher merges them (docs/forwarder.md).
  int concurrent_merge = 1;
  int consolidator_slots = 0;  // default: the number of CPUs
  // max-request-elapsed-time: retry budget of one request; -1 = never retry.
  Duration max_request_elapsed_time = std::chrono::seconds(30);
  Duration flush_interval = std::chrono::seconds(1);  // flush-interval: how often to POST
  // custom-headers: added to every request, names canonicalised ("x-team" → "X-Team").
  std::map<std::string, std::string> custom_headers;
  // dynamic-headers: tag names whose values become headers (docs/forwarder.md#what-is-sent); names
  // that custom-headers already sets are removed (custom headers win).
  std::vector<std::string> dynamic_headers;
  // fast-fail-on-non-retryable-errors (also fail-fast-…, docs/compatibility.md#decision-8).
  bool fast_fail_on_non_retryable_errors = false;
  // The top-level float-counters (not a key of [http-transport]): the merged counters hold
  // doubles, sent as RawCounterV2.FloatValue too (docs/forwarder.md#schema).
  bool float_counters = false;
  // api-endpoints-dns, dns-refresh-period, dns-server, dns-timeout: the aggregators found by DNS
  // (docs/scaling.md#discovery-by-dns).
  DnsDiscoveryOptions dns;

  // Every configured aggregator: api-endpoint and api-endpoints, sorted, without duplicates.
  std::vector<std::string> Endpoints() const;

  // Reads and validates [http-transport]; every problem is listed, each naming its key.
  // Unknown keys are appended to `warnings`.
  static Result<ForwarderOptions> Load(const config::Config& config,
                                       std::vector<std::string>* warnings);
};

// Go's http.CanonicalHeaderKey: "x-api_key" → "X-Api_key"; a name with a byte that is not a
// token character is returned unchanged.
std::string CanonicalHeaderKey(std::string_view name);

// The header a dynamic-headers tag name becomes: '_' → '-', then canonicalised.
std::string DynamicHeaderName(std::string_view tag_name);

}  // namespace cstatsd::forward
