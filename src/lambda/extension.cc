#include "lambda/extension.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

namespace cstatsd::lambda {
namespace {

constexpr long kRegisterTimeoutMs = 10000;
constexpr long kReportTimeoutMs = 2000;  // init/error, exit/error, the telemetry subscription
// Lambda freezes the sandbox (INVOKE) or ends the process (SHUTDOWN) at an event's deadlineMs:
// the fallback flush and the final flush must be done this much earlier.
constexpr auto kDeadlineMargin = std::chrono::milliseconds(200);

// An event's deadlineMs (Unix milliseconds) as a steady-clock time, less kDeadlineMargin.
std::chrono::steady_clock::time_point DeadlineWithMargin(int64_t deadline_ms) {
  const auto wall = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::milliseconds(deadline_ms)));
  const auto left = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      wall - std::chrono::system_clock::now() - kDeadlineMargin);
  return std::chrono::steady_clock::now() +
         std::max(left, std::chrono::steady_clock::duration::zero());
}

double MillisSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string Describe(const Result<ApiResponse>& r) {
  if (!r.ok()) return r.error();
  std::string body = r->body.substr(0, 200);
  return "status " + std::to_string(r->status) + (body.empty() ? "" : ": " + body);
}

}  // namespace

Extension::Extension(ExtensionOptions options, std::chrono::steady_clock::time_point process_start)
    : options_(std::move(options)), process_start_(process_start), api_(options_.runtime_api) {}

Extension::~Extension() { StopAll(); }

void Extension::RequestStop() {
  stop_.store(true, std::memory_order_relaxed);
  client_.AbortLongPoll();  // ends an event/next long poll; the other requests still go
  std::lock_guard lock(mu_);
  cv_.notify_all();
}

bool Extension::Register() {
  if (options_.runtime_api.empty()) {
    spdlog::error("lambda: {} is not set; cannot register (is this running in AWS Lambda?)",
                  kRuntimeApiEnv);
    return false;
  }
  auto r = client_.Do(api_.Register(options_.extension_name), kRegisterTimeoutMs);
  if (!r.ok() || r->status != 200) {
    // Without an identifier there is nothing to report init/error with: Lambda sees the
    // process exit during its init phase.
    spdlog::error("lambda: register failed name={} runtime_api={} error=\"{}\"",
                  options_.extension_name, options_.runtime_api, Describe(r));
    return false;
  }
  id_ = r->Header(kExtensionIdHeader);
  if (id_.empty()) {
    spdlog::error("lambda: register answer has no {} header", kExtensionIdHeader);
    return false;
  }
  auto info = ParseRegisterResponse(r->body);
  spdlog::info(
      "lambda: registered name={} function_name={} function_version={} handler={} "
      "elapsed_ms={:.1f}",
      options_.extension_name, info.ok() ? info->function_name : "",
      info.ok() ? info->function_version : "", info.ok() ? info->handler : "",
      MillisSince(process_start_));
  return true;
}

int Extension::FailInit(const std::string& message, int code) {
  spdlog::error("lambda: cannot start: {}", message);
  StopAll();
  auto r = client_.Do(api_.InitError(id_, message), kReportTimeoutMs);
  if (!r.ok() || r->status != 202) {
    spdlog::error("lambda: reporting init/error failed error=\"{}\"", Describe(r));
  }
  return code;
}

int Extension::FailRuntime(const std::string& message) {
  spdlog::error("lambda: stopping after an error: {}", message);
  auto r = client_.Do(api_.ExitError(id_, message), kReportTimeoutMs);
  if (!r.ok() || r->status != 202) {
    spdlog::error("lambda: reporting exit/error failed error=\"{}\"", Describe(r));
  }
  StopAll();  // the final flush still runs: what was received is not lost
  return 1;
}

void Extension::StopAll(std::chrono::steady_clock::time_point deliver_by) {
  if (listener_) listener_->Stop();
  if (listener_thread_.joinable()) listener_thread_.join();
  if (server_) server_->Stop(deliver_by);
}

bool Extension::WaitForRuntimeDone(const NextEvent& invoke) {
  // The invocation's own runtimeDone; an event without a request id (or an INVOKE without one)
  // matches any. Older entries are leftovers of earlier invocations and are dropped with it.
  auto match = [&]() -> std::deque<std::string>::iterator {
    for (auto it = runtime_done_.begin(); it != runtime_done_.end(); ++it) {
      if (it->empty() || invoke.request_id.empty() || *it == invoke.request_id) return it;
    }
    return runtime_done_.end();
  };
  auto ready = [&] { return interrupted() || match() != runtime_done_.end(); };
  std::unique_lock lock(mu_);
  if (invoke.deadline_ms > 0) {
    // Lambda freezes the sandbox at the deadline: flush early enough for the POST to finish.
    if (!cv_.wait_until(lock, DeadlineWithMargin(invoke.deadline_ms), ready)) {
      spdlog::warn(
          "lambda: no platform.runtimeDone before the invocation's deadline (less {} ms); "
          "flushing now request_id={}",
          kDeadlineMargin.count(), invoke.request_id);
      return true;
    }
  } else {
    cv_.wait(lock, ready);
  }
  if (interrupted()) return false;
  runtime_done_.erase(runtime_done_.begin(), std::next(match()));
  return true;
}

void Extension::FlushAndWait() {
  const auto t0 = std::chrono::steady_clock::now();
  std::future<void> delivered = server_->FlushNow();
  // Bounded by the forwarder's retry budget (max-request-elapsed-time); a stop cuts it short
  // and the final flush takes over.
  while (delivered.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    if (interrupted()) return;
  }
  spdlog::debug("lambda: flushed elapsed_ms={:.1f}", MillisSince(t0));
}

int Extension::Run(std::optional<config::Config> config, const std::string& startup_error) {
  if (!Register()) return 1;
  if (!startup_error.empty() || !config) {
    return FailInit(startup_error.empty() ? "no configuration" : startup_error, 2);
  }

  auto created = server::Server::Create(std::move(*config));
  if (!created.ok()) return FailInit(created.error(), 2);
  server_ = std::move(*created);
  if (options_.manual_flush) server_->DisableTimedFlush();
  if (Status s = server_->Start(); !s.ok()) return FailInit(s.message(), 1);

  if (options_.manual_flush) {
    listener_ = std::make_unique<TelemetryListener>([this](std::vector<std::string> ids) {
      constexpr size_t kMaxPending = 256;  // one is expected per invocation
      std::lock_guard lock(mu_);
      for (auto& id : ids) runtime_done_.push_back(std::move(id));
      while (runtime_done_.size() > kMaxPending) runtime_done_.pop_front();
      cv_.notify_all();
    });
    if (Status s = listener_->Bind(options_.telemetry); !s.ok()) return FailInit(s.message(), 1);
    listener_thread_ = std::thread([this, l = listener_.get()] {
      if (l->Run()) return;
      // Lambda's telemetry can no longer reach the extension, so no invocation would ever be
      // flushed at its end: a runtime failure (docs/lambda.md#errors). The event loop reports it.
      listener_failed_.store(true, std::memory_order_relaxed);
      client_.AbortLongPoll();
      std::lock_guard lock(mu_);
      cv_.notify_all();
    });
    const std::string uri = DestinationUri(options_.telemetry, listener_->port());
    auto r = client_.Do(api_.SubscribeTelemetry(id_, uri), kReportTimeoutMs);
    if (!r.ok() || r->status != 200) {
      return FailInit("subscribing to the Telemetry API failed: " + Describe(r), 1);
    }
    spdlog::info("lambda: subscribed to platform telemetry destination={}", uri);
  }
  spdlog::info("lambda: extension ready manual_flush={} startup_ms={:.1f}", options_.manual_flush,
               MillisSince(process_start_));

  const std::string kListenerFailed =
      "the telemetry listener stopped: platform.runtimeDone can no longer reach the extension";
  // docs/lambda.md#what-it-does: one flush before the first event/next, so that nothing received
  // during the init phase waits for the end of the first invocation.
  if (options_.manual_flush) FlushAndWait();
  auto deliver_by = std::chrono::steady_clock::time_point::max();
  while (!stop_.load(std::memory_order_relaxed)) {
    if (listener_failed_.load(std::memory_order_relaxed)) return FailRuntime(kListenerFailed);
    auto r = client_.Do(api_.NextEvent(id_), 0, /*abortable=*/true);
    if (listener_failed_.load(std::memory_order_relaxed)) return FailRuntime(kListenerFailed);
    if (stop_.load(std::memory_order_relaxed)) break;
    if (!r.ok() || r->status != 200) return FailRuntime("event/next failed: " + Describe(r));
    auto event = ParseNextEvent(r->body);
    if (!event.ok()) return FailRuntime(event.error());
    if (event->type == EventType::kShutdown) {
      spdlog::info("lambda: shutdown event received reason={} deadline_ms={}",
                   event->shutdown_reason, event->deadline_ms);
      // The final flush must be done before Lambda ends the process at the deadline.
      if (event->deadline_ms > 0) deliver_by = DeadlineWithMargin(event->deadline_ms);
      break;
    }
    if (event->type != EventType::kInvoke) {
      spdlog::warn("lambda: unexpected event ignored type={}", event->type_name);
      continue;
    }
    spdlog::debug("lambda: invoke request_id={} deadline_ms={}", event->request_id,
                  event->deadline_ms);
    // Manual flush: the function's metrics go out before Lambda may freeze the sandbox, which
    // it does once every extension has asked for the next event.
    if (options_.manual_flush) {
      if (!WaitForRuntimeDone(*event)) continue;  // a stop, or the listener failed: see above
      FlushAndWait();
    }
  }
  StopAll(deliver_by);
  spdlog::info("lambda: extension stopped");
  return 0;
}

}  // namespace cstatsd::lambda
