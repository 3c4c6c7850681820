// HttpServer on a loopback socket (port 0): deep checks registered at runtime, ingestion through
// the HTTP layer (the body read as sent, never inflated by httplib), and the Run/Stop lifecycle.
#include "http/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "gostatsd.pb.h"
#include "wire/compression.h"

namespace cstatsd::http {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions o) {
    o.name = "t";
    o.host = "127.0.0.1";
    o.port = 0;
    HttpServerDeps deps;
    deps.health = health_;
    deps.ingest = ingest_;
    deps.vars = [] { return nlohmann::json{{"answer", 42}}; };
    server_ = std::make_unique<HttpServer>(std::move(o), std::move(deps));
    ASSERT_TRUE(server_->Bind().ok());
    thread_ = std::thread([this] { server_->Run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  std::shared_ptr<HealthChecks> health_ = std::make_shared<HealthChecks>();
  std::shared_ptr<IngestTarget> ingest_ =
      std::make_shared<IngestTarget>(pipeline::PipelineOptions{});
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpServerTest, DeepCheckRunsTheRegisteredChecks) {
  Start(HttpServerOptions{});
  auto res = client_->Get("/deepcheck");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"ok":[],"failed":[]})");
  std::atomic<bool> sent{false};
  health_->AddDeepCheck("sentRecently", [&] {
    if (sent) return DeepCheckResult{true, "lastSend=2026-01-02T03:04:05Z"};
    return DeepCheckResult{false, "never sent"};
  });
  res = client_->Get("/deepcheck");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(res->body, R"({"ok":[],"failed":["sentRecently: never sent"]})");
  sent = true;
  res = client_->Get("/deepcheck");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"ok":["sentRecently: lastSend=2026-01-02T03:04:05Z"],"failed":[]})");
  // Liveness does not run the checks.
  sent = false;
  res = client_->Get("/healthcheck");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(HttpServerTest, IngestionReadsTheBodyAsSent) {
  HttpServerOptions o;
  o.enable_ingestion = true;
  o.enable_expvar = true;
  o.max_request_body_size = 1 << 20;
  Start(o);
  pb::RawMessageV2 msg;
  pb::RawCounterV2& c = (*(*msg.mutable_counters())["c"].mutable_tagmap())["k"];
  c.set_value(9);
  auto z = wire::Compress(wire::Compression::kZlib, msg.SerializeAsString(), 6);
  ASSERT_TRUE(z.ok());
  auto res = client_->Post("/v2/raw", {{"Content-Encoding", "deflate"}}, *z,
                           "multipart/form-data; boundary=x");  // Content-Type is ignored
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(res->body, "");
  // A corrupt deflate body is a decompression failure (400), not httplib's own inflate error.
  res = client_->Post("/v2/raw", {{"Content-Encoding", "deflate"}}, "not deflate",
                      "application/x-protobuf");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  // Beyond the limit as sent: 413 without reading it.
  res = client_->Post("/v2/raw", std::string((1 << 20) + 1, 'x'), "application/x-protobuf");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  // gzip is not one of gostatsd's encodings (httplib would have inflated it).
  res = client_->Post("/v2/raw", {{"Content-Encoding", "gzip"}}, *z, "application/x-protobuf");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);

  const IngestCounters& n = server_->counters();
  EXPECT_EQ(n.success.load(), 1u);
  EXPECT_EQ(n.failure_decompress.load(), 1u);
  EXPECT_EQ(n.failure_too_large.load(), 1u);
  EXPECT_EQ(n.failure_encoding.load(), 1u);
  MetricMap& m = ingest_->SwapForFlush();
  ASSERT_EQ(m.counters.size(), 1u);
  EXPECT_EQ(m.counters.entries()[0].value.value, 9);

  res = client_->Get("/expvar");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const auto j = nlohmann::json::parse(res->body);
  EXPECT_EQ(j["cstatsd"]["answer"], 42);
  EXPECT_TRUE(j["cmdline"].is_array());
}

TEST(HttpServerLifecycleTest, StopBeforeRunEndsRunAtOnce) {
  HttpServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  HttpServer server(o, HttpServerDeps{});
  ASSERT_TRUE(server.Bind().ok());
  server.Stop();
  std::thread t([&] { server.Run(); });
  EXPECT_TRUE(server.WaitStopped(std::chrono::seconds(10)));
  t.join();
}

TEST(HttpServerLifecycleTest, BindingATakenPortNamesTheKey) {
  HttpServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  HttpServer first(o, HttpServerDeps{});
  ASSERT_TRUE(first.Bind().ok());
  o.name = "second";
  o.port = first.port();
  o.address = "127.0.0.1:" + std::to_string(first.port());
  HttpServer second(o, HttpServerDeps{});
  const Status s = second.Bind();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("http.second.address: cannot listen on"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace cstatsd::http
