// The cloudwatch backend (spec §6.5): PutMetricData requests of 20 datums, signed with AWS
// Signature Version 4, sent one after another with the AWS SDK's retry behaviour (3 retries);
// credentials and region from the SDK's default chain (aws/imds.h). Events are ignored. Runs
// on its backend thread.
#pragma once

#include <memory>
#include <string>

#include "aws/imds.h"
#include "backends/backend.h"
#include "backends/http/http_sender.h"
#include "config/options.h"

namespace cstatsd::backends {

struct CloudwatchOptions {
  std::string namespace_name = "StatsD";  // key `namespace`
  std::string transport = "default";
  std::string region;    // cstatsd: `region` (else AWS_REGION / AWS_DEFAULT_REGION / metadata)
  std::string endpoint;  // cstatsd: `endpoint` override (default https://monitoring.<region>...)
  config::DisabledSubMetrics disabled;

  static Result<CloudwatchOptions> From(const config::Config& config);
};

class CloudwatchBackend : public Backend {
 public:
  static constexpr std::string_view kName = "cloudwatch";
  static Result<std::unique_ptr<Backend>> Create(const BackendContext& ctx);

  CloudwatchBackend(CloudwatchOptions options, std::unique_ptr<HttpSender> sender,
                    aws::Environment env);

  std::string_view Name() const override { return kName; }
  Status SendMetrics(const snapshot::FlushSnapshot& snapshot) override;
  Status SendEvent(const Event&) override { return {}; }  // CloudWatch takes no events
  bool CountsOwnBatches() const override { return true; }
  transport::HttpClient* http_client() override { return &sender_->client(); }

 private:
  CloudwatchOptions options_;
  std::unique_ptr<HttpSender> sender_;
  aws::CredentialChain chain_;
  transport::RetryOptions retry_;
};

}  // namespace cstatsd::backends
