// The aws cloud provider against a fake instance metadata service and a fake EC2 on 127.0.0.1
// (handlers on the shared fake HTTP server): the region and endpoint at
// Start(), DescribeInstances requests (signed, filtered, paged), the answers per IP, retries,
// Stop() and the counters.
#include "cloud/aws/aws_provider.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "aws/sigv4.h"
#include "unit/support/fake_http_server.h"

namespace cstatsd::cloud::aws {
namespace {

using std::chrono::milliseconds;

struct Reply {
  int status = 200;
  std::string body;
};

struct Ec2Request {
  std::string body;
  std::string authorization;
  std::string amz_date;
  std::string security_token;
  std::string content_type;
  std::string host;
};

// IMDSv2 (token, then the region with the token) and EC2 (POST /, answered from a script) on
// one loopback port.
class FakeAws {
 public:
  FakeAws()
      : server_([this](const httplib::Request& req, httplib::Response& res) {
          if (req.method == "PUT" && req.path == "/latest/api/token") {
            Token(req, res);
          } else if (req.method == "GET" && req.path == "/latest/meta-data/placement/region") {
            Region(req, res);
          } else if (req.method == "POST" && req.path == "/") {
            Ec2(req, res);
          } else {
            res.status = 404;
          }
        }) {}

  std::string url() const { return server_.url(); }
  int port() const { return server_.port(); }

  void Script(std::vector<Reply> replies) {
    std::lock_guard lock(mu_);
    script_.assign(replies.begin(), replies.end());
  }
  void SetRegion(int status, std::string region) {
    std::lock_guard lock(mu_);
    region_status_ = status;
    region_ = std::move(region);
  }
  std::vector<Ec2Request> ec2() {
    std::lock_guard lock(mu_);
    return ec2_;
  }
  int region_requests() {
    std::lock_guard lock(mu_);
    return region_requests_;
  }
  int token_requests() {
    std::lock_guard lock(mu_);
    return token_requests_;
  }
  // Waits (bounded) until n EC2 requests arrived.
  bool WaitForEc2(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] { return ec2_.size() >= n; });
  }

 private:
  void Token(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    ++token_requests_;
    if (req.get_header_value("X-aws-ec2-metadata-token-ttl-seconds").empty()) {
      res.status = 400;
      return;
    }
    res.set_content("TOKEN-1", "text/plain");
  }
  void Region(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    ++region_requests_;
    if (req.get_header_value("X-aws-ec2-metadata-token") != "TOKEN-1") {
      res.status = 401;
      return;
    }
    res.status = region_status_;
    res.set_content(region_, "text/plain");
  }
  void Ec2(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    Ec2Request r;
    r.body = req.body;
    r.authorization = req.get_header_value("Authorization");
    r.amz_date = req.get_header_value("X-Amz-Date");
    r.security_token = req.get_header_value("X-Amz-Security-Token");
    r.content_type = req.get_header_value("Content-Type");
    r.host = req.get_header_value("Host");
    ec2_.push_back(std::move(r));
    Reply reply{500,
                "<Response><Errors><Error><Code>Unscripted</Code></Error></Errors></Response>"};
    if (!script_.empty()) {
      reply = script_.front();
      script_.pop_front();
    }
    res.status = reply.status;
    res.set_content(reply.body, "text/xml;charset=UTF-8");
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Reply> script_;
  std::vector<Ec2Request> ec2_;
  int token_requests_ = 0;
  int region_requests_ = 0;
  int region_status_ = 200;
  std::string region_ = "us-test-1";
  cstatsd::testing::FakeHttpServer server_;  // last: stopped before the state above goes
};

std::string Instance(const std::string& id, const std::string& az, const std::string& inner) {
  return "<item><instanceId>" + id + "</instanceId><placement><availabilityZone>" + az +
         "</availabilityZone></placement>" + inner + "</item>";
}

std::string Page(const std::vector<std::string>& instances, const std::string& next_token) {
  std::string xml =
      R"(<?xml version="1.0" encoding="UTF-8"?>)"
      R"(<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">)"
      "<requestId>req</requestId><reservationSet><item><reservationId>r-1</reservationId>"
      "<instancesSet>";
  for (const std::string& i : instances) xml += i;
  xml += "</instancesSet></item></reservationSet>";
  if (!next_token.empty()) xml += "<nextToken>" + next_token + "</nextToken>";
  return xml + "</DescribeInstancesResponse>";
}

std::string ErrorXml(const std::string& code) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>" + code +
         "</Code><Message>message of " + code +
         "</Message></Error></Errors><RequestID>r</RequestID></Response>";
}

const std::string kSimplePage =
    Page({Instance("i-1", "us-test-1a", "<privateIpAddress>10.0.0.1</privateIpAddress>")}, "");

uint64_t Stat(const Provider& p, const std::string& name) {
  std::vector<ProviderStat> stats;
  p.Stats(stats);
  for (const ProviderStat& s : stats) {
    if (s.name == "cloudprovider.aws." + name) return s.value;
  }
  ADD_FAILURE() << "no stat " << name;
  return 0;
}

class AwsProviderTest : public ::testing::Test {
 protected:
  cstatsd::aws::Environment Env() const {
    return {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", fake_.url()},
            {"AWS_ENDPOINT_URL_EC2", fake_.url()},
            {"AWS_ACCESS_KEY_ID", "AKIDTEST"},
            {"AWS_SECRET_ACCESS_KEY", "secret"},
            {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"}};
  }
  // A started provider with short retry waits.
  std::unique_ptr<AwsProvider> Started(AwsOptions o = {},
                                       std::optional<cstatsd::aws::Environment> env = {}) {
    o.retry_base_wait = milliseconds(5);
    o.retry_max_wait = milliseconds(20);
    auto p = std::make_unique<AwsProvider>(o, env ? *env : Env());
    Status s = p->Start();
    EXPECT_TRUE(s.ok()) << s.message();
    return p;
  }

  FakeAws fake_;
};

// --- Start ---

TEST_F(AwsProviderTest, RegionFromTheMetadataServiceAndEndpointOverride) {
  auto p = Started();
  EXPECT_EQ(p->region(), "us-test-1");
  EXPECT_EQ(p->endpoint(), fake_.url());
  EXPECT_EQ(fake_.token_requests(), 1);
  EXPECT_EQ(fake_.region_requests(), 1);
}

TEST_F(AwsProviderTest, RegionFromTheEnvironmentFirstAndTheRegionalEndpoint) {
  auto env = Env();
  env.erase("AWS_ENDPOINT_URL_EC2");
  env["AWS_DEFAULT_REGION"] = "eu-west-1";
  auto p = Started({}, env);
  EXPECT_EQ(p->region(), "eu-west-1");
  EXPECT_EQ(p->endpoint(), "https://ec2.eu-west-1.amazonaws.com");
  EXPECT_EQ(fake_.region_requests(), 0);

  env["AWS_REGION"] = "cn-north-1";
  EXPECT_EQ(Started({}, env)->endpoint(), "https://ec2.cn-north-1.amazonaws.com.cn");

  env["AWS_ENDPOINT_URL"] = "http://all-services:4566";
  EXPECT_EQ(Started({}, env)->endpoint(), "http://all-services:4566");
  env["AWS_ENDPOINT_URL_EC2"] = "http://ec2-only:1";
  EXPECT_EQ(Started({}, env)->endpoint(), "http://ec2-only:1");
}

TEST_F(AwsProviderTest, StartFailsWhenTheRegionIsUnknown) {
  fake_.SetRegion(404, "");
  AwsProvider p({}, Env());
  Status s = p.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("region"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("status 404"), std::string::npos) << s.message();

  auto env = Env();
  env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] =
      "http://127.0.0.1:" + std::to_string(testing::UnusedPort());
  AwsProvider unreachable({}, env);
  s = unreachable.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("instance metadata"), std::string::npos) << s.message();

  env["AWS_EC2_METADATA_DISABLED"] = "true";
  AwsProvider disabled({}, env);
  EXPECT_FALSE(disabled.Start().ok());
}

// --- Lookup ---

TEST_F(AwsProviderTest, FollowsPagesAndMatchesEveryKindOfAddress) {
  const std::string page1 = Page(
      {Instance("i-primary", "us-test-1a",
                "<privateIpAddress>10.0.0.1</privateIpAddress>"
                "<tagSet><item><key>Name</key><value>web</value></item>"
                "<item><key>aws:autoscaling:groupName</key><value>asg:1</value></item></tagSet>"),
       Instance("i-unasked", "us-test-1a", "<privateIpAddress>10.0.0.99</privateIpAddress>")},
      "page-2+/=");
  const std::string page2 =
      Page({Instance("i-secondary", "us-test-1b",
                     "<privateIpAddress>10.0.1.1</privateIpAddress><networkInterfaceSet><item>"
                     "<privateIpAddress>10.0.1.1</privateIpAddress><privateIpAddressesSet>"
                     "<item><privateIpAddress>10.0.1.1</privateIpAddress></item>"
                     "<item><privateIpAddress>10.0.0.2</privateIpAddress></item>"
                     "</privateIpAddressesSet></item></networkInterfaceSet>"),
            Instance("i-v6", "us-test-1c",
                     "<privateIpAddress>10.0.2.1</privateIpAddress><networkInterfaceSet><item>"
                     "<ipv6AddressesSet><item><ipv6Address>2001:db8::5</ipv6Address></item>"
                     "</ipv6AddressesSet></item></networkInterfaceSet>"
                     "<tagSet><item><key>team</key><value>core</value></item></tagSet>")},
           "");
  fake_.Script({{200, page1}, {200, page2}});
  auto p = Started();
  const std::vector<std::string> ips = {"10.0.0.1", "10.0.0.2", "2001:db8::5", "10.9.9.9",
                                        "10.0.0.1"};
  auto answers = p->Lookup(ips);
  ASSERT_EQ(answers.size(), ips.size());

  ASSERT_EQ(answers[0].status, LookupStatus::kFound);
  EXPECT_EQ(answers[0].instance->id, "i-primary");
  EXPECT_EQ(answers[0].instance->tags,
            (std::vector<std::string>{"region:us-test-1", "Name:web",
                                      "aws_autoscaling_groupName:asg:1"}));
  ASSERT_EQ(answers[1].status, LookupStatus::kFound);
  EXPECT_EQ(answers[1].instance->id, "i-secondary");
  EXPECT_EQ(answers[1].instance->tags, std::vector<std::string>{"region:us-test-1"});
  ASSERT_EQ(answers[2].status, LookupStatus::kFound);
  EXPECT_EQ(answers[2].instance->id, "i-v6");
  EXPECT_EQ(answers[2].instance->tags, (std::vector<std::string>{"region:us-test-1", "team:core"}));
  EXPECT_EQ(answers[3].status, LookupStatus::kNotFound);
  EXPECT_EQ(answers[3].instance, nullptr);
  ASSERT_EQ(answers[4].status, LookupStatus::kFound);  // the same IP twice
  EXPECT_EQ(answers[4].instance, answers[0].instance);

  const auto reqs = fake_.ec2();
  ASSERT_EQ(reqs.size(), 2u);
  const std::string filters =
      "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=private-ip-address"
      "&Filter.1.Value.1=10.0.0.1&Filter.1.Value.2=10.0.0.2&Filter.1.Value.3=2001%3Adb8%3A%3A5"
      "&Filter.1.Value.4=10.9.9.9&Filter.1.Value.5=10.0.0.1";
  EXPECT_EQ(reqs[0].body, filters);
  EXPECT_EQ(reqs[1].body, filters + "&NextToken=page-2%2B%2F%3D");

  EXPECT_EQ(Stat(*p, "describeinstancecount"), 1u);
  EXPECT_EQ(Stat(*p, "describeinstanceinstances"), 5u);
  EXPECT_EQ(Stat(*p, "describeinstancepages"), 2u);
  EXPECT_EQ(Stat(*p, "describeinstancefound"), 3u);
  EXPECT_EQ(Stat(*p, "describeinstanceerrors"), 0u);
}

// Recomputes the signature from what arrived: the date, the host, the body.
TEST_F(AwsProviderTest, RequestsAreSignedForEc2InTheRegion) {
  fake_.Script({{200, kSimplePage}});
  auto env = Env();
  env["AWS_SESSION_TOKEN"] = "session-1";
  auto p = Started({}, env);
  ASSERT_EQ(p->Lookup({"10.0.0.1"})[0].status, LookupStatus::kFound);
  const auto reqs = fake_.ec2();
  ASSERT_EQ(reqs.size(), 1u);
  const Ec2Request& r = reqs[0];
  ASSERT_EQ(r.amz_date.size(), 16u) << r.amz_date;
  const std::string prefix = "AWS4-HMAC-SHA256 Credential=AKIDTEST/" + r.amz_date.substr(0, 8) +
                             "/us-test-1/ec2/aws4_request";
  EXPECT_EQ(r.authorization.rfind(prefix, 0), 0u) << r.authorization;
  EXPECT_EQ(r.security_token, "session-1");
  EXPECT_EQ(r.content_type, "application/x-www-form-urlencoded; charset=utf-8");

  std::tm tm{};
  ASSERT_NE(strptime(r.amz_date.c_str(), "%Y%m%dT%H%M%SZ", &tm), nullptr);
  cstatsd::aws::SigningRequest sr;
  sr.method = "POST";
  sr.path = "/";
  sr.headers = {{"Host", "127.0.0.1:" + std::to_string(fake_.port())},
                {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  sr.payload = r.body;
  const auto expected =
      cstatsd::aws::Sign(sr, {"AKIDTEST", "secret", "session-1"}, "us-test-1", "ec2", timegm(&tm));
  EXPECT_EQ(r.authorization, expected.authorization);
  EXPECT_EQ(r.host, "127.0.0.1:" + std::to_string(fake_.port()));
}

// gostatsd: InvalidInstanceID.NotFound (eventual consistency) is no error for the caller, but
// describeinstanceerrors counts it; it is not retried.
TEST_F(AwsProviderTest, InvalidInstanceIdNotFoundMeansNotFound) {
  fake_.Script({{400, ErrorXml("InvalidInstanceID.NotFound")}});
  auto p = Started();
  auto answers = p->Lookup({"10.0.0.1", "10.0.0.2"});
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].status, LookupStatus::kNotFound);
  EXPECT_EQ(answers[1].status, LookupStatus::kNotFound);
  EXPECT_EQ(fake_.ec2().size(), 1u);
  EXPECT_EQ(Stat(*p, "describeinstanceerrors"), 1u);
  EXPECT_EQ(Stat(*p, "describeinstancepages"), 0u);
}

TEST_F(AwsProviderTest, ThrottlingIsRetried) {
  fake_.Script({{503, ErrorXml("RequestLimitExceeded")},
                {503, "<html>Service Unavailable</html>"},
                {200, kSimplePage}});
  auto p = Started();
  auto answers = p->Lookup({"10.0.0.1"});
  ASSERT_EQ(answers[0].status, LookupStatus::kFound);
  EXPECT_EQ(answers[0].instance->id, "i-1");
  EXPECT_EQ(fake_.ec2().size(), 3u);
  EXPECT_EQ(Stat(*p, "describeinstanceerrors"), 0u);
  EXPECT_EQ(Stat(*p, "describeinstancepages"), 1u);

  // A throttling code on a 4xx is retried too.
  fake_.Script({{400, ErrorXml("Throttling")}, {200, kSimplePage}});
  EXPECT_EQ(p->Lookup({"10.0.0.1"})[0].status, LookupStatus::kFound);
  EXPECT_EQ(fake_.ec2().size(), 5u);
}

TEST_F(AwsProviderTest, PersistentFailureBeyondMaxRetriesIsAnError) {
  fake_.Script({{500, ErrorXml("InternalError")},
                {500, ErrorXml("InternalError")},
                {500, ErrorXml("InternalError")},
                {200, kSimplePage}});
  AwsOptions o;
  o.max_retries = 2;
  auto p = Started(o);
  auto answers = p->Lookup({"10.0.0.1", "10.0.0.2"});
  EXPECT_EQ(answers[0].status, LookupStatus::kError);
  EXPECT_EQ(answers[1].status, LookupStatus::kError);
  EXPECT_EQ(answers[0].instance, nullptr);
  EXPECT_EQ(fake_.ec2().size(), 3u);  // the first attempt and 2 retries
  EXPECT_EQ(Stat(*p, "describeinstanceerrors"), 1u);
  EXPECT_EQ(Stat(*p, "describeinstancecount"), 1u);
}

TEST_F(AwsProviderTest, OtherClientErrorsAreNotRetried) {
  fake_.Script({{401, ErrorXml("AuthFailure")}, {200, kSimplePage}});
  auto p = Started();
  EXPECT_EQ(p->Lookup({"10.0.0.1"})[0].status, LookupStatus::kError);
  EXPECT_EQ(fake_.ec2().size(), 1u);
  // A 200 that is not a DescribeInstancesResponse is an error, not "not found".
  fake_.Script({{200, "<html>captive portal</html>"}});
  EXPECT_EQ(p->Lookup({"10.0.0.1"})[0].status, LookupStatus::kError);
  EXPECT_EQ(Stat(*p, "describeinstanceerrors"), 2u);
}

TEST_F(AwsProviderTest, AFailureOnALaterPageKeepsWhatWasFound) {
  fake_.Script(
      {{200, Page({Instance("i-1", "us-test-1a", "<privateIpAddress>10.0.0.1</privateIpAddress>")},
                  "next")},
       {403, ErrorXml("UnauthorizedOperation")}});
  auto p = Started();
  auto answers = p->Lookup({"10.0.0.1", "10.0.0.2"});
  EXPECT_EQ(answers[0].status, LookupStatus::kFound);
  EXPECT_EQ(answers[1].status, LookupStatus::kError);
  EXPECT_EQ(Stat(*p, "describeinstancepages"), 1u);
  EXPECT_EQ(Stat(*p, "describeinstancefound"), 1u);
}

TEST_F(AwsProviderTest, TransportErrorsAreRetriedThenAnError) {
  auto env = Env();
  env["AWS_ENDPOINT_URL_EC2"] = "http://127.0.0.1:" + std::to_string(testing::UnusedPort());
  AwsOptions o;
  o.max_retries = 1;
  auto p = Started(o, env);
  auto answers = p->Lookup({"10.0.0.1"});
  EXPECT_EQ(answers[0].status, LookupStatus::kError);
  EXPECT_EQ(Stat(*p, "describeinstanceerrors"), 1u);
}

TEST_F(AwsProviderTest, NoCredentialsIsAnErrorWithoutARequest) {
  auto env = Env();
  env.erase("AWS_ACCESS_KEY_ID");
  env.erase("AWS_SECRET_ACCESS_KEY");
  auto p = Started({}, env);  // the fake metadata service has no instance role
  auto answers = p->Lookup({"10.0.0.1"});
  EXPECT_EQ(answers[0].status, LookupStatus::kError);
  EXPECT_TRUE(fake_.ec2().empty());
  EXPECT_EQ(Stat(*p, "describeinstanceerrors"), 1u);
}

TEST_F(AwsProviderTest, StopEndsARetryWait) {
  fake_.Script({{500, ErrorXml("InternalError")}});
  AwsOptions o;
  o.max_retries = 3;
  o.retry_base_wait = std::chrono::minutes(10);
  o.retry_max_wait = std::chrono::minutes(10);
  AwsProvider p(o, Env());
  ASSERT_TRUE(p.Start().ok());
  std::thread stopper([&] {
    fake_.WaitForEc2(1);
    p.Stop();
  });
  auto answers = p.Lookup({"10.0.0.1"});  // would wait 10 minutes without Stop()
  stopper.join();
  EXPECT_EQ(answers[0].status, LookupStatus::kError);
  EXPECT_EQ(fake_.ec2().size(), 1u);

  // After Stop(), a lookup fails at once without asking.
  EXPECT_EQ(p.Lookup({"10.0.0.1"})[0].status, LookupStatus::kError);
  EXPECT_EQ(fake_.ec2().size(), 1u);
}

// aws::Imds has two ways to make its requests: the provider's synchronous Fetch (above) and a
// running HttpClient (the cloudwatch backend); both ask the same questions.
TEST_F(AwsProviderTest, MetadataServiceOverAnHttpClientToo) {
  auto client = transport::HttpClient::Create(transport::TransportOptions{});
  ASSERT_TRUE(client.ok()) << client.error();
  std::thread loop([&] { (*client)->Run(); });
  cstatsd::aws::Environment env = Env();
  cstatsd::aws::CredentialChain chain(client->get(), env);
  auto region = chain.Region("");
  (*client)->Shutdown();
  loop.join();
  ASSERT_TRUE(region.ok()) << region.error();
  EXPECT_EQ(*region, "us-test-1");
  EXPECT_EQ(fake_.token_requests(), 1);
  EXPECT_EQ(fake_.region_requests(), 1);
}

TEST_F(AwsProviderTest, AnEmptyBatchAsksNothing) {
  auto p = Started();
  EXPECT_TRUE(p->Lookup({}).empty());
  EXPECT_TRUE(fake_.ec2().empty());
  EXPECT_EQ(Stat(*p, "describeinstancecount"), 0u);
}

}  // namespace
}  // namespace cstatsd::cloud::aws
