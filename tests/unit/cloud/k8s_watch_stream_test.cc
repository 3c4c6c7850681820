// The watch stream decoder without the network: LineSplitter (chunking, CRLF, the last line, the
// bound on a line) and ApplyWatchEvent (the event types, the resourceVersion, errors).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cloud/k8s/watch_stream.h"
#include "k8s_fake_api_server.h"

namespace cstatsd::cloud::k8s {
namespace {

using ::testing::ElementsAre;

struct Collected {
  std::vector<std::string> lines;
  bool stop_after_first = false;
  LineSplitter::OnLine Fn() {
    return [this](std::string_view line) {
      lines.emplace_back(line);
      return !stop_after_first;
    };
  }
};

TEST(LineSplitterTest, SameLinesWhateverTheChunking) {
  const std::string stream = "{\"a\":1}\n\r\n{\"b\":2}\r\n\n{\"c\":3}";
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    LineSplitter s(64);
    Collected c;
    for (size_t at = 0; at < stream.size(); at += chunk) {
      ASSERT_EQ(s.Feed(std::string_view(stream).substr(at, chunk), c.Fn()),
                LineSplitter::Fed::kMore);
    }
    ASSERT_EQ(s.Finish(c.Fn()), LineSplitter::Fed::kMore);
    EXPECT_THAT(c.lines, ElementsAre("{\"a\":1}", "{\"b\":2}", "{\"c\":3}")) << chunk;
  }
}

TEST(LineSplitterTest, ALineLongerThanTheLimitEndsTheStreamWithoutBufferingIt) {
  LineSplitter s(8);
  Collected c;
  EXPECT_EQ(s.Feed("12345678\n1234", c.Fn()), LineSplitter::Fed::kMore);  // 8 bytes: fits
  EXPECT_EQ(s.buffered(), 4u);
  EXPECT_EQ(s.Feed("5", c.Fn()), LineSplitter::Fed::kMore);
  EXPECT_EQ(s.Feed("6789", c.Fn()), LineSplitter::Fed::kTooLong);  // no '\n' yet, 9 bytes
  EXPECT_EQ(s.buffered(), 0u);
  EXPECT_THAT(c.lines, ElementsAre("12345678"));

  LineSplitter whole(8);  // the long line arrives in one chunk, with its newline
  EXPECT_EQ(whole.Feed(std::string(1 << 20, 'x') + "\n", c.Fn()), LineSplitter::Fed::kTooLong);
  EXPECT_EQ(whole.buffered(), 0u);
}

TEST(LineSplitterTest, TheCallerEndsTheStream) {
  LineSplitter s(64);
  Collected c;
  c.stop_after_first = true;
  EXPECT_EQ(s.Feed("a\nb\nc\n", c.Fn()), LineSplitter::Fed::kStopped);
  EXPECT_THAT(c.lines, ElementsAre("a"));
}

TEST(ApplyWatchEventTest, EventTypes) {
  TagRules rules;
  PodSet pods;
  std::string version;
  bool changed = false;
  testing::PodSpec spec;
  spec.name = "web";
  spec.ip = "10.0.0.5";
  spec.resource_version = "7";
  auto line = [](const char* type, const nlohmann::json& object) {
    return nlohmann::json{{"type", type}, {"object", object}}.dump();
  };
  EXPECT_EQ(
      ApplyWatchEvent(line("ADDED", testing::PodJson(spec)), rules, pods, version, changed).kind,
      WatchEventKind::kApplied);
  EXPECT_TRUE(changed);
  EXPECT_EQ(version, "7");
  EXPECT_TRUE(pods.contains("default/web"));
  changed = false;
  EXPECT_EQ(ApplyWatchEvent(line("BOOKMARK", {{"metadata", {{"resourceVersion", "9"}}}}), rules,
                            pods, version, changed)
                .kind,
            WatchEventKind::kBookmark);
  EXPECT_EQ(version, "9");
  EXPECT_FALSE(changed);
  EXPECT_EQ(
      ApplyWatchEvent(line("DELETED", testing::PodJson(spec)), rules, pods, version, changed).kind,
      WatchEventKind::kApplied);
  EXPECT_TRUE(changed);
  EXPECT_TRUE(pods.empty());
  EXPECT_EQ(ApplyWatchEvent(line("ADDED", {{"metadata", {}}}), rules, pods, version, changed).kind,
            WatchEventKind::kBadPod);
  EXPECT_EQ(ApplyWatchEvent("{not json", rules, pods, version, changed).kind,
            WatchEventKind::kNotAnEvent);
  EXPECT_EQ(ApplyWatchEvent(R"({"type":"ADDED"})", rules, pods, version, changed).kind,
            WatchEventKind::kNotAnEvent);
  EXPECT_EQ(ApplyWatchEvent(line("ERROR", {{"code", 410}}), rules, pods, version, changed).kind,
            WatchEventKind::kGone);
  const WatchEvent error = ApplyWatchEvent(line("ERROR", {{"code", 500}, {"message", "etcd"}}),
                                           rules, pods, version, changed);
  EXPECT_EQ(error.kind, WatchEventKind::kError);
  EXPECT_EQ(error.message, "etcd");
}

}  // namespace
}  // namespace cstatsd::cloud::k8s
