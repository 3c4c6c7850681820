#include "http/ingestion.h"

#include <algorithm>
#include <climits>
#include <cstdint>

#include "forward/service_check_message.h"

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

// Delivers decoded series to the pipeline: the hostnames are gathered while the message is
// checked (for the cloud lookups, only with a cloud handler), the target is locked from Begin
// (after the check) until the visitor is destroyed.
class PipelineVisitor : public forward::RawSeriesVisitor {
 public:
  PipelineVisitor(std::mutex& mu, cloud::CloudHandler* handler, std::chrono::milliseconds wait,
                  std::function<void()> on_lock, wire::BudgetLease* lease,
                  std::function<void(const forward::RawSeries&)> deliver)
      : mu_(mu),
        handler_(handler),
        wait_(wait),
        on_lock_(std::move(on_lock)),
        lease_(lease),
        deliver_(std::move(deliver)) {}

  void Checked(const forward::RawSeries& s) override {
    if (handler_ == nullptr || s.hostname.empty() || !hosts_ok_) return;
    if (hosts_.size() == hosts_.capacity()) {
      const size_t grow = std::max<size_t>(16, hosts_.capacity());
      if (lease_ != nullptr && !lease_->Grow(grow * sizeof(std::string_view))) {
        hosts_ok_ = false;  // no room to gather them: the lookups start as the series arrive
        return;
      }
      hosts_.reserve(hosts_.capacity() + grow);
    }
    hosts_.push_back(s.hostname);
  }
  void Begin(size_t /*series*/) override {
    if (handler_ != nullptr && !hosts_.empty()) {
      std::sort(hosts_.begin(), hosts_.end());
      hosts_.erase(std::unique(hosts_.begin(), hosts_.end()), hosts_.end());
      handler_->Await(std::vector<std::string>(hosts_.begin(), hosts_.end()), wait_);
    }
    lock_ = std::unique_lock(mu_);
    on_lock_();
  }
  void Series(const forward::RawSeries& s) override { deliver_(s); }

 private:
  std::mutex& mu_;
  cloud::CloudHandler* handler_;
  std::chrono::milliseconds wait_;
  std::function<void()> on_lock_;
  wire::BudgetLease* lease_;
  std::function<void(const forward::RawSeries&)> deliver_;
  std::vector<std::string_view> hosts_;
  bool hosts_ok_ = true;
  std::unique_lock<std::mutex> lock_;
};

}  // namespace

forward::DecodeStatus IngestTarget::AddMetrics(std::string_view wire,
                                               const forward::DecodeLimits& limits,
                                               wire::BudgetLease* lease, int64_t now_ns,
                                               size_t* refused) {
  cloud::CloudHandler* handler = nullptr;
  {
    std::lock_guard lock(mu_);
    if (cloud_) handler = cloud_->handler();
  }
  // Runs under mu_ (taken in Begin, after the whole message passed its checks).
  MetricMap* out = nullptr;
  auto on_lock = [&] {
    if (cloud_) cloud_->Refresh();
    out = &maps_[active_];
  };
  pipeline::AggregatedSeries& s = series_;
  // The inner map key (the forwarder's tagsKey) is ignored: the series is re-keyed from its
  // Tags and Hostname by this server's rules (docs/http.md#ingestion).
  auto deliver = [&](const forward::RawSeries& r) {
    s.type = r.type;
    s.name = r.name;
    s.tags.assign(r.tags.begin(), r.tags.end());
    s.counter = r.counter;
    s.has_float_counter = r.has_float_counter;
    s.float_counter = r.float_counter;
    s.gauge = r.gauge;
    s.timer_values = r.timer_values.data();
    s.timer_count = r.timer_values.size();
    s.sample_count = r.sample_count;
    s.timer_kind = r.timer_kind;
    s.set_members.assign(r.set_members.begin(), r.set_members.end());
    if (!pipeline_.ReceiveAggregated(s, r.hostname, now_ns, *out) && refused != nullptr) {
      ++*refused;
    }
  };
  forward::DecodeStatus st;
  {
    PipelineVisitor visitor(mu_, handler, cloud_wait_, on_lock, lease, deliver);
    st = forward::DecodeRawMessage(wire, limits, lease, visitor);
    // Under mu_ still when the message was delivered: the scratch views die here.
    if (st.ok()) {
      s.tags.clear();
      s.timer_values = nullptr;
      s.timer_count = 0;
      s.set_members.clear();
    }
  }
  return st;
}

void IngestTarget::AddEvent(Event&& e) {
  const std::string hostname = e.source;
  cloud::CloudHandler* handler = nullptr;
  {
    std::lock_guard lock(mu_);
    if (cloud_) handler = cloud_->handler();
  }
  if (handler != nullptr) handler->Await({hostname}, cloud_wait_);
  std::lock_guard lock(mu_);
  // Source = the Hostname field (SourceIP is ignored, docs/http.md#ingestion), default tags added.
  pipeline_.ReceiveEvent(e, hostname);
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

void IngestTarget::AddServiceCheck(ServiceCheck&& c) {
  cloud::CloudHandler* handler = nullptr;
  {
    std::lock_guard lock(mu_);
    if (cloud_) handler = cloud_->handler();
  }
  if (handler != nullptr) handler->Await({c.source}, cloud_wait_);
  std::lock_guard lock(mu_);
  pipeline::UniqueEventTags(c.tags, options_.default_tags);
  if (cloud_) {
    cloud_->Refresh();
    // As in a worker (docs/protocol.md#service-checks): the pod of a known container id, else
    // the source's instance, adds its tags; the source is kept.
    const cloud::Instance* instance =
        c.container_id.empty() ? nullptr : cloud_->ResolveContainer(c.container_id);
    if (instance == nullptr) instance = cloud_->Resolve(c.source, 0, false).instance;
    if (instance != nullptr) {
      for (const std::string& t : instance->tags) {
        if (std::find(c.tags.begin(), c.tags.end(), t) == c.tags.end()) c.tags.push_back(t);
      }
    }
  }
  if (check_sink_) check_sink_(std::move(c));
}

void IngestTarget::SetServiceCheckSink(std::function<void(ServiceCheck&&)> sink) {
  std::lock_guard lock(mu_);
  check_sink_ = std::move(sink);
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
    case IngestFailure::kLimit:
      return "limit";
    case IngestFailure::kOverBudget:
      return "over-budget";
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
    case IngestFailure::kLimit:
      c = &counters.failure_limit;
      break;
    case IngestFailure::kOverBudget:
      c = &counters.failure_over_budget;
      break;
    case IngestFailure::kNone:
      break;
  }
  if (c != nullptr) c->fetch_add(1, std::memory_order_relaxed);
  return IngestResult{status, failure, std::move(message)};
}

// Bytes of an HTTP thread's decompression buffer kept between requests.
constexpr size_t kKeepInflated = size_t{1} << 20;

// How long a sender refused for the memory budget is asked to wait.
constexpr int kRetryAfterSeconds = 1;

IngestResult OverBudget(const wire::BudgetLease& lease, uint64_t budget, IngestCounters& counters) {
  if (lease.never_fits()) {
    return Fail(413, IngestFailure::kTooLarge,
                "request needs more than max-ingest-memory=" + std::to_string(budget) + " bytes",
                counters);
  }
  IngestResult r =
      Fail(503, IngestFailure::kOverBudget,
           "max-ingest-memory=" + std::to_string(budget) + " bytes in use by requests in flight",
           counters);
  r.retry_after_s = kRetryAfterSeconds;
  return r;
}

// The option name of a decoder limit, for the log.
std::string_view LimitKey(forward::DecodeError e) {
  switch (e) {
    case forward::DecodeError::kSeries:
      return "max-ingest-series";
    case forward::DecodeError::kTags:
      return "max-ingest-tags";
    case forward::DecodeError::kTagLength:
      return "max-ingest-tag-length";
    case forward::DecodeError::kNameLength:
      return "max-ingest-name-length";
    case forward::DecodeError::kTimerValues:
      return "max-ingest-timer-values";
    case forward::DecodeError::kSetMembers:
      return "max-ingest-set-members";
    case forward::DecodeError::kRequestSetMembers:
      return "max-ingest-request-set-members";
    default:
      return "";
  }
}

IngestResult DecodeFailure(IngestKind kind, const forward::DecodeStatus& st,
                           const wire::BudgetLease& lease, uint64_t budget,
                           IngestCounters& counters) {
  if (st.error == forward::DecodeError::kOverBudget) return OverBudget(lease, budget, counters);
  if (st.error == forward::DecodeError::kMalformed) {
    return Fail(400, IngestFailure::kUnmarshal,
                std::string(kind == IngestKind::kRaw     ? "failed to unmarshal RawMessageV2: "
                            : kind == IngestKind::kEvent ? "failed to unmarshal EventV2: "
                                                         : "failed to unmarshal ServiceCheckV2: ") +
                    st.message,
                counters);
  }
  return Fail(413, IngestFailure::kLimit, st.message + " (" + std::string(LimitKey(st.error)) + ")",
              counters);
}

size_t AsSize(int64_t v) { return static_cast<size_t>(std::max<int64_t>(v, 0)); }

}  // namespace

forward::DecodeLimits IngestDecodeLimits(const HttpServerOptions& o) {
  forward::DecodeLimits l;
  l.max_series = AsSize(o.max_ingest_series);
  l.max_tags = AsSize(o.max_ingest_tags);
  l.max_tag_length = AsSize(o.max_ingest_tag_length);
  l.max_name_length = AsSize(o.max_ingest_name_length);
  l.max_timer_values = AsSize(o.max_ingest_timer_values);
  l.max_set_members = AsSize(o.max_ingest_set_members);
  l.max_request_set_members = AsSize(o.max_ingest_request_set_members);
  return l;
}

IngestResult HandleIngest(IngestKind kind, const IngestBody& body, size_t max_body, int64_t now_ns,
                          IngestTarget& target, IngestCounters& counters) {
  HttpServerOptions options;
  options.max_request_body_size = static_cast<int64_t>(std::min<size_t>(max_body, INT64_MAX));
  return HandleIngest(kind, body, options, now_ns, target, counters);
}

IngestResult HandleIngest(IngestKind kind, const IngestBody& body, const HttpServerOptions& options,
                          int64_t now_ns, IngestTarget& target, IngestCounters& counters) {
  const size_t max_body = AsSize(options.max_request_body_size);
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

  // Everything this request holds is taken from the server's budget and given back when
  // `lease` goes, on every path out of here. The body as sent is already held by the caller.
  const uint64_t budget = static_cast<uint64_t>(std::max<int64_t>(options.max_ingest_memory, 0));
  wire::BudgetLease lease(&counters.bytes_in_flight, budget);
  if (!lease.Grow(body.data.size())) return OverBudget(lease, budget, counters);

  std::string_view data = body.data;
  // Decompressed bodies go to a mapping of this thread's, reused from request to request: its
  // first kKeepInflated bytes stay (no page faults for the usual small bodies), the rest goes
  // back to the system after every request, whatever its answer.
  thread_local wire::PageBuffer inflated;
  struct TrimAfter {
    ~TrimAfter() { inflated.Trim(kKeepInflated); }
  } trim_after;
  if (compression != wire::Compression::kNone) {
    std::string why;
    const wire::DecompressError err =
        wire::DecompressTo(compression, data, max_body, &lease, inflated, why);
    switch (err) {
      case wire::DecompressError::kNone:
        break;
      case wire::DecompressError::kTooLarge:
        return Fail(
            413, IngestFailure::kTooLarge,
            "decompressed body larger than max-request-body-size=" + std::to_string(max_body),
            counters);
      case wire::DecompressError::kOverBudget:
        return OverBudget(lease, budget, counters);
      case wire::DecompressError::kCorrupt:
        return Fail(400, IngestFailure::kDecompress, "failed decompressing body: " + why, counters);
    }
    data = inflated.view();
  }

  const forward::DecodeLimits limits = IngestDecodeLimits(options);
  if (kind == IngestKind::kRaw) {
    size_t refused = 0;
    const forward::DecodeStatus st = target.AddMetrics(data, limits, &lease, now_ns, &refused);
    if (!st.ok()) return DecodeFailure(kind, st, lease, budget, counters);
    counters.metrics.fetch_add(st.series, std::memory_order_relaxed);
    counters.metrics_refused.fetch_add(refused, std::memory_order_relaxed);
  } else if (kind == IngestKind::kCheck) {
    // The check's strings are copies of the body's: that much more.
    if (!lease.Grow(data.size())) return OverBudget(lease, budget, counters);
    ServiceCheck c;
    const forward::DecodeStatus st = forward::DecodeServiceCheck(data, limits, c);
    if (!st.ok()) return DecodeFailure(kind, st, lease, budget, counters);
    target.AddServiceCheck(std::move(c));
    counters.service_checks.fetch_add(1, std::memory_order_relaxed);
  } else {
    // The event's strings are copies of the body's: that much more.
    if (!lease.Grow(data.size())) return OverBudget(lease, budget, counters);
    Event e;
    const forward::DecodeStatus st = forward::DecodeEvent(data, limits, e);
    if (!st.ok()) return DecodeFailure(kind, st, lease, budget, counters);
    target.AddEvent(std::move(e));
    counters.events.fetch_add(1, std::memory_order_relaxed);
  }
  counters.success.fetch_add(1, std::memory_order_relaxed);
  return IngestResult{};
}

}  // namespace cstatsd::http
