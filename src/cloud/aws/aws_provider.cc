#include "cloud/aws/aws_provider.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <unordered_map>

#include "aws/sigv4.h"
#include "config/section_reader.h"

namespace cstatsd::cloud::aws {
namespace {

constexpr std::string_view kNotFoundCode = "InvalidInstanceID.NotFound";
// The metadata service answers in milliseconds on an instance; off one it never answers.
constexpr std::chrono::nanoseconds kMaxImdsTimeout = std::chrono::seconds(5);

// As gostatsd's client: connecting gets at most 5 s + 3 s for TLS; TLS >= 1.2, HTTP/2 over TLS
// when the server offers it; TCP keep-alive; loopback never proxied.
transport::BlockingClientOptions ClientOptions() {
  transport::BlockingClientOptions o;
  o.connect_timeout = std::chrono::seconds(8);
  return o;
}

const std::string* EnvValue(const cstatsd::aws::Environment& env, std::string_view name) {
  auto it = env.find(name);
  return it != env.end() && !it->second.empty() ? &it->second : nullptr;
}

}  // namespace

Result<AwsOptions> AwsOptions::From(const config::Config& config) {
  AwsOptions o;
  config::SectionReader r(config.GetSection("aws"));
  r.Integer("max_retries", o.max_retries);
  r.Dur("client_timeout", o.client_timeout);
  r.Integer("max_instances_batch", o.max_instances_batch);
  if (o.max_retries < 0) r.Problem("max_retries", "must be >= 0");
  if (o.client_timeout <= std::chrono::nanoseconds::zero()) {
    r.Problem("client_timeout", "must be positive");
  }
  if (o.max_instances_batch <= 0) r.Problem("max_instances_batch", "must be positive");
  if (Status s = r.Finish(); !s.ok()) return s;
  for (const std::string& key : r.section().Keys()) {
    if (key != "max_retries" && key != "client_timeout" && key != "max_instances_batch") {
      spdlog::warn("aws.{}: unknown key; ignored", key);
    }
  }
  return o;
}

Result<std::unique_ptr<Provider>> CreateAwsProvider(const config::Config& config) {
  auto options = AwsOptions::From(config);
  if (!options.ok()) return options.status();
  cstatsd::aws::Environment env(config.env.begin(), config.env.end());
  return std::unique_ptr<Provider>(std::make_unique<AwsProvider>(*options, std::move(env)));
}

AwsProvider::AwsProvider(AwsOptions options, cstatsd::aws::Environment env)
    : options_(options),
      env_(std::move(env)),
      http_(ClientOptions()),
      chain_([this](transport::HttpRequest request) { return Fetch(std::move(request)); }, env_) {}

transport::Outcome AwsProvider::Fetch(transport::HttpRequest request) {
  transport::Outcome o;
  o.attempts = 1;
  o.last = Do(request, std::min(options_.client_timeout, kMaxImdsTimeout));
  o.completion = o.last.status >= 200 && o.last.status < 300 ? transport::Completion::kSent
                                                             : transport::Completion::kGaveUp;
  return o;
}

transport::HttpResponse AwsProvider::Do(const transport::HttpRequest& request,
                                        std::chrono::nanoseconds timeout) {
  transport::CallOptions call;
  call.timeout = timeout;
  call.max_body = kMaxBody;
  transport::BlockingResponse r = http_.Do(request, call);
  if (r.aborted) r.error = "aborted (stopping)";
  if (!r.error.empty()) {
    r.status = 0;
    r.body.clear();
  }
  transport::HttpResponse out = std::move(r);  // the HttpResponse part
  return out;
}

Status AwsProvider::Start() {
  auto region = chain_.Region("");
  if (!region.ok()) return Status::Error("aws cloud provider: " + region.error());
  region_ = *region;
  while (!region_.empty() && (region_.back() == '\n' || region_.back() == ' ')) region_.pop_back();
  if (region_.empty()) return Status::Error("aws cloud provider: the region is empty");
  if (const std::string* e = EnvValue(env_, "AWS_ENDPOINT_URL_EC2")) {
    endpoint_ = *e;
  } else if (const std::string* g = EnvValue(env_, "AWS_ENDPOINT_URL")) {
    endpoint_ = *g;
  } else {
    const bool china = region_.rfind("cn-", 0) == 0;
    endpoint_ = "https://ec2." + region_ + (china ? ".amazonaws.com.cn" : ".amazonaws.com");
  }
  cstatsd::aws::SplitUrl(endpoint_, host_, path_);
  spdlog::info("cloud provider started provider=aws region={} endpoint={}", region_, endpoint_);
  return {};
}

void AwsProvider::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  http_.Abort();
}

bool AwsProvider::Wait(std::chrono::nanoseconds d) {
  std::unique_lock lock(stop_mu_);
  return !stop_cv_.wait_for(lock, d, [this] { return stopping_; });
}

void AwsProvider::LogError(const std::string& message) {
  if (log_limiter_.Allow()) spdlog::error("{}", message);
}

AwsProvider::PageStatus AwsProvider::DescribePage(const std::vector<std::string>& ips,
                                                  const std::string& token,
                                                  const cstatsd::aws::Credentials& credentials,
                                                  DescribeInstancesPage& page, std::string& error) {
  const std::string body = DescribeInstancesBody(ips, token);
  const std::string content_type = "application/x-www-form-urlencoded; charset=utf-8";
  for (int attempt = 0;; ++attempt) {
    cstatsd::aws::SigningRequest sr;
    sr.method = "POST";
    sr.path = path_;
    sr.headers = {{"Host", host_}, {"Content-Type", content_type}};
    sr.payload = body;
    const cstatsd::aws::Signature sig = cstatsd::aws::Sign(
        sr, credentials, region_, "ec2", static_cast<int64_t>(std::time(nullptr)));
    transport::HttpRequest req;
    req.method = "POST";
    req.url = endpoint_;
    req.headers.emplace_back("Content-Type", content_type);
    req.headers.emplace_back("X-Amz-Date", sig.amz_date);
    if (!credentials.session_token.empty()) {
      req.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
    }
    req.headers.emplace_back("Authorization", sig.authorization);
    req.body = body;
    const transport::HttpResponse r = Do(req, options_.client_timeout);

    bool retryable = false;
    if (r.status >= 200 && r.status < 300) {
      auto parsed = ParseDescribeInstances(r.body);
      if (parsed.ok()) {
        page = std::move(*parsed);
        return PageStatus::kOk;
      }
      error = "DescribeInstances returned a bad response: " + parsed.error();
      return PageStatus::kError;
    }
    if (r.status == 0) {
      error = "DescribeInstances failed: " + r.error;
      retryable = !http_.aborted();
    } else {
      auto e = ParseEc2Error(r.body);
      const std::string code = e.ok() ? e->code : "";
      if (code == kNotFoundCode) return PageStatus::kNotFound;
      error = "DescribeInstances failed: status=" + std::to_string(r.status);
      if (!code.empty()) error += " code=" + code + " message=\"" + e->message + "\"";
      retryable = r.status >= 500 || r.status == 429 || IsThrottlingCode(code);
    }
    if (!retryable || attempt >= options_.max_retries) {
      if (attempt > 0) error += " attempts=" + std::to_string(attempt + 1);
      return PageStatus::kError;
    }
    auto wait = options_.retry_base_wait;
    for (int i = 0; i < attempt && wait < options_.retry_max_wait; ++i) wait *= 2;
    if (!Wait(std::min(wait, options_.retry_max_wait))) {
      error += " (stopping, not retried)";
      return PageStatus::kError;
    }
  }
}

std::vector<LookupAnswer> AwsProvider::Lookup(const std::vector<std::string>& sources) {
  std::vector<LookupAnswer> answers(sources.size());
  if (sources.empty()) return answers;
  describe_count_.fetch_add(1, std::memory_order_relaxed);
  describe_instances_.fetch_add(sources.size(), std::memory_order_relaxed);

  auto fail_rest = [&](const std::string& message) {
    describe_errors_.fetch_add(1, std::memory_order_relaxed);
    LogError("aws cloud provider lookup failed ips=" + std::to_string(sources.size()) + " " +
             message);
    for (LookupAnswer& a : answers) {
      if (a.status != LookupStatus::kFound) a.status = LookupStatus::kError;
    }
  };
  auto credentials = chain_.Get();
  if (!credentials.ok()) {
    fail_rest(credentials.error());
    return answers;
  }

  std::unordered_map<std::string_view, std::vector<size_t>> where;  // IP → its answers
  for (size_t i = 0; i < sources.size(); ++i) where[sources[i]].push_back(i);

  std::string token;
  uint64_t pages = 0;
  uint64_t found = 0;
  for (;;) {
    DescribeInstancesPage page;
    std::string error;
    const PageStatus s = DescribePage(sources, token, *credentials, page, error);
    if (s == PageStatus::kNotFound) {
      // Eventual consistency: EC2 may not know an instance yet. Counted (as gostatsd does) but
      // not logged; the IPs not found so far are answered "not found".
      describe_errors_.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    if (s == PageStatus::kError) {
      fail_rest(error);
      break;
    }
    ++pages;
    for (const Ec2Instance& ec2 : page.instances) {
      std::shared_ptr<const Instance> instance;
      for (const std::string& address : ec2.addresses) {
        auto it = where.find(address);
        if (it == where.end()) continue;
        if (!instance) {
          instance = std::make_shared<const Instance>(Instance{ec2.id, InstanceTags(ec2)});
        }
        for (size_t i : it->second) {
          if (answers[i].status == LookupStatus::kFound) continue;
          answers[i].status = LookupStatus::kFound;
          answers[i].instance = instance;
        }
      }
      if (instance) {
        ++found;
      } else {
        spdlog::debug("EC2 returned an instance that owns none of the IPs asked instance={}",
                      ec2.id);
      }
    }
    if (page.next_token.empty()) break;
    if (page.next_token == token) {
      fail_rest("DescribeInstances returned the same nextToken twice");
      break;
    }
    token = std::move(page.next_token);
  }
  describe_pages_.fetch_add(pages, std::memory_order_relaxed);
  describe_found_.fetch_add(found, std::memory_order_relaxed);
  return answers;
}

void AwsProvider::Stats(std::vector<ProviderStat>& out) const {
  out.push_back({"cloudprovider.aws.describeinstancecount", describe_count_.load()});
  out.push_back({"cloudprovider.aws.describeinstanceinstances", describe_instances_.load()});
  out.push_back({"cloudprovider.aws.describeinstancepages", describe_pages_.load()});
  out.push_back({"cloudprovider.aws.describeinstanceerrors", describe_errors_.load()});
  out.push_back({"cloudprovider.aws.describeinstancefound", describe_found_.load()});
}

}  // namespace cstatsd::cloud::aws
