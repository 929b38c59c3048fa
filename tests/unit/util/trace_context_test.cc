// TraceContext: strict traceparent parsing (the spec's valid and invalid examples), tracestate
// validation, new traces and span ids, formatting.
#include "server/util/trace_context.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "server/util/random.h"

namespace fgw {
namespace {

constexpr char kValid[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(ParseTraceParentTest, AcceptsTheSpecsExample) {
  std::optional<TraceContext> t = ParseTraceParent(kValid);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t->parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(t->flags, 1);
  EXPECT_TRUE(t->from_caller);
  std::optional<TraceContext> unsampled = ParseTraceParent(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled.has_value());
  EXPECT_EQ(unsampled->flags, 0);
}

TEST(ParseTraceParentTest, RefusesEveryMalformedForm) {
  const char* const kInvalid[] = {
      "",
      "00",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",    // Short.
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // v00 longer.
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // Upper case.
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // Zero trace.
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // Zero parent.
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // Version ff.
      "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // Not hex.
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // Separator.
      "00-4bf92f3577b34da6a3ce929d0e0e473x-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0z",
      " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX: y",
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  // Later, no '-'.
  };
  for (const char* value : kInvalid) {
    EXPECT_FALSE(ParseTraceParent(value).has_value()) << "\"" << value << "\"";
  }
}

TEST(ParseTraceParentTest, ALaterVersionIsReadForItsFirstFields) {
  std::optional<TraceContext> t = ParseTraceParent(
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-the-"
      "future");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t->flags,
            1);  // Unknown flag bits of a later version are not passed on.
}

TEST(ParseTraceStateTest, KeepsValidListsAndDropsInvalidOnesWhole) {
  EXPECT_EQ(ParseTraceState("congo=t61rcWkgMzE"), "congo=t61rcWkgMzE");
  EXPECT_EQ(ParseTraceState("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE"),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(ParseTraceState("a=1,,b=2"), "a=1,b=2");
  EXPECT_EQ(ParseTraceState("tenant@vendor=x"), "tenant@vendor=x");
  EXPECT_EQ(ParseTraceState(""), "");
  EXPECT_EQ(ParseTraceState("Upper=x"), "");      // Key grammar.
  EXPECT_EQ(ParseTraceState("a=1,novalue"), "");  // Not key=value.
  EXPECT_EQ(ParseTraceState("a=x,y"), "");
  EXPECT_EQ(ParseTraceState("a=b=c"), "");
  EXPECT_EQ(ParseTraceState("a=\x01"), "");
  EXPECT_EQ(ParseTraceState("a=\r\nInjected: 1"), "");
  EXPECT_EQ(ParseTraceState(std::string(513, 'a')), "");
  std::string many;
  for (int i = 0; i < 33; ++i) many += "k" + std::to_string(i) + "=v,";
  EXPECT_EQ(ParseTraceState(many), "");  // 33 members.
}

TEST(NewTraceTest, RandomNonZeroSampledTraces) {
  SeededRandom random(1);
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    TraceContext t = NewTrace(random);
    ASSERT_EQ(t.trace_id.size(), 32u);
    EXPECT_TRUE(
        ParseTraceParent(FormatTraceParent(t, NewSpanId(random))).has_value());
    EXPECT_EQ(t.flags, 1);
    EXPECT_FALSE(t.from_caller);
    ids.insert(t.trace_id);
  }
  EXPECT_EQ(ids.size(), 100u);
}

class ZeroRandom : public Random {
 public:
  uint64_t Next64() override { return 0; }
};

TEST(NewTraceTest, AnAllZeroSourceStillGivesValidIds) {
  ZeroRandom zero;
  TraceContext t = NewTrace(zero);
  EXPECT_NE(t.trace_id, std::string(32, '0'));
  EXPECT_NE(NewSpanId(zero), std::string(16, '0'));
  EXPECT_TRUE(ParseTraceParent(FormatTraceParent(t, NewSpanId(zero))));
}

TEST(TraceFromCallerTest, CallerTraceOrNew) {
  SeededRandom random(2);
  TraceContext kept = TraceFromCaller(kValid, "a=1", random);
  EXPECT_EQ(kept.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(kept.tracestate, "a=1");
  TraceContext fresh = TraceFromCaller("garbage", "a=1", random);
  EXPECT_FALSE(fresh.from_caller);
  EXPECT_TRUE(fresh.tracestate.empty());
}

TEST(FormatTraceParentTest, Version00WithTheFlags) {
  TraceContext t;
  t.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  t.flags = 0x01;
  EXPECT_EQ(FormatTraceParent(t, "b7ad6b7169203331"),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01");
}

}  // namespace
}  // namespace fgw
