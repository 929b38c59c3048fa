#include "server/engine/stream_cursor.h"

#include <string>

#include "gtest/gtest.h"

namespace fgw {
namespace {

TEST(StreamCursorTest, RoundTrips) {
  StreamCursor c{"eyJvZmZzZXQiOjEwMH0=", 42, "2026-01-01T00:00:00.000000Z"};
  std::string text = FormatStreamCursor(c);
  EXPECT_TRUE(IsStreamCursor(text));
  EXPECT_EQ(text.find_first_of("+/="), std::string::npos) << text;
  auto back = ParseStreamCursor(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->upstream, c.upstream);
  EXPECT_EQ(back->skip, 42);
  EXPECT_EQ(back->pit, c.pit);
}

TEST(StreamCursorTest, EmptyPartsRoundTrip) {
  auto back = ParseStreamCursor(FormatStreamCursor({"", 0, ""}));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->upstream, "");
  EXPECT_EQ(back->skip, 0);
  EXPECT_EQ(back->pit, "");
}

TEST(StreamCursorTest, AnyOtherTextIsAFormanceCursor) {
  auto c = ParseStreamCursor("eyJwYWdlU2l6ZSI6MTV9");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(IsStreamCursor("eyJwYWdlU2l6ZSI6MTV9"));
  EXPECT_EQ(c->upstream, "eyJwYWdlU2l6ZSI6MTV9");
  EXPECT_EQ(c->skip, 0);
  EXPECT_EQ(c->pit, "");
}

TEST(StreamCursorTest, HostileTextIsRefused) {
  for (const char* bad :
       {"fgws1.", "fgws1.a.b", "fgws1.a.1.b.c", "fgws1.@@.1.", "fgws1..-1.",
        "fgws1..x.", "fgws1..100001.", "fgws1..99999999999999999999999."}) {
    auto c = ParseStreamCursor(bad);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ParseStreamCursor(std::string(kMaxStreamCursorBytes + 1, 'a'))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      ParseStreamCursor(FormatStreamCursor({"", kMaxStreamCursorSkip, ""}))
          .ok());
}

}  // namespace
}  // namespace fgw
