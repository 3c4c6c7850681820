#include "server/server.h"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cloud/registry.h"
#include "ingest/kernel_drops.h"
#include "ingest/socket.h"
#include "protocol/tag_dialects.h"
#include "server/expvar.h"
#include "server/flush_schedule.h"
#include "server/status_board.h"
#include "transport/transport_options.h"
#include "wire/compression.h"

namespace cstatsd::server {
namespace {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(FlushClock::now().time_since_epoch())
      .count();
}

constexpr int kSocketReceiveBuffer = 8 << 20;  // bytes; absorbs bursts while a worker parses
// How long an HTTP ingestion request waits for the cloud lookups of its sources.
constexpr auto kIngestCloudWait = std::chrono::milliseconds(5000);

// Every allocation of 128 KiB or more gets its own mapping, returned to the kernel when freed.
// By default glibc raises that threshold to the size of each large block freed (up to 32 MiB),
// after which a flush's large, short-lived arrays (snapshots, hand-over deltas, a new series
// burst's tables) come from the arenas, in among long-lived keys, and their pages stay in the
// RSS: 60 bytes per series with a million series (docs/performance.md).
// And an arena's free top is not handed back at every free above 128 KiB (glibc's default): the
// timers' values, freed by the flusher at each flush and allocated again by the workers in the
// next interval, went back to the kernel and were faulted in again every time; the flusher hands
// memory back after the flushes that freed it for good (docs/performance.md#memory-per-series).
void KeepLargeAllocationsMapped() {
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}

uint64_t DatagramsReceived(const std::vector<std::unique_ptr<ingest::Worker>>& workers) {
  uint64_t n = 0;
  for (const auto& w : workers) n += w->counters().datagrams_received.load();
  return n;
}

// Process hand-over (docs/restarts.md): when another process has joined the metrics port
// (metrics-reuse-port), the kernel stops queueing new datagrams on this one's sockets (they go
// to the other's) and what they hold stays for the workers to read before they close. Returns
// the placeholder socket to close after them, or -1 (no other process: a plain stop).
int DetachForProcessHandOver(const std::vector<int>& fds) {
  const size_t others = ingest::OtherSocketsOnPort(fds);
  if (others == 0) return -1;
  auto placeholder = ingest::DetachUdpSockets(fds);
  if (!placeholder.ok()) {
    spdlog::warn("socket hand-over failed; stopping as if alone error=\"{}\"", placeholder.error());
    return -1;
  }
  spdlog::info(
      "socket hand-over: another process shares the metrics port (sockets={}); new datagrams "
      "go to it, this one reads what its sockets hold",
      others);
  return *placeholder;
}

}  // namespace

Server::Server(config::Config config)
    : config_(std::move(config)),
      pipeline_options_(pipeline::PipelineOptions::From(config_.options)),
      flusher_(config_.options, &pipeline_options_, parts_) {
  KeepLargeAllocationsMapped();
}

Result<std::unique_ptr<Server>> Server::Create(config::Config config,
                                               backends::BackendRegistry registry) {
  std::vector<std::unique_ptr<backends::Backend>> backends;
  backends::BackendContext ctx{config, config.options};
  std::string errors;
  // docs/compatibility.md#decision-11: in forwarder mode no metric backend is created.
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
    fo->float_counters = o.float_counters;
    auto to = transport::LoadTransportOptions(s->config_, fo->transport, &warnings);
    if (!to.ok()) return to.status();
    for (const auto& w : warnings) spdlog::warn("{}", w);
    auto f = forward::HttpForwarder::Create(*fo, *to);
    if (!f.ok()) return f.status();
    s->parts_.forwarder = std::move(*f);
    if (fo->dns.enabled()) {  // docs/scaling.md#discovery-by-dns
      // The aggregators: those found by DNS and the fixed ones (api-endpoint and api-endpoints).
      auto d = forward::DnsDiscovery::Create(
          fo->dns, [set = s->parts_.forwarder->endpoints(),
                    fixed = fo->Endpoints()](const std::vector<std::string>& urls) {
            std::vector<std::string> all = fixed;
            all.insert(all.end(), urls.begin(), urls.end());
            set->Replace(std::move(all));
          });
      if (!d.ok()) return d.status();
      s->parts_.discovery = std::move(*d);
    }
    s->flusher_.set_interval(fo->flush_interval);
    if (!backends.empty()) {
      spdlog::warn("forwarder mode sends to http-transport.api-endpoint; backends ignored");
      backends.clear();
    }
  }
  for (auto& b : backends) {
    if (b->WantsRawValues()) s->flusher_.aggregator().set_keep_raw_values(true);
    s->parts_.runners.push_back(
        std::make_unique<BackendRunner>(std::move(b), static_cast<size_t>(o.backend_queue_size),
                                        static_cast<size_t>(o.max_concurrent_events)));
  }
  std::vector<std::string> warnings;
  auto http_options = http::LoadHttpServerOptions(s->config_, warnings);
  for (const auto& w : warnings) spdlog::warn("{}", w);
  if (!http_options.ok()) return http_options.status();
  for (auto& ho : *http_options) {
    ho.reuse_port = o.metrics_reuse_port;  // a process hand-over (docs/restarts.md)
    if (ho.enable_ingestion && !s->parts_.http_ingest) {
      s->parts_.http_ingest = std::make_shared<http::IngestTarget>(s->pipeline_options_);
    }
    if (ho.enable_status && !s->parts_.status) {  // docs/status-page.md
      s->parts_.status =
          std::make_shared<StatusBoard>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
    }
    http::HttpServerDeps deps;
    deps.ingest = s->parts_.http_ingest;
    if (ho.enable_status) deps.status = [b = s->parts_.status] { return b->Json(); };
    deps.health = s->health_;
    deps.vars = [srv = s.get()] {
      return ExpvarVars(srv->config_.options, srv->parts_, srv->timed_flush_);
    };
    s->parts_.http_servers.push_back(
        std::make_unique<http::HttpServer>(std::move(ho), std::move(deps)));
  }
  if (s->parts_.forwarder) {
    // /deepcheck: unhealthy until the forwarder has delivered once (as gostatsd), then
    // "sentRecently: lastSend=<time>".
    s->health_->AddDeepCheck("sentRecently", [f = s->parts_.forwarder.get()]() {
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
  for (size_t i : http_abandoned_) (void)parts_.http_servers[i].release();
}

void Server::UseCloudProvider(std::unique_ptr<cloud::Provider> provider) {
  parts_.cloud.reset();
  if (provider) {
    parts_.cloud = std::make_unique<cloud::CloudHandler>(
        std::move(provider), cloud::HandlerOptions::From(config_.options));
  }
}

Status Server::StartCloud() {
  if (!parts_.cloud) return {};
  parts_.cloud->SetEventSink([this](Event&& e) { DispatchEvent(std::move(e)); });
  Status s = parts_.cloud->Start();
  if (!s.ok()) return s;
  return {};
}

void Server::StopCloud() {
  if (!parts_.cloud) return;
  parts_.cloud->Stop();
  if (cloud_thread_.joinable()) cloud_thread_.join();
  if (cloud_provider_thread_.joinable()) cloud_provider_thread_.join();
  // Lines still waiting for a lookup go into the final flush as they are
  // (docs/compatibility.md#decision-10).
  std::vector<cloud::ParkedLine> lines = parts_.cloud->ReleaseAll();
  if (!lines.empty() && !parts_.workers.empty()) {
    spdlog::info("cloud provider stopped; {} metrics still waiting for a lookup go unenriched",
                 lines.size());
    parts_.workers.front()->ReplayLines(lines, NowNanos());
  }
}

void Server::AddDeepCheck(std::string name, http::DeepCheck check) {
  health_->AddDeepCheck(std::move(name), std::move(check));
}

int Server::http_port(std::string_view name) const {
  for (const auto& h : parts_.http_servers) {
    if (h->options().name == name) return h->port();
  }
  return -1;
}

void Server::AbandonStart() {
  parts_.workers.clear();
  parts_.capture.reset();
  for (int f : parts_.fds) close(f);
  parts_.fds.clear();
  ingest::RemoveSocketFile(parts_.unix_file);  // only if it is still the file this process bound
  if (parts_.tcp_listen_fd >= 0) close(parts_.tcp_listen_fd);
  parts_.tcp_listen_fd = -1;
}

ingest::Worker& Server::AddWorker(int id, int fd, const ingest::WorkerOptions& options) {
  parts_.workers.push_back(std::make_unique<ingest::Worker>(
      id, fd, options, &pipeline_options_, [this](Event&& e) { DispatchEvent(std::move(e)); }));
  ingest::Worker& w = *parts_.workers.back();
  w.SetServiceCheckSink([this](ServiceCheck&& c) { DispatchServiceCheck(std::move(c)); });
  flusher_.Attach(w);
  if (parts_.cloud) w.SetCloud(parts_.cloud.get());
  if (parts_.capture && fd >= 0) w.SetCapture(parts_.capture->AddRing());
  return w;
}

Status Server::Start() {
  const auto& o = config_.options;
  auto addr = ingest::ParseListenAddress(o.metrics_addr);
  if (!addr.ok()) return addr.status();
  if (Status c = StartCloud(); !c.ok()) return c;
  const int workers = std::max(1, o.max_workers);

  // Every step up to the threads may fail; what the earlier ones set up is undone here, once.
  struct Undo {
    Server* server;
    ~Undo() {
      if (server != nullptr) server->AbandonStart();
    }
  } undo{this};

  if (addr->is_unix) {
    auto fd = ingest::OpenUnixgramSocket(addr->path, kSocketReceiveBuffer, &parts_.unix_file);
    if (!fd.ok()) return fd.status();
    parts_.fds.push_back(*fd);
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
      if (!fd.ok()) return fd.status();
      parts_.fds.push_back(*fd);
      if (i == 0) {
        metrics_port_ = ingest::LocalPort(*fd);
        a.port = std::to_string(metrics_port_);  // the others join the port the first got
      }
    }
  }

  if (!o.capture.empty()) {  // docs/capture.md
    capture::CaptureOptions co;
    co.path = o.capture;
    co.max_file_bytes = o.capture_max_size;
    co.files = o.capture_files;
    capture::Endpoint local;  // the destination of the files' synthesized headers
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (getsockname(parts_.fds.front(), reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      (void)capture::EndpointFromSockaddr(&ss, len, local);
    }
    auto writer = capture::CaptureWriter::Open(std::move(co), std::move(local));
    if (!writer.ok()) return writer.status();
    parts_.capture = std::move(*writer);
  }

  ingest::WorkerOptions wo;
  wo.receive_batch_size = o.receive_batch_size;
  wo.receive_buffer_size = o.receive_buffer_size;
  wo.bad_lines_per_minute = o.bad_lines_per_minute;
  wo.log_raw_metric = o.log_raw_metric;
  wo.namespace_prefix = o.namespace_;
  wo.tag_dialects = protocol::TagDialectsFromNames(o.tag_dialects);
  for (int i = 0; i < workers; ++i) {
    AddWorker(i, parts_.fds[parts_.fds.size() == 1 ? 0 : static_cast<size_t>(i)], wo);
  }
  if (parts_.cloud) {
    // Lines answered while the workers wait for traffic: wake the first to replay them.
    parts_.cloud->SetReplayNotifier([w = parts_.workers.front().get()] { w->Nudge(); });
  }

  if (!o.metrics_tcp_addr.empty()) {
    auto lfd = ingest::OpenTcpListener(o.metrics_tcp_addr, o.metrics_reuse_port);
    if (!lfd.ok()) return lfd.status();
    parts_.tcp_listen_fd = *lfd;
    tcp_port_ = ingest::LocalPort(parts_.tcp_listen_fd);
    if (!o.metrics_tcp_tls_cert.empty()) {
      auto ctx = tls::TlsContext::Server(
          {o.metrics_tcp_tls_cert, o.metrics_tcp_tls_key, o.metrics_tcp_tls_client_ca});
      if (!ctx.ok()) return Status::Error("metrics-tcp-tls-cert: " + ctx.error());
      tcp_tls_ = std::move(*ctx);
    }
  }

  // HTTP sockets are bound now (a bad address fails the start) but answer only once the
  // metrics sockets are served (docs/compatibility.md#decision-11).
  for (auto& h : parts_.http_servers) {
    if (Status bound = h->Bind(); !bound.ok()) return bound;
  }
  undo.server = nullptr;  // from here on nothing fails: Stop() undoes the rest

  if (parts_.http_ingest) {
    parts_.http_ingest->SetEventSink([this](Event&& e) { DispatchEvent(std::move(e)); });
    parts_.http_ingest->SetServiceCheckSink(
        [this](ServiceCheck&& c) { DispatchServiceCheck(std::move(c)); });
    if (parts_.cloud) parts_.http_ingest->SetCloud(parts_.cloud.get(), kIngestCloudWait);
  }
  for (auto& r : parts_.runners) r->Start();
  if (parts_.discovery) {
    (void)parts_.discovery->Refresh();  // the first set before the first flush
    discovery_thread_ = std::thread([d = parts_.discovery.get()] { d->Run(); });
  }
  if (parts_.forwarder) {
    forwarder_thread_ = std::thread([f = parts_.forwarder.get()] { f->Run(); });
  }
  flusher_.Start();
  if (parts_.capture) capture_thread_ = std::thread([c = parts_.capture.get()] { c->Run(); });
  for (auto& w : parts_.workers) worker_threads_.emplace_back([w = w.get()] { w->Run(); });
  if (parts_.cloud && parts_.cloud->answers_lookups())
    cloud_thread_ = std::thread([c = parts_.cloud.get()] { c->Run(); });
  if (parts_.cloud && parts_.cloud->provider().has_background_loop()) {
    cloud_provider_thread_ = std::thread([p = &parts_.cloud->provider()] { p->Run(); });
  }
  if (parts_.tcp_listen_fd >= 0) {
    // One more worker, fed by the TCP receiver's thread instead of a UDP socket.
    ingest::Worker& w = AddWorker(workers, -1, wo);
    ingest::TcpOptions to;
    to.max_line = static_cast<size_t>(o.receive_buffer_size);
    to.max_connections = static_cast<size_t>(o.metrics_tcp_max_connections);
    to.idle_timeout = o.metrics_tcp_idle_timeout;
    parts_.tcp_receiver =
        std::make_unique<ingest::TcpReceiver>(parts_.tcp_listen_fd, &w, to, tcp_tls_);
    worker_threads_.emplace_back([r = parts_.tcp_receiver.get()] { r->Run(); });
  }
  // Without the timed flush (forwarder mode only) FlushNow and Stop are the only flushes.
  if (timed_flush_ || !parts_.forwarder) {
    flusher_thread_ = std::thread([f = &flusher_] { f->Run(); });
  }
  for (auto& h : parts_.http_servers) http_threads_.emplace_back([h = h.get()] { h->Run(); });
  {
    std::lock_guard lock(stop_mu_);  // FlushNow may be called from another thread
    started_ = true;
  }

  const int rcvbuf = ingest::ReceiveBufferBytes(parts_.fds.front());
  spdlog::info(
      "cstatsd started address={} port={} workers={} backends={} flush_interval={}ms "
      "receive_buffer={} tcp_port={} tcp_tls={} mode={}",
      o.metrics_addr, metrics_port_, workers, parts_.runners.size(),
      std::chrono::duration_cast<std::chrono::milliseconds>(flusher_.interval()).count(), rcvbuf,
      tcp_port_, tcp_tls_ != nullptr, o.server_mode);
  if (parts_.forwarder) {
    const auto& fo = parts_.forwarder->options();
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
  if (parts_.forwarder) {
    parts_.forwarder->SendEvent(event);  // queued; the worker never waits for the network
    return;
  }
  auto shared = std::make_shared<const Event>(std::move(event));
  for (auto& r : parts_.runners) r->EnqueueEvent(shared);
}

void Server::DispatchServiceCheck(ServiceCheck&& check) {
  if (check.timestamp == 0) check.timestamp = NowNanos() / 1000000000;
  if (parts_.forwarder) {
    parts_.forwarder->SendServiceCheck(check);  // queued; the worker never waits for the network
    return;
  }
  auto shared = std::make_shared<const ServiceCheck>(std::move(check));
  for (auto& r : parts_.runners) r->EnqueueServiceCheck(shared);
}

std::future<void> Server::FlushNow() {
  auto promise = std::make_shared<std::promise<void>>();
  std::future<void> future = promise->get_future();
  {
    std::lock_guard lock(stop_mu_);
    if (!parts_.forwarder || !started_ || stopping_) {
      promise->set_value();
      return future;
    }
  }
  flusher_.ForwardNow();
  parts_.forwarder->WhenSent([promise] { promise->set_value(); });
  return future;
}

void Server::StopHttpServers() {
  for (auto& h : parts_.http_servers) h->Stop();
  // Graceful: requests in progress finish within 5 s (as gostatsd's Shutdown).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (size_t i = 0; i < parts_.http_servers.size(); ++i) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (parts_.http_servers[i]->WaitStopped(std::max(left, std::chrono::milliseconds(0)))) {
      http_threads_[i].join();
    } else {
      spdlog::warn("http server did not stop within 5s; abandoning its requests server={}",
                   parts_.http_servers[i]->options().name);
      http_threads_[i].detach();
      http_abandoned_.push_back(i);  // its threads still use it: never destroyed (~Server)
    }
  }
  http_threads_.clear();
  if (parts_.http_ingest) {
    parts_.http_ingest->SetEventSink(nullptr);
    parts_.http_ingest->SetServiceCheckSink(nullptr);
  }
}

void Server::Stop(std::chrono::steady_clock::time_point deliver_by) {
  {
    std::lock_guard lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  if (!started_) return;
  const bool hand_over = config_.options.metrics_reuse_port && parts_.unix_file.path.empty();
  const int placeholder = hand_over ? DetachForProcessHandOver(parts_.fds) : -1;
  const uint64_t received_at_detach = DatagramsReceived(parts_.workers);
  flusher_.RequestStop();
  if (flusher_thread_.joinable()) flusher_thread_.join();

  // Stop receiving (HTTP first, then the sockets), then take everything the workers hold.
  StopHttpServers();
  for (auto& w : parts_.workers) w->Stop();
  for (auto& t : worker_threads_) t.join();
  worker_threads_.clear();
  if (parts_.capture) {  // after the workers: it writes everything they queued
    parts_.capture->Stop();
    if (capture_thread_.joinable()) capture_thread_.join();
  }
  if (placeholder >= 0) {
    spdlog::info("socket hand-over: read after the detach datagrams={}",
                 DatagramsReceived(parts_.workers) - received_at_detach);
  }
  StopCloud();
  SendLifecycleEvent("Gostatsd stopped");
  flusher_.FinalFlush();  // the worker threads have exited: it takes both of each one's maps

  const auto now = std::chrono::steady_clock::now();
  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      config_.options.backend_shutdown_timeout);
  if (deliver_by < now + timeout) {
    timeout = std::max(std::chrono::milliseconds(0),
                       std::chrono::duration_cast<std::chrono::milliseconds>(deliver_by - now));
    spdlog::info("final flush bounded by the caller's deadline timeout_ms={}", timeout.count());
  }
  if (parts_.discovery) parts_.discovery->Stop();
  if (discovery_thread_.joinable()) discovery_thread_.join();
  if (parts_.forwarder) {
    // The final flush and the requests still retrying get backend-shutdown-timeout (or less,
    // above); what is left then is dropped and counted.
    parts_.forwarder->Stop(now + timeout);
    if (forwarder_thread_.joinable()) forwarder_thread_.join();
  }
  // No backend waits between reconnection attempts while another one is being stopped.
  for (auto& r : parts_.runners) r->Interrupt();
  std::vector<std::string> missed;  // backends the final flush did not reach (docs/state-file.md)
  for (auto& r : parts_.runners) {
    const bool joined = r->Stop(timeout);
    if (!flusher_.FinalFlushDelivered(*r)) missed.emplace_back(r->backend().Name());
    if (!joined) {
      // Its thread is still inside a send and refers to the runner: keep it alive.
      (void)r.release();
    }
  }
  flusher_.WriteState(missed);
  for (int fd : parts_.fds) close(fd);
  parts_.fds.clear();
  if (placeholder >= 0) close(placeholder);
  ingest::RemoveSocketFile(parts_.unix_file);  // only if it is still the file this process bound
  if (parts_.tcp_listen_fd >= 0) close(parts_.tcp_listen_fd);
  parts_.tcp_receiver.reset();
  spdlog::info("cstatsd stopped");
}

}  // namespace cstatsd::server
