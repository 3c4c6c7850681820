// capture, capture-max-size, capture-files (docs/capture.md#options): defaults, the three
// sources, and values refused with a message naming the key — a size or count of 0 or below, and
// a file whose directory does not exist.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "config_test_util.h"

namespace cstatsd::config {
namespace {

using ::testing::HasSubstr;
using testing::LoadWith;

TEST(CaptureOptions, OffByDefaultWithBoundedFiles) {
  auto r = LoadWith({});
  ASSERT_TRUE(r.ok()) << r.error();
  const Options& o = r->config.options;
  EXPECT_EQ(o.capture, "");
  EXPECT_EQ(o.capture_max_size, 64U << 20);
  EXPECT_EQ(o.capture_files, 4);
}

TEST(CaptureOptions, FlagAndEnvironment) {
  auto r = LoadWith({"--capture", "/tmp/c.pcapng", "--capture-max-size", "1000"},
                    {{"GSD_CAPTURE_FILES", "2"}});
  ASSERT_TRUE(r.ok()) << r.error();
  const Options& o = r->config.options;
  EXPECT_EQ(o.capture, "/tmp/c.pcapng");
  EXPECT_EQ(o.capture_max_size, 1000U);
  EXPECT_EQ(o.capture_files, 2);
}

TEST(CaptureOptions, BadValuesNameTheirKey) {
  for (const char* v : {"0", "-1"}) {
    auto r = LoadWith({"--capture-max-size", v});
    ASSERT_FALSE(r.ok()) << v;
    EXPECT_THAT(r.error(), HasSubstr("capture-max-size")) << v;
  }
  auto files = LoadWith({"--capture-files", "0"});
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.error(), HasSubstr("capture-files"));
  auto path = LoadWith({"--capture", "/nonexistent-cstatsd-dir/c.pcapng"});
  ASSERT_FALSE(path.ok());
  EXPECT_THAT(path.error(), HasSubstr("capture"));
  EXPECT_THAT(path.error(), HasSubstr("/nonexistent-cstatsd-dir"));
}

}  // namespace
}  // namespace cstatsd::config
