#include "forward/dns_discovery.h"

#include <ares.h>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <utility>

namespace cstatsd::forward {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// The text form of one socket address ("10.0.0.7", "fd00::7"); empty for other families.
std::string AddressText(const sockaddr* addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, buf, sizeof buf);
  } else if (addr->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

void SortUnique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

class SystemResolver final : public HostResolver {
 public:
  Result<std::vector<std::string>> Resolve(const std::string& host) override {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &list);
    if (rc != 0) return Status::Error(gai_strerror(rc));
    std::vector<std::string> out;
    for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
      std::string text = AddressText(a->ai_addr);
      if (!text.empty()) out.push_back(std::move(text));
    }
    freeaddrinfo(list);
    SortUnique(out);
    return out;
  }
};

class CaresResolver final : public HostResolver {
 public:
  CaresResolver(std::string server, std::chrono::nanoseconds timeout)
      : server_(std::move(server)), timeout_(timeout) {}

  Result<std::vector<std::string>> Resolve(const std::string& host) override {
    ares_options opts{};
    int mask = 0;
    // The whole budget for one try, one try: the caller resolves again at the next period.
    opts.timeout =
        static_cast<int>(std::max<int64_t>(1, duration_cast<milliseconds>(timeout_).count()));
    opts.tries = 1;
    char lookups[] = "b";  // DNS only: the configured server is the one source of truth
    opts.lookups = lookups;
    mask |= ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
    ares_channel channel = nullptr;
    if (const int rc = ares_init_options(&channel, &opts, mask); rc != ARES_SUCCESS) {
      return Status::Error(fmt::format("c-ares: {}", ares_strerror(rc)));
    }
    Query q;
    if (const int rc = ares_set_servers_ports_csv(channel, server_.c_str()); rc != ARES_SUCCESS) {
      ares_destroy(channel);
      return Status::Error(fmt::format("dns-server \"{}\": {}", server_, ares_strerror(rc)));
    }
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    ares_getaddrinfo(channel, host.c_str(), nullptr, &hints, &CaresResolver::OnAnswer, &q);
    while (!q.done) {
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      const int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
      pollfd fds[ARES_GETSOCK_MAXNUM];
      nfds_t n = 0;
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short events = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
        if (events != 0) fds[n++] = pollfd{socks[i], events, 0};
      }
      timeval tv{};
      timeval* next = ares_timeout(channel, nullptr, &tv);
      const int wait_ms =
          next == nullptr ? 1000 : static_cast<int>(tv.tv_sec * 1000 + tv.tv_usec / 1000) + 1;
      const int ready = poll(fds, n, wait_ms);
      if (ready <= 0) {
        ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
        continue;
      }
      for (nfds_t i = 0; i < n; ++i) {
        const bool readable = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
        const bool writable = (fds[i].revents & POLLOUT) != 0;
        if (!readable && !writable) continue;
        ares_process_fd(channel, readable ? fds[i].fd : ARES_SOCKET_BAD,
                        writable ? fds[i].fd : ARES_SOCKET_BAD);
      }
    }
    ares_destroy(channel);
    if (q.status != ARES_SUCCESS) return Status::Error(ares_strerror(q.status));
    SortUnique(q.addresses);
    return std::move(q.addresses);
  }

 private:
  struct Query {
    bool done = false;
    int status = ARES_SUCCESS;
    std::vector<std::string> addresses;
  };

  static void OnAnswer(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
    auto* q = static_cast<Query*>(arg);
    q->done = true;
    q->status = status;
    if (result == nullptr) return;
    for (const ares_addrinfo_node* n = result->nodes; n != nullptr; n = n->ai_next) {
      std::string text = AddressText(n->ai_addr);
      if (!text.empty()) q->addresses.push_back(std::move(text));
    }
    ares_freeaddrinfo(result);
  }

  std::string server_;
  std::chrono::nanoseconds timeout_;
};

}  // namespace

const std::vector<std::string_view>& DnsDiscoveryOptions::Keys() {
  static const std::vector<std::string_view> keys = {"api-endpoints-dns", "dns-refresh-period",
                                                     "dns-server", "dns-timeout"};
  return keys;
}

DnsDiscoveryOptions DnsDiscoveryOptions::Load(const config::Section& s,
                                              std::vector<std::string>* errors) {
  DnsDiscoveryOptions o;
  auto take = [&](auto result, auto& field) {
    if (result.ok()) {
      field = *result;
    } else {
      errors->push_back(result.error());
    }
  };
  auto problem = [&](std::string_view key, const std::string& what) {
    errors->push_back(fmt::format("{}.{}: {}", s.path(), key, what));
  };
  take(s.GetString("api-endpoints-dns", ""), o.name);
  take(s.GetDuration("dns-refresh-period", o.refresh_period), o.refresh_period);
  take(s.GetString("dns-server", ""), o.server);
  take(s.GetDuration("dns-timeout", o.timeout), o.timeout);
  if (!o.name.empty()) {
    if (auto hp = ParseHostPort(o.name); !hp.ok()) problem("api-endpoints-dns", hp.error());
  }
  if (!o.server.empty()) {
    if (auto hp = ParseHostPort(o.server); !hp.ok()) {
      problem("dns-server", hp.error());
    } else if (in_addr a4{}; inet_pton(AF_INET, hp->host.c_str(), &a4) != 1) {
      problem("dns-server", fmt::format("\"{}\" must be an IPv4 address and a port", o.server));
    }
  }
  if (o.refresh_period < std::chrono::milliseconds(100)) {
    problem("dns-refresh-period", "must be at least 100ms");
  }
  if (o.timeout <= std::chrono::nanoseconds::zero()) problem("dns-timeout", "must be positive");
  return o;
}

Result<HostPort> ParseHostPort(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status::Error(fmt::format("\"{}\" must be name:port", text));
  }
  HostPort hp;
  hp.host = std::string(text.substr(0, colon));
  const std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return Status::Error(fmt::format("\"{}\": the port must be 1-65535", text));
  }
  if (hp.host.find_first_of(":/[] ") != std::string::npos) {
    return Status::Error(fmt::format("\"{}\" must be name:port (no scheme, no brackets)", text));
  }
  hp.port = static_cast<uint16_t>(value);
  return hp;
}

std::string EndpointUrl(std::string_view address, uint16_t port) {
  if (address.find(':') != std::string_view::npos) {
    return fmt::format("http://[{}]:{}", address, port);
  }
  return fmt::format("http://{}:{}", address, port);
}

std::unique_ptr<HostResolver> MakeSystemResolver() { return std::make_unique<SystemResolver>(); }

Result<std::unique_ptr<HostResolver>> MakeCaresResolver(std::string_view server,
                                                        std::chrono::nanoseconds timeout) {
  static const int init = ares_library_init(ARES_LIB_INIT_ALL);
  if (init != ARES_SUCCESS) {
    return Status::Error(fmt::format("c-ares: {}", ares_strerror(init)));
  }
  return std::unique_ptr<HostResolver>(
      std::make_unique<CaresResolver>(std::string(server), timeout));
}

DnsDiscovery::DnsDiscovery(DnsDiscoveryOptions options, HostPort target,
                           std::unique_ptr<HostResolver> resolver, OnChange on_change)
    : options_(std::move(options)),
      target_(std::move(target)),
      resolver_(std::move(resolver)),
      on_change_(std::move(on_change)) {}

Result<std::unique_ptr<DnsDiscovery>> DnsDiscovery::Create(const DnsDiscoveryOptions& options,
                                                           OnChange on_change) {
  auto target = ParseHostPort(options.name);
  if (!target.ok()) return Status::Error("http-transport.api-endpoints-dns: " + target.error());
  std::unique_ptr<HostResolver> resolver;
  if (options.server.empty()) {
    resolver = MakeSystemResolver();
  } else {
    auto r = MakeCaresResolver(options.server, options.timeout);
    if (!r.ok()) return r.status();
    resolver = std::move(*r);
  }
  return std::make_unique<DnsDiscovery>(options, std::move(*target), std::move(resolver),
                                        std::move(on_change));
}

Status DnsDiscovery::Refresh() {
  lookups_.fetch_add(1, std::memory_order_relaxed);
  auto addresses = resolver_->Resolve(target_.host);
  Status failure;
  if (!addresses.ok()) {
    failure = Status::Error(addresses.error());
  } else if (addresses->empty()) {
    failure = Status::Error("no address in the answer");
  }
  if (!failure.ok()) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    if (failure_log_.Allow()) {
      spdlog::warn("DNS discovery failed; keeping the last set name={} error=\"{}\" endpoints={}",
                   options_.name, failure.message(), endpoints().size());
    }
    return failure;
  }
  std::vector<std::string> urls;
  urls.reserve(addresses->size());
  for (const std::string& a : *addresses) urls.push_back(EndpointUrl(a, target_.port));
  SortUnique(urls);
  {
    std::lock_guard lock(mu_);
    if (urls == endpoints_) return Status();
    endpoints_ = urls;
  }
  changes_.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("DNS discovery: the set of aggregators changed name={} endpoints=\"{}\"",
               options_.name, fmt::join(urls, " "));
  if (on_change_) on_change_(urls);
  return Status();
}

void DnsDiscovery::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // Until a first set is known, try every second (bounded by the period).
    const auto wait = endpoints_.empty() ? std::min<std::chrono::nanoseconds>(
                                               options_.refresh_period, std::chrono::seconds(1))
                                         : options_.refresh_period;
    if (stop_cv_.wait_for(lock, wait, [&] { return stopping_; })) break;
    lock.unlock();
    (void)Refresh();
    lock.lock();
  }
}

void DnsDiscovery::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
}

DnsDiscoveryStats DnsDiscovery::Totals() const {
  DnsDiscoveryStats s;
  s.lookups = lookups_.load(std::memory_order_relaxed);
  s.failed = failed_.load(std::memory_order_relaxed);
  s.changes = changes_.load(std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  s.endpoints = endpoints_.size();
  return s;
}

std::vector<std::string> DnsDiscovery::endpoints() const {
  std::lock_guard lock(mu_);
  return endpoints_;
}

}  // namespace cstatsd::forward
