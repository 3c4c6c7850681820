#include "backends/statsdaemon/statsdaemon_backend.h"

#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/go_format.h"

namespace cstatsd::backends::statsdaemon {
namespace {

class Packer {
 public:
  explicit Packer(size_t max) : max_(max) {}
  void Add(const std::string& line) {
    if (!current_.empty() && current_.size() + 1 + line.size() > max_) Finish();
    if (!current_.empty()) current_ += '\n';
    current_ += line;
  }
  std::vector<std::string> Take() {
    Finish();
    return std::move(packets_);
  }

 private:
  void Finish() {
    if (!current_.empty()) packets_.push_back(std::move(current_));
    current_.clear();
  }
  size_t max_;
  std::string current_;
  std::vector<std::string> packets_;
};

void AppendTags(const SeriesKey& key, bool disable_tags, std::string& line) {
  // docs/compatibility.md#decision-6: the metric's own tags only, never the source.
  if (disable_tags || key.tags().empty()) return;
  line += "|#";
  line += key.tags();
}

}  // namespace

Result<StatsdaemonOptions> StatsdaemonOptions::From(const config::Config& config) {
  StatsdaemonOptions o;
  const config::Section sec = config.GetSection("statsdaemon");
  std::string errors;
  auto note = [&](const Status& s) {
    if (!s.ok()) errors += s.message() + "\n";
  };
  if (auto v = sec.GetString("address", o.address); v.ok())
    o.address = *v;
  else
    note(v.status());
  if (auto v = sec.GetDuration("dial_timeout", o.dial_timeout); v.ok()) {
    o.dial_timeout = *v;
  } else {
    note(v.status());
  }
  if (auto v = sec.GetDuration("write_timeout", o.write_timeout); v.ok()) {
    o.write_timeout = *v;
  } else {
    note(v.status());
  }
  if (auto v = sec.GetBool("disable_tags", false); v.ok())
    o.disable_tags = *v;
  else
    note(v.status());
  if (auto v = sec.GetBool("tcp_transport", false); v.ok())
    o.tcp_transport = *v;
  else
    note(v.status());
  if (auto v = sec.GetBool("tls_transport", false); v.ok())
    o.tls_transport = *v;
  else
    note(v.status());
  if (o.address.empty()) errors += "statsdaemon.address: is required\n";
  if (o.dial_timeout.count() <= 0) errors += "statsdaemon.dial_timeout: must be positive\n";
  if (o.write_timeout.count() < 0) errors += "statsdaemon.write_timeout: must not be negative\n";
  for (auto [key, field] :
       {std::pair{"tls_ca_path", &o.tls_ca_path}, std::pair{"tls_cert_path", &o.tls_cert_path},
        std::pair{"tls_key_path", &o.tls_key_path}}) {
    if (auto v = sec.GetString(key, ""); v.ok())
      *field = *v;
    else
      note(v.status());
  }
  if (o.tls_transport && !o.tcp_transport) {
    errors += "statsdaemon.tls_transport: requires tcp_transport = true\n";
  }
  if (o.tls_cert_path.empty() != o.tls_key_path.empty()) {
    errors += "statsdaemon.tls_cert_path: tls_cert_path and tls_key_path must be given together\n";
  }
  if (!errors.empty()) {
    errors.pop_back();
    return Status::Error(errors);
  }
  return o;
}

Result<std::unique_ptr<Backend>> StatsdaemonBackend::Create(const BackendContext& ctx) {
  auto o = StatsdaemonOptions::From(ctx.config);
  if (!o.ok()) return o.status();
  std::shared_ptr<tls::TlsContext> tls;
  if (o->tls_transport) {
    auto client = tls::TlsContext::Client({o->tls_ca_path, o->tls_cert_path, o->tls_key_path});
    if (!client.ok()) return Status::Error("statsdaemon.tls_transport: " + client.error());
    tls = std::move(*client);
  }
  spdlog::info("created backend backend=statsdaemon address={} transport={}", o->address,
               o->tls_transport   ? "tls"
               : o->tcp_transport ? "tcp"
                                  : "udp");
  return std::unique_ptr<Backend>(std::make_unique<StatsdaemonBackend>(std::move(*o), tls));
}

StatsdaemonBackend::StatsdaemonBackend(StatsdaemonOptions options,
                                       std::shared_ptr<tls::TlsContext> tls)
    : options_(std::move(options)),
      tls_(std::move(tls)),
      tcp_(options_.address, options_.dial_timeout, options_.write_timeout, tls_) {}

StatsdaemonBackend::~StatsdaemonBackend() { CloseUdp(); }

std::vector<std::string> StatsdaemonBackend::FormatPackets(const snapshot::FlushSnapshot& s,
                                                           bool disable_tags, size_t max_packet) {
  Packer packer(max_packet);
  std::string line;
  for (const auto& c : s.counters) {
    if (c.key->name().substr(0, 7) == "statsd.") continue;  // as gostatsd: internal counters
    line.assign(c.key->name());
    line += ':';
    if (s.float_counters) {  // docs/aggregation.md#float-counters: the fraction, exactly
      AppendGoG(line, c.float_value);
    } else {
      AppendInt(line, c.value);
    }
    line += "|c";
    AppendTags(*c.key, disable_tags, line);
    packer.Add(line);
  }
  for (const auto& t : s.timers) {
    for (double v : s.ValuesOf(t)) {
      line.assign(t.key->name());
      line += ':';
      AppendGoF(line, v);
      line += "|ms";
      AppendTags(*t.key, disable_tags, line);
      packer.Add(line);
    }
  }
  for (const auto& g : s.gauges) {
    line.assign(g.key->name());
    line += ':';
    AppendGoF(line, g.value);
    line += "|g";
    AppendTags(*g.key, disable_tags, line);
    packer.Add(line);
  }
  for (const auto& st : s.sets) {
    for (const std::string& m : s.MembersOf(st)) {
      line.assign(st.key->name());
      line += ':';
      line += m;
      line += "|s";
      AppendTags(*st.key, disable_tags, line);
      packer.Add(line);
    }
  }
  return packer.Take();
}

std::string StatsdaemonBackend::FormatEvent(const Event& e, bool disable_tags) {
  std::string text;
  for (char c : e.text) {
    if (c == '\n') {
      text += "\\n";
    } else {
      text += c;
    }
  }
  std::string out = "_e{" + std::to_string(e.title.size()) + "," + std::to_string(text.size()) +
                    "}:" + e.title + "|" + text;
  if (e.date_happened != 0) out += "|d:" + std::to_string(e.date_happened);
  if (!e.source.empty()) out += "|h:" + e.source;
  if (!e.aggregation_key.empty()) out += "|k:" + e.aggregation_key;
  if (!e.source_type_name.empty()) out += "|s:" + e.source_type_name;
  if (e.priority == EventPriority::kLow) out += "|p:low";
  if (e.alert_type != EventAlertType::kInfo) {
    out += "|t:";
    out += EventAlertTypeName(e.alert_type);
  }
  if (!disable_tags && !e.tags.empty()) {
    out += "|#";
    for (size_t i = 0; i < e.tags.size(); ++i) {
      if (i > 0) out += ',';
      out += e.tags[i];
    }
  }
  return out;
}

std::string StatsdaemonBackend::FormatServiceCheck(const ServiceCheck& c, bool disable_tags) {
  std::string out = "_sc|" + c.name + "|" + std::to_string(static_cast<int>(c.status));
  if (c.timestamp != 0) out += "|d:" + std::to_string(c.timestamp);
  if (!c.source.empty()) out += "|h:" + c.source;
  if (!disable_tags && !c.tags.empty()) {
    out += "|#";
    for (size_t i = 0; i < c.tags.size(); ++i) {
      if (i > 0) out += ',';
      out += c.tags[i];
    }
  }
  if (!c.container_id.empty()) out += "|c:" + c.container_id;
  if (!c.message.empty()) {
    out += "|m:";
    for (const char ch : c.message) {
      if (ch == '\n') {
        out += "\\n";
      } else {
        out += ch;
      }
    }
  }
  return out;
}

Status StatsdaemonBackend::OpenUdp() {
  if (udp_fd_ >= 0) return {};
  std::string host, port;
  if (!SplitHostPort(options_.address, host, port)) {
    return Status::Error("invalid address \"" + options_.address + "\"");
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    return Status::Error("resolve " + options_.address + ": " + gai_strerror(rc));
  }
  int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return Status::Error("socket: " + std::string(std::strerror(errno)));
  udp_fd_ = fd;
  return {};
}

void StatsdaemonBackend::CloseUdp() {
  if (udp_fd_ >= 0) close(udp_fd_);
  udp_fd_ = -1;
}

Status StatsdaemonBackend::SendUdp(const std::vector<std::string>& packets) {
  // docs/compatibility.md#decision-5: datagrams that fail are sent once more on a fresh socket
  // (resolved again), then the flush counts as dropped.
  std::vector<const std::string*> pending;
  pending.reserve(packets.size());
  for (const std::string& p : packets) pending.push_back(&p);
  std::string last_error;
  for (int attempt = 0; attempt < 2 && !pending.empty(); ++attempt) {
    if (attempt == 1) {
      BackendStats::Add(stats().retried, 1);
      CloseUdp();
    }
    if (Status s = OpenUdp(); !s.ok()) {
      last_error = s.message();
      continue;
    }
    std::vector<const std::string*> failed;
    for (const std::string* p : pending) {
      if (send(udp_fd_, p->data(), p->size(), 0) < 0) {
        failed.push_back(p);
        last_error = std::strerror(errno);
      }
    }
    pending = std::move(failed);
  }
  if (!pending.empty()) {
    return Status::Error("statsdaemon: " + std::to_string(pending.size()) + " of " +
                         std::to_string(packets.size()) + " datagrams not sent: " + last_error);
  }
  return {};
}

Status StatsdaemonBackend::SendMetrics(const snapshot::FlushSnapshot& snapshot) {
  if (!options_.tcp_transport) {
    return SendUdp(FormatPackets(snapshot, options_.disable_tags, kMaxUdpPacket));
  }
  for (std::string& p : FormatPackets(snapshot, options_.disable_tags, kMaxTcpPacket)) {
    p += '\n';
    // docs/compatibility.md#decision-5: a failed write is retried once, at once, on a fresh
    // connection; while the server cannot be reached, the first dial of a later flush waits out the
    // client's backoff.
    Status s = tcp_.Write(p);
    if (!s.ok()) {
      BackendStats::Add(stats().retried, 1);
      s = tcp_.Write(p, /*wait_for_backoff=*/false);
    }
    if (!s.ok()) return Status::Error("statsdaemon: " + s.message());
  }
  return {};
}

Status StatsdaemonBackend::SendEvent(const Event& event) {
  return SendAlone(FormatEvent(event, options_.disable_tags));
}

Status StatsdaemonBackend::SendServiceCheck(const ServiceCheck& check) {
  return SendAlone(FormatServiceCheck(check, options_.disable_tags));
}

Status StatsdaemonBackend::SendAlone(std::string line) {
  if (!options_.tcp_transport) return SendUdp({line});
  // A fresh connection per event or check, as gostatsd does for events.
  TcpClient conn(options_.address, options_.dial_timeout, options_.write_timeout, tls_);
  line += '\n';
  Status s = conn.Write(line);
  return s.ok() ? s : Status::Error("statsdaemon: " + s.message());
}

}  // namespace cstatsd::backends::statsdaemon
