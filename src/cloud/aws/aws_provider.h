// AwsProvider: the `aws` cloud provider (docs/cloud-providers.md). Start() finds the region
// (AWS_REGION, AWS_DEFAULT_REGION, else the instance metadata service); Lookup() asks EC2's
// DescribeInstances (Query API, SigV4-signed, every page) which instances own a batch of private
// IPs. Created by CreateAwsProvider on the main thread and owned by the cloud handler; Start() runs
// on the main thread, Lookup() on the handler's lookup thread only, Stop() and Stats() on any
// thread. It needs no thread of its own: Lookup() blocks on a transport::BlockingHttpClient (an
// event-loop client would need a thread that the server would have to run for the provider, yet
// Start() asks the metadata service for the region before any such thread exists), each attempt
// bounded by client_timeout and the retry waits cut short by Stop().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "aws/imds.h"
#include "cloud/aws/ec2_xml.h"
#include "cloud/provider.h"
#include "config/config.h"
#include "core/result.h"
#include "stats/rate_limiter.h"
#include "transport/blocking_http_client.h"

namespace cstatsd::cloud::aws {

// The `[aws]` section.
struct AwsOptions {
  // max_retries: retries of one DescribeInstances page after a throttling answer, a 5xx or a
  // transport error (>= 0). Default 3.
  int max_retries = 3;
  // client_timeout: the bound of one HTTP attempt, connection included (> 0). Default 9s.
  std::chrono::nanoseconds client_timeout = std::chrono::seconds(9);
  // max_instances_batch: the most IPs one DescribeInstances call asks about (> 0). Default 32.
  int max_instances_batch = 32;
  // Not a key: the first retry wait, doubled for each further retry up to retry_max_wait.
  std::chrono::nanoseconds retry_base_wait = std::chrono::milliseconds(100);
  std::chrono::nanoseconds retry_max_wait = std::chrono::seconds(2);

  // Reads [aws]; every bad key is reported ("aws.<key>: ...").
  static Result<AwsOptions> From(const config::Config& config);
};

class AwsProvider : public Provider {
 public:
  static constexpr std::string_view kName = "aws";
  // The largest response body kept (DescribeInstances pages are a few hundred KiB at most).
  static constexpr size_t kMaxBody = 64 << 20;

  // `env` is the process environment (config.env): credentials, region and endpoint overrides
  // (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL).
  AwsProvider(AwsOptions options, cstatsd::aws::Environment env);

  std::string_view name() const override { return kName; }
  bool answers_lookups() const override { return true; }
  Status Start() override;
  void Stop() override;
  size_t max_batch() const override { return static_cast<size_t>(options_.max_instances_batch); }
  std::vector<LookupAnswer> Lookup(const std::vector<std::string>& sources) override;
  void Stats(std::vector<ProviderStat>& out) const override;

  // After Start(): the region and the EC2 endpoint used.
  const std::string& region() const { return region_; }
  const std::string& endpoint() const { return endpoint_; }

 private:
  // How one page request ended after its retries.
  enum class PageStatus { kOk, kNotFound, kError };
  PageStatus DescribePage(const std::vector<std::string>& ips, const std::string& token,
                          const cstatsd::aws::Credentials& credentials, DescribeInstancesPage& page,
                          std::string& error);
  // Waits `d`, or less if Stop() is called; false when stopping.
  bool Wait(std::chrono::nanoseconds d);
  transport::Outcome Fetch(transport::HttpRequest request);
  // One attempt: status 0 and `error` set when no (complete) response arrived.
  transport::HttpResponse Do(const transport::HttpRequest& request,
                             std::chrono::nanoseconds timeout);
  void LogError(const std::string& message);

  AwsOptions options_;
  cstatsd::aws::Environment env_;
  transport::BlockingHttpClient http_;
  cstatsd::aws::CredentialChain chain_;    // lookup thread (main thread in Start())
  std::string region_;                     // set by Start(), read-only afterwards
  std::string endpoint_;                   // e.g. https://ec2.us-east-1.amazonaws.com
  std::string host_;                       // Host header, signed
  std::string path_;                       // "/" unless the endpoint override has a path
  stats::RateLimiter log_limiter_{12, 5};  // lookup thread

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_

  std::atomic<uint64_t> describe_count_{0};
  std::atomic<uint64_t> describe_instances_{0};
  std::atomic<uint64_t> describe_pages_{0};
  std::atomic<uint64_t> describe_errors_{0};
  std::atomic<uint64_t> describe_found_{0};
};

// The factory for `cloud-provider = aws`: reads [aws] and the environment from `config`.
Result<std::unique_ptr<Provider>> CreateAwsProvider(const config::Config& config);

}  // namespace cstatsd::cloud::aws
