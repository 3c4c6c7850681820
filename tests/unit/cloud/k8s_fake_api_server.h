// A fake Kubernetes API server for the k8s provider's tests: the shared fake HTTP server
// (tests/unit/support/fake_http_server.h, which records every request) with a handler serving
// GET /api/v1/pods as a paged list (limit/continue, fieldSelector=spec.nodeName=X) or, with
// watch=1, a stream of JSON event lines that the test pushes; it can be scripted to fail lists
// and watches.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "unit/support/fake_http_server.h"

namespace cstatsd::cloud::k8s::testing {

using nlohmann::json;

// A pod object as the API server sends it.
struct PodSpec {
  std::string name_space = "default";
  std::string name;
  std::string ip;
  std::string host_ip = "10.0.0.1";
  std::string phase = "Running";
  std::string node = "node-a";
  std::string created = "2024-01-01T00:00:00Z";
  std::string resource_version = "1";
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  bool host_network = false;
  bool deleting = false;
  // status.containerStatuses[].containerID, as the kubelet writes them ("containerd://<id>").
  std::vector<std::string> container_ids;
};

inline json PodJson(const PodSpec& p) {
  json pod = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata",
       {{"name", p.name},
        {"namespace", p.name_space},
        {"uid", p.name_space + "-" + p.name},
        {"resourceVersion", p.resource_version},
        {"creationTimestamp", p.created}}},
      {"spec", {{"nodeName", p.node}, {"containers", json::array()}}},
      {"status", {{"phase", p.phase}, {"hostIP", p.host_ip}}},
  };
  if (!p.ip.empty()) pod["status"]["podIP"] = p.ip;
  if (!p.labels.empty()) pod["metadata"]["labels"] = p.labels;
  if (!p.annotations.empty()) pod["metadata"]["annotations"] = p.annotations;
  if (p.host_network) pod["spec"]["hostNetwork"] = true;
  if (p.deleting) pod["metadata"]["deletionTimestamp"] = "2024-01-02T00:00:00Z";
  for (size_t i = 0; i < p.container_ids.size(); ++i) {
    pod["status"]["containerStatuses"].push_back(
        {{"name", "c" + std::to_string(i)}, {"containerID", p.container_ids[i]}, {"ready", true}});
  }
  return pod;
}

// A request as the server recorded it (watch: has the watch parameter).
using ApiRequest = cstatsd::testing::RecordedRequest;
inline bool IsWatch(const ApiRequest& r) { return r.HasParam("watch"); }

class FakeApiServer {
 public:
  FakeApiServer()
      : server_([this](const httplib::Request& req, httplib::Response& res) {
          if (req.path != "/api/v1/pods") {
            res.status = 404;
          } else if (req.has_param("watch")) {
            Watch(req, res);
          } else {
            List(req, res);
          }
        }) {}
  ~FakeApiServer() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
      cv_.notify_all();
    }
    // server_ (declared last) is stopped first: its streams see closing_ and end.
  }

  std::string url() const { return server_.url(); }

  // What lists return from now on.
  void SetPods(std::vector<PodSpec> pods, std::string resource_version) {
    std::lock_guard lock(mu_);
    pods_ = std::move(pods);
    list_version_ = std::move(resource_version);
  }
  // The next `count` lists (after `after` good ones) or watches answer `status` with `body`.
  void FailLists(int count, int status, std::string body, int after = 0) {
    std::lock_guard lock(mu_);
    list_failures_ = count;
    list_good_before_failures_ = after;
    failure_status_ = status;
    failure_body_ = std::move(body);
  }
  void FailWatches(int count, int status) {
    std::lock_guard lock(mu_);
    watch_failures_ = count;
    watch_failure_status_ = status;
  }
  // An event for the open watch (or the next one).
  void Push(const std::string& type, const json& object) {
    PushLine(json{{"type", type}, {"object", object}}.dump());
  }
  void PushLine(std::string line) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(line) + "\n");
    cv_.notify_all();
  }
  // Ends the open watch streams (as the API server does at timeoutSeconds).
  void EndWatches() {
    std::lock_guard lock(mu_);
    ++end_epoch_;
    cv_.notify_all();
  }

  std::vector<ApiRequest> requests() { return server_.requests(); }
  // Waits (bounded) until pred(requests so far); returns the requests.
  std::vector<ApiRequest> WaitFor(const std::function<bool(const std::vector<ApiRequest>&)>& pred,
                                  std::chrono::seconds timeout = std::chrono::seconds(10)) {
    return server_.WaitUntil(pred, timeout);
  }
  std::vector<ApiRequest> WaitForWatches(size_t n) {
    return WaitFor([n](const std::vector<ApiRequest>& rs) { return Count(rs, true) >= n; });
  }
  std::vector<ApiRequest> WaitForLists(size_t n) {
    return WaitFor([n](const std::vector<ApiRequest>& rs) { return Count(rs, false) >= n; });
  }
  // Waits (bounded) until every pushed event was written to a stream.
  bool WaitDelivered(std::chrono::seconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return events_.empty(); });
  }
  static size_t Count(const std::vector<ApiRequest>& rs, bool watch) {
    size_t n = 0;
    for (const auto& r : rs) n += IsWatch(r) == watch ? 1 : 0;
    return n;
  }

 private:
  void List(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    if (list_failures_ > 0 && list_good_before_failures_-- <= 0) {
      --list_failures_;
      res.status = failure_status_;
      res.set_content(failure_body_, "application/json");
      return;
    }
    std::vector<json> items;
    const std::string selector = req.get_param_value("fieldSelector");
    for (const PodSpec& p : pods_) {
      if (!selector.empty() && selector != "spec.nodeName=" + p.node) continue;
      items.push_back(PodJson(p));
    }
    size_t offset = 0;
    if (req.has_param("continue")) offset = std::stoul(req.get_param_value("continue"));
    size_t limit = items.size();
    if (req.has_param("limit")) limit = std::stoul(req.get_param_value("limit"));
    json page = json::array();
    for (size_t i = offset; i < items.size() && i < offset + limit; ++i) page.push_back(items[i]);
    json list = {{"apiVersion", "v1"},
                 {"kind", "PodList"},
                 {"metadata", {{"resourceVersion", list_version_}}},
                 {"items", page}};
    if (offset + limit < items.size()) {
      list["metadata"]["continue"] = std::to_string(offset + limit);
    }
    res.set_content(list.dump(), "application/json");
  }

  void Watch(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    if (watch_failures_ > 0) {
      --watch_failures_;
      res.status = watch_failure_status_;
      res.set_content(R"({"kind":"Status","code":)" + std::to_string(watch_failure_status_) + "}",
                      "application/json");
      return;
    }
    const int stream = ++streams_;  // the newest stream takes the events; older ones end
    const int epoch = end_epoch_;
    const auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::seconds(req.has_param("timeoutSeconds")
                                 ? std::stol(req.get_param_value("timeoutSeconds"))
                                 : 3600);
    res.set_chunked_content_provider(
        "application/json", [this, stream, epoch, deadline](size_t, httplib::DataSink& sink) {
          std::unique_lock stream_lock(mu_);
          cv_.wait_for(stream_lock, std::chrono::milliseconds(50), [&] {
            return closing_ || end_epoch_ != epoch || streams_ != stream || !events_.empty();
          });
          if (closing_ || end_epoch_ != epoch || streams_ != stream ||
              std::chrono::steady_clock::now() >= deadline) {
            sink.done();
            return true;
          }
          if (!sink.is_writable()) return false;
          while (!events_.empty()) {
            std::string line = events_.front();
            if (!sink.write(line.data(), line.size())) return false;
            events_.pop_front();
          }
          cv_.notify_all();
          return true;
        });
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PodSpec> pods_;
  std::string list_version_ = "1";
  int list_failures_ = 0;
  int list_good_before_failures_ = 0;
  int failure_status_ = 500;
  std::string failure_body_;
  int watch_failures_ = 0;
  int watch_failure_status_ = 500;
  std::deque<std::string> events_;
  int streams_ = 0;
  int end_epoch_ = 0;
  bool closing_ = false;
  cstatsd::testing::FakeHttpServer server_;  // last: stopped before the state above goes
};

}  // namespace cstatsd::cloud::k8s::testing
