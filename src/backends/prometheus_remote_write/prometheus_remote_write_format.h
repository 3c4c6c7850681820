// The prometheus-remote-write encoder (docs/prometheus.md#backend-prometheus-remote-write):
// samples written straight into the bytes of remote write 1.0 `WriteRequest`s
// (proto/prometheus_remote_write.proto), one TimeSeries of one Sample per series, cut every
// max_samples_per_send samples, without building a protobuf message. Labels go out sorted by
// name in byte order with `__name__` in its place, so the caller hands them sorted and the
// encoder merges `__name__` and a histogram's `le` in. Owned by the backend's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cstatsd::backends::prometheus_remote_write {

struct Label {
  std::string_view name;
  std::string_view value;
};

// One uncompressed WriteRequest and the samples (= series) it holds.
struct EncodedRequest {
  std::string body;
  size_t samples = 0;
};

class WriteRequestEncoder {
 public:
  // Takes each request as it is cut (its bytes valid during the call only: the encoder reuses its
  // buffer), so a flush never holds more than one uncompressed request.
  using Sink = std::function<void(std::string_view body, size_t samples)>;

  // Every sample carries `timestamp_ms` (the flush time, ms since the epoch). Without a sink the
  // requests are kept for Finish.
  WriteRequestEncoder(size_t max_samples_per_send, int64_t timestamp_ms, Sink sink = nullptr);

  // One sample of the series named name + suffix (suffix: "", "_bucket", "_sum", "_count").
  // `labels`: valid names, sorted by name, unique, none named `__name__`; a label with an empty
  // value is left out (Prometheus reads it as absent). `extra` (when its name is not empty, e.g.
  // `le`) is merged into its place and replaces a label of the same name.
  void Add(std::string_view name, std::string_view suffix, std::span<const Label> labels,
           double value, Label extra = {});

  // A histogram as Prometheus exposes one: `<name>_bucket{le="<bound>"}` for each bound (the
  // cumulative count of values ≤ bound), then `le="+Inf"` = count, `<name>_sum`, `<name>_count`.
  // `bounds` ascending without +Inf; `cumulative[i]` the count ≤ bounds[i].
  void AddHistogram(std::string_view name, std::span<const Label> labels,
                    std::span<const double> bounds, std::span<const double> cumulative, double sum,
                    double count);

  // A summary: `<name>{quantile="<q>"}` for each quantile (its value, NaN when the interval had
  // none), `<name>_sum`, `<name>_count`.
  void AddSummary(std::string_view name, std::span<const Label> labels,
                  std::span<const double> quantiles, std::span<const double> values, double sum,
                  double count);

  size_t samples() const { return total_samples_; }

  // Cuts the last request (possibly short); returns the requests kept (none with a sink). The
  // encoder starts empty again.
  std::vector<EncodedRequest> Finish();

 private:
  void Cut();

  size_t max_samples_;
  int64_t timestamp_ms_;
  Sink sink_;
  std::string body_;
  size_t in_body_ = 0;
  size_t total_samples_ = 0;
  std::string bound_;  // scratch for a bucket's `le` or a quantile
  std::vector<EncodedRequest> done_;
};

}  // namespace cstatsd::backends::prometheus_remote_write
