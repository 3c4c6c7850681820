// Extension: cstatsd as an AWS Lambda extension (docs/lambda.md). Registers with the Extensions
// API, runs a Server in forwarder mode and, with the manual flush, a TelemetryListener whose
// platform.runtimeDone events make the forwarder flush: after each INVOKE the event loop waits
// for the function's runtimeDone, flushes, waits until the flush's POSTs have finished, and only
// then asks for the next event, so Lambda never freezes the sandbox with metrics unsent. The
// runtimeDone is matched by request id; if none comes by the invocation's deadline (less a
// margin) the flush happens then (a broken telemetry subscription costs latency, never a stuck
// function). One flush also precedes the first event/next (docs/lambda.md#what-it-does). SHUTDOWN
// stops the server (final flush, bounded by the SHUTDOWN's deadline). Failures before the loop go
// to init/error, later ones (event/next, the telemetry listener dying) to exit/error. Run() is
// called once by main's thread, which it keeps as the event loop; the Extension owns the listener's
// thread (the Lambda mode's counterpart of server/'s threads). RequestStop() may be called from any
// thread (a signal watcher).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "config/config.h"
#include "lambda/extension_options.h"
#include "lambda/runtime_api.h"
#include "lambda/telemetry_listener.h"
#include "server/server.h"

namespace cstatsd::lambda {

class Extension {
 public:
  // `process_start`: when main() began, to log how long the start took.
  Extension(ExtensionOptions options, std::chrono::steady_clock::time_point process_start);
  ~Extension();
  Extension(const Extension&) = delete;
  Extension& operator=(const Extension&) = delete;

  // Registers, starts, runs the event loop until SHUTDOWN (or RequestStop), stops; returns the
  // process exit code (0 after a clean shutdown). `startup_error` non-empty: the configuration
  // was refused; it is reported to init/error after registering, and nothing is started.
  int Run(std::optional<config::Config> config, const std::string& startup_error);

  // Ends the event loop as after SHUTDOWN (final flush, exit 0): SIGTERM/SIGINT. Any thread.
  void RequestStop();

 private:
  bool Register();
  int FailInit(const std::string& message, int code);
  int FailRuntime(const std::string& message);
  // Waits until the runtimeDone of `invoke` has arrived, or its deadline (less
  // kDeadlineMargin) has passed; false if a stop was requested or the listener failed.
  bool WaitForRuntimeDone(const NextEvent& invoke);
  // Flushes the forwarder and waits until the flush's requests have finished (or a stop, or
  // the listener failing).
  void FlushAndWait();
  // Stops the listener and the server; the final flush delivers until `deliver_by` at the
  // latest (and within backend-shutdown-timeout).
  void StopAll(std::chrono::steady_clock::time_point deliver_by =
                   std::chrono::steady_clock::time_point::max());
  bool interrupted() const {
    return stop_.load(std::memory_order_relaxed) ||
           listener_failed_.load(std::memory_order_relaxed);
  }

  ExtensionOptions options_;
  std::chrono::steady_clock::time_point process_start_;
  RuntimeApi api_;
  RuntimeApiClient client_;
  std::string id_;  // Lambda-Extension-Identifier

  std::unique_ptr<server::Server> server_;
  std::unique_ptr<TelemetryListener> listener_;
  std::thread listener_thread_;

  std::atomic<bool> stop_{false};
  std::atomic<bool> listener_failed_{false};  // the telemetry listener stopped by itself
  std::mutex mu_;
  std::condition_variable cv_;
  // Request ids of the platform.runtimeDone events not yet waited for, oldest first ("" for an
  // event without one); bounded. Guarded by mu_.
  std::deque<std::string> runtime_done_;
};

}  // namespace cstatsd::lambda
