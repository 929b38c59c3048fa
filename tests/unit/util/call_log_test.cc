// CallLog: the text line and the JSON members of a call; JSON escaping of anything.
#include "server/util/call_log.h"

#include <string>

#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace fgw {
namespace {

CallLogRecord Record() {
  CallLogRecord r;
  r.method = "/formance.ledger.v2.LedgerService/GetAccount";
  r.operation_id = "v2GetAccount";
  r.code = absl::StatusCode::kNotFound;
  r.http_status = 404;
  r.attempts = 2;
  r.latency = absl::Microseconds(2150);
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  return r;
}

TEST(CallLogTest, TextLine) {
  EXPECT_EQ(FormatCallLog(Record(), LogFormat::kText),
            "call /formance.ledger.v2.LedgerService/GetAccount op=v2GetAccount "
            "http=404 code=NOT_FOUND attempts=2 2.1ms "
            "trace=4bf92f3577b34da6a3ce929d0e0e4736");
  CallLogRecord hit = Record();
  hit.cache_hit = true;
  hit.trace_id = "";
  EXPECT_EQ(FormatCallLog(hit, LogFormat::kText),
            "call /formance.ledger.v2.LedgerService/GetAccount op=v2GetAccount "
            "http=404 code=NOT_FOUND attempts=2 cache=hit 2.1ms");
}

TEST(CallLogTest, JsonMembersParseAsAnObject) {
  CallLogRecord r = Record();
  r.cache_hit = true;
  r.caller = "svc \"a\"";
  std::string message = FormatCallLog(r, LogFormat::kJson);
  ASSERT_FALSE(message.empty());
  ASSERT_EQ(message[0], kJsonFieldsMarker);
  std::string object = "{" + message.substr(1) + "}";
  rapidjson::Document d;
  d.Parse(object.c_str());
  ASSERT_FALSE(d.HasParseError()) << object;
  EXPECT_STREQ(d["msg"].GetString(), "call");
  EXPECT_STREQ(d["method"].GetString(),
               "/formance.ledger.v2.LedgerService/GetAccount");
  EXPECT_STREQ(d["operation_id"].GetString(), "v2GetAccount");
  EXPECT_STREQ(d["grpc_code"].GetString(), "NOT_FOUND");
  EXPECT_EQ(d["http_status"].GetInt(), 404);
  EXPECT_EQ(d["attempts"].GetInt(), 2);
  EXPECT_DOUBLE_EQ(d["latency_ms"].GetDouble(), 2.15);
  EXPECT_STREQ(d["trace_id"].GetString(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_STREQ(d["cache"].GetString(), "hit");
  EXPECT_STREQ(d["caller"].GetString(), "svc \"a\"");
}

TEST(AppendJsonStringTest, EscapesControlQuotesAndInvalidUtf8) {
  std::string out;
  AppendJsonString(&out, std::string("a\"b\\c\n\r\t\x01\x7f\xff\xc3\xa9z", 14));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u007f\\ufffd\xc3\xa9z\"");
  rapidjson::Document d;
  d.Parse(out.c_str());
  EXPECT_FALSE(d.HasParseError());
  std::string overlong;
  AppendJsonString(&overlong,
                   "\xc0\x80\xed\xa0\x80");  // Overlong NUL, surrogate.
  EXPECT_EQ(overlong, "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

TEST(LogFormatTest, SetAndRead) {
  SetLogFormat(LogFormat::kJson);
  EXPECT_EQ(LogFormatInUse(), LogFormat::kJson);
  SetLogFormat(LogFormat::kText);
  EXPECT_EQ(LogFormatInUse(), LogFormat::kText);
}

}  // namespace
}  // namespace fgw
