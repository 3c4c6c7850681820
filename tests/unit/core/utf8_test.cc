// UTF-8 validation for protobuf and JSON strings (core/utf8.h).
#include "core/utf8.h"

#include <gtest/gtest.h>

namespace cstatsd {
namespace {

TEST(ToValidUtf8Test, ValidTextIsKeptAndInvalidRunsAreReplaced) {
  EXPECT_EQ(ToValidUtf8(""), "");
  EXPECT_EQ(ToValidUtf8("plain ascii:1"), "plain ascii:1");
  EXPECT_EQ(ToValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd");
  const std::string r = "\xef\xbf\xbd";        // U+FFFD
  EXPECT_EQ(ToValidUtf8("k:\xc3"), "k:" + r);  // truncated at the end
  EXPECT_EQ(ToValidUtf8("\xfe\xff"), r);       // one run, one replacement
  EXPECT_EQ(ToValidUtf8("a\xff"
                        "b\xfe"),
            "a" + r + "b" + r);                                    // two runs
  EXPECT_EQ(ToValidUtf8("\xe2\x82x"), r + "x");                    // truncated in the middle
  EXPECT_EQ(ToValidUtf8("\xc0\xaf"), r);                           // overlong '/'
  EXPECT_EQ(ToValidUtf8("\xe0\x80\xaf"), r);                       // overlong, 3 bytes
  EXPECT_EQ(ToValidUtf8("\xed\xa0\x80"), r);                       // a surrogate, U+D800
  EXPECT_EQ(ToValidUtf8("\xf4\x90\x80\x80"), r);                   // above U+10FFFF
  EXPECT_EQ(ToValidUtf8("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");  // U+10FFFF itself
  EXPECT_EQ(ToValidUtf8(std::string_view("a\0b", 3)), std::string("a\0b", 3));
}

TEST(Utf8SequenceLengthTest, LengthsAndInvalidForms) {
  EXPECT_EQ(Utf8SequenceLength("a"), 1u);
  EXPECT_EQ(Utf8SequenceLength("\xc3\xa9"), 2u);
  EXPECT_EQ(Utf8SequenceLength("\xe2\x82\xac"), 3u);
  EXPECT_EQ(Utf8SequenceLength("\xf0\x9f\x98\x80"), 4u);
  EXPECT_EQ(Utf8SequenceLength("\xc0\x80"), 0u);          // overlong
  EXPECT_EQ(Utf8SequenceLength("\xed\xa0\x80"), 0u);      // surrogate
  EXPECT_EQ(Utf8SequenceLength("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(Utf8SequenceLength("\xe2\x82"), 0u);          // truncated
}

}  // namespace
}  // namespace cstatsd
