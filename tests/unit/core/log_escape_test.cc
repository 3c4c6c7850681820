// Client bytes in log messages are escaped: a `\n` or `\r` inside a datagram must not start a
// forged log record in text mode (issue 14 item 9).

#include "core/log_escape.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace cstatsd {
namespace {

TEST(LogEscape, ControlBytesAndQuotes) {
  EXPECT_EQ(LogEscape("plain.name:1|c"), "plain.name:1|c");
  EXPECT_EQ(LogEscape("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(LogEscape("x\n2026-12-07T00:00:00.000Z error forged"),
            "x\\n2026-12-07T00:00:00.000Z error forged");
  EXPECT_EQ(LogEscape(std::string_view("\0\x01\x1b[31m\x7f", 8)), "\\x00\\x01\\x1b[31m\\x7f");
  EXPECT_EQ(LogEscape("say \"hi\" \\ there"), "say \\\"hi\\\" \\\\ there");
}

TEST(LogEscape, Utf8KeptInvalidBytesEscaped) {
  EXPECT_EQ(LogEscape("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(LogEscape("a\xff\xc3"), "a\\xff\\xc3");
  EXPECT_EQ(LogEscape("\xc0\xaf"), "\\xc0\\xaf");           // overlong
  EXPECT_EQ(LogEscape("\xc2\x85"), "\\u0085");              // C1 NEL
  EXPECT_EQ(LogEscape("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
}

TEST(LogEscape, FormatsAsAnArgument) {
  EXPECT_EQ(fmt::format("line=\"{}\"", LogEscaped{"a\nb"}), "line=\"a\\nb\"");
  EXPECT_EQ(fmt::format("{:>6}", LogEscaped{"\n"}), "    \\n");
}

}  // namespace
}  // namespace cstatsd
