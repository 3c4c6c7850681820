// Strings and numbers written as Go's encoding/json writes them.
#include "backends/common/go_json.h"

#include <gtest/gtest.h>

namespace cstatsd::backends {
namespace {

TEST(GoJsonTest, StringsAreEscapedHtmlSafeAndValidUtf8) {
  std::string out;
  AppendJsonString(out, "a\"b\\c\n<x>&\x01\xff\xe2\x80\xa8z\xc3\xa9");
  EXPECT_EQ(out, R"("a\"b\\c\n\u003cx\u003e\u0026\u0001\ufffd\u2028zé")");
}

TEST(GoJsonTest, FloatsInShortestFormWithGosExponentRule) {
  auto f = [](double v) {
    std::string out;
    AppendJsonFloat(out, v);
    return out;
  };
  EXPECT_EQ(f(0), "0");
  EXPECT_EQ(f(-0.5), "-0.5");
  EXPECT_EQ(f(1e20), "100000000000000000000");
  EXPECT_EQ(f(1e21), "1e+21");
  EXPECT_EQ(f(0.000001), "0.000001");
  EXPECT_EQ(f(0.0000001), "1e-7");
  EXPECT_EQ(f(1.5e-300), "1.5e-300");
}

}  // namespace
}  // namespace cstatsd::backends
