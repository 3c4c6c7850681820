#include "backends/prometheus/scrape_listener.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/listen_socket.h"
#include "prometheus/process_metrics.h"

namespace cstatsd::backends::prometheus {
namespace {

namespace prom = cstatsd::prometheus;

constexpr size_t kBlockSize = 64 << 10;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether a comma-separated header lists `token` (media range or coding) with q above 0.
bool Lists(std::string_view header, std::string_view token) {
  const std::string h = Lower(header);
  std::string_view rest = h;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t semi = item.find(';');
    if (Trim(item.substr(0, semi)) != token) continue;
    bool zero = false;
    std::string_view params = semi == std::string_view::npos ? "" : item.substr(semi + 1);
    while (!params.empty()) {
      const size_t next = params.find(';');
      const std::string_view p = Trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      if (p.size() > 2 && p[0] == 'q' && p[1] == '=') {
        zero = std::strtod(std::string(p.substr(2)).c_str(), nullptr) <= 0;
      }
    }
    if (!zero) return true;
  }
  return false;
}

// The body of one scrape: the shared exposition (kept alive by the reference), sent compressed
// (`head`, gzip) or read back through `inflater` (plain), then what this scrape appended;
// libmicrohttpd pulls it in blocks, front to back.
struct Body {
  std::shared_ptr<const Exposition> exposition;
  std::string_view head;               // gzip: the exposition's compressed prefix
  std::unique_ptr<Inflater> inflater;  // plain: the exposition's text, inflated as it is sent
  uint64_t plain_size = 0;             // plain: the text's length
  std::string tail;
  uint64_t head_size() const { return inflater != nullptr ? plain_size : head.size(); }
  uint64_t size() const { return head_size() + tail.size(); }
};

ssize_t ReadBody(void* cls, uint64_t pos, char* buf, size_t max) {
  Body* b = static_cast<Body*>(cls);
  if (pos >= b->size()) return MHD_CONTENT_READER_END_OF_STREAM;
  const uint64_t head_size = b->head_size();
  size_t n = 0;
  if (pos < head_size) {
    if (b->inflater != nullptr) {
      // libmicrohttpd reads a callback body in order; an inflater cannot go back.
      if (pos != b->inflater->produced()) return MHD_CONTENT_READER_END_WITH_ERROR;
      n = b->inflater->Read(buf, static_cast<size_t>(std::min<uint64_t>(max, head_size - pos)));
      if (n == 0) return MHD_CONTENT_READER_END_WITH_ERROR;
    } else {
      n = static_cast<size_t>(std::min<uint64_t>(max, head_size - pos));
      std::memcpy(buf, b->head.data() + pos, n);
    }
  }
  const uint64_t tail_pos = pos + n - std::min(pos + n, head_size);
  if (n < max && pos + n >= head_size && tail_pos < b->tail.size()) {
    const size_t m = std::min<size_t>(max - n, b->tail.size() - tail_pos);
    std::memcpy(buf + n, b->tail.data() + tail_pos, m);
    n += m;
  }
  return static_cast<ssize_t>(n);
}

MHD_Result Plain(MHD_Connection* c, unsigned status, std::string_view text,
                 const char* allow = nullptr) {
  MHD_Response* res = MHD_create_response_from_buffer(text.size(), const_cast<char*>(text.data()),
                                                      MHD_RESPMEM_MUST_COPY);
  if (res == nullptr) return MHD_NO;
  MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  if (allow != nullptr) MHD_add_response_header(res, MHD_HTTP_HEADER_ALLOW, allow);
  const MHD_Result ok = MHD_queue_response(c, status, res);
  MHD_destroy_response(res);
  return ok;
}

}  // namespace

Exposition::Exposition(GzipPrefix text, GzipPrefix openmetrics) {
  gzipped_[static_cast<size_t>(Format::kText)] = std::move(text);
  gzipped_[static_cast<size_t>(Format::kOpenMetrics)] = std::move(openmetrics);
}

Format NegotiateFormat(std::string_view accept) {
  return Lists(accept, "application/openmetrics-text") ? Format::kOpenMetrics : Format::kText;
}

bool AcceptsGzip(std::string_view accept_encoding) { return Lists(accept_encoding, "gzip"); }

struct ScrapeListener::Handler {
  static MHD_Result OnRequest(void* cls, MHD_Connection* c, const char* url, const char* method,
                              const char*, const char*, size_t* upload_data_size, void** con_cls) {
    auto* l = static_cast<ScrapeListener*>(cls);
    static int started;
    if (*con_cls == nullptr) {
      *con_cls = &started;
      // A scrape has no body: one announced is refused before it is read.
      if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
          (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) &&
           std::strcmp(
               MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH),
               "0") != 0)) {
        return Plain(c, MHD_HTTP_CONTENT_TOO_LARGE, "A scrape has no body.\n");
      }
      return MHD_YES;
    }
    if (*upload_data_size != 0) {
      *upload_data_size = 0;
      return MHD_YES;
    }
    const std::string_view m(method);
    if (m != "GET" && m != "HEAD") {
      return Plain(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed.\n", "GET, HEAD");
    }
    if (l->options_.path != url) return Plain(c, MHD_HTTP_NOT_FOUND, "Not found.\n");
    return Serve(l, c);
  }

  static MHD_Result Serve(ScrapeListener* l, MHD_Connection* c);
};

MHD_Result ScrapeListener::Handler::Serve(ScrapeListener* l, MHD_Connection* c) {
  const char* accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
  const char* encoding =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
  const Format f =
      l->options_.openmetrics ? NegotiateFormat(accept == nullptr ? "" : accept) : Format::kText;
  const bool gzip = AcceptsGzip(encoding == nullptr ? "" : encoding);
  const uint64_t scrapes = l->scrapes_.fetch_add(1, std::memory_order_relaxed) + 1;

  auto body = std::make_unique<Body>();
  {
    std::lock_guard lock(l->latest_mutex_);
    body->exposition = l->latest_;
  }
  std::string tail;
  prom::AppendHeader(f, prom::FamilyType::kCounter, "cstatsd_prometheus_scrapes_total",
                     "Scrapes served by the prometheus backend.", tail);
  prom::AppendCounterSampleName(f, "cstatsd_prometheus_scrapes_total", tail);
  tail += ' ';
  prom::AppendValue(f, static_cast<double>(scrapes), tail);
  tail += '\n';
  prom::AppendProcessMetrics(f, tail);
  prom::AppendEnd(f, tail);
  static const GzipPrefix kEmpty = GzipStart("");
  const GzipPrefix& prefix = body->exposition != nullptr ? body->exposition->gzipped(f) : kEmpty;
  if (gzip) {
    body->head = prefix.bytes;
    body->tail = GzipFinish(prefix, tail);
  } else {
    body->inflater = std::make_unique<Inflater>(prefix);
    body->plain_size = prefix.length;
    body->tail = std::move(tail);
  }
  const size_t size = body->size();
  MHD_Response* res = MHD_create_response_from_callback(
      size, kBlockSize, &ReadBody, body.get(), +[](void* cls) { delete static_cast<Body*>(cls); });
  if (res == nullptr) return MHD_NO;
  body.release();
  MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE,
                          std::string(prom::ContentType(f)).c_str());
  if (gzip) MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
  MHD_add_response_header(res, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
  const MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, res);
  MHD_destroy_response(res);
  return ok;
}

void ScrapeListener::Publish(std::shared_ptr<const Exposition> e) {
  std::shared_ptr<const Exposition> old;
  {
    std::lock_guard lock(latest_mutex_);
    old = std::exchange(latest_, std::move(e));
  }  // the previous exposition is freed (if unread) outside the lock
}

Result<std::unique_ptr<ScrapeListener>> ScrapeListener::Start(ScrapeListenerOptions options) {
  std::unique_ptr<ScrapeListener> l(new ScrapeListener(std::move(options)));
  const ScrapeListenerOptions& o = l->options_;
  const std::string where =
      o.host.empty() ? ":" + std::to_string(o.port) : o.host + ":" + std::to_string(o.port);
  auto fail = [&](std::string_view why) {
    return Status::Error(o.key + ": cannot listen on " + where + " (" + std::string(why) + ")");
  };
  // With no host, the IPv6 wildcard first (dual stack), as Go's listeners do.
  Result<TcpListener> listener = ListenTcp(o.host, o.port, TcpListenOptions{.dual_stack = true});
  if (!listener.ok()) return fail(listener.error());
  const int fd = listener->fd;
  const int family = listener->family;
  l->port_ = listener->port;

  const unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | (family == AF_INET6 ? MHD_USE_IPv6 : 0);
  l->daemon_ = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &Handler::OnRequest, l.get(), MHD_OPTION_LISTEN_SOCKET,
      static_cast<MHD_socket>(fd), MHD_OPTION_CONNECTION_LIMIT, o.max_connections,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, o.max_connections_per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
      o.idle_timeout_seconds, MHD_OPTION_CONNECTION_MEMORY_LIMIT, o.max_header_bytes + (16 << 10),
      MHD_OPTION_EXTERNAL_LOGGER,
      +[](void*, const char* fmt, va_list ap) {
        if (!spdlog::should_log(spdlog::level::debug)) return;
        char buf[512];
        vsnprintf(buf, sizeof(buf), fmt, ap);
        std::string_view msg(buf);
        while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
        spdlog::debug("prometheus scrape listener (libmicrohttpd): {}", msg);
      },
      nullptr, MHD_OPTION_END);
  if (l->daemon_ == nullptr) {
    const int e = errno;
    ::close(fd);
    return fail(std::string("libmicrohttpd did not start: ") + std::strerror(e));
  }
  return l;
}

ScrapeListener::~ScrapeListener() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);  // joins its thread, closes the socket
}

}  // namespace cstatsd::backends::prometheus
