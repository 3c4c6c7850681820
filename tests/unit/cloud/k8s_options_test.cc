// [k8s]: defaults, keys, the environment, errors naming "k8s.<key>"; the factory; the client's
// token bucket and query escaping.
#include "cloud/k8s/k8s_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cloud/k8s/api_client.h"
#include "cloud/k8s/k8s_provider.h"
#include "core/version.h"

namespace cstatsd::cloud::k8s {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

config::Config MakeConfig(const char* file_json, config::Environment env = {}) {
  config::Config c;
  c.file = nlohmann::json::parse(file_json);
  c.env = std::move(env);
  return c;
}

TEST(K8sOptionsTest, Defaults) {
  auto o = ReadK8sOptions(MakeConfig("{}"));
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->kube_api_qps, 5);
  EXPECT_EQ(o->kube_api_burst, 10);
  EXPECT_EQ(o->annotation_tag_regex, R"(^gostatsd\.atlassian\.com/(?P<tag>.*)$)");
  EXPECT_EQ(o->label_tag_regex, "");
  EXPECT_EQ(o->kubeconfig_path, "");
  EXPECT_EQ(o->kubeconfig_context, "");
  EXPECT_EQ(o->node_name, "");
  EXPECT_EQ(o->resync_period, std::chrono::minutes(5));
  EXPECT_EQ(o->user_agent, "cstatsd/" + std::string(Version()));
  EXPECT_TRUE(o->watch_cluster);
  EXPECT_EQ(o->max_watch_event_size, 16 << 20);
  EXPECT_EQ(o->cgroup_path, "");
}

TEST(K8sOptionsTest, KeysAndTheEnvironment) {
  auto o = ReadK8sOptions(MakeConfig(
      R"({"k8s": {
      "kube-api-qps": 2.5, "kube-api-burst": 1.5, "annotation-tag-regex": "",
      "label-tag-regex": "^app$", "kubeconfig-path": "/k/config", "kubeconfig-context": "prod",
      "resync-period": "90s", "user-agent": "me/1", "watch-cluster": false}})",
      {{"GSD_K8S_NODE_NAME", "node-7"}, {"GSD_K8S_CGROUP_PATH", "/host/sys/fs/cgroup"}}));
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->kube_api_qps, 2.5);
  EXPECT_EQ(o->kube_api_burst, 1.5);
  EXPECT_EQ(o->annotation_tag_regex, "");
  EXPECT_EQ(o->label_tag_regex, "^app$");
  EXPECT_EQ(o->kubeconfig_path, "/k/config");
  EXPECT_EQ(o->kubeconfig_context, "prod");
  EXPECT_EQ(o->node_name, "node-7");
  EXPECT_EQ(o->resync_period, std::chrono::seconds(90));
  EXPECT_EQ(o->user_agent, "me/1");
  EXPECT_FALSE(o->watch_cluster);
  EXPECT_EQ(o->cgroup_path, "/host/sys/fs/cgroup");

  auto from_file =
      ReadK8sOptions(MakeConfig(R"({"k8s": {"node-name": "n1", "watch-cluster": false}})"));
  ASSERT_TRUE(from_file.ok()) << from_file.error();
  EXPECT_EQ(from_file->node_name, "n1");
}

TEST(K8sOptionsTest, EveryProblemIsNamed) {
  auto o = ReadK8sOptions(MakeConfig(R"({"k8s": {
      "kube-api-qps": 0, "kube-api-burst": -1, "annotation-tag-regex": "(",
      "label-tag-regex": "[z-a]", "resync-period": "soon", "watch-cluster": false}})"));
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.error(), HasSubstr("k8s.kube-api-qps: must be positive"));
  EXPECT_THAT(o.error(), HasSubstr("k8s.kube-api-burst: must be positive"));
  EXPECT_THAT(o.error(), HasSubstr("k8s.annotation-tag-regex: invalid regex"));
  EXPECT_THAT(o.error(), HasSubstr("k8s.label-tag-regex: invalid regex"));
  EXPECT_THAT(o.error(), HasSubstr("k8s.resync-period"));
  EXPECT_THAT(o.error(), HasSubstr("k8s.node-name: required when watch-cluster is false"));

  auto negative = ReadK8sOptions(MakeConfig(R"({"k8s": {"resync-period": "-1s"}})"));
  ASSERT_FALSE(negative.ok());
  EXPECT_THAT(negative.error(), HasSubstr("k8s.resync-period: must not be negative"));
  auto text = ReadK8sOptions(MakeConfig(R"({"k8s": {"kube-api-qps": "fast"}})"));
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.error(), HasSubstr("k8s.kube-api-qps"));
  auto size = ReadK8sOptions(MakeConfig(R"({"k8s": {"max-watch-event-size": 0}})"));
  ASSERT_FALSE(size.ok());
  EXPECT_THAT(size.error(), HasSubstr("k8s.max-watch-event-size: must be positive"));
  auto set = ReadK8sOptions(MakeConfig(R"({"k8s": {"max-watch-event-size": 1024}})"));
  ASSERT_TRUE(set.ok()) << set.error();
  EXPECT_EQ(set->max_watch_event_size, 1024);
}

TEST(K8sOptionsTest, UnknownKeysAreWarnedAbout) {
  std::vector<std::string> warnings;
  auto o = ReadK8sOptions(MakeConfig(R"({"k8s": {"kube-api-qsp": 3}})"), &warnings);
  ASSERT_TRUE(o.ok());
  EXPECT_THAT(warnings, ::testing::ElementsAre("k8s.kube-api-qsp: unknown key; ignored"));
}

TEST(K8sOptionsTest, FactoryResolvesTheConnection) {
  std::string dir = (std::filesystem::temp_directory_path() / "cstatsd-k8s-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/config";
  std::ofstream(path) << R"(
current-context: c
contexts: [{name: c, context: {cluster: k}}]
clusters: [{name: k, cluster: {server: "http://127.0.0.1:1"}}]
)";
  auto config = MakeConfig(("{\"k8s\": {\"kubeconfig-path\": \"" + path + "\"}}").c_str());
  auto p = CreateK8sProvider(config);
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ((*p)->name(), "k8s");
  EXPECT_FALSE((*p)->answers_lookups());
  EXPECT_TRUE((*p)->has_background_loop());

  auto wrong_context = CreateK8sProvider(MakeConfig(
      ("{\"k8s\": {\"kubeconfig-path\": \"" + path + "\", \"kubeconfig-context\": \"x\"}}")
          .c_str()));
  ASSERT_FALSE(wrong_context.ok());
  EXPECT_THAT(wrong_context.error(), HasSubstr("k8s.kubeconfig-context: "));

  auto missing = CreateK8sProvider(MakeConfig(R"({"k8s": {"kubeconfig-path": "/nonexistent"}})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error(), HasSubstr("k8s.kubeconfig-path: cannot read /nonexistent"));

  // Without a kubeconfig and outside a cluster (an empty environment).
  auto outside = CreateK8sProvider(MakeConfig("{}"));
  ASSERT_FALSE(outside.ok());
  EXPECT_THAT(outside.error(), HasSubstr("k8s.kubeconfig-path: not running in a cluster"));

  auto bad = CreateK8sProvider(MakeConfig(R"({"k8s": {"kube-api-qps": -1}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error(), HasSubstr("k8s.kube-api-qps"));
  EXPECT_THAT(bad.error(), Not(HasSubstr("kubeconfig")));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cstatsd::cloud::k8s
