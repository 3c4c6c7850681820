// The k8s provider end to end, in process, against a fake API server on loopback: the startup
// list and its errors, pagination, the watch (ADDED, MODIFIED, DELETED, BOOKMARK), 410 Gone,
// reconnects, the node's field selector, resync, and a prompt Stop().
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "cloud/k8s/k8s_provider.h"
#include "k8s_fake_api_server.h"

namespace cstatsd::cloud::k8s {
namespace {

using testing::ApiRequest;
using ::testing::ElementsAre;
using testing::FakeApiServer;
using ::testing::HasSubstr;
using testing::PodJson;
using testing::PodSpec;

constexpr auto kWait = std::chrono::seconds(10);

// Collects what the provider publishes.
class Published {
 public:
  cloud::Provider::Publish Callback() {
    return [this](std::shared_ptr<const Index> index,
                  std::shared_ptr<const ContainerIndex> containers) {
      std::lock_guard lock(mu_);
      all_.push_back(std::move(index));
      containers_.push_back(std::move(containers));
      cv_.notify_all();
    };
  }
  // Waits (bounded) for a published index that satisfies pred; null if none came.
  std::shared_ptr<const Index> WaitFor(const std::function<bool(const Index&)>& pred) {
    std::unique_lock lock(mu_);
    std::shared_ptr<const Index> found;
    cv_.wait_for(lock, kWait, [&] {
      if (!all_.empty() && pred(*all_.back())) found = all_.back();
      return found != nullptr;
    });
    return found;
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return all_.size();
  }
  std::shared_ptr<const Index> last() {
    std::lock_guard lock(mu_);
    return all_.empty() ? nullptr : all_.back();
  }
  // Waits (bounded) for a published container index that satisfies pred; null if none came.
  std::shared_ptr<const ContainerIndex> WaitForContainers(
      const std::function<bool(const ContainerIndex&)>& pred) {
    std::unique_lock lock(mu_);
    std::shared_ptr<const ContainerIndex> found;
    cv_.wait_for(lock, kWait, [&] {
      if (!containers_.empty() && containers_.back() != nullptr && pred(*containers_.back()))
        found = containers_.back();
      return found != nullptr;
    });
    return found;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<const Index>> all_;
  std::vector<std::shared_ptr<const ContainerIndex>> containers_;
};

std::vector<std::string> TagsOf(const Index& index, const std::string& ip) {
  auto it = index.find(ip);
  return it == index.end() ? std::vector<std::string>{"(absent)"} : it->second->tags;
}

PodSpec Pod(std::string name, std::string ip, std::string team = "",
            std::string resource_version = "1") {
  PodSpec p;
  p.name_space = "apps";
  p.name = std::move(name);
  p.ip = std::move(ip);
  p.resource_version = std::move(resource_version);
  if (!team.empty()) p.annotations["gostatsd.atlassian.com/team"] = team;
  return p;
}

// Runs the provider's loop on a thread of the test (in cstatsd, server/ makes it).
class Runner {
 public:
  explicit Runner(K8sProvider& p)
      : p_(p), thread_([this] {
          p_.Run();
          std::lock_guard lock(mu_);
          done_ = true;
          cv_.notify_all();
        }) {}
  ~Runner() {
    p_.Stop();
    thread_.join();
  }
  // Stops the provider; true if Run() returned within `timeout`.
  bool StopWithin(std::chrono::seconds timeout) {
    p_.Stop();
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done_; });
  }

 private:
  K8sProvider& p_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

class K8sProviderTest : public ::testing::Test {
 protected:
  K8sProviderTest() {
    options_.min_backoff = std::chrono::milliseconds(20);
    options_.max_backoff = std::chrono::milliseconds(100);
    options_.publish_interval = std::chrono::milliseconds(10);
    options_.kube_api_qps = 1000;
    options_.kube_api_burst = 1000;
    options_.user_agent = "cstatsd-test/1";
  }

  std::unique_ptr<K8sProvider> Make() {
    Connection c;
    c.server = server_.url();
    c.token = "secret-token";
    auto rules = MakeTagRules(options_);
    EXPECT_TRUE(rules.ok());
    auto p = std::make_unique<K8sProvider>(options_, std::move(c), *rules);
    p->set_publish(published_.Callback());
    return p;
  }

  static uint64_t Stat(const K8sProvider& p, const std::string& name) {
    std::vector<ProviderStat> stats;
    p.Stats(stats);
    for (const auto& s : stats) {
      if (s.name == "cloudprovider.k8s." + name) return s.value;
    }
    ADD_FAILURE() << "no stat " << name;
    return 0;
  }

  K8sOptions options_;
  FakeApiServer server_;
  Published published_;
};

TEST_F(K8sProviderTest, StartListsThePodsAndPublishesTheIndex) {
  PodSpec host = Pod("node-exporter", "10.0.0.1");
  host.host_network = true;
  PodSpec done = Pod("job", "10.2.0.9");
  done.phase = "Succeeded";
  server_.SetPods({Pod("web-1", "10.2.0.1", "web"), Pod("db-1", "10.2.0.2"), host, done}, "100");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());

  // Published before Start() returned.
  ASSERT_EQ(published_.count(), 1u);
  const auto index = published_.last();
  ASSERT_EQ(index->size(), 2u);
  EXPECT_EQ(index->at("10.2.0.1")->id, "apps/web-1");
  EXPECT_THAT(index->at("10.2.0.1")->tags, ElementsAre("team:web"));
  EXPECT_EQ(index->at("10.2.0.2")->id, "apps/db-1");
  EXPECT_TRUE(index->at("10.2.0.2")->tags.empty());

  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_FALSE(testing::IsWatch(requests[0]));
  EXPECT_EQ(requests[0].Param("fieldSelector"), "");
  EXPECT_EQ(requests[0].Header("Authorization"), "Bearer secret-token");
  EXPECT_EQ(requests[0].Header("User-Agent"), "cstatsd-test/1");
  EXPECT_EQ(requests[0].Header("Accept"), "application/json");
  EXPECT_EQ(Stat(*p, "pods"), 2u);
  EXPECT_EQ(Stat(*p, "lists"), 1u);
  EXPECT_EQ(Stat(*p, "publishes"), 1u);
}

TEST_F(K8sProviderTest, PublishesThePodsByContainerId) {
  PodSpec web = Pod("web-1", "10.2.0.1", "web");
  web.container_ids = {"containerd://aaa111", "containerd://aaa222"};
  PodSpec agent = Pod("agent", "10.0.0.1", "infra");  // host network: by container only
  agent.host_network = true;
  agent.container_ids = {"cri-o://bbb333"};
  server_.SetPods({web, agent}, "100");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  auto containers = published_.WaitForContainers([](const ContainerIndex&) { return true; });
  ASSERT_NE(containers, nullptr);
  ASSERT_EQ(containers->size(), 3u);
  EXPECT_EQ(containers->at("aaa111")->id, "apps/web-1");
  EXPECT_EQ(containers->at("aaa222")->id, "apps/web-1");
  EXPECT_EQ(containers->at("bbb333")->id, "apps/agent");
  EXPECT_THAT(containers->at("bbb333")->tags, ElementsAre("team:infra"));
  // The host-network pod stays out of the index by IP.
  EXPECT_EQ(published_.last()->size(), 1u);
  EXPECT_EQ(Stat(*p, "containers"), 3u);

  // A container started later (a restart: a new id) is published from the watch.
  Runner run(*p);
  server_.WaitForWatches(1);
  web.container_ids = {"containerd://aaa111", "containerd://ccc444"};
  web.resource_version = "101";
  server_.Push("MODIFIED", PodJson(web));
  auto changed = published_.WaitForContainers(
      [](const ContainerIndex& c) { return c.contains("ccc444") && !c.contains("aaa222"); });
  ASSERT_NE(changed, nullptr);
  EXPECT_EQ(changed->at("ccc444")->id, "apps/web-1");
}

TEST_F(K8sProviderTest, AnEmptyClusterStillPublishes) {
  server_.SetPods({}, "5");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  ASSERT_EQ(published_.count(), 1u);
  EXPECT_TRUE(published_.last()->empty());
}

TEST_F(K8sProviderTest, StartFailsWhenTheListIsRefused) {
  server_.FailLists(
      1, 403,
      R"({"kind":"Status","message":"pods is forbidden: User \"system:serviceaccount:)"
      R"(default:statsd\" cannot list resource \"pods\""})");
  auto p = Make();
  Status s = p->Start();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(server_.url()));
  EXPECT_THAT(s.message(), HasSubstr("HTTP 403"));
  EXPECT_THAT(s.message(), HasSubstr("cannot list resource"));
  EXPECT_EQ(published_.count(), 0u);
  EXPECT_EQ(Stat(*p, "errors"), 1u);
}

TEST_F(K8sProviderTest, StartFailsWithoutAServer) {
  Connection c;
  c.server = "http://127.0.0.1:1";  // nothing listens on port 1
  auto p = std::make_unique<K8sProvider>(options_, c, *MakeTagRules(options_));
  Status s = p->Start();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("http://127.0.0.1:1"));
}

TEST_F(K8sProviderTest, ListsAllPages) {
  options_.page_size = 2;
  server_.SetPods({Pod("a", "10.2.0.1"), Pod("b", "10.2.0.2"), Pod("c", "10.2.0.3"),
                   Pod("d", "10.2.0.4"), Pod("e", "10.2.0.5")},
                  "9");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  EXPECT_EQ(published_.last()->size(), 5u);
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].Param("limit"), "2");
  EXPECT_EQ(requests[0].Param("continue"), "");
  EXPECT_EQ(requests[1].Param("continue"), "2");
  EXPECT_EQ(requests[2].Param("continue"), "4");
}

TEST_F(K8sProviderTest, AnExpiredContinueTokenListsAgainInOnePage) {
  options_.page_size = 2;
  server_.SetPods({Pod("a", "10.2.0.1"), Pod("b", "10.2.0.2"), Pod("c", "10.2.0.3")}, "9");
  server_.FailLists(1, 410, R"({"kind":"Status","code":410,"reason":"Expired"})", /*after=*/1);
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  EXPECT_EQ(published_.last()->size(), 3u);
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].Param("continue"), "2");
  EXPECT_EQ(requests[1].status, 410);
  EXPECT_EQ(requests[2].Param("limit"), "");
  EXPECT_EQ(requests[2].Param("continue"), "");
}

TEST_F(K8sProviderTest, WatchAddsModifiesAndDeletesPods) {
  server_.SetPods({Pod("web-1", "10.2.0.1", "web"), Pod("db-1", "10.2.0.2", "db")}, "100");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  Runner run(*p);
  auto watches = server_.WaitForWatches(1);
  ASSERT_EQ(FakeApiServer::Count(watches, true), 1u);
  const ApiRequest& w = watches.back();
  EXPECT_EQ(w.Param("watch"), "1");
  EXPECT_EQ(w.Param("resourceVersion"), "100");
  EXPECT_EQ(w.Param("allowWatchBookmarks"), "true");
  EXPECT_FALSE(w.Param("timeoutSeconds").empty());
  EXPECT_EQ(w.Header("Authorization"), "Bearer secret-token");

  server_.Push("ADDED", PodJson(Pod("cache-1", "10.2.0.3", "cache", "101")));
  ASSERT_NE(published_.WaitFor([](const Index& i) { return i.contains("10.2.0.3"); }), nullptr);
  EXPECT_THAT(TagsOf(*published_.last(), "10.2.0.3"), ElementsAre("team:cache"));

  server_.Push("MODIFIED", PodJson(Pod("web-1", "10.2.0.1", "frontend", "102")));
  auto modified = published_.WaitFor([](const Index& i) {
    return TagsOf(i, "10.2.0.1") == std::vector<std::string>{"team:frontend"};
  });
  ASSERT_NE(modified, nullptr);
  EXPECT_EQ(modified->size(), 3u);

  server_.Push("DELETED", PodJson(Pod("db-1", "10.2.0.2", "db", "103")));
  auto deleted = published_.WaitFor([](const Index& i) { return !i.contains("10.2.0.2"); });
  ASSERT_NE(deleted, nullptr);
  EXPECT_EQ(deleted->size(), 2u);
  EXPECT_EQ(deleted->at("10.2.0.1")->id, "apps/web-1");

  // A pod that starts terminating leaves the index at once.
  PodSpec terminating = Pod("cache-1", "10.2.0.3", "cache", "104");
  terminating.deleting = true;
  server_.Push("MODIFIED", PodJson(terminating));
  ASSERT_NE(published_.WaitFor([](const Index& i) { return !i.contains("10.2.0.3"); }), nullptr);

  // The next watch resumes from the last event's resourceVersion.
  server_.EndWatches();
  watches = server_.WaitForWatches(2);
  ASSERT_EQ(FakeApiServer::Count(watches, true), 2u);
  EXPECT_EQ(watches.back().Param("resourceVersion"), "104");
  EXPECT_EQ(FakeApiServer::Count(watches, false), 1u);  // no re-list
  EXPECT_GE(Stat(*p, "watch_events"), 4u);
}

TEST_F(K8sProviderTest, StatusOnlyChangesDoNotRepublish) {
  server_.SetPods({Pod("web-1", "10.2.0.1", "web")}, "100");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  Runner run(*p);
  server_.WaitForWatches(1);
  PodSpec same = Pod("web-1", "10.2.0.1", "web", "101");
  same.labels["restarts"] = "1";  // labels are not tagged by default
  server_.Push("MODIFIED", PodJson(same));
  server_.Push("ADDED", PodJson(Pod("marker", "10.2.0.9", "", "102")));
  ASSERT_NE(published_.WaitFor([](const Index& i) { return i.contains("10.2.0.9"); }), nullptr);
  // The start's index, then the one with the marker: nothing for the status-only change.
  EXPECT_EQ(published_.count(), 2u);
}

TEST_F(K8sProviderTest, BookmarksMoveTheResourceVersion) {
  server_.SetPods({}, "100");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  Runner run(*p);
  server_.WaitForWatches(1);
  server_.Push("BOOKMARK", {{"kind", "Pod"}, {"metadata", {{"resourceVersion", "250"}}}});
  ASSERT_TRUE(server_.WaitDelivered());
  // Wait until the provider has read the bookmark: the stat counts it.
  for (int i = 0; i < 1000 && Stat(*p, "watch_events") < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server_.EndWatches();
  auto watches = server_.WaitForWatches(2);
  ASSERT_EQ(FakeApiServer::Count(watches, true), 2u);
  EXPECT_EQ(watches.back().Param("resourceVersion"), "250");
}

TEST_F(K8sProviderTest, GoneEventReLists) {
  server_.SetPods({Pod("web-1", "10.2.0.1")}, "100");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  Runner run(*p);
  server_.WaitForWatches(1);
  // Meanwhile the cluster changed; the watch's resourceVersion is too old.
  server_.SetPods({Pod("web-2", "10.2.0.5")}, "500");
  server_.Push("ERROR", {{"kind", "Status"},
                         {"status", "Failure"},
                         {"message", "too old resource version: 100 (400)"},
                         {"reason", "Expired"},
                         {"code", 410}});
  auto relisted = published_.WaitFor(
      [](const Index& i) { return i.contains("10.2.0.5") && !i.contains("10.2.0.1"); });
  ASSERT_NE(relisted, nullptr);
  EXPECT_EQ(relisted->size(), 1u);
  auto watches = server_.WaitForWatches(2);
  EXPECT_EQ(FakeApiServer::Count(watches, false), 2u);
  EXPECT_EQ(watches.back().Param("resourceVersion"), "500");
  EXPECT_EQ(Stat(*p, "relists"), 1u);
}

TEST_F(K8sProviderTest, GoneStatusReLists) {
  server_.SetPods({Pod("web-1", "10.2.0.1")}, "100");
  server_.FailWatches(1, 410);
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  server_.SetPods({Pod("web-1", "10.2.0.1"), Pod("web-2", "10.2.0.2")}, "300");
  Runner run(*p);
  ASSERT_NE(published_.WaitFor([](const Index& i) { return i.size() == 2; }), nullptr);
  auto watches = server_.WaitForWatches(2);
  EXPECT_EQ(watches.back().Param("resourceVersion"), "300");
}

TEST_F(K8sProviderTest, WatchErrorsReconnectWithTheSameVersion) {
  server_.SetPods({Pod("web-1", "10.2.0.1")}, "100");
  server_.FailWatches(2, 500);
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  Runner run(*p);
  auto watches = server_.WaitForWatches(3);
  ASSERT_EQ(FakeApiServer::Count(watches, true), 3u);
  for (const auto& r : watches) {
    if (testing::IsWatch(r)) {
      EXPECT_EQ(r.Param("resourceVersion"), "100");
    }
  }
  EXPECT_EQ(FakeApiServer::Count(watches, false), 1u);  // errors other than 410: no re-list
  server_.Push("ADDED", PodJson(Pod("web-2", "10.2.0.2", "", "101")));
  ASSERT_NE(published_.WaitFor([](const Index& i) { return i.contains("10.2.0.2"); }), nullptr);
  EXPECT_GE(Stat(*p, "errors"), 2u);
}

TEST_F(K8sProviderTest, AMalformedEventReconnects) {
  server_.SetPods({}, "100");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  Runner run(*p);
  server_.WaitForWatches(1);
  server_.PushLine("{not json");
  auto watches = server_.WaitForWatches(2);
  ASSERT_EQ(FakeApiServer::Count(watches, true), 2u);
  server_.Push("ADDED", PodJson(Pod("web-2", "10.2.0.2", "", "101")));
  ASSERT_NE(published_.WaitFor([](const Index& i) { return i.contains("10.2.0.2"); }), nullptr);
}

// A watch line longer than max-watch-event-size drops the watch (counted, reconnect with the
// same version) instead of being buffered whole; the pod it carried is not indexed.
TEST_F(K8sProviderTest, AnEventLongerThanTheLimitReconnects) {
  options_.max_watch_event_size = 4096;
  server_.SetPods({}, "100");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  Runner run(*p);
  server_.WaitForWatches(1);
  PodSpec big = Pod("big", "10.3.0.1", std::string(8192, 'x'), "101");
  server_.Push("ADDED", PodJson(big));
  auto watches = server_.WaitForWatches(2);
  ASSERT_EQ(FakeApiServer::Count(watches, true), 2u);
  EXPECT_EQ(watches.back().Param("resourceVersion"), "100");
  EXPECT_GE(Stat(*p, "errors"), 1u);
  server_.Push("ADDED", PodJson(Pod("small", "10.3.0.2", "", "102")));
  auto index = published_.WaitFor([](const Index& i) { return i.contains("10.3.0.2"); });
  ASSERT_NE(index, nullptr);
  EXPECT_FALSE(index->contains("10.3.0.1"));
}

TEST_F(K8sProviderTest, NodeScopeSendsTheFieldSelector) {
  options_.watch_cluster = false;
  options_.node_name = "node-b";
  PodSpec a = Pod("on-a", "10.2.0.1");
  a.node = "node-a";
  PodSpec b = Pod("on-b", "10.2.0.2");
  b.node = "node-b";
  server_.SetPods({a, b}, "100");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  ASSERT_EQ(published_.last()->size(), 1u);
  EXPECT_TRUE(published_.last()->contains("10.2.0.2"));
  Runner run(*p);
  auto requests = server_.WaitForWatches(1);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].Param("fieldSelector"), "spec.nodeName=node-b");
  EXPECT_EQ(requests[1].Param("fieldSelector"), "spec.nodeName=node-b");
}

TEST_F(K8sProviderTest, ResyncReLists) {
  options_.resync_period = std::chrono::milliseconds(300);
  server_.SetPods({Pod("web-1", "10.2.0.1")}, "100");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  Runner run(*p);
  // A pod the watch never told about (the fake's watch stays silent): the re-list finds it.
  server_.SetPods({Pod("web-1", "10.2.0.1"), Pod("web-9", "10.2.0.9")}, "200");
  ASSERT_NE(published_.WaitFor([](const Index& i) { return i.contains("10.2.0.9"); }), nullptr);
  auto requests = server_.WaitForLists(2);
  EXPECT_GE(FakeApiServer::Count(requests, false), 2u);
  // The watch asks the server to end it at the next resync.
  ASSERT_GE(FakeApiServer::Count(requests, true), 1u);
  for (const auto& r : requests) {
    if (testing::IsWatch(r)) {
      EXPECT_EQ(r.Param("timeoutSeconds"), "1");
    }
  }
}

TEST_F(K8sProviderTest, StopEndsAnOpenWatchPromptly) {
  server_.SetPods({Pod("web-1", "10.2.0.1")}, "100");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  Runner run(*p);
  server_.WaitForWatches(1);
  EXPECT_TRUE(run.StopWithin(std::chrono::seconds(3)));
}

TEST_F(K8sProviderTest, StopEndsABackoffPromptly) {
  options_.min_backoff = std::chrono::minutes(5);
  options_.max_backoff = std::chrono::minutes(5);
  server_.SetPods({}, "100");
  server_.FailWatches(1, 500);
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  Runner run(*p);
  server_.WaitForWatches(1);
  EXPECT_TRUE(run.StopWithin(std::chrono::seconds(3)));
}

TEST_F(K8sProviderTest, StopBeforeRunReturnsAtOnce) {
  server_.SetPods({}, "100");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  p->Stop();
  p->Run();  // returns: nothing to wait for
  EXPECT_EQ(FakeApiServer::Count(server_.requests(), true), 0u);
}

TEST_F(K8sProviderTest, SharedIpsPickTheOldestPod) {
  PodSpec young = Pod("young", "10.2.0.1", "young");
  young.created = "2024-06-01T00:00:00Z";
  PodSpec old = Pod("old", "10.2.0.1", "old");
  old.created = "2024-01-01T00:00:00Z";
  server_.SetPods({young, old}, "100");
  auto p = Make();
  ASSERT_TRUE(p->Start().ok());
  EXPECT_EQ(published_.last()->at("10.2.0.1")->id, "apps/old");
  EXPECT_EQ(Stat(*p, "ip_conflicts"), 1u);
}

// The request rate limit is stats::TokenBucket, tested with explicit time points in
// tests/unit/stats/token_bucket_test.cc; no test here times real requests.

}  // namespace
}  // namespace cstatsd::cloud::k8s
