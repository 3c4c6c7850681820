// Issue 14 item 5: values out of range and config files that could exhaust the stack, memory or
// startup time are refused with a message naming the key (or the file and line), never an abort.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/convert.h"
#include "config/file_loader.h"
#include "config/flags.h"
#include "config_test_util.h"

namespace cstatsd::config {
namespace {

using ::testing::HasSubstr;
using testing::LoadWith;
using ::testing::StartsWith;
using testing::TempDir;

struct Refused {
  std::vector<std::string> args;
  std::string key;      // the error starts with "<key>: "
  std::string message;  // and contains this
};

TEST(Limits, ValuesFromTheIssueAreRefusedNamingTheKey) {
  const std::vector<Refused> cases = {
      {{"--metrics-addr", "127.0.0.1:99999"}, "metrics-addr", "port 99999 of address"},
      {{"--metrics-addr", "127.0.0.1:99999"}, "metrics-addr", "must be 0..65535"},
      {{"--metrics-addr", ":65536"}, "metrics-addr", "out of range"},
      {{"--metrics-addr", ":-1"}, "metrics-addr", "is not a number"},
      {{"--metrics-addr", ":8125x"}, "metrics-addr", "is not a number"},
      {{"--metrics-addr", "localhost"}, "metrics-addr", "missing port"},
      {{"--metrics-addr", "::1:8125"}, "metrics-addr", "must be in brackets"},
      {{"--metrics-addr", "[::1]8125"}, "metrics-addr", "invalid address"},
      {{"--metrics-tcp-addr", "127.0.0.1:99999"}, "metrics-tcp-addr", "port 99999"},
      {{"--metrics-tcp-addr", "127.0.0.1:"}, "metrics-tcp-addr", "missing port"},
      {{"--lambda-extension-telemetry-address", "sandbox:123456"},
       "lambda-extension-telemetry-address",
       "out of range"},
      {{"--receive-buffer-size", "2000000000"},
       "receive-buffer-size",
       "2000000000 is out of range; must be 1..1048576"},
      {{"--receive-buffer-size", "10000000"}, "receive-buffer-size", "out of range"},
      {{"--receive-batch-size", "100000000"},
       "receive-batch-size",
       "100000000 is out of range; must be 1..1024"},
      {{"--max-workers", "100000"}, "max-workers", "must be 1..1024"},
      {{"--max-cloud-requests", "0"}, "max-cloud-requests", "out of range"},
      {{"--flush-interval", "9999h"}, "flush-interval", "is out of range; must be at most 24h0m0s"},
      {{"--flush-offset", "-25h"}, "flush-offset", "must be -24h0m0s..24h0m0s"},
      {{"--backend-shutdown-timeout", "2h"}, "backend-shutdown-timeout", "out of range"},
  };
  for (const Refused& c : cases) {
    std::vector<const char*> argv = {"cstatsd"};
    for (const std::string& s : c.args) argv.push_back(s.c_str());
    argv.push_back(nullptr);
    auto r = Load(static_cast<int>(argv.size() - 1), argv.data(), {});
    ASSERT_FALSE(r.ok()) << c.args[0] << " " << c.args[1];
    EXPECT_THAT(r.error(), StartsWith(c.key + ": ")) << r.error();
    EXPECT_THAT(r.error(), HasSubstr(c.message)) << r.error();
  }
}

TEST(Limits, AddressesThatAreFine) {
  for (const char* addr : {":8125", "127.0.0.1:0", "[::1]:65535", "localhost:1", "/tmp/x.sock"}) {
    auto r = LoadWith({"--metrics-addr", addr});
    EXPECT_TRUE(r.ok()) << addr << ": " << r.error();
  }
  EXPECT_TRUE(CheckAddress("carbon:2003", AddressKind::kDial).ok());
  EXPECT_FALSE(CheckAddress("carbon:0", AddressKind::kDial).ok());
  EXPECT_FALSE(CheckAddress(":2003", AddressKind::kDial).ok());
  EXPECT_FALSE(CheckAddress("/tmp/x.sock", AddressKind::kListen).ok());
}

TEST(Limits, FileAndEnvironmentValuesNameTheKeyAndTheirOrigin) {
  TempDir dir;
  std::string path = dir.Write("big.toml", "receive-buffer-size = 2000000000\n");
  auto r = LoadWith({"--config-path", path});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), StartsWith("receive-buffer-size: 2000000000 is out of range"));
  EXPECT_THAT(r.error(), HasSubstr(path));
  auto env = LoadWith({}, {{"GSD_METRICS_ADDR", "127.0.0.1:99999"}});
  ASSERT_FALSE(env.ok());
  EXPECT_THAT(env.error(), StartsWith("metrics-addr: port 99999"));
  EXPECT_THAT(env.error(), HasSubstr("GSD_METRICS_ADDR"));
}

// The class of the problem: every numeric option has a range, its default lies in it, and the
// value just past either end is refused with a message naming the option.
TEST(Limits, EveryNumericOptionHasARangeThatHoldsItsDefault) {
  const Options defaults;
  for (const internal::OptionDef& def : internal::OptionDefs()) {
    const bool is_int = std::holds_alternative<int Options::*>(def.member);
    const bool is_u32 = std::holds_alternative<uint32_t Options::*>(def.member);
    const bool is_double = std::holds_alternative<double Options::*>(def.member);
    if (!is_int && !is_u32 && !is_double) continue;
    SCOPED_TRACE(std::string(def.key));
    EXPECT_TRUE(std::isfinite(def.range.min) && std::isfinite(def.range.max))
        << def.key << ": a numeric option needs a range (OptionDef::range in config/flags.cc)";
    double value = is_int   ? defaults.*std::get<int Options::*>(def.member)
                   : is_u32 ? defaults.*std::get<uint32_t Options::*>(def.member)
                            : defaults.*std::get<double Options::*>(def.member);
    if (def.default_text.empty()) {
      EXPECT_GE(value, def.range.min);
      EXPECT_LE(value, def.range.max);
    }
    for (double bad : {def.range.min - 1, def.range.max + 1}) {
      if (!std::isfinite(bad)) continue;
      const std::string text = fmt::format("{:.0f}", bad);
      Environment env;
      std::vector<std::string> args;
      if (def.sources == internal::Sources::kNoFlag) {
        env[internal::EnvVarName(def.key)] = text;
      } else {
        args.push_back(fmt::format("--{}={}", def.key, text));
      }
      std::vector<const char*> argv = {"cstatsd"};
      for (const std::string& s : args) argv.push_back(s.c_str());
      argv.push_back(nullptr);
      auto r = Load(static_cast<int>(argv.size() - 1), argv.data(), env);
      ASSERT_FALSE(r.ok()) << def.key << "=" << text;
      EXPECT_THAT(r.error(), StartsWith(std::string(def.key) + ": ")) << r.error();
      EXPECT_THAT(r.error(), HasSubstr("out of range")) << r.error();
    }
  }
}

TEST(Limits, ReceiveBuffersAreBoundedTogether) {
  // 1024 x 1 MiB x 2 workers = 2 GiB of buffers: each value is in range, the product is not.
  auto r =
      LoadWith({"--receive-batch-size=1024", "--receive-buffer-size=1048576", "--max-workers=2"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), StartsWith("receive-buffer-size: receive-batch-size 1024 x "
                                    "receive-buffer-size 1048576 x max-workers 2 = 2147483648"));
  EXPECT_THAT(r.error(), HasSubstr("receive-memory-limit 1073741824"));
  auto raised = LoadWith({"--receive-batch-size=1024", "--receive-buffer-size=1048576",
                          "--max-workers=2", "--receive-memory-limit=2147483648"});
  EXPECT_TRUE(raised.ok()) << raised.error();
  auto defaults = LoadWith({"--max-workers=64"});  // 50 x 65535 x 64 = 210 MB
  EXPECT_TRUE(defaults.ok()) << defaults.error();
}

std::string ManyTags(size_t n) {
  std::string out;
  out.reserve(n * 12);
  for (size_t i = 0; i < n; ++i) out += fmt::format("{}t{}:v", i == 0 ? "" : " ", i);
  return out;
}

TEST(Limits, DefaultTagsAreCounted) {
  auto r = LoadWith({"--default-tags", ManyTags(160000)});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(),
              StartsWith("default-tags: 160000 tags is more than max-default-tags 1000"));
  auto internal_tags = LoadWith({"--internal-tags", ManyTags(1001)});
  ASSERT_FALSE(internal_tags.ok());
  EXPECT_THAT(internal_tags.error(), StartsWith("internal-tags: 1001 tags"));
  auto raised = LoadWith({"--default-tags", ManyTags(160000), "--max-default-tags=200000"});
  ASSERT_TRUE(raised.ok()) << raised.error();
  EXPECT_EQ(raised->config.options.default_tags.size(), 160000u);
  EXPECT_TRUE(LoadWith({"--default-tags", ManyTags(1000)}).ok());
}

// ---- config files ----

std::string Repeat(std::string_view s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

Result<LoadOutcome> LoadFile(const TempDir& dir, const std::string& name,
                             const std::string& content,
                             std::initializer_list<std::string> extra = {}) {
  std::string path = dir.Write(name, content);
  std::vector<std::string> args = {"--config-path", path};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<const char*> argv = {"cstatsd"};
  for (const std::string& s : args) argv.push_back(s.c_str());
  argv.push_back(nullptr);
  return Load(static_cast<int>(argv.size() - 1), argv.data(), {});
}

TEST(ConfigFileLimits, DeepJsonIsRefusedBeforeTheParserRecurses) {
  TempDir dir;
  // 50,000 levels crashed nlohmann::json's recursive parser (SIGSEGV).
  auto r = LoadFile(dir, "deep.json", "{\"a\": " + Repeat("[", 50000) + Repeat("]", 50000) + "}");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), StartsWith("config file " + dir.path() +
                                    "/deep.json: line 1: "
                                    "nested deeper than 64 levels (config-max-depth)"));
  auto objects = LoadFile(dir, "objects.json", Repeat("{\"a\":", 100) + "1" + Repeat("}", 100));
  ASSERT_FALSE(objects.ok());
  EXPECT_THAT(objects.error(), HasSubstr("nested deeper than 64 levels"));
  // Brackets inside strings do not count; 64 levels are fine.
  auto fine =
      LoadFile(dir, "fine.json",
               "{\"s\": \"[[[[{{{{\\\"[[\", \"a\": " + Repeat("[", 63) + Repeat("]", 63) + "}");
  EXPECT_TRUE(fine.ok()) << fine.error();
  auto raised = LoadFile(dir, "deep2.json", "{\"a\": " + Repeat("[", 100) + Repeat("]", 100) + "}",
                         {"--config-max-depth=200"});
  EXPECT_TRUE(raised.ok()) << raised.error();
}

TEST(ConfigFileLimits, DeepYamlAndTomlAreRefused) {
  TempDir dir;
  for (size_t depth : {100, 50000}) {
    auto flow = LoadFile(dir, "deep.yaml", "a: " + Repeat("[", depth) + Repeat("]", depth) + "\n");
    ASSERT_FALSE(flow.ok());
    EXPECT_THAT(flow.error(), StartsWith("config file " + dir.path() +
                                         "/deep.yaml: line 1: "
                                         "nested deeper than 64 levels"));
  }
  std::string block;
  for (int i = 0; i < 100; ++i) block += std::string(i * 2, ' ') + "k:\n";
  auto yaml_block = LoadFile(dir, "block.yaml", block);
  ASSERT_FALSE(yaml_block.ok());
  EXPECT_THAT(yaml_block.error(), HasSubstr("nested deeper than 64 levels"));

  // TOML: dotted keys, table headers and inline tables all nest.
  // 50,000 segments were a SIGSEGV inside toml++.
  auto dotted = LoadFile(dir, "dotted.toml", Repeat("a.", 50000) + "b = 1\n");
  ASSERT_FALSE(dotted.ok());
  EXPECT_THAT(dotted.error(), StartsWith("config file " + dir.path() +
                                         "/dotted.toml: line 1: "
                                         "nested deeper than 64 levels"));
  auto in_inline = LoadFile(dir, "inline_dotted.toml",
                            "x = 1.5 # a.b.c\n[t]\na = {" + Repeat("b.", 50000) + "c = 1}\n");
  ASSERT_FALSE(in_inline.ok());
  EXPECT_THAT(in_inline.error(), HasSubstr("line 3: nested deeper than 64 levels"));
  // Dots in strings, comments and values do not count.
  auto fine =
      LoadFile(dir, "fine.toml",
               "namespace = \"" + Repeat("a.", 100) + "\" # " + Repeat(".", 100) +
                   "\npercent-threshold = [90.5, 99.9]\n\"" + Repeat("q.", 100) + "\" = 1\n");
  EXPECT_TRUE(fine.ok()) << fine.error();
  auto header = LoadFile(dir, "header.toml", "[" + Repeat("a.", 100) + "b]\nc = 1\n");
  ASSERT_FALSE(header.ok());
  EXPECT_THAT(header.error(), HasSubstr("nested deeper than 64 levels"));
  auto inline_tables =
      LoadFile(dir, "inline.toml", "a = " + Repeat("{b = ", 300) + "1" + Repeat("}", 300) + "\n");
  ASSERT_FALSE(inline_tables.ok());
  EXPECT_THAT(inline_tables.error(), HasSubstr("config file " + dir.path() + "/inline.toml: "));
}

TEST(ConfigFileLimits, YamlAliasBombIsRefused) {
  TempDir dir;
  // Each level refers to the previous one nine times: 9^9 = 387 million values from ~1 KB.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    bomb += fmt::format("a{}: &a{} [", i, i);
    for (int j = 0; j < 9; ++j) bomb += fmt::format("{}*a{}", j == 0 ? "" : ", ", i - 1);
    bomb += "]\n";
  }
  ASSERT_LT(bomb.size(), 1200u);
  auto r = LoadFile(dir, "bomb.yaml", bomb);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), HasSubstr("more than 1000000 values (config-max-nodes"));
  // An alias used a few times is fine.
  auto fine = LoadFile(dir, "alias.yaml", "default-tags: &t [a:1, b:2]\ninternal-tags: *t\n");
  ASSERT_TRUE(fine.ok()) << fine.error();
  EXPECT_EQ(fine->config.options.internal_tags.size(), 2u);
}

TEST(ConfigFileLimits, SizeIsLimited) {
  TempDir dir;
  std::string big = "# " + std::string((16 << 20), 'x') + "\n";
  auto r = LoadFile(dir, "big.toml", big);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), HasSubstr("is larger than 16777216 bytes"));
  EXPECT_THAT(r.error(), HasSubstr("config-max-bytes"));
  auto small = LoadFile(dir, "small.toml", "# " + std::string(2000, 'x') + "\n",
                        {"--config-max-bytes=1024"});
  ASSERT_FALSE(small.ok());
  EXPECT_THAT(small.error(), HasSubstr("is larger than 1024 bytes"));
}

TEST(ConfigFileLimits, OnlyRegularFiles) {
  TempDir dir;
  // /dev/zero aborted (std::bad_alloc after reading gigabytes); a FIFO hung waiting for a writer.
  // The extension decides the format: reach /dev/zero through a symlink with one.
  const std::string link = dir.path() + "/zero.yaml";
  ASSERT_EQ(symlink("/dev/zero", link.c_str()), 0);
  auto dev = LoadWith({"--config-path", link});
  ASSERT_FALSE(dev.ok());
  EXPECT_THAT(dev.error(),
              StartsWith("config file " + link + ": is not a regular file (a character device)"));
  const std::string fifo = dir.path() + "/fifo.toml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto f = LoadWith({"--config-path", fifo});
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.error(), StartsWith("config file " + fifo + ": is not a regular file (a FIFO)"));
  const std::string sub = dir.path() + "/sub.json";
  ASSERT_EQ(mkdir(sub.c_str(), 0700), 0);
  auto d = LoadWith({"--config-path", sub});
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.error(), StartsWith("config file " + sub + ": is a directory"));
}

TEST(ConfigFileLimits, FileLimitsAreNotReadFromTheFile) {
  TempDir dir;
  auto r = LoadFile(dir, "x.toml", "config-max-depth = 1000\n");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->config.options.config_max_depth, 64);
}

}  // namespace
}  // namespace cstatsd::config
