#include "backends/prometheus_remote_write/prometheus_remote_write_format.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/go_format.h"

namespace cstatsd::backends::prometheus_remote_write {
namespace {

// Protobuf tags (field number << 3 | wire type) of proto/prometheus_remote_write.proto.
constexpr char kTimeSeriesTag = 0x0A;   // WriteRequest.timeseries = 1, length-delimited
constexpr char kLabelTag = 0x0A;        // TimeSeries.labels = 1, length-delimited
constexpr char kSampleTag = 0x12;       // TimeSeries.samples = 2, length-delimited
constexpr char kLabelNameTag = 0x0A;    // Label.name = 1, length-delimited
constexpr char kLabelValueTag = 0x12;   // Label.value = 2, length-delimited
constexpr char kSampleValueTag = 0x09;  // Sample.value = 1, 64-bit
constexpr char kSampleTimeTag = 0x10;   // Sample.timestamp = 2, varint
constexpr std::string_view kNameLabel = "__name__";

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void AppendVarint(std::string& out, uint64_t v) {
  if (v < 0x80) {  // most lengths
    out.push_back(static_cast<char>(v));
    return;
  }
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

// The bytes of a Label message whose name and value are this long.
size_t LabelSize(size_t name, size_t value) {
  return 1 + VarintSize(name) + name + 1 + VarintSize(value) + value;
}

// A length-delimited field holding `size` bytes: tag, length, bytes.
size_t FieldSize(size_t size) { return 1 + VarintSize(size) + size; }

void AppendLabel(std::string& out, std::string_view name, std::string_view value1,
                 std::string_view value2 = {}) {
  const size_t value = value1.size() + value2.size();
  out.push_back(kLabelTag);
  AppendVarint(out, LabelSize(name.size(), value));
  out.push_back(kLabelNameTag);
  AppendVarint(out, name.size());
  out.append(name);
  out.push_back(kLabelValueTag);
  AppendVarint(out, value);
  out.append(value1);
  out.append(value2);
}

}  // namespace

WriteRequestEncoder::WriteRequestEncoder(size_t max_samples_per_send, int64_t timestamp_ms,
                                         Sink sink)
    : max_samples_(std::max<size_t>(1, max_samples_per_send)),
      timestamp_ms_(timestamp_ms),
      sink_(std::move(sink)) {}

void WriteRequestEncoder::Add(std::string_view name, std::string_view suffix,
                              std::span<const Label> labels, double value, Label extra) {
  const bool has_extra = !extra.name.empty();
  auto kept = [&](const Label& l) {
    return !l.value.empty() && l.name != kNameLabel && !(has_extra && l.name == extra.name);
  };
  const size_t name_size = name.size() + suffix.size();
  size_t series = FieldSize(LabelSize(kNameLabel.size(), name_size));
  for (const Label& l : labels) {
    if (kept(l)) series += FieldSize(LabelSize(l.name.size(), l.value.size()));
  }
  if (has_extra) series += FieldSize(LabelSize(extra.name.size(), extra.value.size()));
  const auto timestamp = static_cast<uint64_t>(timestamp_ms_);
  const size_t sample = 1 + 8 + 1 + VarintSize(timestamp);
  series += FieldSize(sample);

  if (body_.empty()) body_.reserve(max_samples_ * (series + 8));
  body_.push_back(kTimeSeriesTag);
  AppendVarint(body_, series);
  // `__name__` and `extra`, in their order, each written before the first label that sorts
  // after it (labels come sorted, so this is a merge).
  Label special[2] = {{kNameLabel, {}}, extra};
  size_t specials = has_extra ? 2 : 1;
  if (has_extra && extra.name < kNameLabel) std::swap(special[0], special[1]);
  size_t next = 0;
  auto write_special = [&] {
    if (special[next].name == kNameLabel) {
      AppendLabel(body_, kNameLabel, name, suffix);
    } else {
      AppendLabel(body_, special[next].name, special[next].value);
    }
    ++next;
  };
  for (const Label& l : labels) {
    if (!kept(l)) continue;
    while (next < specials && special[next].name < l.name) write_special();
    AppendLabel(body_, l.name, l.value);
  }
  while (next < specials) write_special();

  body_.push_back(kSampleTag);
  AppendVarint(body_, sample);
  body_.push_back(kSampleValueTag);
  char bits[8];
  std::memcpy(bits, &value, sizeof bits);  // little-endian, as protobuf's fixed64
  body_.append(bits, sizeof bits);
  body_.push_back(kSampleTimeTag);
  AppendVarint(body_, timestamp);

  ++total_samples_;
  if (++in_body_ == max_samples_) Cut();
}

void WriteRequestEncoder::AddHistogram(std::string_view name, std::span<const Label> labels,
                                       std::span<const double> bounds,
                                       std::span<const double> cumulative, double sum,
                                       double count) {
  const size_t n = std::min(bounds.size(), cumulative.size());
  for (size_t i = 0; i < n; ++i) {
    bound_.clear();
    AppendGoG(bound_, bounds[i]);  // as Prometheus's clients write `le` ("0.005", "1e+06")
    Add(name, "_bucket", labels, cumulative[i], {"le", bound_});
  }
  Add(name, "_bucket", labels, count, {"le", "+Inf"});
  Add(name, "_sum", labels, sum);
  Add(name, "_count", labels, count);
}

void WriteRequestEncoder::AddSummary(std::string_view name, std::span<const Label> labels,
                                     std::span<const double> quantiles,
                                     std::span<const double> values, double sum, double count) {
  const size_t n = std::min(quantiles.size(), values.size());
  for (size_t i = 0; i < n; ++i) {
    bound_.clear();
    AppendGoG(bound_, quantiles[i]);
    Add(name, "", labels, values[i], {"quantile", bound_});
  }
  Add(name, "_sum", labels, sum);
  Add(name, "_count", labels, count);
}

void WriteRequestEncoder::Cut() {
  if (sink_) {
    sink_(body_, in_body_);
    body_.clear();  // the capacity is kept for the next request
  } else {
    done_.push_back({std::move(body_), in_body_});
    body_ = std::string();
  }
  in_body_ = 0;
}

std::vector<EncodedRequest> WriteRequestEncoder::Finish() {
  if (in_body_ > 0) Cut();
  total_samples_ = 0;
  return std::exchange(done_, {});
}

}  // namespace cstatsd::backends::prometheus_remote_write
