#include "http/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <system_error>
#include <thread>
#include <vector>

#include "http/process_info.h"

namespace cstatsd::http {
namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kText = "text/plain; charset=utf-8";

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool HasBodyMethod(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

bool IsChunked(const httplib::Request& req) {
  return req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
}

int64_t NowUnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void NotFound(httplib::Response& res) {
  res.status = 404;
  res.set_content("not found", kText);
}

// The answers that do not depend on the route's feature: 301, 404, 405. True if answered.
bool Unrouted(const httplib::Request& req, const RouteMatch& m, httplib::Response& res) {
  switch (m.status) {
    case 301: {
      // As gorilla/mux: to the clean path, with the query kept.
      std::string location = m.location;
      const size_t q = req.target.find('?');
      if (q != std::string::npos) location += req.target.substr(q);
      res.status = 301;
      res.set_header("Location", location);
      res.body.clear();
      return true;
    }
    case 404:
      NotFound(res);
      return true;
    case 405:
      res.status = 405;
      res.body.clear();
      return true;
    default:
      return false;
  }
}

// httplib's task queue: one job per accepted connection, which keeps its thread until the
// connection closes (a kept-alive one after 2 s idle or 100 requests). httplib's own ThreadPool
// has a fixed size, so a few clients that keep their connections (forwarders post every second)
// would hold every thread and leave the others waiting. This one starts a thread whenever no
// idle one is there for a new connection, up to `max_threads`; beyond that, connections wait.
// Threads stay once started (parked on the condition variable when idle).
class ConnectionThreads : public httplib::TaskQueue {
 public:
  ConnectionThreads(size_t max_threads, std::atomic<size_t>* started)
      : max_(max_threads), started_(started) {}

  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    jobs_.push_back(std::move(fn));
    if (jobs_.size() > idle_ + starting_ && threads_.size() < max_) {
      try {
        threads_.emplace_back([this] { Work(); });
        ++starting_;
        started_->store(threads_.size(), std::memory_order_relaxed);
      } catch (const std::system_error& e) {
        // Out of threads (ulimit -u, memory): the connection waits for a running one.
        spdlog::warn("http server cannot start a request thread threads={} error={}",
                     threads_.size(), e.what());
        if (threads_.empty()) {
          auto job = std::move(jobs_.back());
          jobs_.pop_back();
          lock.unlock();
          job();  // nothing else would ever serve it
          return;
        }
      }
    }
    lock.unlock();
    cv_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      shutdown_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();  // httplib enqueues nothing after shutdown
  }

 private:
  void Work() {
    std::unique_lock lock(mu_);
    --starting_;
    for (;;) {
      ++idle_;
      cv_.wait(lock, [this] { return !jobs_.empty() || shutdown_; });
      --idle_;
      if (jobs_.empty()) return;  // shut down, and every connection served
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  const size_t max_;
  std::atomic<size_t>* started_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;      // threads waiting for a connection
  size_t starting_ = 0;  // threads started that have not reached their loop yet
  bool shutdown_ = false;
};

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, HttpServerDeps deps)
    : options_(std::move(options)),
      deps_(std::move(deps)),
      server_(std::make_unique<httplib::Server>()) {
  auto& s = *server_;
  s.new_task_queue = [this] {
    return new ConnectionThreads(static_cast<size_t>(options_.max_connections), &request_threads_);
  };
  // Bodies as sent are capped here (a Content-Length above it is skipped without reading and
  // answered 413); the ingestion handler caps chunked bodies and decompressed sizes itself.
  s.set_payload_max_length(static_cast<size_t>(options_.max_request_body_size));
  // SO_REUSEADDR only, as Go's listeners: httplib's default adds SO_REUSEPORT, which would let
  // a second server bind the same port and silently take half of the connections.
  s.set_socket_options([this](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd_ = sock;  // the listening socket (the last one tried is the one bound)
  });
  s.set_keep_alive_max_count(100);
  // An idle keep-alive connection holds a pool thread this long, also at shutdown.
  s.set_keep_alive_timeout(2);
  s.set_read_timeout(5, 0);
  s.set_write_timeout(5, 0);
  // Requests without a body are answered here, before httplib reads anything; POST, PUT,
  // PATCH and DELETE go to the content-reader handlers below, so that no body is ever read
  // (or inflated: httplib would inflate a `deflate` body without bound) except by our code.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (HasBodyMethod(req.method)) return httplib::Server::HandlerResponse::Unhandled;
    Serve(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  auto with_body = [this](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& reader) {
    ServeWithBody(req, res, reader);
  };
  s.Post(".*", with_body);
  s.Put(".*", with_body);
  s.Patch(".*", with_body);
  s.Delete(".*", with_body);
  s.set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("http request failed server={} method={} path={} error={}", options_.name,
                      req.method, req.path, what);
        res.status = 500;
        res.set_content("internal error", kText);
      });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("http request server={} method={} path={} status={} srcip={}", options_.name,
                  req.method, req.path, res.status, req.remote_addr);
  });
}

HttpServer::~HttpServer() {
  // The owner normally joins Run()'s thread first; this is for a server destroyed running.
  Stop();
  WaitStopped(std::chrono::seconds(5));
}

Status HttpServer::Bind() {
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
  } else {
    port_ = server_->bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  if (port_ <= 0) {
    return Status::Error("http." + options_.name + ".address: cannot listen on " +
                         options_.address + " (" + std::strerror(errno) + ")");
  }
  // httplib listens with a backlog of 5: a burst of connections (forwarders reconnecting after
  // a restart) would overflow it, and each SYN dropped costs its client a 1 s retransmission.
  // Listening again only changes the backlog (up to net.core.somaxconn).
  if (listen_fd_ >= 0 && ::listen(listen_fd_, SOMAXCONN) != 0) {
    spdlog::warn("http server cannot raise its listen backlog server={} error={}", options_.name,
                 std::strerror(errno));
  }
  return {};
}

void HttpServer::Run() {
  {
    std::lock_guard lock(run_mu_);
    if (!stop_requested_) running_ = true;
  }
  if (running_) {
    const bool v6 = options_.host.find(':') != std::string::npos;
    spdlog::info(
        "http server listening server={} address={}{}{}:{} healthcheck={} expvar={} "
        "ingestion={} prof={}",
        options_.name, v6 ? "[" : "", options_.host, v6 ? "]" : "", port_,
        options_.enable_healthcheck, options_.enable_expvar, options_.enable_ingestion,
        options_.enable_prof);
    if (!server_->listen_after_bind()) {
      spdlog::error("http server stopped with an error server={}", options_.name);
    }
  }
  std::lock_guard lock(run_mu_);
  finished_ = true;
  run_cv_.notify_all();
}

void HttpServer::Stop() {
  std::unique_lock lock(run_mu_);
  stop_requested_ = true;
  if (!running_ || finished_) return;
  // Run() has started: wait (bounded) until httplib is in its accept loop, then stop it.
  for (int i = 0; i < 1000 && !server_->is_running() && !finished_; ++i) {
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    lock.lock();
  }
  lock.unlock();
  server_->stop();
}

bool HttpServer::WaitStopped(std::chrono::milliseconds timeout) {
  std::unique_lock lock(run_mu_);
  if (!running_) return true;
  return run_cv_.wait_for(lock, timeout, [this] { return finished_; });
}

void HttpServer::Serve(const httplib::Request& req, httplib::Response& res) {
  const RouteMatch m = MatchRoute(options_, req.method, req.path);
  if (Unrouted(req, m, res)) return;
  switch (m.route) {
    case Route::kHealthcheck:
      // Liveness: no checks (as gostatsd).
      res.status = 200;
      res.set_content(HealthReport{}.Json(), kJson);
      return;
    case Route::kDeepcheck: {
      const HealthReport report = deps_.health ? deps_.health->Run() : HealthReport{};
      res.status = report.healthy() ? 200 : 500;
      res.set_content(report.Json(), kJson);
      return;
    }
    case Route::kExpvar: {
      nlohmann::json j = nlohmann::json::object();
      j["cmdline"] = CommandLine();
      j["process"] = ProcessStats();
      j["cstatsd"] = deps_.vars ? deps_.vars() : nlohmann::json::object();
      res.status = 200;
      res.set_content(Dump(j), "application/json; charset=utf-8");
      return;
    }
    default:
      return Prof(m.route, res);
  }
}

void HttpServer::Prof(Route route, httplib::Response& res) {
  if (route == Route::kProfCmdline) {
    // As Go's pprof.Cmdline: the arguments joined by NUL bytes.
    std::string out;
    for (const auto& a : CommandLine()) {
      if (!out.empty()) out.push_back('\0');
      out += a;
    }
    res.status = 200;
    res.set_content(out, kText);
    return;
  }
  if (route == Route::kProfIndex) {
    res.status = 200;
    res.set_content(
        "cstatsd is a C++ program: Go's profiles do not exist here.\n"
        "/debug/pprof/cmdline   the command line, NUL-separated\n"
        "Everything else under /debug/pprof/ answers 501. Profile with perf instead, e.g.\n"
        "  perf record -g -p <pid> -- sleep 30 && perf report\n"
        "and see /expvar for memory and thread figures.\n",
        kText);
    return;
  }
  res.status = 501;
  res.set_content(
      "not available in cstatsd (a C++ program has no Go profiler); profile with perf, e.g. "
      "perf record -g -p <pid> -- sleep 30\n",
      kText);
}

void HttpServer::ServeWithBody(const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& reader) {
  const RouteMatch m = MatchRoute(options_, req.method, req.path);
  if (m.status == 0 && (m.route == Route::kRaw || m.route == Route::kEvent)) {
    return Ingest(m.route == Route::kRaw ? IngestKind::kRaw : IngestKind::kEvent, req, res, reader);
  }
  // Any other body is read and dropped (so the connection stays usable), never inflated.
  auto& raw = const_cast<httplib::Request&>(req);  // see Ingest
  raw.headers.erase("Content-Encoding");
  raw.headers.erase("Content-Type");
  if (req.has_header("Content-Length") || IsChunked(req)) {
    reader([](const char*, size_t) { return true; });
  }
  if (Unrouted(req, m, res)) return;
  Prof(m.route, res);  // POST /debug/pprof/trace
}

void HttpServer::Ingest(IngestKind kind, const httplib::Request& req, httplib::Response& res,
                        const httplib::ContentReader& reader) {
  const size_t limit = static_cast<size_t>(options_.max_request_body_size);
  IngestBody body;
  const std::string encoding = req.get_header_value("Content-Encoding");
  body.has_encoding = req.has_header("Content-Encoding");
  body.encoding = encoding;
  // Read the body as sent: without these headers httplib neither inflates it (unbounded, and a
  // corrupt stream would look like a read error) nor parses it as a form (gostatsd ignores
  // Content-Type). The Request is httplib's own mutable per-request object, passed as const.
  auto& raw = const_cast<httplib::Request&>(req);
  raw.headers.erase("Content-Encoding");
  raw.headers.erase("Content-Type");
  std::string data;
  if (req.has_header("Content-Length") || IsChunked(req)) {
    // Room for the announced length (within the limit): one allocation, no copy as it grows.
    const uint64_t announced =
        std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
    if (!IsChunked(req) && announced <= limit) data.reserve(static_cast<size_t>(announced));
    const bool ok = reader([&](const char* p, size_t n) {
      if (data.size() + n > limit) {
        body.too_large = true;
        return false;
      }
      data.append(p, n);
      return true;
    });
    if (!ok && res.status == 413) body.too_large = true;  // Content-Length above the limit
    body.read_failed = !ok && !body.too_large;
  }
  body.data = data;
  const IngestResult r = HandleIngest(kind, body, limit, NowUnixNanos(), *deps_.ingest, counters_);
  res.status = r.status;
  res.body.clear();
  if (r.failure == IngestFailure::kNone) return;
  bool log = false;
  {
    std::lock_guard lock(log_mu_);
    log = failure_log_.Allow();
  }
  if (log) {
    spdlog::info(
        "http ingestion failed server={} path={} status={} failure={} reason=\"{}\" srcip={}",
        options_.name, req.path, r.status, IngestFailureName(r.failure), r.message,
        req.remote_addr);
  }
}

}  // namespace cstatsd::http
