// The cloudwatch backend (docs/backends.md#cloudwatch): PutMetricData requests of 20 datums, signed
// with AWS Signature Version 4, sent one after another with the AWS SDK's retry behaviour (3
// retries); credentials and region from the SDK's default chain (aws/imds.h). Events are ignored.
// Runs on its backend thread.
#pragma once

#include <memory>
#include <string>

#include "aws/imds.h"
#include "backends/backend.h"
#include "backends/common/http_backend.h"
#include "config/options.h"

namespace cstatsd::backends::cloudwatch {

struct CloudwatchOptions {
  std::string namespace_name = "StatsD";  // key `namespace`
  std::string transport = "default";
  std::string region;    // cstatsd: `region` (else AWS_REGION / AWS_DEFAULT_REGION / metadata)
  std::string endpoint;  // cstatsd: `endpoint` override (default https://monitoring.<region>...)
  config::DisabledSubMetrics disabled;
  aws::Environment env;  // the process environment, for the credential chain

  static Result<CloudwatchOptions> From(const config::Config& config);
};

class CloudwatchBackend : public HttpBackend {
 public:
  using Options = CloudwatchOptions;
  static constexpr std::string_view kName = "cloudwatch";
  static Result<std::unique_ptr<Backend>> Create(const BackendContext& ctx) {
    return CreateHttpBackend<CloudwatchBackend>(ctx);
  }
  static std::string Describe(const Options& o);

  CloudwatchBackend(CloudwatchOptions options, std::unique_ptr<HttpSender> sender);

  std::string_view Name() const override { return kName; }
  Status SendMetrics(const snapshot::FlushSnapshot& snapshot) override;
  Status SendEvent(const Event&) override { return {}; }  // CloudWatch takes no events

 private:
  CloudwatchOptions options_;
  aws::CredentialChain chain_;
};

}  // namespace cstatsd::backends::cloudwatch
