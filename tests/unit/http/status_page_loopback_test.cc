// GET /status and /status.json of a whole in-process server on 127.0.0.1 (docs/status-page.md):
// lines sent over UDP show up in the JSON the page reads — the bad lines, the top series, the
// backend, the history — and the page itself is one self-contained HTML document.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "server/server.h"

namespace cstatsd::server {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Server> StartServer(const std::string& dir, bool enable_status) {
  const std::string path = dir + "/cstatsd.toml";
  std::ofstream(path) << "http-servers = [\"main\"]\n[http.main]\naddress = \"127.0.0.1:0\"\n"
                      << "enable-status = " << (enable_status ? "true" : "false") << "\n";
  const char* argv[] = {"cstatsd",        "--config-path", path.c_str(),       "--backends", "null",
                        "--metrics-addr", "127.0.0.1:0",   "--flush-interval", "100ms"};
  auto loaded = config::Load(std::size(argv), argv, config::Environment{});
  EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error());
  if (!loaded.ok()) return nullptr;
  auto server = Server::Create(std::move(loaded->config));
  EXPECT_TRUE(server.ok()) << (server.ok() ? "" : server.error());
  if (!server.ok()) return nullptr;
  EXPECT_TRUE((*server)->Start().ok());
  return std::move(*server);
}

void Send(int port, const std::string& datagram) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(
      ::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)),
      static_cast<ssize_t>(datagram.size()));
  ::close(fd);
}

class StatusPageLoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cstatsd-status-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (server_) server_->Stop();
    std::remove((dir_ + "/cstatsd.toml").c_str());
    ::rmdir(dir_.c_str());
  }
  // The server, with a client of its HTTP server.
  void Start(bool enable_status) {
    server_ = StartServer(dir_, enable_status);
    ASSERT_TRUE(server_);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->http_port("main"));
  }
  httplib::Result Get(const char* path) { return client_->Get(path); }

  std::string dir_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(StatusPageLoopbackTest, TheJsonShowsWhatWasSent) {
  ASSERT_NO_FATAL_FAILURE(Start(true));
  // 50 datagrams: a busy counter, a quieter one, and one bad line each.
  for (int i = 0; i < 50; ++i) {
    Send(server_->metrics_port(), "status.busy:10|c\nstatus.quiet:1|c\nnot a metric line");
  }
  nlohmann::json j;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    auto r = Get("/status.json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json; charset=utf-8");
    j = nlohmann::json::parse(r->body);
    if (j["totals"]["bad_lines"] == 50 && !j["top_series"].empty() &&
        j["top_series"][0]["name"] == "status.busy") {
      break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << r->body;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(j["totals"]["datagrams"], 50);
  EXPECT_EQ(j["totals"]["lines"], 150);
  EXPECT_EQ(j["top_series"][0]["type"], "counter");
  EXPECT_EQ(j["top_series"][1]["name"], "status.quiet");
  EXPECT_GT(j["top_series"][0]["rate"].get<double>(), j["top_series"][1]["rate"].get<double>());
  ASSERT_EQ(j["backends"].size(), 1u);
  EXPECT_EQ(j["backends"][0]["name"], "null");
  EXPECT_FALSE(j["history"].empty());
  EXPECT_GT(j["interval_seconds"].get<double>(), 0);
}

TEST_F(StatusPageLoopbackTest, ThePageIsOneSelfContainedDocument) {
  ASSERT_NO_FATAL_FAILURE(Start(true));
  auto r = Get("/status");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(r->body.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(r->body.find("fetch('status.json'"), std::string::npos);
  // No external asset: nothing is loaded from elsewhere, and data never goes through innerHTML.
  for (const char* bad : {"src=", "href=", "http://", "https://", "innerHTML", "@import"}) {
    EXPECT_EQ(r->body.find(bad), std::string::npos) << bad;
  }
  EXPECT_NE(r->body.find("connect-src 'self'"), std::string::npos);
}

TEST_F(StatusPageLoopbackTest, AbsentWithoutEnableStatus) {
  ASSERT_NO_FATAL_FAILURE(Start(false));
  for (const char* path : {"/status", "/status.json"}) {
    auto r = Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << path;
  }
}

}  // namespace
}  // namespace cstatsd::server
