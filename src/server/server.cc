#include "server/server.h"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cloud/registry.h"
#include "core/version.h"
#include "ingest/kernel_drops.h"
#include "ingest/socket.h"
#include "server/flush_schedule.h"
#include "transport/transport_options.h"
#include "wire/compression.h"

namespace cstatsd::server {
namespace {

using Clock = FlushClock;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

double MillisSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

constexpr int kSocketReceiveBuffer = 8 << 20;  // bytes; absorbs bursts while a worker parses
constexpr auto kHandOverTimeout = std::chrono::milliseconds(1000);
// How long an HTTP ingestion request waits for the cloud lookups of its sources.
constexpr auto kIngestCloudWait = std::chrono::milliseconds(5000);

// Every allocation of 128 KiB or more gets its own mapping, returned to the kernel when freed.
// By default glibc raises that threshold to the size of each large block freed (up to 32 MiB),
// after which a flush's large, short-lived arrays (snapshots, hand-over deltas, a new series
// burst's tables) come from the arenas, in among long-lived keys, and their pages stay in the
// RSS: 60 bytes per series with a million series (docs/performance.md).
void KeepLargeAllocationsMapped() { mallopt(M_MMAP_THRESHOLD, 128 * 1024); }

}  // namespace

Server::Server(config::Config config)
    : config_(std::move(config)),
      pipeline_options_(pipeline::PipelineOptions::From(config_.options)),
      aggregator_(aggregate::AggregatorOptions::From(config_.options)),
      internal_stats_(config_.options, &pipeline_options_) {
  KeepLargeAllocationsMapped();
}

Result<std::unique_ptr<Server>> Server::Create(config::Config config,
                                               backends::BackendRegistry registry) {
  std::vector<std::unique_ptr<backends::Backend>> backends;
  backends::BackendContext ctx{config, config.options};
  std::string errors;
  // Decision 11: in forwarder mode no metric backend is created.
  const bool forwarder = config.options.server_mode == "forwarder";
  for (const std::string& name : forwarder ? std::vector<std::string>{} : config.options.backends) {
    if (!registry.Has(name)) {
      std::string known;
      for (const auto& n : registry.Names()) known += (known.empty() ? "" : ", ") + n;
      errors += "backends: unknown backend \"" + name + "\" (known: " + known + ")\n";
      continue;
    }
    auto b = registry.Create(name, ctx);
    if (!b.ok()) {
      errors += b.error() + "\n";
      continue;
    }
    backends.push_back(std::move(*b));
  }
  if (!errors.empty()) {
    errors.pop_back();
    return Status::Error(errors);
  }
  return Create(std::move(config), std::move(backends));
}

Result<std::unique_ptr<Server>> Server::Create(
    config::Config config, std::vector<std::unique_ptr<backends::Backend>> backends) {
  std::unique_ptr<Server> s(new Server(std::move(config)));
  const auto& o = s->config_.options;
  s->flush_interval_ = o.flush_interval;
  {
    std::vector<std::string> warnings;
    auto filters = filter::FilterSet::Load(s->config_, &warnings);
    for (const auto& w : warnings) spdlog::warn("{}", w);
    if (!filters.ok()) return filters.status();
    if (!filters->empty()) {
      s->pipeline_options_.filters = std::make_shared<const filter::FilterSet>(std::move(*filters));
    }
  }
  {
    auto provider = cloud::CreateProvider(s->config_);
    if (!provider.ok()) return provider.status();
    s->UseCloudProvider(std::move(*provider));
    if (o.cloud_provider == "k8s" && o.ignore_host) {
      spdlog::warn("cloud-provider k8s needs the senders' IPs but ignore-host is true");
    }
  }
  if (o.server_mode == "forwarder") {
    std::vector<std::string> warnings;
    auto fo = forward::ForwarderOptions::Load(s->config_, &warnings);
    if (!fo.ok()) return fo.status();
    auto to = transport::LoadTransportOptions(s->config_, fo->transport, &warnings);
    if (!to.ok()) return to.status();
    for (const auto& w : warnings) spdlog::warn("{}", w);
    auto f = forward::HttpForwarder::Create(*fo, *to);
    if (!f.ok()) return f.status();
    s->forwarder_ = std::move(*f);
    s->flush_interval_ = fo->flush_interval;
    if (!backends.empty()) {
      spdlog::warn("forwarder mode sends to http-transport.api-endpoint; backends ignored");
      backends.clear();
    }
  }
  for (auto& b : backends) {
    if (b->WantsRawValues()) s->aggregator_.set_keep_raw_values(true);
    s->runners_.push_back(
        std::make_unique<BackendRunner>(std::move(b), static_cast<size_t>(o.backend_queue_size),
                                        static_cast<size_t>(o.max_concurrent_events)));
  }
  std::vector<std::string> warnings;
  auto http_options = http::LoadHttpServerOptions(s->config_, warnings);
  for (const auto& w : warnings) spdlog::warn("{}", w);
  if (!http_options.ok()) return http_options.status();
  for (auto& ho : *http_options) {
    if (ho.enable_ingestion && !s->http_ingest_) {
      s->http_ingest_ = std::make_shared<http::IngestTarget>(s->pipeline_options_);
    }
    http::HttpServerDeps deps;
    deps.ingest = s->http_ingest_;
    deps.health = s->health_;
    deps.vars = [srv = s.get()] { return srv->Vars(); };
    s->http_servers_.push_back(std::make_unique<http::HttpServer>(std::move(ho), std::move(deps)));
  }
  s->http_reported_.resize(s->http_servers_.size());
  if (s->forwarder_) {
    // /deepcheck: unhealthy until the forwarder has delivered once (as gostatsd), then
    // "sentRecently: lastSend=<time>".
    s->health_->AddDeepCheck("sentRecently", [f = s->forwarder_.get()]() {
      auto [healthy, message] = f->SentRecentlyCheck();
      constexpr std::string_view kPrefix = "sentRecently: ";
      if (message.rfind(kPrefix, 0) == 0) message.erase(0, kPrefix.size());
      return http::DeepCheckResult{healthy, std::move(message)};
    });
  }
  return s;
}

Server::~Server() {
  Stop();
  for (size_t i : http_abandoned_) (void)http_servers_[i].release();
}

void Server::UseCloudProvider(std::unique_ptr<cloud::Provider> provider) {
  cloud_.reset();
  if (provider) {
    cloud_ = std::make_unique<cloud::CloudHandler>(std::move(provider),
                                                   cloud::HandlerOptions::From(config_.options));
  }
}

Status Server::StartCloud() {
  if (!cloud_) return {};
  cloud_->SetEventSink([this](Event&& e) { DispatchEvent(std::move(e)); });
  Status s = cloud_->Start();
  if (!s.ok()) return s;
  return {};
}

void Server::StopCloud() {
  if (!cloud_) return;
  cloud_->Stop();
  if (cloud_thread_.joinable()) cloud_thread_.join();
  if (cloud_provider_thread_.joinable()) cloud_provider_thread_.join();
  // Lines still waiting for a lookup go into the final flush as they are (decision 10).
  std::vector<cloud::ParkedLine> lines = cloud_->ReleaseAll();
  if (!lines.empty() && !workers_.empty()) {
    spdlog::info("cloud provider stopped; {} metrics still waiting for a lookup go unenriched",
                 lines.size());
    workers_.front()->ReplayLines(lines, NowNanos());
  }
}

void Server::AddDeepCheck(std::string name, http::DeepCheck check) {
  health_->AddDeepCheck(std::move(name), std::move(check));
}

int Server::http_port(std::string_view name) const {
  for (const auto& h : http_servers_) {
    if (h->options().name == name) return h->port();
  }
  return -1;
}

Status Server::Start() {
  const auto& o = config_.options;
  auto addr = ingest::ParseListenAddress(o.metrics_addr);
  if (!addr.ok()) return addr.status();
  if (Status c = StartCloud(); !c.ok()) return c;
  const int workers = std::max(1, o.max_workers);

  if (addr->is_unix) {
    auto fd = ingest::OpenUnixgramSocket(addr->path, kSocketReceiveBuffer, &unix_file_);
    if (!fd.ok()) return fd.status();
    fds_.push_back(*fd);
  } else {
    ingest::ListenAddress a = *addr;
    if (!o.metrics_reuse_port) {
      // The workers' SO_REUSEPORT sockets would share the port with any process of this user:
      // a probe bound without it fails first when another process holds the port.
      auto port = ingest::ClaimUdpPort(a);
      if (!port.ok()) return port.status();
      a.port = std::to_string(*port);
    }
    for (int i = 0; i < workers; ++i) {
      auto fd = ingest::OpenUdpSocket(a, true, kSocketReceiveBuffer);
      if (!fd.ok()) {
        for (int f : fds_) close(f);
        fds_.clear();
        return fd.status();
      }
      fds_.push_back(*fd);
      if (i == 0) {
        metrics_port_ = ingest::LocalPort(*fd);
        a.port = std::to_string(metrics_port_);  // the others join the port the first got
      }
    }
  }

  ingest::WorkerOptions wo;
  wo.receive_batch_size = o.receive_batch_size;
  wo.receive_buffer_size = o.receive_buffer_size;
  wo.bad_lines_per_minute = o.bad_lines_per_minute;
  wo.log_raw_metric = o.log_raw_metric;
  wo.namespace_prefix = o.namespace_;
  for (int i = 0; i < workers; ++i) {
    const int fd = fds_[fds_.size() == 1 ? 0 : static_cast<size_t>(i)];
    workers_.push_back(std::make_unique<ingest::Worker>(
        i, fd, wo, &pipeline_options_, [this](Event&& e) { DispatchEvent(std::move(e)); }));
    workers_.back()->AttachIndexes(&aggregator_.counter_index(), &aggregator_.gauge_index());
    LimitSeries(*workers_.back());
    if (cloud_) workers_.back()->SetCloud(cloud_.get());
  }
  if (cloud_) {
    // Lines answered while the workers wait for traffic: wake the first to replay them.
    cloud_->SetReplayNotifier([w = workers_.front().get()] { w->Nudge(); });
  }

  if (!o.metrics_tcp_addr.empty()) {
    auto abandon = [this](Status s) {  // undo the UDP side of a start that cannot complete
      for (int f : fds_) close(f);
      fds_.clear();
      workers_.clear();
      if (tcp_listen_fd_ >= 0) close(tcp_listen_fd_);
      tcp_listen_fd_ = -1;
      return s;
    };
    auto lfd = ingest::OpenTcpListener(o.metrics_tcp_addr, o.metrics_reuse_port);
    if (!lfd.ok()) return abandon(lfd.status());
    tcp_listen_fd_ = *lfd;
    tcp_port_ = ingest::LocalPort(tcp_listen_fd_);
    if (!o.metrics_tcp_tls_cert.empty()) {
      auto ctx = tls::TlsContext::Server(
          {o.metrics_tcp_tls_cert, o.metrics_tcp_tls_key, o.metrics_tcp_tls_client_ca});
      if (!ctx.ok()) return abandon(Status::Error("metrics-tcp-tls-cert: " + ctx.error()));
      tcp_tls_ = std::move(*ctx);
    }
  }

  // HTTP sockets are bound now (a bad address fails the start) but answer only once the
  // metrics sockets are served (decision 11).
  for (auto& h : http_servers_) {
    Status bound = h->Bind();
    if (!bound.ok()) {
      for (int f : fds_) close(f);
      fds_.clear();
      workers_.clear();
      if (tcp_listen_fd_ >= 0) close(tcp_listen_fd_);
      tcp_listen_fd_ = -1;
      return bound;
    }
  }
  if (http_ingest_) {
    http_ingest_->SetEventSink([this](Event&& e) { DispatchEvent(std::move(e)); });
    if (cloud_) http_ingest_->SetCloud(cloud_.get(), kIngestCloudWait);
  }

  for (auto& r : runners_) r->Start();
  if (forwarder_) forwarder_thread_ = std::thread([f = forwarder_.get()] { f->Run(); });
  last_flush_ns_ = NowNanos();
  for (auto& w : workers_) worker_threads_.emplace_back([w = w.get()] { w->Run(); });
  if (cloud_ && cloud_->answers_lookups())
    cloud_thread_ = std::thread([c = cloud_.get()] { c->Run(); });
  if (cloud_ && cloud_->provider().has_background_loop()) {
    cloud_provider_thread_ = std::thread([p = &cloud_->provider()] { p->Run(); });
  }
  if (tcp_listen_fd_ >= 0) {
    // One more worker, fed by the TCP receiver's thread instead of a UDP socket.
    workers_.push_back(std::make_unique<ingest::Worker>(
        workers, -1, wo, &pipeline_options_, [this](Event&& e) { DispatchEvent(std::move(e)); }));
    workers_.back()->AttachIndexes(&aggregator_.counter_index(), &aggregator_.gauge_index());
    LimitSeries(*workers_.back());
    if (cloud_) workers_.back()->SetCloud(cloud_.get());
    ingest::TcpOptions to;
    to.max_line = static_cast<size_t>(o.receive_buffer_size);
    to.max_connections = static_cast<size_t>(o.metrics_tcp_max_connections);
    to.idle_timeout = o.metrics_tcp_idle_timeout;
    tcp_receiver_ =
        std::make_unique<ingest::TcpReceiver>(tcp_listen_fd_, workers_.back().get(), to, tcp_tls_);
    worker_threads_.emplace_back([r = tcp_receiver_.get()] { r->Run(); });
  }
  // Without the timed flush (forwarder mode only) FlushNow and Stop are the only flushes.
  if (timed_flush_ || !forwarder_) flusher_thread_ = std::thread([this] { FlusherLoop(); });
  for (auto& h : http_servers_) http_threads_.emplace_back([h = h.get()] { h->Run(); });
  {
    std::lock_guard lock(stop_mu_);  // FlushNow may be called from another thread
    started_ = true;
  }

  const int rcvbuf = ingest::ReceiveBufferBytes(fds_.front());
  spdlog::info(
      "cstatsd started address={} port={} workers={} backends={} flush_interval={}ms "
      "receive_buffer={} tcp_port={} tcp_tls={} mode={}",
      o.metrics_addr, metrics_port_, workers, runners_.size(),
      std::chrono::duration_cast<std::chrono::milliseconds>(flush_interval_).count(), rcvbuf,
      tcp_port_, tcp_tls_ != nullptr, o.server_mode);
  if (forwarder_) {
    const auto& fo = forwarder_->options();
    spdlog::info(
        "forwarding to api_endpoint={} compression={} max_requests={} "
        "max_request_elapsed_time={}ms flush={}",
        fo.api_endpoint, wire::ContentEncoding(fo.compression), fo.max_requests,
        std::chrono::duration_cast<std::chrono::milliseconds>(fo.max_request_elapsed_time).count(),
        timed_flush_ ? "timed" : "manual");
  }
  if (rcvbuf < kSocketReceiveBuffer / 2) {
    spdlog::warn(
        "the kernel limited the socket receive buffer to {} bytes (asked {}); bursts may be "
        "dropped (see receiver.kernel_drops); raise net.core.rmem_max or run with "
        "CAP_NET_ADMIN",
        rcvbuf, kSocketReceiveBuffer);
  }
  SendLifecycleEvent("Gostatsd started");
  return {};
}

void Server::SendLifecycleEvent(const char* title) {
  const auto& o = config_.options;
  if (o.disable_internal_events || o.statser_type == "null") return;
  Event e;
  e.title = title;
  e.text = title;
  e.date_happened = NowNanos() / 1000000000;
  e.priority = EventPriority::kLow;
  pipeline::Pipeline(&pipeline_options_).ReceiveEvent(e, o.hostname);
  DispatchEvent(std::move(e));
}

void Server::DispatchEvent(Event&& event) {
  if (event.date_happened == 0) event.date_happened = NowNanos() / 1000000000;
  if (forwarder_) {
    forwarder_->SendEvent(event);  // queued; the worker never waits for the network
    return;
  }
  auto shared = std::make_shared<const Event>(std::move(event));
  for (auto& r : runners_) r->EnqueueEvent(shared);
}

void Server::LimitSeries(ingest::Worker& w) {
  w.map(0).limits = w.map(1).limits = aggregator_.limits();
}

void Server::FlusherLoop() {
  const auto& o = config_.options;
  // gostatsd's forwarder ticks every http-transport.flush-interval, never aligned.
  const bool aligned = o.flush_aligned && !forwarder_;
  FlushSchedule schedule(flush_interval_, aligned, o.flush_offset,
                         Clock::time_point(std::chrono::duration_cast<Clock::duration>(
                             std::chrono::nanoseconds(last_flush_ns_))));
  std::unique_lock lock(stop_mu_);
  while (!stopping_) {
    if (stop_cv_.wait_until(lock, schedule.next(), [&] { return stopping_; })) break;
    lock.unlock();
    const Clock::time_point started = Clock::now();
    const FlushSchedule::Tick tick = schedule.Begin(started);
    {
      std::lock_guard flush_lock(flush_mu_);
      last_flush_ns_ =
          std::chrono::duration_cast<std::chrono::nanoseconds>(tick.at.time_since_epoch()).count();
      Flush(
          std::chrono::duration_cast<std::chrono::nanoseconds>(started.time_since_epoch()).count(),
          tick.seconds > 0 ? tick.seconds : 1e-9);
    }
    // A flush that ran past the next tick: that tick is skipped (the next flush covers its
    // time), never queued behind it.
    const Clock::time_point ended = Clock::now();
    if (const uint64_t skipped = schedule.End(ended); skipped > 0) {
      flush_overruns_.fetch_add(1, std::memory_order_relaxed);
      if (overrun_log_.Allow()) {
        spdlog::warn(
            "flush took longer than the flush interval; the ticks that fell meanwhile are "
            "skipped and the next flush covers their time duration_ms={} interval_ms={} "
            "skipped={}",
            std::chrono::duration_cast<std::chrono::milliseconds>(ended - started).count(),
            std::chrono::duration_cast<std::chrono::milliseconds>(flush_interval_).count(),
            skipped);
      }
    }
    lock.lock();
  }
}

void Server::LogSeriesLimits() {
  const aggregate::Aggregator::LimitNote note = aggregator_.TakeLimitNote();
  if (note.name.empty() || !limit_log_.Allow()) return;
  spdlog::warn(
      "series limit reached: new series of this metric go to its overflow series (tag {}) "
      "metric={} type={} limit={} overflowed_total={} dropped_total={}",
      kOverflowTag, note.name, MetricTypeName(note.type), note.limit,
      aggregator_.series_overflowed(), aggregator_.series_dropped());
}

void Server::CollectInternalMetrics() {
  uint64_t datagrams = 0, batches = 0, metrics = 0, events = 0, bad = 0, truncated = 0;
  for (const auto& w : workers_) {
    const auto& c = w->counters();
    datagrams += stats::Read(c.datagrams_received);
    batches += stats::Read(c.batches_read);
    metrics += stats::Read(c.metrics_received);
    events += stats::Read(c.events_received);
    bad += stats::Read(c.bad_lines_seen);
    truncated += stats::Read(c.truncated_datagrams);
  }
  auto& s = internal_stats_;
  // "reported" metrics: gauges of the total standalone, counters of the change when forwarding.
  s.Report("receiver.datagrams_received", datagrams);
  s.Report("receiver.batches_read", batches);
  // cstatsd: datagrams the kernel dropped because a socket buffer was full.
  s.Gauge("receiver.kernel_drops", static_cast<double>(ingest::KernelDrops(fds_)));
  // cstatsd: datagrams longer than receive-buffer-size, cut by the kernel (their tail is lost).
  s.SparseGauge("receiver.datagrams_truncated", truncated);
  s.Report("parser.metrics_received", metrics);
  s.Report("parser.events_received", events);
  s.SparseGauge("parser.bad_lines_seen", bad);
  // cstatsd (docs/limits.md): series held (against max-series), values of new series folded
  // into an overflow series, values dropped past the overflow series' bound, flushes that ran
  // past the next tick.
  s.Gauge("aggregator.series", static_cast<double>(aggregator_.series()), {"aggregator_id:0"});
  s.Report("aggregator.series_overflowed", aggregator_.series_overflowed(), {"aggregator_id:0"});
  s.Report("aggregator.series_dropped", aggregator_.series_dropped(), {"aggregator_id:0"});
  s.Report("flusher.overruns", flush_overruns_.load(std::memory_order_relaxed));
  if (tcp_receiver_) {
    // cstatsd: TCP input connections open now, refused (over the cap or out of fds), timed out.
    const auto& t = tcp_receiver_->counters();
    s.Gauge("receiver.tcp_connections", static_cast<double>(stats::Read(t.open)));
    s.SparseGauge("receiver.tcp_connections_refused", stats::Read(t.refused));
    s.SparseGauge("receiver.tcp_connections_timed_out", stats::Read(t.timed_out));
  }
  CollectCloudMetrics();
  CollectHttpIngestMetrics();
  if (forwarder_) {
    CollectForwarderMetrics();
    return;
  }
  const std::vector<std::string> agg_tags = {"aggregator_id:0"};
  s.Gauge("aggregator.metricmaps_received", static_cast<double>(maps_merged_), agg_tags);
  s.Gauge("aggregator.aggregation_time", aggregation_ms_, agg_tags);
  s.Gauge("aggregator.process_time", process_ms_, agg_tags);
  s.Gauge("aggregator.reset_time", reset_ms_, agg_tags);
  s.Gauge("flusher.total_time", total_ms_);
  for (const auto& r : runners_) {
    auto& st = r->backend().stats();
    std::vector<std::string> tags = {"backend:" + std::string(r->backend().Name())};
    s.Gauge("backend.created", static_cast<double>(stats::Read(st.created)), tags);
    s.Gauge("backend.sent", static_cast<double>(stats::Read(st.sent)), tags);
    s.Gauge("backend.dropped", static_cast<double>(stats::Read(st.dropped)), tags);
    s.Gauge("backend.series.sent", static_cast<double>(stats::Read(st.series_sent)), tags);
    s.SparseGauge("backend.retried", stats::Read(st.retried), tags);
  }
  if (config_.options.heartbeat_enabled) {
    s.Gauge("heartbeat", 1,
            {"version:" + std::string(Version()), "commit:" + std::string(GitCommit())});
  }
}

// http.incoming*: counters of the interval, per ingestion server, in either mode (spec §4.7).
void Server::CollectHttpIngestMetrics() {
  auto& s = internal_stats_;
  for (size_t i = 0; i < http_servers_.size(); ++i) {
    auto& h = *http_servers_[i];
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
                       stats::Read(c.metrics_refused)};
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
    // cstatsd: series the value rules refused (docs/limits.md, "Lines and values")
    s.Counter("http.incoming.metrics_refused", now.metrics_refused - last.metrics_refused,
              {server});
    last = now;
  }
}

void Server::CollectCloudMetrics() {
  if (!cloud_) return;
  auto& s = internal_stats_;
  uint64_t hits = 0, misses = 0;
  for (const auto& w : workers_) {
    if (const cloud::Enricher* e = w->enricher()) {
      hits += stats::Read(e->hits);
      misses += stats::Read(e->misses);
    }
  }
  const cloud::HandlerStats c = cloud_->stats();
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
  cloud_->provider().Stats(provider_stats);
  for (const auto& ps : provider_stats) s.Report(ps.name, ps.value);
}

void Server::CollectForwarderMetrics() {
  auto& s = internal_stats_;
  const forward::ForwarderStats f = forwarder_->TakeStats();
  s.Counter("http.forwarder.invalid", static_cast<double>(f.invalid));
  s.Counter("http.forwarder.created", static_cast<double>(f.created));
  s.Counter("http.forwarder.sent", static_cast<double>(f.sent));
  s.Counter("http.forwarder.retried", static_cast<double>(f.retried));
  s.Counter("http.forwarder.dropped", static_cast<double>(f.dropped));
  s.Counter("http.forwarder.post_latency.sum", f.post_latency_sum_ms);
  s.Gauge("http.forwarder.post_latency.max", f.post_latency_max_ms);
  if (config_.options.heartbeat_enabled) {
    s.Counter("heartbeat", 1,
              {"version:" + std::string(Version()), "commit:" + std::string(GitCommit())});
  }
}

// Forwarder mode (spec §5.4): the workers' maps are merged without aggregation (§2.3) together
// with the internal metrics, and the merged map goes to the forwarder, which encodes and queues
// it; the POST and its retries happen on the forwarder's thread.
void Server::ForwardFlush() {
  // As gostatsd: internal metrics are produced every (top-level) flush-interval, while the
  // forwarder posts every http-transport.flush-interval; the final flush produces them too.
  const int64_t now = NowNanos();
  if (workers_stopped_ || now >= next_internal_ns_) {
    next_internal_ns_ = now + config_.options.flush_interval.count();
    CollectInternalMetrics();
  }
  MergeIngested();
  internal_stats_.Emit(internal_map_);
  aggregator_.Merge(internal_map_, /*limited=*/false);
  LogSeriesLimits();
  {
    const MetricMap merged = aggregator_.TakeState();
    forwarder_->SendMetrics(merged);
  }
  ReturnFreedMemory();
}

void Server::ReturnFreedMemory() {
  // Each flush frees what the interval allocated (the workers' first copies of new keys, expired
  // series, a forwarder's whole merged map). glibc keeps freed memory in its arenas, so without
  // this the RSS counts it as in use: with 1,000,000 live series, 607 → 436 bytes of RSS per
  // series, for 0.03 ms (idle) to 15 ms (that load) per flush (docs/performance.md).
  malloc_trim(0);
}

uint64_t Server::MergeIngested() {
  uint64_t maps = 0;
  // What the aggregator's indexes retired may be freed once every worker has handed over in a
  // later round (SeriesIndex): the oldest round a worker last handed over in.
  uint64_t safe = UINT64_MAX;
  handed_over_.resize(workers_.size());
  for (auto& w : workers_) {
    if (workers_stopped_) {
      w->map(0).TakeReceivedIds();  // the thread is gone: what it received by id
      for (int i = 0; i < 2; ++i) {
        if (!w->map(i).empty()) ++maps;
        aggregator_.Merge(w->map(i));
      }
      continue;
    }
    MetricMap* m = w->HandOver(kHandOverTimeout);
    if (m == nullptr) {
      spdlog::warn(
          "worker did not hand over its metrics in time; they go with the next flush "
          "worker={}",
          w->id());
      // Its map, switched late, may reach the aggregator only with the second hand-over from
      // now (the next one returns the map filled since): until then it may name old ids.
      HandOverRound& h = handed_over_[static_cast<size_t>(w->id())];
      h.late = 2;
      safe = std::min(safe, h.round);
      continue;
    }
    HandOverRound& h = handed_over_[static_cast<size_t>(w->id())];
    if (h.late > 0) {
      --h.late;
    } else {
      h.round = aggregator_.round();
    }
    safe = std::min(safe, h.round);
    if (!m->empty()) ++maps;
    aggregator_.Merge(*m);
  }
  aggregator_.ReleaseRetired(safe);
  if (http_ingest_) {
    // Series ingested over HTTP since the last flush (spec §5.3).
    MetricMap& m = http_ingest_->SwapForFlush();
    if (!m.empty()) ++maps;
    aggregator_.Merge(m);
    // The flusher's until the next swap, then ingestion's again (under the target's mutex).
    m.limits = aggregator_.limits();
  }
  return maps;
}

void Server::Flush(int64_t now_ns, double flush_seconds) {
  if (forwarder_) {
    ForwardFlush();
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  CollectInternalMetrics();

  const uint64_t maps = MergeIngested();
  internal_stats_.Emit(internal_map_);
  aggregator_.Merge(internal_map_, /*limited=*/false);  // internal metrics are always kept
  maps_merged_ = maps;
  LogSeriesLimits();

  auto snapshot = aggregator_.Flush(now_ns, flush_seconds);
  aggregation_ms_ = MillisSince(t0);
  const auto t1 = std::chrono::steady_clock::now();
  for (auto& r : runners_) r->EnqueueMetrics(snapshot);
  process_ms_ = MillisSince(t1);
  const auto t2 = std::chrono::steady_clock::now();
  aggregator_.Reset(now_ns);
  reset_ms_ = MillisSince(t2);
  ReturnFreedMemory();
  total_ms_ = MillisSince(t0);
}

std::future<void> Server::FlushNow() {
  auto promise = std::make_shared<std::promise<void>>();
  std::future<void> future = promise->get_future();
  {
    std::lock_guard lock(stop_mu_);
    if (!forwarder_ || !started_ || stopping_) {
      promise->set_value();
      return future;
    }
  }
  {
    std::lock_guard flush_lock(flush_mu_);
    ForwardFlush();
  }
  forwarder_->WhenSent([promise] { promise->set_value(); });
  return future;
}

void Server::StopHttpServers() {
  for (auto& h : http_servers_) h->Stop();
  // Graceful: requests in progress finish within 5 s (as gostatsd's Shutdown).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (size_t i = 0; i < http_servers_.size(); ++i) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (http_servers_[i]->WaitStopped(std::max(left, std::chrono::milliseconds(0)))) {
      http_threads_[i].join();
    } else {
      spdlog::warn("http server did not stop within 5s; abandoning its requests server={}",
                   http_servers_[i]->options().name);
      http_threads_[i].detach();
      http_abandoned_.push_back(i);  // its threads still use it: never destroyed (~Server)
    }
  }
  http_threads_.clear();
  if (http_ingest_) http_ingest_->SetEventSink(nullptr);
}

nlohmann::json Server::Vars() const {
  nlohmann::json j = nlohmann::json::object();
  j["version"] = std::string(Version());
  j["commit"] = std::string(GitCommit());
  j["settings"] = config::OptionsAsJson(config_.options);
  uint64_t datagrams = 0, batches = 0, metrics = 0, events = 0, bad = 0, truncated = 0;
  for (const auto& w : workers_) {
    const auto& c = w->counters();
    datagrams += stats::Read(c.datagrams_received);
    batches += stats::Read(c.batches_read);
    metrics += stats::Read(c.metrics_received);
    events += stats::Read(c.events_received);
    bad += stats::Read(c.bad_lines_seen);
    truncated += stats::Read(c.truncated_datagrams);
  }
  j["counters"] = {{"receiver.datagrams_received", datagrams},
                   {"receiver.batches_read", batches},
                   {"receiver.datagrams_truncated", truncated},
                   {"parser.metrics_received", metrics},
                   {"parser.events_received", events},
                   {"parser.bad_lines_seen", bad},
                   {"receiver.kernel_drops", ingest::KernelDrops(fds_)}};
  if (tcp_receiver_) {
    const auto& t = tcp_receiver_->counters();
    j["counters"]["receiver.tcp_connections"] = stats::Read(t.open);
    j["counters"]["receiver.tcp_connections_refused"] = stats::Read(t.refused);
    j["counters"]["receiver.tcp_connections_timed_out"] = stats::Read(t.timed_out);
  }
  nlohmann::json backends = nlohmann::json::object();
  for (const auto& r : runners_) {
    auto& st = r->backend().stats();
    backends[std::string(r->backend().Name())] = {{"created", stats::Read(st.created)},
                                                  {"sent", stats::Read(st.sent)},
                                                  {"dropped", stats::Read(st.dropped)},
                                                  {"series_sent", stats::Read(st.series_sent)},
                                                  {"retried", stats::Read(st.retried)}};
  }
  j["backends"] = backends;
  nlohmann::json servers = nlohmann::json::object();
  for (const auto& h : http_servers_) {
    const auto& c = h->counters();
    servers[h->options().name] = {
        {"address", h->options().address},
        {"port", h->port()},
        {"enable-healthcheck", h->options().enable_healthcheck},
        {"enable-expvar", h->options().enable_expvar},
        {"enable-ingestion", h->options().enable_ingestion},
        {"enable-prof", h->options().enable_prof},
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
  if (forwarder_) {
    // Forwarder mode: [http-transport] as in effect, and the http.forwarder.* counts since the
    // start (the internal metrics report them per flush).
    const auto& fo = forwarder_->options();
    auto ms = [](auto d) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    };
    const forward::ForwarderStats t = forwarder_->Totals();
    j["forwarder"] = {
        {"settings",
         {{"api-endpoint", fo.api_endpoint},
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
          {"flush", timed_flush_ ? "timed" : "manual"},
          {"custom-headers", fo.custom_headers},
          {"dynamic-headers", fo.dynamic_headers},
          {"fast-fail-on-non-retryable-errors", fo.fast_fail_on_non_retryable_errors}}},
        {"counters",
         {{"http.forwarder.invalid", t.invalid},
          {"http.forwarder.created", t.created},
          {"http.forwarder.sent", t.sent},
          {"http.forwarder.retried", t.retried},
          {"http.forwarder.dropped", t.dropped}}},
        {"outstanding", forwarder_->outstanding()}};
    const auto last = forwarder_->LastSuccessfulSend();
    j["forwarder"]["last-successful-send-unix-ms"] =
        last ? nlohmann::json(ms(last->time_since_epoch())) : nlohmann::json(nullptr);
  }
  return j;
}

void Server::Stop(std::chrono::steady_clock::time_point deliver_by) {
  {
    std::lock_guard lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (!started_) return;
  if (flusher_thread_.joinable()) flusher_thread_.join();

  // Stop receiving (HTTP first, then the sockets), then take everything the workers hold.
  StopHttpServers();
  for (auto& w : workers_) w->Stop();
  for (auto& t : worker_threads_) t.join();
  worker_threads_.clear();
  StopCloud();
  SendLifecycleEvent("Gostatsd stopped");
  {
    std::lock_guard flush_lock(flush_mu_);
    // The worker threads have exited: Flush takes both of each worker's maps directly.
    workers_stopped_ = true;
    const int64_t now = NowNanos();
    const double seconds = static_cast<double>(now - last_flush_ns_) / 1e9;
    Flush(now, seconds > 0 ? seconds : 1e-9);
  }

  const auto now = std::chrono::steady_clock::now();
  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      config_.options.backend_shutdown_timeout);
  if (deliver_by < now + timeout) {
    timeout = std::max(std::chrono::milliseconds(0),
                       std::chrono::duration_cast<std::chrono::milliseconds>(deliver_by - now));
    spdlog::info("final flush bounded by the caller's deadline timeout_ms={}", timeout.count());
  }
  if (forwarder_) {
    // The final flush and the requests still retrying get backend-shutdown-timeout (or less,
    // above); what is left then is dropped and counted.
    forwarder_->Stop(now + timeout);
    if (forwarder_thread_.joinable()) forwarder_thread_.join();
  }
  // No backend waits between reconnection attempts while another one is being stopped.
  for (auto& r : runners_) r->Interrupt();
  for (auto& r : runners_) {
    if (!r->Stop(timeout)) {
      // Its thread is still inside a send and refers to the runner: keep it alive.
      (void)r.release();
    }
  }
  for (int fd : fds_) close(fd);
  fds_.clear();
  ingest::RemoveSocketFile(unix_file_);  // only if it is still the file this process bound
  if (tcp_listen_fd_ >= 0) close(tcp_listen_fd_);
  tcp_receiver_.reset();
  spdlog::info("cstatsd stopped");
}

}  // namespace cstatsd::server
