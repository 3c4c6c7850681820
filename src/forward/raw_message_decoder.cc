// The receiving side of /v2/raw and /v2/event (docs/http.md#ingestion): a bounded walk of the
// protobuf wire format, limits checked in a first pass and views handed out in the second,
// never building the message. The encoding is in raw_message.cc.
#include <cstring>

#include "core/utf8.h"
#include "forward/raw_message.h"

namespace cstatsd::forward {

std::string_view DecodeErrorName(DecodeError e) {
  switch (e) {
    case DecodeError::kNone:
      return "";
    case DecodeError::kMalformed:
      return "malformed";
    case DecodeError::kSeries:
      return "series";
    case DecodeError::kTags:
      return "tags";
    case DecodeError::kTagLength:
      return "tag-length";
    case DecodeError::kNameLength:
      return "name-length";
    case DecodeError::kTimerValues:
      return "timer-values";
    case DecodeError::kSetMembers:
      return "set-members";
    case DecodeError::kRequestSetMembers:
      return "request-set-members";
    case DecodeError::kOverBudget:
      return "over-budget";
  }
  return "";
}

namespace {

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLen = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5
};

// Groups nested deeper than this are refused (protobuf's default recursion limit).
constexpr int kMaxGroupDepth = 100;

// The protobuf wire format over a byte range; every read is bounds-checked.
class WireReader {
 public:
  explicit WireReader(std::string_view s)
      : p_(reinterpret_cast<const uint8_t*>(s.data())), end_(p_ + s.size()) {}
  bool done() const { return p_ == end_; }

  bool Varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;  // more than 10 bytes
  }
  // A field's number and wire type; false at a malformed tag (field 0, types 6 and 7, or an
  // end of group that no group opened).
  bool Tag(uint32_t& field, uint32_t& type) {
    uint64_t v;
    if (!Varint(v) || v > 0xffffffffu) return false;
    field = static_cast<uint32_t>(v >> 3);
    type = static_cast<uint32_t>(v & 7);
    return field != 0 && type != kEndGroup && type <= kFixed32;
  }
  bool Fixed64(uint64_t& v) {
    if (end_ - p_ < 8) return false;
    std::memcpy(&v, p_, 8);  // little-endian hosts only (x86-64, aarch64)
    p_ += 8;
    return true;
  }
  bool Double(double& d) {
    uint64_t v;
    if (!Fixed64(v)) return false;
    std::memcpy(&d, &v, 8);
    return true;
  }
  bool Len(std::string_view& s) {
    uint64_t n;
    if (!Varint(n) || n > static_cast<uint64_t>(end_ - p_)) return false;
    s = std::string_view(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
    p_ += n;
    return true;
  }
  // Skips the value of an unknown field; a group (deprecated, never sent by gostatsd) is skipped
  // to its matching end, as protobuf does.
  bool Skip(uint32_t type, uint32_t field) {
    uint64_t v;
    std::string_view s;
    switch (type) {
      case kStartGroup: {
        uint32_t open[kMaxGroupDepth];
        int depth = 0;
        open[depth++] = field;
        while (depth > 0) {
          uint32_t f, t;
          if (!Varint(v) || v > 0xffffffffu) return false;
          f = static_cast<uint32_t>(v >> 3);
          t = static_cast<uint32_t>(v & 7);
          if (f == 0 || t > kFixed32) return false;
          if (t == kEndGroup) {
            if (open[depth - 1] != f) return false;
            --depth;
          } else if (t == kStartGroup) {
            if (depth == kMaxGroupDepth) return false;
            open[depth++] = f;
          } else if (!Skip(t, f)) {
            return false;
          }
        }
        return true;
      }
      case kVarint:
        return Varint(v);
      case kFixed64:
        return Fixed64(v);
      case kLen:
        return Len(s);
      case kFixed32:
        if (end_ - p_ < 4) return false;
        p_ += 4;
        return true;
      default:
        return false;
    }
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceLength(s.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string Quoted(std::string_view s) {
  return "\"" + ToValidUtf8(s.substr(0, 64)) + (s.size() > 64 ? "...\"" : "\"");
}

// The two passes over a RawMessageV2: checking (limits, UTF-8, structure), then delivering.
class RawWalker {
 public:
  RawWalker(const DecodeLimits& limits, wire::BudgetLease* lease, RawSeriesVisitor& visitor)
      : limits_(limits), lease_(lease), visitor_(visitor) {}

  DecodeStatus Run(std::string_view wire) {
    if (Message(wire)) {
      const size_t n = series_;
      deliver_ = true;
      series_ = 0;
      set_members_ = 0;
      visitor_.Begin(n);
      Message(wire);  // cannot fail: the same bytes passed every check
      status_.series = series_;
    }
    return std::move(status_);
  }

 private:
  bool Fail(DecodeError e, std::string message) {
    status_.error = e;
    status_.message = std::move(message);
    return false;
  }
  bool Malformed(const char* where) {
    return Fail(DecodeError::kMalformed, std::string("malformed RawMessageV2: ") + where);
  }

  // Room in `v` for n elements, its growth taken from the budget.
  template <typename T>
  bool Room(std::vector<T>& v, size_t n) {
    if (n <= v.capacity()) return true;
    const size_t cap = std::max({n, v.capacity() * 2, size_t{16}});
    if (lease_ != nullptr && !lease_->Grow((cap - v.capacity()) * sizeof(T))) {
      return Fail(DecodeError::kOverBudget, "ingestion memory budget spent while decoding");
    }
    v.reserve(cap);
    return true;
  }

  // A string field: its length against `max`, its UTF-8 (checked once, in the first pass).
  bool String(std::string_view s, size_t max, DecodeError too_long, const char* what) {
    if (s.size() > max) {
      return Fail(too_long, std::string(what) + " of " + std::to_string(s.size()) +
                                " bytes, more than " + std::to_string(max) + " (series of " +
                                Quoted(name_) + ")");
    }
    if (!deliver_ && !ValidUtf8(s)) {
      return Fail(DecodeError::kMalformed, std::string(what) + " is not valid UTF-8");
    }
    return true;
  }

  bool Message(std::string_view wire) {
    WireReader r(wire);
    while (!r.done()) {
      uint32_t field, type;
      if (!r.Tag(field, type)) return Malformed("bad field tag");
      if (field >= 1 && field <= 4 && type == kLen) {
        std::string_view entry;
        if (!r.Len(entry)) return Malformed("truncated map entry");
        static constexpr MetricType kTypes[] = {MetricType::kCounter, MetricType::kGauge,
                                                MetricType::kSet, MetricType::kTimer};
        if (!NameEntry(kTypes[field - 1], entry)) return false;
      } else if (!r.Skip(type, field)) {
        return Malformed("truncated field");
      }
    }
    return true;
  }

  // A map entry: name → *TagV2. The key may follow the value: it is looked for first.
  bool NameEntry(MetricType type, std::string_view entry) {
    name_ = {};
    WireReader r(entry);
    while (!r.done()) {
      uint32_t field, wt;
      if (!r.Tag(field, wt)) return Malformed("bad field tag in a metric entry");
      if (field == 1 && wt == kLen) {
        if (!r.Len(name_)) return Malformed("truncated metric name");
      } else if (!r.Skip(wt, field)) {
        return Malformed("truncated field in a metric entry");
      }
    }
    if (!String(name_, limits_.max_name_length, DecodeError::kNameLength, "metric name")) {
      return false;
    }
    WireReader values(entry);
    while (!values.done()) {
      uint32_t field = 0, wt = 0;
      if (!values.Tag(field, wt)) break;  // checked by the loop above; never taken
      if (field == 2 && wt == kLen) {
        std::string_view tag_map;
        values.Len(tag_map);
        if (!TagMap(type, tag_map)) return false;
      } else {
        values.Skip(wt, field);
      }
    }
    return true;
  }

  // A *TagV2: its TagMap entries, one series each.
  bool TagMap(MetricType type, std::string_view msg) {
    WireReader r(msg);
    while (!r.done()) {
      uint32_t field, wt;
      if (!r.Tag(field, wt)) return Malformed("bad field tag in a TagMap");
      if (field == 1 && wt == kLen) {
        std::string_view entry;
        if (!r.Len(entry)) return Malformed("truncated TagMap entry");
        if (!SeriesEntry(type, entry)) return false;
      } else if (!r.Skip(wt, field)) {
        return Malformed("truncated field in a TagMap");
      }
    }
    return true;
  }

  // A TagMap entry: tagsKey (ignored) → Raw*V2; a value sent twice is merged, as protobuf does.
  bool SeriesEntry(MetricType type, std::string_view entry) {
    if (++series_ > limits_.max_series) {
      return Fail(DecodeError::kSeries,
                  "more than " + std::to_string(limits_.max_series) + " series in one request");
    }
    tags_.clear();
    values_.clear();
    members_.clear();
    cur_ = RawSeries{};
    cur_.type = type;
    cur_.name = name_;
    WireReader r(entry);
    while (!r.done()) {
      uint32_t field, wt;
      if (!r.Tag(field, wt)) return Malformed("bad field tag in a series entry");
      std::string_view bytes;
      if (field == 1 && wt == kLen) {
        if (!r.Len(bytes)) return Malformed("truncated tags key");
        if (!deliver_ && !ValidUtf8(bytes)) {
          return Fail(DecodeError::kMalformed, "tags key is not valid UTF-8");
        }
      } else if (field == 2 && wt == kLen) {
        if (!r.Len(bytes)) return Malformed("truncated series");
        if (!Value(type, bytes)) return false;
      } else if (!r.Skip(wt, field)) {
        return Malformed("truncated field in a series entry");
      }
    }
    cur_.tags = tags_;
    cur_.timer_values = values_;
    cur_.set_members = members_;
    if (deliver_) {
      visitor_.Series(cur_);
    } else {
      visitor_.Checked(cur_);
    }
    return true;
  }

  // The fields of a RawCounterV2, RawGaugeV2, RawSetV2 or RawTimerV2, added to cur_.
  bool Value(MetricType type, std::string_view msg) {
    WireReader r(msg);
    while (!r.done()) {
      uint32_t field, wt;
      if (!r.Tag(field, wt)) return Malformed("bad field tag in a series");
      std::string_view s;
      uint64_t v;
      if (field == 1 && wt == kLen) {  // Tags
        if (!r.Len(s)) return Malformed("truncated tag");
        if (tags_.size() >= limits_.max_tags) {
          return Fail(DecodeError::kTags, "a series of " + Quoted(name_) + " has more than " +
                                              std::to_string(limits_.max_tags) + " tags");
        }
        if (!String(s, limits_.max_tag_length, DecodeError::kTagLength, "tag")) return false;
        if (!Room(tags_, tags_.size() + 1)) return false;
        tags_.push_back(s);
      } else if (field == 2 && wt == kLen) {  // Hostname
        if (!r.Len(s)) return Malformed("truncated hostname");
        if (!String(s, limits_.max_name_length, DecodeError::kNameLength, "hostname")) {
          return false;
        }
        cur_.hostname = s;
      } else if (type == MetricType::kCounter && field == 3 && wt == kVarint) {
        if (!r.Varint(v)) return Malformed("truncated counter value");
        cur_.counter = static_cast<int64_t>(v);
      } else if (type == MetricType::kCounter && field == kRawCounterFloatValueField &&
                 wt == kFixed64) {
        if (!r.Double(cur_.float_counter)) return Malformed("truncated counter float value");
        cur_.has_float_counter = true;
      } else if (type == MetricType::kGauge && field == 3 && wt == kFixed64) {
        if (!r.Double(cur_.gauge)) return Malformed("truncated gauge value");
      } else if (type == MetricType::kSet && field == 3 && wt == kLen) {
        if (!r.Len(s)) return Malformed("truncated set member");
        if (members_.size() >= limits_.max_set_members) {
          return Fail(DecodeError::kSetMembers, "a set " + Quoted(name_) + " has more than " +
                                                    std::to_string(limits_.max_set_members) +
                                                    " members");
        }
        if (++set_members_ > limits_.max_request_set_members) {
          return Fail(DecodeError::kRequestSetMembers,
                      "more than " + std::to_string(limits_.max_request_set_members) +
                          " set members in one request");
        }
        if (!String(s, limits_.max_tag_length, DecodeError::kTagLength, "set member")) {
          return false;
        }
        if (!Room(members_, members_.size() + 1)) return false;
        members_.push_back(s);
      } else if (type == MetricType::kTimer && field == 3 && wt == kFixed64) {
        if (!r.Double(cur_.sample_count)) return Malformed("truncated sample count");
      } else if (type == MetricType::kTimer && field == kRawTimerKindField && wt == kVarint) {
        if (!r.Varint(v)) return Malformed("truncated timer kind");
        cur_.timer_kind = TimerKindFromWire(v);  // the last one wins, as protobuf's
      } else if (type == MetricType::kTimer && field == 4 && (wt == kLen || wt == kFixed64)) {
        size_t n = 1;
        if (wt == kLen) {
          if (!r.Len(s) || s.size() % 8 != 0) return Malformed("bad packed timer values");
          n = s.size() / 8;
        }
        if (n > limits_.max_timer_values - std::min(values_.size(), limits_.max_timer_values)) {
          return Fail(DecodeError::kTimerValues, "a timer " + Quoted(name_) + " has more than " +
                                                     std::to_string(limits_.max_timer_values) +
                                                     " values");
        }
        if (wt == kFixed64) {
          double d;
          if (!r.Double(d)) return Malformed("truncated timer value");
          if (!Room(values_, values_.size() + 1)) return false;
          values_.push_back(d);
        } else {
          if (!Room(values_, values_.size() + n)) return false;
          const size_t old = values_.size();
          values_.resize(old + n);
          // An empty packed field with no value before it: data() may be null, and memcpy
          // with a null pointer is undefined even for 0 bytes (fuzz_ingest's finding).
          if (n > 0) std::memcpy(values_.data() + old, s.data(), s.size());
        }
      } else if (!r.Skip(wt, field)) {
        return Malformed("truncated field in a series");
      }
    }
    return true;
  }

  const DecodeLimits& limits_;
  wire::BudgetLease* lease_;
  RawSeriesVisitor& visitor_;
  bool deliver_ = false;
  size_t series_ = 0;
  size_t set_members_ = 0;  // of every set so far
  std::string_view name_;
  RawSeries cur_;
  std::vector<std::string_view> tags_;
  std::vector<double> values_;
  std::vector<std::string_view> members_;
  DecodeStatus status_;
};

}  // namespace

DecodeStatus DecodeRawMessage(std::string_view wire, const DecodeLimits& limits,
                              wire::BudgetLease* lease, RawSeriesVisitor& visitor) {
  return RawWalker(limits, lease, visitor).Run(wire);
}

DecodeStatus DecodeEvent(std::string_view wire, const DecodeLimits& limits, Event& event) {
  event = Event{};
  DecodeStatus st;
  auto fail = [&](DecodeError e, std::string message) {
    st.error = e;
    st.message = std::move(message);
    return st;
  };
  WireReader r(wire);
  while (!r.done()) {
    uint32_t field, wt;
    if (!r.Tag(field, wt)) return fail(DecodeError::kMalformed, "malformed EventV2: bad tag");
    std::string_view s;
    uint64_t v;
    if (wt == kLen && (field <= 2 || (field >= 4 && field <= 8))) {
      if (!r.Len(s)) return fail(DecodeError::kMalformed, "malformed EventV2: truncated string");
      if (!ValidUtf8(s)) return fail(DecodeError::kMalformed, "EventV2 string is not UTF-8");
      switch (field) {
        case 1:
          event.title.assign(s);
          break;
        case 2:
          event.text.assign(s);
          break;
        case 4:
          if (s.size() > limits.max_name_length) {
            return fail(DecodeError::kNameLength, "event hostname of " + std::to_string(s.size()) +
                                                      " bytes, more than " +
                                                      std::to_string(limits.max_name_length));
          }
          event.source.assign(s);
          break;
        case 5:
          event.aggregation_key.assign(s);
          break;
        case 6:
          event.source_type_name.assign(s);
          break;
        case 7:
          if (event.tags.size() >= limits.max_tags) {
            return fail(DecodeError::kTags,
                        "an event with more than " + std::to_string(limits.max_tags) + " tags");
          }
          if (s.size() > limits.max_tag_length) {
            return fail(DecodeError::kTagLength, "event tag of " + std::to_string(s.size()) +
                                                     " bytes, more than " +
                                                     std::to_string(limits.max_tag_length));
          }
          event.tags.emplace_back(s);
          break;
        default:  // 8: SourceIP, ignored (docs/http.md)
          break;
      }
    } else if (wt == kVarint && (field == 3 || field == 9 || field == 10)) {
      if (!r.Varint(v)) return fail(DecodeError::kMalformed, "malformed EventV2: truncated");
      if (field == 3) {
        event.date_happened = static_cast<int64_t>(v);
      } else if (field == 9) {
        // Unknown enum values (a newer sender) read as the defaults.
        event.priority = static_cast<int32_t>(v) == pb::EventV2::Low ? EventPriority::kLow
                                                                     : EventPriority::kNormal;
      } else {
        switch (static_cast<int32_t>(v)) {
          case pb::EventV2::Warning:
            event.alert_type = EventAlertType::kWarning;
            break;
          case pb::EventV2::Error:
            event.alert_type = EventAlertType::kError;
            break;
          case pb::EventV2::Success:
            event.alert_type = EventAlertType::kSuccess;
            break;
          default:
            event.alert_type = EventAlertType::kInfo;
            break;
        }
      }
    } else if (!r.Skip(wt, field)) {
      return fail(DecodeError::kMalformed, "malformed EventV2: truncated field");
    }
  }
  return st;
}

}  // namespace cstatsd::forward
