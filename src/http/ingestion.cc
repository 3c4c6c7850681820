#include "http/ingestion.h"

#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <climits>
#include <optional>

#include "gostatsd.pb.h"
#include "wire/compression.h"

namespace cstatsd::http {

IngestTarget::IngestTarget(pipeline::PipelineOptions options)
    : options_(std::move(options)), pipeline_(&options_) {}

void IngestTarget::SetCloud(cloud::CloudHandler* handler, std::chrono::milliseconds wait) {
  std::lock_guard lock(mu_);
  cloud_ = std::make_unique<cloud::Enricher>(handler);
  pipeline_.set_cloud(cloud_.get());
  cloud_wait_ = wait;
}

namespace {

// The distinct hostnames of a message's series.
std::vector<std::string> Hostnames(const pb::RawMessageV2& msg) {
  std::vector<std::string> out;
  auto add = [&](const std::string& h) {
    if (!h.empty() && std::find(out.begin(), out.end(), h) == out.end()) out.push_back(h);
  };
  for (const auto& [name, m] : msg.counters()) {
    for (const auto& [k, v] : m.tagmap()) add(v.hostname());
  }
  for (const auto& [name, m] : msg.gauges()) {
    for (const auto& [k, v] : m.tagmap()) add(v.hostname());
  }
  for (const auto& [name, m] : msg.timers()) {
    for (const auto& [k, v] : m.tagmap()) add(v.hostname());
  }
  for (const auto& [name, m] : msg.sets()) {
    for (const auto& [k, v] : m.tagmap()) add(v.hostname());
  }
  return out;
}

}  // namespace

size_t IngestTarget::AddMetrics(const pb::RawMessageV2& msg, int64_t now_ns) {
  cloud::CloudHandler* handler = nullptr;
  {
    std::lock_guard lock(mu_);
    if (cloud_) handler = cloud_->handler();
  }
  if (handler != nullptr) handler->Await(Hostnames(msg), cloud_wait_);
  std::lock_guard lock(mu_);
  if (cloud_) cloud_->Refresh();
  MetricMap& out = maps_[active_];
  pipeline::AggregatedSeries& s = series_;
  size_t n = 0;
  // The inner map key (the forwarder's tagsKey) is ignored: the series is re-keyed from its
  // Tags and Hostname by this server's rules (spec §5.3).
  auto start = [&](MetricType type, const std::string& name, const auto& tags) {
    s.type = type;
    s.name = name;
    s.tags.clear();
    for (const std::string& t : tags) s.tags.push_back(t);
    ++n;
  };
  for (const auto& [name, tag_map] : msg.counters()) {
    for (const auto& [tags_key, c] : tag_map.tagmap()) {
      start(MetricType::kCounter, name, c.tags());
      s.counter = c.value();
      pipeline_.ReceiveAggregated(s, c.hostname(), now_ns, out);
    }
  }
  for (const auto& [name, tag_map] : msg.gauges()) {
    for (const auto& [tags_key, g] : tag_map.tagmap()) {
      start(MetricType::kGauge, name, g.tags());
      s.gauge = g.value();
      pipeline_.ReceiveAggregated(s, g.hostname(), now_ns, out);
    }
  }
  for (const auto& [name, tag_map] : msg.timers()) {
    for (const auto& [tags_key, t] : tag_map.tagmap()) {
      start(MetricType::kTimer, name, t.tags());
      s.timer_values = t.values().data();
      s.timer_count = static_cast<size_t>(t.values_size());
      s.sample_count = t.samplecount();
      pipeline_.ReceiveAggregated(s, t.hostname(), now_ns, out);
    }
  }
  for (const auto& [name, tag_map] : msg.sets()) {
    for (const auto& [tags_key, set] : tag_map.tagmap()) {
      start(MetricType::kSet, name, set.tags());
      s.set_members.clear();
      for (const std::string& m : set.values()) s.set_members.push_back(m);
      pipeline_.ReceiveAggregated(s, set.hostname(), now_ns, out);
    }
  }
  s.timer_values = nullptr;
  s.timer_count = 0;
  s.set_members.clear();
  return n;
}

void IngestTarget::AddEvent(const pb::EventV2& msg) {
  Event e;
  e.title = msg.title();
  e.text = msg.text();
  e.date_happened = msg.datehappened();
  e.aggregation_key = msg.aggregationkey();
  e.source_type_name = msg.sourcetypename();
  e.tags.assign(msg.tags().begin(), msg.tags().end());
  // Unknown enum values (a newer sender) read as the defaults.
  e.priority = msg.priority() == pb::EventV2::Low ? EventPriority::kLow : EventPriority::kNormal;
  switch (msg.type()) {
    case pb::EventV2::Warning:
      e.alert_type = EventAlertType::kWarning;
      break;
    case pb::EventV2::Error:
      e.alert_type = EventAlertType::kError;
      break;
    case pb::EventV2::Success:
      e.alert_type = EventAlertType::kSuccess;
      break;
    default:
      e.alert_type = EventAlertType::kInfo;
      break;
  }
  cloud::CloudHandler* handler = nullptr;
  {
    std::lock_guard lock(mu_);
    if (cloud_) handler = cloud_->handler();
  }
  if (handler != nullptr) handler->Await({msg.hostname()}, cloud_wait_);
  std::lock_guard lock(mu_);
  // Source = the Hostname field (SourceIP is ignored, spec §5.3), default tags added.
  pipeline_.ReceiveEvent(e, msg.hostname());
  if (cloud_) {
    cloud_->Refresh();
    cloud_->ApplyToEvent(e, 0, false);
  }
  if (event_sink_) event_sink_(std::move(e));
}

void IngestTarget::SetEventSink(std::function<void(Event&&)> sink) {
  std::lock_guard lock(mu_);
  event_sink_ = std::move(sink);
}

MetricMap& IngestTarget::SwapForFlush() {
  std::lock_guard lock(mu_);
  MetricMap& full = maps_[active_];
  active_ = 1 - active_;
  return full;
}

std::string_view IngestFailureName(IngestFailure f) {
  switch (f) {
    case IngestFailure::kNone:
      return "";
    case IngestFailure::kRead:
      return "read";
    case IngestFailure::kDecompress:
      return "decompress";
    case IngestFailure::kEncoding:
      return "encoding";
    case IngestFailure::kUnmarshal:
      return "unmarshal";
    case IngestFailure::kTooLarge:
      return "too-large";
  }
  return "";
}

namespace {

IngestResult Fail(int status, IngestFailure failure, std::string message,
                  IngestCounters& counters) {
  std::atomic<uint64_t>* c = nullptr;
  switch (failure) {
    case IngestFailure::kRead:
      c = &counters.failure_read;
      break;
    case IngestFailure::kDecompress:
      c = &counters.failure_decompress;
      break;
    case IngestFailure::kEncoding:
      c = &counters.failure_encoding;
      break;
    case IngestFailure::kUnmarshal:
      c = &counters.failure_unmarshal;
      break;
    case IngestFailure::kTooLarge:
      c = &counters.failure_too_large;
      break;
    case IngestFailure::kNone:
      break;
  }
  if (c != nullptr) c->fetch_add(1, std::memory_order_relaxed);
  return IngestResult{status, failure, std::move(message)};
}

}  // namespace

IngestResult HandleIngest(IngestKind kind, const IngestBody& body, size_t max_body, int64_t now_ns,
                          IngestTarget& target, IngestCounters& counters) {
  if (body.too_large || body.data.size() > max_body) {
    return Fail(413, IngestFailure::kTooLarge,
                "request body larger than max-request-body-size=" + std::to_string(max_body),
                counters);
  }
  if (body.read_failed) {
    return Fail(500, IngestFailure::kRead, "failed reading body", counters);
  }
  wire::Compression compression;
  const std::string_view enc = body.encoding;
  if (!body.has_encoding || enc.empty() || enc == "identity") {
    compression = wire::Compression::kNone;
  } else if (enc == "deflate") {
    compression = wire::Compression::kZlib;
  } else if (enc == "lz4") {
    compression = wire::Compression::kLz4;
  } else {
    return Fail(400, IngestFailure::kEncoding,
                "invalid encoding \"" + std::string(enc.substr(0, 64)) + "\"", counters);
  }

  std::string_view data = body.data;
  wire::Decompressed inflated;
  if (compression != wire::Compression::kNone) {
    inflated = wire::Decompress(compression, data, max_body);
    if (inflated.error == wire::DecompressError::kTooLarge) {
      return Fail(413, IngestFailure::kTooLarge,
                  "decompressed body larger than max-request-body-size=" + std::to_string(max_body),
                  counters);
    }
    if (inflated.error != wire::DecompressError::kNone) {
      return Fail(400, IngestFailure::kDecompress, "failed decompressing body: " + inflated.message,
                  counters);
    }
    data = inflated.data;
  }
  if (data.size() > static_cast<size_t>(INT_MAX)) {
    return Fail(413, IngestFailure::kTooLarge, "body too large for protobuf", counters);
  }

  // A bad body is counted and logged (rate-limited) by the caller; protobuf's own log line
  // (e.g. invalid UTF-8 in a string field) would be one unlimited line per request.
  std::optional<google::protobuf::LogSilencer> quiet(std::in_place);
  if (kind == IngestKind::kRaw) {
    pb::RawMessageV2 msg;
    if (!msg.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
      return Fail(400, IngestFailure::kUnmarshal, "failed to unmarshal RawMessageV2", counters);
    }
    quiet.reset();
    const size_t n = target.AddMetrics(msg, now_ns);
    counters.metrics.fetch_add(n, std::memory_order_relaxed);
  } else {
    pb::EventV2 msg;
    if (!msg.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
      return Fail(400, IngestFailure::kUnmarshal, "failed to unmarshal EventV2", counters);
    }
    quiet.reset();
    target.AddEvent(msg);
    counters.events.fetch_add(1, std::memory_order_relaxed);
  }
  counters.success.fetch_add(1, std::memory_order_relaxed);
  return IngestResult{};
}

}  // namespace cstatsd::http
