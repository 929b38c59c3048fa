// Logging setup: the JSON formatter writes one object per line (time, level, msg, or a call's
// fields spliced in), escaping anything; unknown levels and formats are refused; SetLogLevel
// changes the level.
#include "server/app/logging_setup.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/util/call_log.h"
#include "spdlog/details/log_msg.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

std::string Format(const std::string& payload,
                   spdlog::level::level_enum level = spdlog::level::info) {
  std::unique_ptr<spdlog::formatter> f = NewJsonFormatter();
  spdlog::details::log_msg msg(
      "fgw", level, spdlog::string_view_t(payload.data(), payload.size()));
  spdlog::memory_buf_t buf;
  f->format(msg, buf);
  return std::string(buf.data(), buf.size());
}

TEST(JsonFormatterTest, PlainMessagesBecomeMsg) {
  std::string line = Format("grpc: listening on 127.0.0.1:1 \"quoted\"\n\x01");
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // One line.
  rapidjson::Document d;
  d.Parse(line.c_str());
  ASSERT_FALSE(d.HasParseError()) << line;
  EXPECT_STREQ(d["level"].GetString(), "info");
  EXPECT_STREQ(d["msg"].GetString(),
               "grpc: listening on 127.0.0.1:1 \"quoted\"\n\x01");
  std::string time = d["time"].GetString();
  EXPECT_EQ(time.size(), 27u) << time;  // 2026-11-26T10:04:05.123456Z
  EXPECT_EQ(time.back(), 'Z');
}

TEST(JsonFormatterTest, CallRecordsAreSplicedAsFields) {
  CallLogRecord r;
  r.method = "/formance.ledger.v2.LedgerService/GetAccount";
  r.operation_id = "v2GetAccount";
  r.http_status = 200;
  r.attempts = 1;
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  std::string line =
      Format(FormatCallLog(r, LogFormat::kJson), spdlog::level::warn);
  rapidjson::Document d;
  d.Parse(line.c_str());
  ASSERT_FALSE(d.HasParseError()) << line;
  EXPECT_STREQ(d["level"].GetString(), "warning");
  EXPECT_STREQ(d["msg"].GetString(), "call");
  EXPECT_STREQ(d["operation_id"].GetString(), "v2GetAccount");
  EXPECT_STREQ(d["grpc_code"].GetString(), "OK");
  EXPECT_STREQ(d["trace_id"].GetString(), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(SetupLoggingTest, RefusesUnknownLevelsAndFormats) {
  EXPECT_TRUE(SetupLogging("info", "json").ok());
  EXPECT_EQ(LogFormatInUse(), LogFormat::kJson);
  EXPECT_TRUE(SetupLogging("warn", "text").ok());
  EXPECT_EQ(LogFormatInUse(), LogFormat::kText);
  EXPECT_EQ(spdlog::get_level(), spdlog::level::warn);
  EXPECT_EQ(SetupLogging("loud").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(spdlog::get_level(), spdlog::level::info);
  EXPECT_EQ(SetupLogging("info", "xml").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LogFormatInUse(), LogFormat::kText);
}

TEST(SetLogLevelTest, ChangesTheLevelOrNothing) {
  ASSERT_TRUE(SetupLogging("info").ok());
  EXPECT_TRUE(SetLogLevel("debug").ok());
  EXPECT_EQ(spdlog::get_level(), spdlog::level::debug);
  EXPECT_EQ(SetLogLevel("verbose").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(spdlog::get_level(), spdlog::level::debug);
}

}  // namespace
}  // namespace fgw
