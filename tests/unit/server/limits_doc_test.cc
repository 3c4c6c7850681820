// docs/limits.md states the default of every limit; this test holds each row whose first column
// is one configuration key to the default the code really uses, so the page cannot drift:
// top-level keys against --help's default, [http.<name>] and [k8s] keys by loading the
// documented value and comparing the options with the ones loaded without it.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cloud/k8s/k8s_options.h"
#include "config/config.h"
#include "config/flags.h"
#include "http/http_options.h"

namespace cstatsd {
namespace {

std::filesystem::path SourceDir() {
  if (const char* root = std::getenv("CSTATSD_SOURCE_DIR")) return root;
  // tests/unit/server/limits_doc_test.cc -> <root>
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
}

enum class Section { kTopLevel, kHttp, kK8s };

struct Row {
  Section section;
  std::string key;
  std::string default_text;  // the second column without backticks
  int line;
};

std::string Trim(std::string s) {
  const char* ws = " \t";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

// Every table row whose first cell is exactly one backticked key.
std::vector<Row> ReadRows(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<Row> rows;
  Section section = Section::kTopLevel;
  const std::regex key_cell(R"(^`([a-z0-9-]+)`$)");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.rfind("## ", 0) == 0) {
      section = line.find("[http.") != std::string::npos || line.find("/v2/") != std::string::npos
                    ? Section::kHttp
                : line.find("[k8s]") != std::string::npos ? Section::kK8s
                                                          : Section::kTopLevel;
      continue;
    }
    if (line.rfind("| ", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    std::string cell;
    while (std::getline(ss, cell, '|')) cells.push_back(Trim(cell));
    std::smatch m;
    if (cells.size() < 2 || !std::regex_match(cells[0], m, key_cell)) continue;
    std::string def = cells[1];
    std::erase(def, '`');
    rows.push_back({section, m[1].str(), def, n});
  }
  return rows;
}

// Loads a config file with `file_text` and the environment `env`.
config::Config LoadConfig(const std::string& file_text, const config::Environment& env) {
  // One directory per process: ctest runs this file's tests side by side, and a file another
  // test is writing may be read empty (its options then have no server: out of bounds below).
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("cstatsd-limits-doc-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::path file = dir / "c.toml";
  std::ofstream(file) << file_text;
  std::string path = file.string();
  const char* argv[] = {"cstatsd", "--config-path", path.c_str(), nullptr};
  auto loaded = config::Load(3, argv, env);
  EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error());
  return loaded.ok() ? loaded->config : config::Config{};
}

std::string EnvName(const std::string& dotted) {
  std::string name = "GSD_" + dotted;
  for (char& c : name) c = c == '.' || c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return name;
}

TEST(LimitsDoc, EveryDocumentedDefaultIsTheRealOne) {
  const auto rows = ReadRows(SourceDir() / "docs" / "limits.md");
  const config::Options defaults;
  int checked = 0;
  for (const Row& row : rows) {
    SCOPED_TRACE("docs/limits.md:" + std::to_string(row.line) + " `" + row.key + "`");
    switch (row.section) {
      case Section::kTopLevel: {
        const auto* def = config::internal::FindOption(row.key);
        ASSERT_NE(def, nullptr) << "not a top-level option";
        EXPECT_EQ(config::internal::FormatDefault(*def, defaults), row.default_text);
        break;
      }
      case Section::kHttp: {
        const std::string file = "http-servers = [\"t\"]\n[http.t]\n";
        std::vector<std::string> warnings;
        auto plain = http::LoadHttpServerOptions(LoadConfig(file, {}), warnings);
        auto set = http::LoadHttpServerOptions(
            LoadConfig(file, {{EnvName("http.t." + row.key), row.default_text}}), warnings);
        ASSERT_TRUE(plain.ok() && set.ok()) << (set.ok() ? "" : set.error());
        ASSERT_EQ(plain->size(), 1u);
        ASSERT_EQ(set->size(), 1u);
        EXPECT_TRUE((*plain)[0] == (*set)[0]) << "the documented default is not the default";
        break;
      }
      case Section::kK8s: {
        std::vector<std::string> warnings;
        auto plain = cloud::k8s::ReadK8sOptions(LoadConfig("[k8s]\n", {}), &warnings);
        auto set = cloud::k8s::ReadK8sOptions(
            LoadConfig("[k8s]\n", {{EnvName("k8s." + row.key), row.default_text}}), &warnings);
        ASSERT_TRUE(plain.ok() && set.ok()) << (set.ok() ? "" : set.error());
        EXPECT_TRUE(*plain == *set) << "the documented default is not the default";
        break;
      }
    }
    ++checked;
  }
  // The page has a row per limit; a parser that found none would check nothing.
  EXPECT_GE(checked, 20);
}

// The comparison above can fail: a value other than the default is seen.
TEST(LimitsDoc, AWrongDefaultIsNoticed) {
  const std::string file = "http-servers = [\"t\"]\n[http.t]\n";
  std::vector<std::string> warnings;
  auto plain = http::LoadHttpServerOptions(LoadConfig(file, {}), warnings);
  auto set = http::LoadHttpServerOptions(
      LoadConfig(file, {{EnvName("http.t.max-connections"), "1023"}}), warnings);
  ASSERT_TRUE(plain.ok() && set.ok());
  ASSERT_EQ(plain->size(), 1u);
  ASSERT_EQ(set->size(), 1u);
  EXPECT_FALSE((*plain)[0] == (*set)[0]);
}

}  // namespace
}  // namespace cstatsd
