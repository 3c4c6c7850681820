// The k8s provider's pure rules: pod JSON → fields, skip rules, tags from labels and
// annotations, the index by IP.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cloud/k8s/k8s_options.h"
#include "cloud/k8s/pod_index.h"
#include "k8s_fake_api_server.h"

namespace cstatsd::cloud::k8s {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::PodJson;
using testing::PodSpec;

Pod Parse(const PodSpec& spec) {
  auto pod = ParsePod(PodJson(spec));
  EXPECT_TRUE(pod.ok()) << pod.error();
  return pod.ok() ? *pod : Pod{};
}

TagRules Rules(std::string annotation_regex, std::string label_regex) {
  std::shared_ptr<const re2::RE2> a;
  std::shared_ptr<const re2::RE2> l;
  if (!annotation_regex.empty()) a = *CompileTagRegex(annotation_regex);
  if (!label_regex.empty()) l = *CompileTagRegex(label_regex);
  return TagRules(a, l);
}

TEST(K8sPodTest, ParsesTheFieldsItNeeds) {
  PodSpec spec;
  spec.name_space = "team";
  spec.name = "web-1";
  spec.ip = "10.1.2.3";
  spec.host_ip = "10.0.0.9";
  spec.created = "2024-03-01T12:00:00Z";
  spec.resource_version = "77";
  spec.labels = {{"app", "web"}};
  spec.annotations = {{"b", "2"}, {"a", "1"}};
  const Pod pod = Parse(spec);
  EXPECT_EQ(pod.key(), "team/web-1");
  EXPECT_EQ(pod.pod_ip, "10.1.2.3");
  EXPECT_EQ(pod.host_ip, "10.0.0.9");
  EXPECT_EQ(pod.phase, "Running");
  EXPECT_EQ(pod.creation_timestamp, "2024-03-01T12:00:00Z");
  EXPECT_EQ(pod.resource_version, "77");
  EXPECT_FALSE(pod.deleting);
  EXPECT_FALSE(pod.host_network);
  EXPECT_THAT(pod.labels, ElementsAre(std::pair<std::string, std::string>{"app", "web"}));
  EXPECT_THAT(pod.annotations, ElementsAre(std::pair<std::string, std::string>{"a", "1"},
                                           std::pair<std::string, std::string>{"b", "2"}));
}

TEST(K8sPodTest, RejectsWhatIsNotAPod) {
  EXPECT_FALSE(ParsePod(nlohmann::json::array()).ok());
  EXPECT_FALSE(ParsePod(nlohmann::json{{"metadata", {{"namespace", "x"}}}}).ok());
  // Wrong types are treated as absent, not as errors.
  auto pod = ParsePod(nlohmann::json::parse(
      R"({"metadata":{"name":"p","labels":{"a":1,"b":"x"}},"spec":{"hostNetwork":"yes"},
          "status":{"podIP":5}})"));
  ASSERT_TRUE(pod.ok());
  EXPECT_EQ(pod->pod_ip, "");
  EXPECT_FALSE(pod->host_network);
  EXPECT_THAT(pod->labels, ElementsAre(std::pair<std::string, std::string>{"b", "x"}));
}

TEST(K8sPodTest, SkipRules) {
  PodSpec base;
  base.name = "p";
  base.ip = "10.1.0.1";
  EXPECT_EQ(SkipReason(Parse(base)), Skip::kNone);

  PodSpec s = base;
  s.phase = "Pending";  // scheduled with an IP but not running yet: indexed
  EXPECT_EQ(SkipReason(Parse(s)), Skip::kNone);

  s = base;
  s.ip = "";
  EXPECT_EQ(SkipReason(Parse(s)), Skip::kNoIp);
  s = base;
  s.phase = "Succeeded";
  EXPECT_EQ(SkipReason(Parse(s)), Skip::kFinished);
  s.phase = "Failed";
  EXPECT_EQ(SkipReason(Parse(s)), Skip::kFinished);
  s = base;
  s.deleting = true;
  EXPECT_EQ(SkipReason(Parse(s)), Skip::kDeleting);
  s = base;
  s.host_network = true;
  EXPECT_EQ(SkipReason(Parse(s)), Skip::kHostNetwork);
  s = base;
  s.host_ip = s.ip;
  EXPECT_EQ(SkipReason(Parse(s)), Skip::kHostNetwork);

  const TagRules rules = Rules(kDefaultAnnotationTagRegex, "");
  EXPECT_TRUE(ToIndexed(Parse(base), rules).has_value());
  EXPECT_FALSE(ToIndexed(Parse(s), rules).has_value());
}

TEST(K8sPodTest, ReadsTheContainerIdsWithoutTheRuntime) {
  PodSpec spec;
  spec.name = "p";
  spec.ip = "10.1.0.1";
  spec.container_ids = {"containerd://0123abcd", "docker://4567ef", "cri-o://89ab", "", "bare"};
  nlohmann::json object = PodJson(spec);
  object["status"]["initContainerStatuses"] = {
      {{"name", "init"}, {"containerID", "containerd://i1"}}, {{"name", "waiting"}}};
  object["status"]["ephemeralContainerStatuses"] = {
      {{"name", "debug"}, {"containerID", "containerd://e1"}}};
  object["status"]["containerStatuses"].push_back({{"name", "odd"}, {"containerID", 7}});
  auto pod = ParsePod(object);
  ASSERT_TRUE(pod.ok());
  // An empty containerID (a container not created yet) and one of the wrong type are left out.
  EXPECT_THAT(pod->container_ids, ElementsAre("0123abcd", "4567ef", "89ab", "bare", "i1", "e1"));
  EXPECT_EQ(StripRuntime("containerd://x"), "x");
  EXPECT_EQ(StripRuntime("x"), "x");
  EXPECT_EQ(StripRuntime("containerd://"), "");
}

TEST(K8sPodTest, APodSkippedForItsIpAloneIsIndexedByItsContainers) {
  const TagRules rules = Rules(kDefaultAnnotationTagRegex, "");
  PodSpec base;
  base.name = "p";
  base.ip = "10.1.0.1";
  base.container_ids = {"containerd://c1"};
  auto entry = ToIndexed(Parse(base), rules);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->ip, "10.1.0.1");
  EXPECT_THAT(entry->container_ids, ElementsAre("c1"));

  PodSpec s = base;
  s.host_network = true;
  for (const PodSpec& by_container_only : {s,
                                           [&] {
                                             PodSpec t = base;
                                             t.ip = "";
                                             return t;
                                           }(),
                                           [&] {
                                             PodSpec t = base;
                                             t.deleting = true;
                                             return t;
                                           }()}) {
    entry = ToIndexed(Parse(by_container_only), rules);
    ASSERT_TRUE(entry.has_value());
    EXPECT_EQ(entry->ip, "");
    EXPECT_THAT(entry->container_ids, ElementsAre("c1"));
  }
  // Finished: its containers are gone. No container: nothing to index it by.
  s = base;
  s.phase = "Succeeded";
  EXPECT_FALSE(ToIndexed(Parse(s), rules).has_value());
  s = base;
  s.host_network = true;
  s.container_ids.clear();
  EXPECT_FALSE(ToIndexed(Parse(s), rules).has_value());
}

TEST(K8sPodTest, DefaultRulesTagTheGostatsdAnnotationsOnly) {
  PodSpec spec;
  spec.name_space = "ns";
  spec.name = "p";
  spec.ip = "10.1.0.1";
  spec.labels = {{"app", "web"}, {"gostatsd.atlassian.com/label", "no"}};
  spec.annotations = {{"gostatsd.atlassian.com/team", "metrics"},
                      {"gostatsd.atlassian.com/service", "ingest"},
                      {"other.io/team", "nope"},
                      {"x-gostatsd.atlassian.com/y", "unanchored-but-^"}};
  auto entry = ToIndexed(Parse(spec), Rules(kDefaultAnnotationTagRegex, ""));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->ip, "10.1.0.1");
  EXPECT_EQ(entry->instance->id, "ns/p");
  EXPECT_THAT(entry->instance->tags, ElementsAre("service:ingest", "team:metrics"));
}

TEST(K8sPodTest, RegexWithoutTheTagGroupNamesTheTagByTheWholeKey) {
  PodSpec spec;
  spec.name = "p";
  spec.ip = "10.1.0.1";
  // Unanchored, as Go's MatchString: "team" is found inside the keys.
  spec.annotations = {{"example.com/team", "a"}, {"teamname", "b"}, {"owner", "c"}};
  const Pod pod = Parse(spec);
  EXPECT_THAT(Rules("team", "").Tags(pod), ElementsAre("example.com/team:a", "teamname:b"));
}

TEST(K8sPodTest, TagGroupMatchingNothingFallsBackToTheWholeKey) {
  PodSpec spec;
  spec.name = "p";
  spec.ip = "10.1.0.1";
  spec.annotations = {{"tags/", "empty"}, {"tags/env", "prod"}};
  EXPECT_THAT(Rules("^tags/(?P<tag>.*)$", "").Tags(Parse(spec)),
              ElementsAre("tags/:empty", "env:prod"));
  // An optional group that did not take part in the match, and Go's (?<name>) spelling.
  EXPECT_THAT(Rules("^tags/(?<tag>e.*)?", "").Tags(Parse(spec)),
              ElementsAre("tags/:empty", "env:prod"));
}

TEST(K8sPodTest, LabelsAreTaggedOnlyWithALabelRegexAndComeFirst) {
  PodSpec spec;
  spec.name = "p";
  spec.ip = "10.1.0.1";
  spec.labels = {{"app.kubernetes.io/name", "web"}, {"pod-template-hash", "abc"}};
  spec.annotations = {{"gostatsd.atlassian.com/team", "metrics"}};
  const Pod pod = Parse(spec);
  EXPECT_THAT(Rules(kDefaultAnnotationTagRegex, "").Tags(pod), ElementsAre("team:metrics"));
  EXPECT_THAT(Rules(kDefaultAnnotationTagRegex, R"(^app\.kubernetes\.io/(?P<tag>.*)$)").Tags(pod),
              ElementsAre("name:web", "team:metrics"));
  EXPECT_THAT(Rules("", "hash").Tags(pod), ElementsAre("pod-template-hash:abc"));
  EXPECT_THAT(Rules("", "").Tags(pod), IsEmpty());
}

TEST(K8sPodTest, BadRegexesAreErrors) {
  auto re = CompileTagRegex("^(unclosed");
  ASSERT_FALSE(re.ok());
  EXPECT_THAT(re.error(), ::testing::HasSubstr("^(unclosed"));
  EXPECT_FALSE(CompileTagRegex("(?<=lookbehind)x").ok());
  EXPECT_TRUE(CompileTagRegex(R"([(?<x>])").ok());  // inside a class: left alone
}

IndexedPod Entry(std::string ip, std::string created, std::string id) {
  auto instance = std::make_shared<Instance>();
  instance->id = std::move(id);
  return IndexedPod{std::move(ip), std::move(created), std::move(instance), {}};
}

TEST(K8sPodTest, IndexByIpPrefersTheOldestPodAndReportsConflicts) {
  PodSet pods;
  pods["a/new"] = Entry("10.0.0.5", "2024-02-01T00:00:00Z", "a/new");
  pods["b/old"] = Entry("10.0.0.5", "2024-01-01T00:00:00Z", "b/old");
  pods["c/same-age-2"] = Entry("10.0.0.6", "2024-01-01T00:00:00Z", "c/same-age-2");
  pods["c/same-age-1"] = Entry("10.0.0.6", "2024-01-01T00:00:00Z", "c/same-age-1");
  pods["d/alone"] = Entry("10.0.0.7", "2024-01-01T00:00:00Z", "d/alone");
  std::vector<IpConflict> conflicts;
  const Index index = BuildIndex(pods, &conflicts);
  ASSERT_EQ(index.size(), 3u);
  EXPECT_EQ(index.at("10.0.0.5")->id, "b/old");
  EXPECT_EQ(index.at("10.0.0.6")->id, "c/same-age-1");
  EXPECT_EQ(index.at("10.0.0.7")->id, "d/alone");
  ASSERT_EQ(conflicts.size(), 2u);
  EXPECT_EQ(conflicts[0].ip, "10.0.0.5");
  EXPECT_EQ(conflicts[0].chosen, "b/old");
  EXPECT_THAT(conflicts[0].others, ElementsAre("a/new"));
  EXPECT_EQ(conflicts[1].chosen, "c/same-age-1");
  EXPECT_THAT(conflicts[1].others, ElementsAre("c/same-age-2"));
}

TEST(K8sPodTest, IndexByContainerHoldsEveryContainerOfEveryPod) {
  PodSet pods;
  pods["a/web"] = Entry("10.0.0.5", "2024-01-01T00:00:00Z", "a/web");
  pods["a/web"].container_ids = {"c1", "c2"};
  pods["b/agent"] = Entry("", "2024-01-01T00:00:00Z", "b/agent");  // host network
  pods["b/agent"].container_ids = {"c3"};
  pods["c/none"] = Entry("10.0.0.6", "2024-01-01T00:00:00Z", "c/none");
  const ContainerIndex containers = BuildContainerIndex(pods);
  ASSERT_EQ(containers.size(), 3u);
  EXPECT_EQ(containers.at("c1")->id, "a/web");
  EXPECT_EQ(containers.at("c2")->id, "a/web");
  EXPECT_EQ(containers.at("c3")->id, "b/agent");
  // The pod without an IP stays out of the index by IP.
  const Index index = BuildIndex(pods);
  EXPECT_EQ(index.size(), 2u);
  EXPECT_FALSE(index.contains(""));
}

}  // namespace
}  // namespace cstatsd::cloud::k8s
