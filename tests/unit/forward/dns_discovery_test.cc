// [http-transport] api-endpoints-dns (docs/scaling.md#discovery-by-dns): the keys and their
// errors, name:port parsing, the URLs of v4 and v6 addresses, and the set handed on — only when it
// changes, the last one kept on a failed or empty answer — with a scripted resolver (no DNS). The
// system resolver is asked only for an address literal (no network).
#include "forward/dns_discovery.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>

#include "forward/forwarder_options.h"

namespace cstatsd::forward {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

DnsDiscoveryOptions LoadJson(const char* json, std::vector<std::string>* errors) {
  config::Config c;
  c.file = nlohmann::json::parse(json);
  return DnsDiscoveryOptions::Load(c.GetSection("http-transport"), errors);
}

TEST(DnsDiscoveryOptionsTest, DefaultsAndKeys) {
  std::vector<std::string> errors;
  auto o = LoadJson(R"({"http-transport": {}})", &errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_FALSE(o.enabled());
  EXPECT_EQ(o.refresh_period, 30s);
  EXPECT_EQ(o.timeout, 5s);
  EXPECT_TRUE(o.server.empty());

  o = LoadJson(R"({"http-transport": {"api-endpoints-dns": "aggregators.svc:8080",
      "dns-refresh-period": "2s", "dns-server": "127.0.0.1:5353", "dns-timeout": "300ms"}})",
               &errors);
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_TRUE(o.enabled());
  EXPECT_EQ(o.name, "aggregators.svc:8080");
  EXPECT_EQ(o.refresh_period, 2s);
  EXPECT_EQ(o.server, "127.0.0.1:5353");
  EXPECT_EQ(o.timeout, 300ms);
}

TEST(DnsDiscoveryOptionsTest, EveryProblemNamesItsKey) {
  std::vector<std::string> errors;
  LoadJson(R"({"http-transport": {"api-endpoints-dns": "http://aggregators:8080",
      "dns-refresh-period": "10ms", "dns-server": "dns.local:53", "dns-timeout": "0s"}})",
           &errors);
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_THAT(errors[0], HasSubstr("http-transport.api-endpoints-dns"));
  EXPECT_THAT(errors[1], HasSubstr("http-transport.dns-server"));
  EXPECT_THAT(errors[2], HasSubstr("http-transport.dns-refresh-period"));
  EXPECT_THAT(errors[3], HasSubstr("http-transport.dns-timeout"));
}

TEST(DnsDiscoveryOptionsTest, PartOfHttpTransport) {
  config::Config c;
  c.file = nlohmann::json::parse(R"({"http-transport": {"api-endpoints-dns": "aggregators:8080",
      "dns-server": "127.0.0.1:5353"}})");
  std::vector<std::string> warnings;
  auto o = ForwarderOptions::Load(c, &warnings);
  ASSERT_TRUE(o.ok()) << o.error();  // no api-endpoint needed
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ(o->dns.name, "aggregators:8080");
  EXPECT_EQ(o->dns.server, "127.0.0.1:5353");
  c.file = nlohmann::json::parse(R"({"http-transport": {"api-endpoints-dns": "aggregators"}})");
  EXPECT_THAT(ForwarderOptions::Load(c, nullptr).error(),
              HasSubstr("http-transport.api-endpoints-dns"));
}

TEST(DnsDiscoveryTest, ParsesNameAndPort) {
  auto hp = ParseHostPort("aggregators.monitoring.svc.cluster.local:8080");
  ASSERT_TRUE(hp.ok()) << hp.error();
  EXPECT_EQ(hp->host, "aggregators.monitoring.svc.cluster.local");
  EXPECT_EQ(hp->port, 8080);
  for (const char* bad : {"aggregators", ":8080", "agg:", "agg:0", "agg:65536", "agg:80x",
                          "http://agg:80", "[::1]:80"}) {
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  }
}

TEST(DnsDiscoveryTest, UrlsBracketIpv6) {
  EXPECT_EQ(EndpointUrl("10.0.0.7", 8080), "http://10.0.0.7:8080");
  EXPECT_EQ(EndpointUrl("fd00::7", 8080), "http://[fd00::7]:8080");
}

// Answers from a script, one per Resolve; records the names asked.
class ScriptedResolver : public HostResolver {
 public:
  explicit ScriptedResolver(std::deque<Result<std::vector<std::string>>> answers)
      : answers_(std::move(answers)) {}
  Result<std::vector<std::string>> Resolve(const std::string& host) override {
    asked.push_back(host);
    auto a = std::move(answers_.front());
    answers_.pop_front();
    return a;
  }
  std::vector<std::string> asked;

 private:
  std::deque<Result<std::vector<std::string>>> answers_;
};

TEST(DnsDiscoveryTest, HandsOnEachChangedSetAndKeepsTheLastOnFailure) {
  using Addresses = std::vector<std::string>;
  std::deque<Result<Addresses>> script;
  script.emplace_back(Addresses{"10.0.0.2", "10.0.0.1", "10.0.0.2"});  // first set (deduplicated)
  script.emplace_back(Addresses{"10.0.0.1", "10.0.0.2"});              // same set: no call
  script.emplace_back(Status::Error("server failure"));                // kept
  script.emplace_back(Addresses{});                                    // empty answer: kept
  script.emplace_back(Addresses{"10.0.0.1", "fd00::3"});               // one left, one joined
  auto resolver = std::make_unique<ScriptedResolver>(std::move(script));
  ScriptedResolver* r = resolver.get();
  std::vector<std::vector<std::string>> sets;
  DnsDiscoveryOptions options;
  options.name = "aggregators:8125";
  DnsDiscovery d(options, *ParseHostPort(options.name), std::move(resolver),
                 [&](const std::vector<std::string>& s) { sets.push_back(s); });

  EXPECT_TRUE(d.Refresh().ok());
  EXPECT_TRUE(d.Refresh().ok());
  EXPECT_THAT(d.Refresh().message(), HasSubstr("server failure"));
  EXPECT_FALSE(d.Refresh().ok());
  EXPECT_THAT(d.endpoints(), ElementsAre("http://10.0.0.1:8125", "http://10.0.0.2:8125"));
  EXPECT_TRUE(d.Refresh().ok());

  ASSERT_EQ(sets.size(), 2u);
  EXPECT_THAT(sets[0], ElementsAre("http://10.0.0.1:8125", "http://10.0.0.2:8125"));
  EXPECT_THAT(sets[1], ElementsAre("http://10.0.0.1:8125", "http://[fd00::3]:8125"));
  EXPECT_THAT(r->asked, ElementsAre("aggregators", "aggregators", "aggregators", "aggregators",
                                    "aggregators"));
  const DnsDiscoveryStats st = d.Totals();
  EXPECT_EQ(st.lookups, 5u);
  EXPECT_EQ(st.failed, 2u);
  EXPECT_EQ(st.changes, 2u);
  EXPECT_EQ(st.endpoints, 2u);
}

TEST(DnsDiscoveryTest, StopEndsRun) {
  DnsDiscoveryOptions options;
  options.name = "aggregators:8125";
  options.refresh_period = 1h;
  DnsDiscovery d(options, *ParseHostPort(options.name),
                 std::make_unique<ScriptedResolver>(std::deque<Result<std::vector<std::string>>>{}),
                 nullptr);
  d.Stop();
  d.Run();  // returns at once: stopped before it started, nothing resolved
  EXPECT_EQ(d.Totals().lookups, 0u);
}

TEST(DnsDiscoveryTest, SystemResolverReadsAnAddressLiteral) {
  auto r = MakeSystemResolver();
  auto a = r->Resolve("127.0.0.1");
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_THAT(*a, ElementsAre("127.0.0.1"));
}

TEST(DnsDiscoveryTest, CreateChoosesTheResolverAndChecksTheName) {
  DnsDiscoveryOptions options;
  options.name = "aggregators";
  EXPECT_THAT(DnsDiscovery::Create(options, nullptr).error(),
              HasSubstr("http-transport.api-endpoints-dns"));
  options.name = "aggregators:8125";
  options.server = "127.0.0.1:5353";
  EXPECT_TRUE(DnsDiscovery::Create(options, nullptr).ok());
}

}  // namespace
}  // namespace cstatsd::forward
