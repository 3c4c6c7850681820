#include "http/connection_limits.h"

#include <algorithm>
#include <cctype>

namespace cstatsd::http {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view TrimOws(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

}  // namespace

std::string_view RefusalName(Refusal r) {
  switch (r) {
    case Refusal::kMaxConnections:
      return "max-connections";
    case Refusal::kMaxConnectionsPerIp:
      return "max-connections-per-ip";
    case Refusal::kBadHead:
      return "bad-head";
    case Refusal::kBadFraming:
      return "bad-framing";
    case Refusal::kHeaderTimeout:
      return "header-timeout";
    case Refusal::kRequestTimeout:
      return "request-timeout";
  }
  return "unknown";
}

Framing CheckFraming(const std::vector<std::pair<std::string_view, std::string_view>>& headers,
                     int64_t max_body) {
  Framing f;
  int transfer_encodings = 0;
  for (const auto& [name, raw] : headers) {
    const std::string_view value = TrimOws(raw);
    if (IEquals(name, "Content-Length")) {
      // 1*DIGIT (RFC 9110 §8.6): no sign, no list, no spaces inside; 18 digits fit int64.
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        f.status = 400;
        f.reason = "Content-Length is not a number of bytes";
        return f;
      }
      int64_t n = 0;
      for (char c : value) n = n * 10 + (c - '0');
      if (f.content_length >= 0 && f.content_length != n) {
        f.status = 400;
        f.reason = "conflicting Content-Length headers";
        return f;
      }
      f.content_length = n;
    } else if (IEquals(name, "Transfer-Encoding")) {
      ++transfer_encodings;
      if (!IEquals(value, "chunked")) {
        f.status = 501;
        f.reason = "Transfer-Encoding other than chunked";
        return f;
      }
      f.chunked = true;
    }
  }
  if (transfer_encodings > 1) {
    f.status = 400;
    f.reason = "Transfer-Encoding repeated";
  } else if (f.chunked && f.content_length >= 0) {
    f.status = 400;
    f.reason = "both Transfer-Encoding and Content-Length";
  } else if (f.content_length > max_body) {
    f.status = 413;
    f.reason = "Content-Length above max-request-body-size";
  }
  return f;
}

bool ConnectionTable::Admit(const std::string& address, Refusal* why, Entry** evict) {
  *evict = nullptr;
  if (from(address) >= max_per_address_) {
    *why = Refusal::kMaxConnectionsPerIp;
    return false;
  }
  if (entries_.size() < static_cast<size_t>(max_total_)) return true;
  Entry* oldest = nullptr;
  for (auto& [ptr, e] : entries_) {
    if (e->phase == Phase::kHead && !e->cut && (oldest == nullptr || e->start < oldest->start)) {
      oldest = ptr;
    }
  }
  *why = Refusal::kMaxConnections;
  if (oldest == nullptr) return false;
  oldest->cut = true;
  *evict = oldest;
  return true;
}

ConnectionTable::Entry* ConnectionTable::Add(std::string address, int fd, Clock::time_point now) {
  auto e = std::make_unique<Entry>();
  e->address = std::move(address);
  e->fd = fd;
  e->start = now;
  ++per_address_[e->address];
  Entry* p = e.get();
  entries_.emplace(p, std::move(e));
  return p;
}

void ConnectionTable::Remove(Entry* entry) {
  auto it = entries_.find(entry);
  if (it == entries_.end()) return;
  auto a = per_address_.find(entry->address);
  if (a != per_address_.end() && --a->second <= 0) per_address_.erase(a);
  entries_.erase(it);
}

void ConnectionTable::Enter(Entry* entry, Phase phase, Clock::time_point now) {
  if (phase == Phase::kHead || entry->phase == Phase::kWorking) entry->start = now;
  if (phase == Phase::kHead) entry->head_started = false;
  entry->phase = phase;
}

std::vector<std::pair<ConnectionTable::Entry*, Refusal>> ConnectionTable::Expired(
    Clock::time_point now) {
  std::vector<std::pair<Entry*, Refusal>> out;
  for (auto& [ptr, e] : entries_) {
    if (e->cut) continue;
    const auto age = now - e->start;
    if (e->phase == Phase::kHead) {
      if (age > request_timeout_) {
        out.emplace_back(ptr, Refusal::kRequestTimeout);
      } else if (age > header_timeout_) {
        out.emplace_back(ptr, Refusal::kHeaderTimeout);
      } else {
        continue;
      }
    } else if (e->phase == Phase::kBody && age > request_timeout_) {
      out.emplace_back(ptr, Refusal::kRequestTimeout);
    } else {
      continue;
    }
    e->cut = true;
  }
  return out;
}

int ConnectionTable::from(const std::string& address) const {
  auto it = per_address_.find(address);
  return it == per_address_.end() ? 0 : it->second;
}

}  // namespace cstatsd::http
