#include "transport/url.h"

#include <gtest/gtest.h>

namespace cstatsd::transport {
namespace {

// Go's url.QueryEscape: what client-go (k8s field selectors, continue tokens) and the HTTP
// backends (query strings, form bodies) send.
TEST(QueryEscapeTest, AsGo) {
  EXPECT_EQ(QueryEscape("spec.nodeName=ip-10-0-0-1.ec2.internal"),
            "spec.nodeName%3Dip-10-0-0-1.ec2.internal");
  EXPECT_EQ(QueryEscape("a b&c/~"), "a+b%26c%2F~");
  EXPECT_EQ(QueryEscape("AZaz09-_."), "AZaz09-_.");
  EXPECT_EQ(QueryEscape("\xC3\xA9"), "%C3%A9");
}

}  // namespace
}  // namespace cstatsd::transport
