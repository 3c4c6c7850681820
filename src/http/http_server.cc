#include "http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <system_error>
#include <thread>

#include "core/listen_socket.h"
#include "core/log_escape.h"
#include "http/answers.h"
#include "http/ingest_pool.h"

namespace cstatsd::http {
namespace {

using Clock = ConnectionTable::Clock;

constexpr const char* kText = "text/plain; charset=utf-8";

// A connection that sends nothing for this long is closed (libmicrohttpd's idle timeout: reset
// by every byte, so the deadlines below bound a trickling client).
constexpr unsigned kIdleTimeoutSeconds = 5;
// Room in a connection's buffer beyond max-header-bytes: the answer's headers, and the read
// buffer once the headers are parsed.
constexpr size_t kBufferReserve = 16 << 10;
// How often the loop looks at the deadlines (and at Stop) when nothing else wakes it.
constexpr int32_t kTickMillis = 100;
// A body beyond max-request-body-size is read and dropped up to this many times the limit, then
// answered 413 on a connection that stays usable (clients that write the whole body before
// reading the answer get it); beyond that the 413 goes at once and the connection closes.
constexpr uint64_t kDiscardFactor = 4;

bool HasBodyMethod(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

int64_t NowUnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The client's IP as text (no port): the key of the per-address count, and srcip in logs.
std::string AddressText(const sockaddr* addr) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (addr == nullptr) return buf;
  if (addr->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, buf, sizeof(buf));
  } else if (addr->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, buf, sizeof(buf));
  }
  return buf;
}

// One request (libmicrohttpd's per-request context), from its request line to its end.
struct Request {
  enum class Mode { kAnswer, kIngest, kDiscard };
  std::string target;  // as sent, with the query (for 301's Location)
  std::string method;
  std::string path;
  bool started = false;  // headers complete: the access handler has seen it
  bool answered = false;
  bool submitted = false;  // the body is with the ingestion threads
  Mode mode = Mode::kAnswer;
  RouteMatch match;
  IngestKind kind = IngestKind::kRaw;
  bool has_encoding = false;
  std::string encoding;
  std::string body;
  uint64_t received = 0;          // body bytes, kept or dropped
  bool too_large = false;         // beyond max-request-body-size: dropped, answered 413
  std::atomic<bool> done{false};  // the ingestion threads' result is in `result`
  IngestResult result;
};

}  // namespace

// The event loop's state. Every member is the loop thread's, except what the ingestion
// threads touch: a Request they were handed (until they resume its connection) and the
// server's counters (atomics).
struct HttpServer::Loop {
  using Entry = ConnectionTable::Entry;
  using Phase = ConnectionTable::Phase;

  explicit Loop(HttpServer* s)
      : server(s),
        o(s->options_),
        table(s->options_.max_connections, s->options_.max_connections_per_ip,
              std::chrono::duration_cast<Clock::duration>(s->options_.header_timeout),
              std::chrono::duration_cast<Clock::duration>(s->options_.request_timeout)) {}
  ~Loop() {
    StopDaemon();
    if (wake_fd >= 0) ::close(wake_fd);
  }

  // Any thread: makes the loop run at once (a resumed connection, Stop).
  void Wake() {
    const uint64_t one = 1;
    if (wake_fd >= 0) (void)!::write(wake_fd, &one, sizeof(one));
  }

  // One round: waits (at most a tick) for the library's sockets or a Wake(), then lets the
  // library work. libmicrohttpd's own wait does not return when another thread resumes a
  // connection, so the loop polls its epoll descriptor together with an eventfd of ours.
  void RunOnce() {
    int timeout = kTickMillis;
    MHD_UNSIGNED_LONG_LONG t = 0;
    if (MHD_get_timeout(daemon, &t) == MHD_YES &&
        t < static_cast<MHD_UNSIGNED_LONG_LONG>(timeout)) {
      timeout = static_cast<int>(t);
    }
    pollfd fds[2] = {{epoll_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    if (::poll(fds, 2, timeout) > 0 && (fds[1].revents & POLLIN) != 0) {
      uint64_t n = 0;
      (void)!::read(wake_fd, &n, sizeof(n));
    }
    MHD_run(daemon);
    Sweep();
  }

  void StopDaemon() {
    pool.Shutdown();  // every suspended connection resumed
    if (daemon != nullptr) MHD_stop_daemon(daemon);
    daemon = nullptr;
  }

  static Loop* Of(void* cls) { return static_cast<Loop*>(cls); }
  static Entry* EntryOf(MHD_Connection* c) {
    const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info == nullptr ? nullptr : static_cast<Entry*>(info->socket_context);
  }

  void Refuse(Refusal why, std::string_view address, std::string_view detail = {}) {
    server->server_counters_.refused[static_cast<size_t>(why)].fetch_add(1,
                                                                         std::memory_order_relaxed);
    if (refusal_log.Allow()) {
      spdlog::warn("http server refused a client server={} reason={} srcip={}{}{}", o.name,
                   RefusalName(why), address, detail.empty() ? "" : " detail=", detail);
    }
  }

  // --- libmicrohttpd's callbacks (all on the loop thread) ---

  static MHD_Result OnAccept(void* cls, const sockaddr* addr, socklen_t) {
    Loop* l = Of(cls);
    if (l->stopping) return MHD_NO;
    const std::string address = AddressText(addr);
    Refusal why;
    Entry* evict = nullptr;
    if (!l->table.Admit(address, &why, &evict)) {
      l->Refuse(why, address);
      return MHD_NO;
    }
    if (evict != nullptr) {  // at max-connections: the oldest waiting for its headers goes
      ::shutdown(evict->fd, SHUT_RDWR);
      l->Refuse(why, evict->address, "closed to make room for a new connection");
    }
    return MHD_YES;
  }

  static void OnConnection(void* cls, MHD_Connection* c, void** socket_context,
                           MHD_ConnectionNotificationCode code) {
    Loop* l = Of(cls);
    auto& n = l->server->server_counters_;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      const MHD_ConnectionInfo* a = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
      const MHD_ConnectionInfo* f = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
      *socket_context = l->table.Add(AddressText(a ? a->client_addr : nullptr),
                                     f ? f->connect_fd : -1, Clock::now());
      n.connections_accepted.fetch_add(1, std::memory_order_relaxed);
      const uint64_t open = l->table.size();
      n.connections_open.store(open, std::memory_order_relaxed);
      if (open > n.connections_peak.load(std::memory_order_relaxed)) {
        n.connections_peak.store(open, std::memory_order_relaxed);
      }
    } else {
      l->table.Remove(static_cast<Entry*>(*socket_context));
      *socket_context = nullptr;
      n.connections_open.store(l->table.size(), std::memory_order_relaxed);
    }
  }

  // A request line arrived: the request's context starts here, so that a request whose head
  // the parser refuses still reaches OnCompleted (and is counted).
  static void* OnRequestLine(void*, const char* uri, MHD_Connection* c) {
    auto* r = new Request;
    r->target = uri == nullptr ? "" : uri;
    if (Entry* e = EntryOf(c)) e->head_started = true;
    return r;
  }

  static void OnCompleted(void* cls, MHD_Connection* c, void** con_cls,
                          MHD_RequestTerminationCode toe) {
    Loop* l = Of(cls);
    auto* r = static_cast<Request*>(*con_cls);
    *con_cls = nullptr;
    Entry* e = EntryOf(c);
    if (r != nullptr) {
      const std::string address = e ? e->address : "?";
      const bool cut = e != nullptr && e->cut;
      const bool refused_by_parser =
          !cut && !r->answered &&
          (toe == MHD_REQUEST_TERMINATED_WITH_ERROR || toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
      if (!r->started) {
        if (refused_by_parser) {
          l->Refuse(Refusal::kBadHead, address, "request line or headers refused (400/414/431)");
        }
      } else if (refused_by_parser && toe == MHD_REQUEST_TERMINATED_WITH_ERROR) {
        l->Refuse(Refusal::kBadFraming, address, "chunked body malformed (400)");
      } else if (r->mode == Request::Mode::kIngest && !r->answered && !r->submitted) {
        // The body never arrived in full (the client closed, stalled or was cut off).
        l->server->counters_.failure_read.fetch_add(1, std::memory_order_relaxed);
        if (l->failure_log.Allow()) {
          spdlog::info(
              "http ingestion failed server={} path={} status=none failure=read "
              "reason=\"the connection ended before the body was complete\" srcip={}",
              l->o.name, LogEscaped{r->path}, address);
        }
      }
      delete r;
    }
    if (e != nullptr) {
      if (r != nullptr) ++e->answered;
      ConnectionTable::Enter(e, Phase::kHead, Clock::now());
    }
  }

  static MHD_Result OnRequest(void* cls, MHD_Connection* c, const char* url, const char* method,
                              const char*, const char* upload_data, size_t* upload_data_size,
                              void** con_cls) {
    Loop* l = Of(cls);
    auto* r = static_cast<Request*>(*con_cls);
    if (r == nullptr) {  // no request line callback (cannot happen): serve it all the same
      r = new Request;
      r->target = url;
      *con_cls = r;
    }
    Entry* e = EntryOf(c);
    if (!r->started) return l->Begin(c, e, r, url, method);
    if (*upload_data_size > 0) {
      l->Consume(c, e, r, upload_data, *upload_data_size);
      *upload_data_size = 0;
      return MHD_YES;
    }
    if (r->answered) return MHD_YES;
    return l->Finish(c, e, r);
  }

  // --- requests ---

  MHD_Result Answer(MHD_Connection* c, Request* r, int status, std::string_view body = {},
                    const char* content_type = nullptr, bool close = false,
                    const std::string* location = nullptr,
                    const std::string* retry_after = nullptr) {
    MHD_Response* res = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                        MHD_RESPMEM_MUST_COPY);
    if (res == nullptr) return MHD_NO;  // out of memory: the connection is closed
    if (content_type != nullptr) MHD_add_response_header(res, "Content-Type", content_type);
    if (location != nullptr) MHD_add_response_header(res, "Location", location->c_str());
    if (retry_after != nullptr) MHD_add_response_header(res, "Retry-After", retry_after->c_str());
    if (close) MHD_add_response_header(res, MHD_HTTP_HEADER_CONNECTION, "close");
    const MHD_Result ok = MHD_queue_response(c, static_cast<unsigned>(status), res);
    MHD_destroy_response(res);
    r->answered = true;
    if (spdlog::should_log(spdlog::level::debug)) {
      const MHD_ConnectionInfo* a = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
      spdlog::debug("http request server={} method={} path={} status={} srcip={}", o.name,
                    LogEscaped{r->method}, LogEscaped{r->path}, status,
                    AddressText(a ? a->client_addr : nullptr));
    }
    return ok;
  }

  // Headers complete: check them, and answer now or wait for the body.
  MHD_Result Begin(MHD_Connection* c, Entry* e, Request* r, const char* url, const char* method) {
    r->started = true;
    r->method = method;
    r->path = url;
    if (e != nullptr) ConnectionTable::Enter(e, Phase::kBody, Clock::now());
    const std::string address = e ? e->address : "?";
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    MHD_get_connection_values(
        c, MHD_HEADER_KIND,
        [](void* cls, MHD_ValueKind, const char* k, const char* v) {
          static_cast<decltype(headers)*>(cls)->emplace_back(k, v == nullptr ? "" : v);
          return MHD_YES;
        },
        &headers);
    // The parser bounds the head by its buffer (max-header-bytes plus a reserve); this makes
    // the limit exact.
    size_t head = r->target.size() + r->method.size() + 12;
    for (const auto& [k, v] : headers) head += k.size() + v.size() + 4;
    if (head > static_cast<size_t>(o.max_header_bytes)) {
      Refuse(Refusal::kBadHead, address, "headers above max-header-bytes (431)");
      return Answer(c, r, 431, "request header fields too large", kText, true);
    }
    const Framing f = CheckFraming(headers, o.max_request_body_size);
    r->match = MatchRoute(o, r->method, r->path);
    const bool ingest =
        r->match.status == 0 && (r->match.route == Route::kRaw || r->match.route == Route::kEvent ||
                                 r->match.route == Route::kCheck);
    const uint64_t limit = static_cast<uint64_t>(o.max_request_body_size);
    if (f.status == 413 && static_cast<uint64_t>(f.content_length) <= kDiscardFactor * limit) {
      r->too_large = true;  // read, dropped, answered 413 after it (Finish)
    } else if (f.status != 0) {
      if (ingest && f.status == 413) {  // counted where ingestion counts it (too-large)
        server->counters_.failure_too_large.fetch_add(1, std::memory_order_relaxed);
      } else {
        Refuse(Refusal::kBadFraming, address, f.reason);
      }
      return Answer(c, r, f.status, {}, nullptr, true);
    }
    // Nothing is answered in this first call unless refused: libmicrohttpd treats an answer
    // queued before the body as "early" and closes the connection after it. The next call
    // (after the body, or at once without one) answers.
    if (ingest) {
      r->mode = Request::Mode::kIngest;
      r->kind = r->match.route == Route::kRaw     ? IngestKind::kRaw
                : r->match.route == Route::kEvent ? IngestKind::kEvent
                                                  : IngestKind::kCheck;
      const char* enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
      r->has_encoding = enc != nullptr;
      r->encoding = enc == nullptr ? "" : enc;
      // Room for the announced length (within the limit): one allocation.
      if (f.content_length > 0 && !r->too_large) {
        r->body.reserve(static_cast<size_t>(f.content_length));
      }
    } else if (HasBodyMethod(r->method) || f.content_length > 0 || f.chunked) {
      r->mode = Request::Mode::kDiscard;  // read and dropped, so the connection stays usable
    }
    return MHD_YES;
  }

  void Consume(MHD_Connection* c, Entry* e, Request* r, const char* data, size_t n) {
    r->received += n;
    if (r->answered) return;  // answered early: the rest is dropped until the close
    const uint64_t limit = static_cast<uint64_t>(o.max_request_body_size);
    if (r->received > limit) {
      if (!r->too_large) {
        r->too_large = true;
        r->body = std::string();
      }
      if (r->received > kDiscardFactor * limit) {
        // Too much to drop politely: answered now, and the connection closed.
        TooLarge(c, e, r, true);
      }
      return;
    }
    if (r->mode == Request::Mode::kIngest) r->body.append(data, n);
  }

  // 413 for a body beyond max-request-body-size (an ingestion one counted as too-large).
  MHD_Result TooLarge(MHD_Connection* c, Entry* e, Request* r, bool close) {
    if (r->mode != Request::Mode::kIngest) return Answer(c, r, 413, {}, nullptr, close);
    IngestBody body;
    body.too_large = true;
    const IngestResult res =
        HandleIngest(r->kind, body, o, NowUnixNanos(), *server->deps_.ingest, server->counters_);
    const MHD_Result ok = Answer(c, r, res.status, {}, nullptr, close);
    LogFailure(r, res, e);
    return ok;
  }

  MHD_Result Finish(MHD_Connection* c, Entry* e, Request* r) {
    if (r->too_large) return TooLarge(c, e, r, false);
    if (r->mode != Request::Mode::kIngest) {
      Serve(c, r);
      return MHD_YES;
    }
    if (!r->submitted) {
      // Off the loop: inflating and decoding a large body takes milliseconds, and the ingestion
      // lock may be held by others; the loop keeps serving meanwhile.
      r->submitted = true;
      if (e != nullptr) ConnectionTable::Enter(e, Phase::kWorking, Clock::now());
      MHD_suspend_connection(c);
      auto job = [s = server, r, c] {
        IngestBody body;
        body.has_encoding = r->has_encoding;
        body.encoding = r->encoding;
        body.data = r->body;
        r->result = HandleIngest(r->kind, body, s->options_, NowUnixNanos(), *s->deps_.ingest,
                                 s->counters_);
        r->done.store(true, std::memory_order_release);
        MHD_resume_connection(c);
        s->loop_->Wake();
      };
      if (!pool.Submit(job)) job();
      return MHD_YES;
    }
    if (!r->done.load(std::memory_order_acquire)) return MHD_YES;  // not resumed by the pool
    if (e != nullptr) ConnectionTable::Enter(e, Phase::kBody, Clock::now());
    r->body = std::string();  // released before the answer is written
    // Over the ingestion memory budget (503): when to try again.
    const std::string retry =
        r->result.retry_after_s > 0 ? std::to_string(r->result.retry_after_s) : std::string();
    const MHD_Result ok = Answer(c, r, r->result.status, {}, nullptr, false, nullptr,
                                 retry.empty() ? nullptr : &retry);
    LogFailure(r, r->result, e);
    return ok;
  }

  void LogFailure(Request* r, const IngestResult& res, Entry* e) {
    if (res.failure == IngestFailure::kNone || !failure_log.Allow()) return;
    spdlog::info(
        "http ingestion failed server={} path={} status={} failure={} reason=\"{}\" srcip={}",
        o.name, LogEscaped{r->path}, res.status, IngestFailureName(res.failure),
        LogEscaped{res.message}, e ? e->address : "?");
  }

  // Every answer but ingestion's (http/answers.h).
  void Serve(MHD_Connection* c, Request* r) {
    const RouteAnswer a = AnswerRoute(r->match, r->target, server->deps_);
    Answer(c, r, a.status, a.body, a.content_type, false,
           a.location.empty() ? nullptr : &a.location);
  }

  // --- the loop ---

  // Closes the connections past a deadline: shutdown(2) makes libmicrohttpd read the end of
  // the stream and close (and forget) the connection itself.
  void Sweep() {
    for (auto [e, why] : table.Expired(Clock::now())) {
      ::shutdown(e->fd, SHUT_RDWR);
      // An idle kept-alive connection (nothing of a next request received) is only closed.
      if (e->answered > 0 && !e->head_started) continue;
      Refuse(why, e->address);
    }
  }

  void Serve() {
    pool.Start(o.enable_ingestion ? o.ingestion_threads : 0);
    while (!server->stop_requested_.load(std::memory_order_acquire)) {
      RunOnce();
    }
    // Stop accepting; close every connection without a request in progress; serve the
    // requests in progress to their end (their deadlines still apply).
    stopping = true;
    const MHD_socket listener = MHD_quiesce_daemon(daemon);
    if (listener != MHD_INVALID_SOCKET) ::close(listener);
    for (;;) {
      table.ForEach([](Entry* e) {
        if (e->phase == Phase::kHead && !e->cut) {
          e->cut = true;
          ::shutdown(e->fd, SHUT_RDWR);
        }
      });
      if (table.size() == 0) break;
      RunOnce();
    }
    StopDaemon();
  }

  HttpServer* server;
  const HttpServerOptions& o;
  MHD_Daemon* daemon = nullptr;
  int epoll_fd = -1;  // the library's (not ours to close)
  int wake_fd = -1;   // an eventfd: Wake()
  ConnectionTable table;
  IngestPool pool;
  bool stopping = false;
  stats::RateLimiter refusal_log{60, 10};  // refusals logged, per minute
  stats::RateLimiter failure_log{60, 10};  // failed ingestion requests logged, per minute
};

HttpServer::HttpServer(HttpServerOptions options, HttpServerDeps deps)
    : options_(std::move(options)), deps_(std::move(deps)) {
  loop_ = std::make_unique<Loop>(this);
}

HttpServer::~HttpServer() {
  // The owner normally joins Run()'s thread first; this is for a server destroyed running.
  Stop();
  WaitStopped(std::chrono::seconds(5));
  loop_.reset();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

Status HttpServer::Bind() {
  auto fail = [&](const char* what, int err) {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
    port_ = -1;
    return Status::Error("http." + options_.name + ".address: cannot listen on " +
                         options_.address + " (" + what + std::strerror(err) + ")");
  };
  // SO_REUSEADDR only, as Go's listeners: SO_REUSEPORT would let a second server bind the same
  // port and silently take half of the connections; unless metrics-reuse-port asks for it, for
  // a process hand-over (docs/restarts.md).
  Result<TcpListener> listener =
      ListenTcp(options_.host, options_.port, TcpListenOptions{.reuse_port = options_.reuse_port});
  if (!listener.ok()) {
    return Status::Error("http." + options_.name + ".address: cannot listen on " +
                         options_.address + " (" + listener.error() + ")");
  }
  listen_fd_ = listener->fd;
  port_ = listener->port;

  const auto o = options_;
  Loop* l = loop_.get();
  const unsigned flags =
      MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | (listener->family == AF_INET6 ? MHD_USE_IPv6 : 0);
  l->daemon = MHD_start_daemon(
      flags, 0, &Loop::OnAccept, l, &Loop::OnRequest, l, MHD_OPTION_LISTEN_SOCKET,
      static_cast<MHD_socket>(listen_fd_),
      // Our own caps (per address, total) refuse first, counted; this is a backstop.
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(o.max_connections + 16),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(o.max_header_bytes) + kBufferReserve,
      MHD_OPTION_CONNECTION_MEMORY_INCREMENT, static_cast<size_t>(4096),
      MHD_OPTION_CONNECTION_TIMEOUT, kIdleTimeoutSeconds, MHD_OPTION_NOTIFY_CONNECTION,
      &Loop::OnConnection, l, MHD_OPTION_NOTIFY_COMPLETED, &Loop::OnCompleted, l,
      MHD_OPTION_URI_LOG_CALLBACK, &Loop::OnRequestLine, l, MHD_OPTION_EXTERNAL_LOGGER,
      +[](void*, const char* fmt, va_list ap) {
        if (!spdlog::should_log(spdlog::level::debug)) return;
        char buf[512];
        vsnprintf(buf, sizeof(buf), fmt, ap);
        std::string_view msg(buf);
        while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
        spdlog::debug("http server (libmicrohttpd): {}", msg);
      },
      nullptr, MHD_OPTION_END);
  if (l->daemon == nullptr) {
    const int e = errno;
    return fail("libmicrohttpd did not start: ", e);
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_EPOLL_FD);
  l->epoll_fd = info == nullptr ? -1 : info->epoll_fd;
  l->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  listen_fd_ = -1;  // libmicrohttpd's now (closed by MHD_quiesce_daemon's caller or at stop)
  return {};
}

void HttpServer::Run() {
  {
    std::lock_guard lock(run_mu_);
    if (!stop_requested_) running_ = true;
  }
  if (running_ && loop_->daemon != nullptr) {
    const bool v6 = options_.host.find(':') != std::string::npos;
    spdlog::info(
        "http server listening server={} address={}{}{}:{} healthcheck={} expvar={} "
        "ingestion={} prof={}",
        options_.name, v6 ? "[" : "", options_.host, v6 ? "]" : "", port_,
        options_.enable_healthcheck, options_.enable_expvar, options_.enable_ingestion,
        options_.enable_prof);
    loop_->Serve();
  }
  std::lock_guard lock(run_mu_);
  finished_ = true;
  run_cv_.notify_all();
}

void HttpServer::Stop() {
  stop_requested_.store(true, std::memory_order_release);
  loop_->Wake();
}

bool HttpServer::WaitStopped(std::chrono::milliseconds timeout) {
  std::unique_lock lock(run_mu_);
  if (!running_) return true;
  return run_cv_.wait_for(lock, timeout, [this] { return finished_; });
}

void HttpServer::TakeRefusals(const std::function<void(std::string_view, uint64_t)>& f) {
  for (size_t i = 0; i < kRefusalCount; ++i) {
    const uint64_t now = server_counters_.refused[i].load(std::memory_order_relaxed);
    f(RefusalName(static_cast<Refusal>(i)), now - refusals_reported_[i]);
    refusals_reported_[i] = now;
  }
}

}  // namespace cstatsd::http
