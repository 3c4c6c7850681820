// TelemetryListener: the HTTP server (cpp-httplib) that Lambda's Telemetry API posts to
// (`POST /telemetry`, a JSON array of events); every batch's platform.runtimeDone count goes to
// a callback. Bound on the extension's thread; Run() is the body of the thread the Extension
// creates; Stop() may be called from any thread. The callback runs on a request thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "lambda/telemetry.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace cstatsd::lambda {

class TelemetryListener {
 public:
  // One entry per platform.runtimeDone event: its requestId ("" if none).
  using RuntimeDoneSink = std::function<void(std::vector<std::string> request_ids)>;

  explicit TelemetryListener(RuntimeDoneSink on_runtime_done);
  ~TelemetryListener();
  TelemetryListener(const TelemetryListener&) = delete;
  TelemetryListener& operator=(const TelemetryListener&) = delete;

  // Binds the listening socket (requests wait in the backlog until Run).
  Status Bind(const TelemetryAddress& address);
  // Thread body: serves until Stop(). False if it stopped by itself (the listening socket
  // failed): Lambda's telemetry can no longer reach the extension.
  bool Run();
  // Stops serving; Run() returns. Safe before Run() and more than once.
  void Stop();

  int port() const { return port_; }

 private:
  RuntimeDoneSink on_runtime_done_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool running_ = false;
  bool stop_requested_ = false;
};

}  // namespace cstatsd::lambda
