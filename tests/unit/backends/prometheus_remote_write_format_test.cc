// The remote write encoder (docs/prometheus.md#backend-prometheus-remote-write): its bytes parse
// as the protocol's WriteRequest; labels sorted by name in byte order with `__name__` and `le`
// merged into place, no duplicate or empty label; the flush time in ms; requests cut at
// max-samples-per-send; histograms and summaries as Prometheus writes them; snappy blocks.
#include "backends/prometheus_remote_write/prometheus_remote_write_format.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <cmath>
#include <limits>
#include <vector>

#include "prometheus_remote_write.pb.h"
#include "wire/compression.h"

namespace cstatsd::backends::prometheus_remote_write {
namespace {

constexpr int64_t kNowMs = 1700000000123;

::prometheus::WriteRequest Parse(const std::string& body) {
  ::prometheus::WriteRequest w;
  EXPECT_TRUE(w.ParseFromString(body));
  return w;
}

// name=value,... of a series, in the order sent.
std::string LabelsOf(const ::prometheus::TimeSeries& ts) {
  std::string out;
  for (const auto& l : ts.labels()) {
    if (!out.empty()) out += ',';
    out += l.name() + "=" + l.value();
  }
  return out;
}

TEST(RemoteWriteFormatTest, OneSampleParsesWithNameFirstAndTheFlushTime) {
  WriteRequestEncoder e(2000, kNowMs);
  const std::vector<Label> labels = {{"env", "prod"}, {"host", "10.0.0.1"}};
  e.Add("http_requests", "", labels, 42.5);
  auto reqs = e.Finish();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].samples, 1u);
  auto w = Parse(reqs[0].body);
  ASSERT_EQ(w.timeseries_size(), 1);
  EXPECT_EQ(LabelsOf(w.timeseries(0)), "__name__=http_requests,env=prod,host=10.0.0.1");
  ASSERT_EQ(w.timeseries(0).samples_size(), 1);
  EXPECT_EQ(w.timeseries(0).samples(0).value(), 42.5);
  EXPECT_EQ(w.timeseries(0).samples(0).timestamp(), kNowMs);
}

TEST(RemoteWriteFormatTest, LabelsInByteOrderWithNameAndLeMergedIn) {
  WriteRequestEncoder e(2000, kNowMs);
  // Upper-case names sort before `__name__` (byte order, as the protocol requires); a label
  // named `le` gives way to the bucket's; an empty value is left out.
  const std::vector<Label> labels = {{"Zone", "a"},  {"_1x", "b"},   {"empty", ""},
                                     {"job", "api"}, {"le", "user"}, {"z", "c"}};
  e.Add("lat", "_bucket", labels, 3, {"le", "0.5"});
  e.Add("lat", "_sum", labels, 1.25);
  auto w = Parse(e.Finish()[0].body);
  ASSERT_EQ(w.timeseries_size(), 2);
  EXPECT_EQ(LabelsOf(w.timeseries(0)), "Zone=a,_1x=b,__name__=lat_bucket,job=api,le=0.5,z=c");
  EXPECT_EQ(LabelsOf(w.timeseries(1)), "Zone=a,_1x=b,__name__=lat_sum,job=api,le=user,z=c");
  for (const auto& ts : w.timeseries()) {
    for (int i = 1; i < ts.labels_size(); ++i) {
      EXPECT_LT(ts.labels(i - 1).name(), ts.labels(i).name()) << LabelsOf(ts);
    }
  }
}

TEST(RemoteWriteFormatTest, RequestsCutAtMaxSamplesPerSend) {
  WriteRequestEncoder e(2, kNowMs);
  for (int i = 0; i < 5; ++i) e.Add("g" + std::to_string(i), "", {}, i);
  EXPECT_EQ(e.samples(), 5u);
  auto reqs = e.Finish();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].samples, 2u);
  EXPECT_EQ(reqs[1].samples, 2u);
  EXPECT_EQ(reqs[2].samples, 1u);
  int next = 0;
  for (const auto& r : reqs) {
    auto w = Parse(r.body);
    EXPECT_EQ(static_cast<size_t>(w.timeseries_size()), r.samples);
    for (const auto& ts : w.timeseries()) {
      EXPECT_EQ(ts.labels(0).value(), "g" + std::to_string(next));
      EXPECT_EQ(ts.samples(0).value(), next);
      ++next;
    }
  }
  EXPECT_TRUE(e.Finish().empty());  // starts empty again
}

TEST(RemoteWriteFormatTest, SinkTakesTheSameRequestsAsTheyAreCut) {
  WriteRequestEncoder kept(2, kNowMs);
  std::vector<EncodedRequest> sunk;
  WriteRequestEncoder streamed(2, kNowMs, [&](std::string_view body, size_t samples) {
    sunk.push_back({std::string(body), samples});
  });
  const std::vector<Label> labels = {{"k", "v"}};
  for (int i = 0; i < 5; ++i) {
    kept.Add("m", "", labels, i);
    streamed.Add("m", "", labels, i);
    EXPECT_EQ(sunk.size(), static_cast<size_t>((i + 1) / 2));  // handed over when full
  }
  EXPECT_TRUE(streamed.Finish().empty());
  const auto want = kept.Finish();
  ASSERT_EQ(sunk.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(sunk[i].body, want[i].body);
    EXPECT_EQ(sunk[i].samples, want[i].samples);
  }
}

TEST(RemoteWriteFormatTest, HistogramBucketsSumAndCount) {
  WriteRequestEncoder e(2000, kNowMs);
  const std::vector<Label> labels = {{"route", "/a"}};
  const std::vector<double> bounds = {0.005, 2.5, 1e6};
  const std::vector<double> cumulative = {1, 3, 4};
  e.AddHistogram("rpc_seconds", labels, bounds, cumulative, 7.25, 5);
  auto w = Parse(e.Finish()[0].body);
  ASSERT_EQ(w.timeseries_size(), 6);
  const char* want[] = {"__name__=rpc_seconds_bucket,le=0.005,route=/a",
                        "__name__=rpc_seconds_bucket,le=2.5,route=/a",
                        "__name__=rpc_seconds_bucket,le=1e+06,route=/a",
                        "__name__=rpc_seconds_bucket,le=+Inf,route=/a",
                        "__name__=rpc_seconds_sum,route=/a",
                        "__name__=rpc_seconds_count,route=/a"};
  const double values[] = {1, 3, 4, 5, 7.25, 5};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(LabelsOf(w.timeseries(i)), want[i]);
    EXPECT_EQ(w.timeseries(i).samples(0).value(), values[i]);
  }
}

TEST(RemoteWriteFormatTest, SummaryQuantilesSumAndCountWithNaN) {
  WriteRequestEncoder e(2000, kNowMs);
  const std::vector<double> q = {0.5, 0.99};
  const std::vector<double> v = {0.1, std::numeric_limits<double>::quiet_NaN()};
  e.AddSummary("t", {}, q, v, 0.3, 3);
  auto w = Parse(e.Finish()[0].body);
  ASSERT_EQ(w.timeseries_size(), 4);
  EXPECT_EQ(LabelsOf(w.timeseries(0)), "__name__=t,quantile=0.5");
  EXPECT_EQ(LabelsOf(w.timeseries(1)), "__name__=t,quantile=0.99");
  EXPECT_TRUE(std::isnan(w.timeseries(1).samples(0).value()));
  EXPECT_EQ(LabelsOf(w.timeseries(2)), "__name__=t_sum");
  EXPECT_EQ(LabelsOf(w.timeseries(3)), "__name__=t_count");
  EXPECT_EQ(w.timeseries(3).samples(0).value(), 3);
}

TEST(RemoteWriteFormatTest, LongLabelsUseMultiByteLengths) {
  WriteRequestEncoder e(2000, kNowMs);
  const std::string big(70000, 'x');  // lengths of three varint bytes
  const std::vector<Label> labels = {{"a", big}};
  e.Add("n", "", labels, 1);
  auto w = Parse(e.Finish()[0].body);
  ASSERT_EQ(w.timeseries_size(), 1);
  EXPECT_EQ(w.timeseries(0).labels(1).value(), big);
}

TEST(RemoteWriteFormatTest, SnappyBlockRoundTripsAndIsBounded) {
  WriteRequestEncoder e(2000, kNowMs);
  for (int i = 0; i < 100; ++i) e.Add("m", "", {}, i);
  const std::string body = e.Finish()[0].body;
  auto z = wire::Compress(wire::Compression::kSnappy, body, 0);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(wire::ContentEncoding(wire::Compression::kSnappy), "snappy");
  // A block as snappy itself reads it (not the framing format).
  std::string raw;
  ASSERT_TRUE(snappy::Uncompress(z->data(), z->size(), &raw));
  EXPECT_EQ(raw, body);
  auto d = wire::Decompress(wire::Compression::kSnappy, *z, body.size());
  EXPECT_EQ(d.error, wire::DecompressError::kNone) << d.message;
  EXPECT_EQ(d.data, body);
  EXPECT_EQ(wire::Decompress(wire::Compression::kSnappy, *z, body.size() - 1).error,
            wire::DecompressError::kTooLarge);
  EXPECT_EQ(wire::Decompress(wire::Compression::kSnappy, "\xff\xff", 100).error,
            wire::DecompressError::kCorrupt);
}

}  // namespace
}  // namespace cstatsd::backends::prometheus_remote_write
