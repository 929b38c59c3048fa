#include "server/app/logging_setup.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "grpc/support/log.h"
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

}  // namespace

absl::Status SetupLogging(const std::string& level) {
  auto logger = std::make_shared<spdlog::logger>(
      "fgw", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v",
                      spdlog::pattern_time_type::utc);
  logger->flush_on(spdlog::level::trace);  // Every line reaches stderr at once.
  spdlog::set_default_logger(logger);
  gpr_set_log_function(GprToSpdlog);

  spdlog::level::level_enum parsed = spdlog::level::from_str(level);
  // from_str answers "off" for anything it does not know.
  if (parsed == spdlog::level::off && level != "off") {
    spdlog::set_level(spdlog::level::info);
    return absl::InvalidArgumentError(
        absl::StrCat("unknown log level \"", level, "\""));
  }
  spdlog::set_level(parsed);
  gpr_set_log_verbosity(parsed <= spdlog::level::trace
                            ? GPR_LOG_SEVERITY_DEBUG
                            : GPR_LOG_SEVERITY_ERROR);
  return absl::OkStatus();
}

}  // namespace fgw
