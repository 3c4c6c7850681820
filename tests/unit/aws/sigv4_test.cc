// AWS Signature Version 4 against AWS's published test-suite vectors (credentials AKIDEXAMPLE,
// us-east-1, service "service", 20150830T123600Z) and the S3 GET Object example.
#include "aws/sigv4.h"

#include <gtest/gtest.h>

namespace cstatsd::aws {
namespace {

constexpr int64_t kSuiteTime = 1440938160;  // 20150830T123600Z
const Credentials kSuite{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};

SigningRequest Suite(std::string method) {
  SigningRequest r;
  r.method = std::move(method);
  r.headers = {{"Host", "example.amazonaws.com"}};
  return r;
}

TEST(SigV4Test, GetVanilla) {
  Signature s = Sign(Suite("GET"), kSuite, "us-east-1", "service", kSuiteTime);
  EXPECT_EQ(s.amz_date, "20150830T123600Z");
  EXPECT_EQ(s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Test, PostVanilla) {
  EXPECT_EQ(Sign(Suite("POST"), kSuite, "us-east-1", "service", kSuiteTime).signature,
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4Test, GetVanillaQueryOrderKeyCase) {
  SigningRequest r = Suite("GET");
  r.query = {{"Param2", "value2"}, {"Param1", "value1"}};
  Signature s = Sign(r, kSuite, "us-east-1", "service", kSuiteTime);
  EXPECT_NE(s.canonical_request.find("\nParam1=value1&Param2=value2\n"), std::string::npos);
  EXPECT_EQ(s.signature, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4Test, PostXWwwFormUrlencoded) {
  SigningRequest r = Suite("POST");
  r.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  r.payload = "Param1=value1";
  Signature s = Sign(r, kSuite, "us-east-1", "service", kSuiteTime);
  EXPECT_EQ(s.signed_headers, "content-type;host;x-amz-date");
  EXPECT_EQ(s.signature, "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(SigV4Test, GetHeaderValueTrim) {
  SigningRequest r = Suite("GET");
  r.headers.push_back({"My-Header1", " value1"});
  r.headers.push_back({"My-Header2", " \"a   b   c\""});
  Signature s = Sign(r, kSuite, "us-east-1", "service", kSuiteTime);
  EXPECT_NE(s.canonical_request.find("my-header1:value1\nmy-header2:\"a b c\"\n"),
            std::string::npos);
  EXPECT_EQ(s.signature, "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

TEST(SigV4Test, S3GetObjectExample) {
  SigningRequest r;
  r.method = "GET";
  r.path = "/test.txt";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", Sha256Hex("")}};
  Signature s = Sign(r, {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""},
                     "us-east-1", "s3", 1369353600);
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, SessionTokenIsSigned) {
  Credentials c = kSuite;
  c.session_token = "token";
  Signature s = Sign(Suite("GET"), c, "us-east-1", "service", kSuiteTime);
  EXPECT_EQ(s.signed_headers, "host;x-amz-date;x-amz-security-token");
  EXPECT_NE(s.signature, Sign(Suite("GET"), kSuite, "us-east-1", "service", kSuiteTime).signature);
}

// post-sts-token/post-sts-header-before: the session token is a signed header.
TEST(SigV4Test, PostStsHeaderBefore) {
  Credentials c = kSuite;
  c.session_token =
      "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSP"
      "fIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/"
      "kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7"
      "WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+"
      "scqKmlzm8"
      "FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
  Signature s = Sign(Suite("POST"), c, "us-east-1", "service", kSuiteTime);
  EXPECT_EQ(s.canonical_request,
            "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
            "x-amz-security-token:" +
                c.session_token +
                "\n\nhost;x-amz-date;x-amz-security-token\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date;x-amz-security-token, "
            "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
}

TEST(SigV4Test, UriEncoding) {
  EXPECT_EQ(UriEncode("a b/c~d*é"), "a%20b%2Fc~d%2A%C3%A9");
  EXPECT_EQ(UriEncode("/a b/c", true), "/a%20b/c");
}

}  // namespace
}  // namespace cstatsd::aws
