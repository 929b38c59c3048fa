#include "server/app/logging_setup.h"

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/support/log.h"
#include "server/util/call_log.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

void GprToSpdlog(gpr_log_func_args* args) {
  spdlog::level::level_enum level = spdlog::level::info;
  switch (args->severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      level = spdlog::level::debug;
      break;
    case GPR_LOG_SEVERITY_INFO:
      level = spdlog::level::info;
      break;
    case GPR_LOG_SEVERITY_ERROR:
      level = spdlog::level::err;
      break;
  }
  spdlog::log(level, "grpc-core: {} ({}:{})", args->message, args->file,
              args->line);
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    std::string line = "{\"time\":\"";
    line += absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromChrono(msg.time),
                             absl::UTCTimeZone());
    line += "\",\"level\":";
    const auto& level = spdlog::level::to_string_view(msg.level);
    AppendJsonString(&line, absl::string_view(level.data(), level.size()));
    const absl::string_view payload(msg.payload.data(), msg.payload.size());
    if (!payload.empty() && payload.front() == kJsonFieldsMarker) {
      // Members built by FormatCallLog, already escaped.
      line.push_back(',');
      line.append(payload.data() + 1, payload.size() - 1);
    } else {
      line += ",\"msg\":";
      AppendJsonString(&line, payload);
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

absl::StatusOr<spdlog::level::level_enum> ParseLevel(const std::string& level) {
  spdlog::level::level_enum parsed = spdlog::level::from_str(level);
  // from_str answers "off" for anything it does not know.
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown log level \"", level, "\""));
  }
  return parsed;
}

void ApplyLevel(spdlog::level::level_enum level) {
  spdlog::set_level(level);
  gpr_set_log_verbosity(level <= spdlog::level::trace ? GPR_LOG_SEVERITY_DEBUG
                                                      : GPR_LOG_SEVERITY_ERROR);
}

}  // namespace

std::unique_ptr<spdlog::formatter> NewJsonFormatter() {
  return std::make_unique<JsonFormatter>();
}

absl::Status SetupLogging(const std::string& level, const std::string& format) {
  auto logger = std::make_shared<spdlog::logger>(
      "fgw", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  absl::Status status;
  if (format == "json") {
    logger->set_formatter(NewJsonFormatter());
    SetLogFormat(LogFormat::kJson);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v",
                        spdlog::pattern_time_type::utc);
    SetLogFormat(LogFormat::kText);
    if (format != "text") {
      status = absl::InvalidArgumentError(
          absl::StrCat("unknown log format \"", format, "\""));
    }
  }
  logger->flush_on(spdlog::level::trace);  // Every line reaches stderr at once.
  spdlog::set_default_logger(logger);
  gpr_set_log_function(GprToSpdlog);

  absl::StatusOr<spdlog::level::level_enum> parsed = ParseLevel(level);
  if (!parsed.ok()) {
    ApplyLevel(spdlog::level::info);
    return parsed.status();
  }
  ApplyLevel(*parsed);
  return status;
}

absl::Status SetLogLevel(const std::string& level) {
  absl::StatusOr<spdlog::level::level_enum> parsed = ParseLevel(level);
  if (!parsed.ok()) return parsed.status();
  ApplyLevel(*parsed);
  return absl::OkStatus();
}

}  // namespace fgw
