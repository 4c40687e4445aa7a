// ParseTarget and PercentEncode (api/http_message.h): how request targets become a decoded path
// and query parameters, and how the clients escape what they put in a target.
#include "api/http_message.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace govpool::api {
namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

struct Parsed {
  bool ok = false;
  std::string path;
  Query query;
};

Parsed Parse(std::string_view target) {
  Parsed p;
  p.ok = ParseTarget(target, p.path, p.query);
  return p;
}

TEST(ParseTargetTest, SplitsAndDecodesPathAndQuery) {
  Parsed p = Parse("/v1/vms?department_id=abc&limit=10");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.path, "/v1/vms");
  EXPECT_EQ(p.query, (Query{{"department_id", "abc"}, {"limit", "10"}}));

  p = Parse("/v1/vms");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.path, "/v1/vms");
  EXPECT_TRUE(p.query.empty());

  p = Parse("/");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.path, "/");
}

TEST(ParseTargetTest, PlusIsASpaceInTheQueryOnly) {
  Parsed p = Parse("/a+b%20c?name=x+y%2Bz&k%20ey=v");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.path, "/a+b c");
  EXPECT_EQ(p.query, (Query{{"name", "x y+z"}, {"k ey", "v"}}));
}

TEST(ParseTargetTest, EscapedDelimitersStayData) {
  Parsed p = Parse("/v1/departments/a%2Fb?q=%26%3D%3F%23&x=1");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.path, "/v1/departments/a/b");
  EXPECT_EQ(p.query, (Query{{"q", "&=?#"}, {"x", "1"}}));
  p = Parse("/x?a=b=c&d=1?2");  // only the first '=' splits; '?' inside the query is data
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.query, (Query{{"a", "b=c"}, {"d", "1?2"}}));
}

TEST(ParseTargetTest, EmptyPairsAreDroppedEmptyKeysAndValuesKept) {
  Parsed p = Parse("/x?&&a&=v&b=&");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.query, (Query{{"a", ""}, {"", "v"}, {"b", ""}}));
  p = Parse("/x?");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.path, "/x");
  EXPECT_TRUE(p.query.empty());
  p = Parse("/x?a=1&a=2");  // repeated keys keep their order
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.query, (Query{{"a", "1"}, {"a", "2"}}));
}

TEST(ParseTargetTest, PercentEscapesAreCaseInsensitiveAndMayBeUtf8) {
  Parsed p = Parse("/%c3%A9t%C3%a9?n=%E6%94%BF");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.path, "/\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(p.query, (Query{{"n", "\xe6\x94\xbf"}}));
}

TEST(ParseTargetTest, BytesRfc3986WantsEscapedAreTakenLiterally) {
  // HTTP servers see these from hand-written clients; they were always accepted as they are.
  Parsed p = Parse("/a|b{c}^`\"<>\\?name=x|y&sel={\"k\":1}&sp=a b&u=\xc3\xa9");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.path, "/a|b{c}^`\"<>\\");
  EXPECT_EQ(p.query, (Query{{"name", "x|y"}, {"sel", "{\"k\":1}"}, {"sp", "a b"}, {"u", "\xc3\xa9"}}));
  p = Parse("/x#frag?a=1");  // a '#' is no fragment marker in a request target
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.path, "/x#frag");
  EXPECT_EQ(p.query, (Query{{"a", "1"}}));
  p = Parse("/x[0]?k[]=[1]");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.path, "/x[0]");
  EXPECT_EQ(p.query, (Query{{"k[]", "[1]"}}));
}

TEST(ParseTargetTest, RejectsMalformedTargets) {
  for (std::string_view bad : {"", "v1/vms", "*", "http://h/x", "?a=1", "/x%", "/x%4", "/x%g1",
                               "/x%%41", "/x?a=%", "/x?a=%zz", "/x?%4=1", "/x%00y",
                               "/x?a=%00", "/x?%00=1"}) {
    EXPECT_FALSE(Parse(bad).ok) << bad;
  }
  EXPECT_FALSE(Parse(std::string_view("/x\0y", 4)).ok) << "a raw NUL is refused like %00";
}

TEST(ParseTargetTest, ClearsTheQueryItWasGiven) {
  std::string path;
  Query query{{"stale", "1"}};
  ASSERT_TRUE(ParseTarget("/x", path, query));
  EXPECT_TRUE(query.empty());
  query = {{"stale", "1"}};
  EXPECT_FALSE(ParseTarget("bad", path, query));
  EXPECT_TRUE(query.empty());
}

TEST(PercentEncodeTest, EscapesAllButUnreserved) {
  EXPECT_EQ(PercentEncode(""), "");
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(PercentEncode("a b+c/d?e&f=g#h%i"), "a%20b%2Bc%2Fd%3Fe%26f%3Dg%23h%25i");
  EXPECT_EQ(PercentEncode("\xc3\xa9\xff"), "%C3%A9%FF");
  EXPECT_EQ(PercentEncode(std::string_view("\0\x7f", 2)), "%00%7F");
}

TEST(PercentEncodeTest, RoundTripsThroughParseTarget) {
  const std::string nasty = "a b+c&d=e?f#g/h%i\xc3\xa9~";
  Parsed p = Parse("/v1/" + PercentEncode(nasty) + "?" + PercentEncode(nasty) + "=" +
                   PercentEncode(nasty));
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.path, "/v1/" + nasty);
  EXPECT_EQ(p.query, (Query{{nasty, nasty}}));
}

}  // namespace
}  // namespace govpool::api
