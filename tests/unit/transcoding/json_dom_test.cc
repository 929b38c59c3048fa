#include "server/transcoding/json_dom.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace fgw {
namespace {

TEST(JsonDomTest, KeepsNumberTextAndTellsNumbersFromStrings) {
  auto doc = JsonDocument::Parse(
      R"({"a":340282366920938463463374607431768211457,"b":"340282366920938463463374607431768211457","c":[1.50e+2,-0,true,false,null],"a":2})");
  ASSERT_TRUE(doc.ok()) << doc.status();
  const JsonNode& root = doc->root();
  ASSERT_EQ(root.type, JsonNode::kObject);
  EXPECT_EQ(root.keys.size(), 4u);
  EXPECT_EQ(root.items[0].type, JsonNode::kNumber);
  EXPECT_EQ(root.items[0].text, "340282366920938463463374607431768211457");
  EXPECT_EQ(root.items[1].type, JsonNode::kString);
  const JsonNode* c = root.Find("c");
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->items.size(), 5u);
  EXPECT_EQ(c->items[0].text, "1.50e+2");
  EXPECT_EQ(c->items[1].text, "-0");
  EXPECT_EQ(c->items[2].type, JsonNode::kTrue);
  EXPECT_EQ(c->items[3].type, JsonNode::kFalse);
  EXPECT_EQ(c->items[4].type, JsonNode::kNull);
  EXPECT_EQ(root.Find("a")->text, "2");  // The last duplicate wins.
  EXPECT_EQ(root.Find("zz"), nullptr);
}

TEST(JsonDomTest, StringsSurviveMovesAndEscapesAreDecoded) {
  std::string big(10000, 'x');
  auto doc = JsonDocument::Parse(
      absl::StrCat(R"({"s":"a\u00e9\n\"","big":")", big, R"("})"));
  ASSERT_TRUE(doc.ok());
  JsonDocument moved = *std::move(doc);
  EXPECT_EQ(moved.root().Find("s")->text, "a\xc3\xa9\n\"");
  EXPECT_EQ(moved.root().Find("big")->text, big);
}

TEST(JsonDomTest, Errors) {
  EXPECT_EQ(JsonDocument::Parse("").status().message(),
            "malformed upstream JSON at offset 0: The document is empty.");
  EXPECT_EQ(JsonDocument::Parse("{} x").status().message(),
            "malformed upstream JSON at offset 3: The document root must not "
            "be followed by "
            "other values.");
  EXPECT_EQ(JsonDocument::Parse("[[[]]]", 2).status().message(),
            "upstream JSON nests deeper than 2 levels");
  EXPECT_TRUE(JsonDocument::Parse("[[]]", 2).ok());
  EXPECT_EQ(JsonDocument::Parse(std::string(1000000, '[')).status().code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace fgw
