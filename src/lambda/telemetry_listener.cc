#include "lambda/telemetry_listener.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace cstatsd::lambda {
namespace {

// Lambda sends at most 1 MiB per batch (maxBytes); leave room.
constexpr size_t kMaxBody = 4 << 20;

}  // namespace

TelemetryListener::TelemetryListener(RuntimeDoneSink on_runtime_done)
    : on_runtime_done_(std::move(on_runtime_done)), server_(std::make_unique<httplib::Server>()) {
  auto& s = *server_;
  // Lambda posts one batch at a time; two threads leave room for a slow request.
  s.new_task_queue = [] { return new httplib::ThreadPool(2); };
  s.set_payload_max_length(kMaxBody);
  s.set_socket_options([](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    // Accepted connections inherit it: a small answer is not held back by Nagle's algorithm.
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  s.set_read_timeout(5, 0);
  s.set_write_timeout(5, 0);
  s.Post("/telemetry", [this](const httplib::Request& req, httplib::Response& res) {
    auto ids = RuntimeDoneRequestIds(req.body);
    if (!ids.ok()) {
      spdlog::warn("lambda: telemetry batch ignored error=\"{}\" bytes={}", ids.error(),
                   req.body.size());
      res.status = 400;
      return;
    }
    spdlog::debug("lambda: telemetry batch bytes={} runtime_done={}", req.body.size(), ids->size());
    if (!ids->empty()) on_runtime_done_(std::move(*ids));
    res.status = 200;
  });
}

TelemetryListener::~TelemetryListener() { Stop(); }

Status TelemetryListener::Bind(const TelemetryAddress& address) {
  if (address.port == 0) {
    port_ = server_->bind_to_any_port(address.bind_host);
  } else {
    port_ = server_->bind_to_port(address.bind_host, address.port) ? address.port : -1;
  }
  if (port_ <= 0) {
    return Status::Error("lambda-extension-telemetry-address: cannot listen on " +
                         address.bind_host + ":" + std::to_string(address.port) + " (" +
                         std::strerror(errno) + ")");
  }
  return {};
}

bool TelemetryListener::Run() {
  {
    std::lock_guard lock(mu_);
    if (stop_requested_) return true;
    running_ = true;
  }
  cv_.notify_all();
  const bool listened = server_->listen_after_bind();
  std::lock_guard lock(mu_);
  // httplib's accept loop ends by itself (false) when accept() fails; after Stop() it is ours.
  const bool failed = !listened && !stop_requested_;
  if (failed) {
    spdlog::error("lambda: the telemetry listener stopped with an error error=\"{}\"",
                  std::strerror(errno));
  }
  running_ = false;
  cv_.notify_all();
  return !failed;
}

void TelemetryListener::Stop() {
  std::unique_lock lock(mu_);
  stop_requested_ = true;
  if (!running_) return;
  // Run() has started: wait (bounded) until httplib is in its accept loop, then stop it.
  for (int i = 0; i < 1000 && running_ && !server_->is_running(); ++i) {
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    lock.lock();
  }
  lock.unlock();
  server_->stop();
}

}  // namespace cstatsd::lambda
