// formance-grpc-gateway: serves every Formance Stack REST operation over gRPC.
// main() only wires: flags -> config (config_loader.h) -> logging -> engine -> GatewayApp.
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "server/app/gateway_app.h"
#include "server/app/logging_setup.h"
#include "server/config/config_loader.h"
#include "server/engine/gateway_engine.h"
#include "server/policy/policy_store.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, config, "",
          "YAML config file (config/gateway.example.yaml lists every key with "
          "its default). "
          "Empty: built-in defaults, then environment variables. "
          "Precedence: defaults < this file < environment < flags.");
ABSL_FLAG(std::string, listen, "",
          "gRPC listen address: host:port (port 0 picks a free port) or "
          "unix:/abs/path. "
          "Overrides `listen` and FGW_LISTEN. Default 127.0.0.1:50051.");
ABSL_FLAG(std::string, upstream, "",
          "Formance base URL, http:// or https:// (e.g. "
          "https://ORG.ENV.formance.cloud). Overrides `upstream.url` and "
          "FORMANCE_URL. "
          "Default http://localhost.");
ABSL_FLAG(std::string, log_level, "",
          "trace, debug, info, warn, error, critical or off. Overrides "
          "`log.level` and "
          "FGW_LOG_LEVEL. Default info.");
ABSL_FLAG(std::string, log_format, "",
          "text (default) or json (one JSON object per line). Overrides "
          "`log.format` and FGW_LOG_FORMAT. Also --log-format.");
ABSL_FLAG(std::string, admin_listen, "",
          "Admin HTTP listener, IP:port (GET /healthz, /readyz, /metrics), "
          "e.g. 0.0.0.0:9090. Overrides `admin.listen` and FGW_ADMIN_LISTEN. "
          "Also --admin-listen. Default: off.");
ABSL_FLAG(std::string, admin_grpc_listen, "",
          "Admin gRPC listener, host:port (grpc.health.v1 only: \"\" = live, "
          "\"readiness\" = ready), e.g. 0.0.0.0:9091. Overrides "
          "`admin.grpc_listen` and FGW_ADMIN_GRPC_LISTEN. Also "
          "--admin-grpc-listen. Default: off.");
ABSL_FLAG(
    std::string, descriptor_set, "",
    "A FileDescriptorSet (protoc --include_imports --descriptor_set_out) to "
    "serve "
    "instead of the embedded Formance API. Overrides `descriptor_set_file`.");
ABSL_FLAG(std::string, client_secret, "",
          "NOT ACCEPTED: a secret on the command line is visible to every "
          "local user. Use "
          "auth.client_secret_file / FORMANCE_CLIENT_SECRET_FILE or the "
          "FORMANCE_CLIENT_SECRET environment variable.");

namespace {

std::optional<std::string> FlagValue(const absl::Flag<std::string>& flag) {
  std::string value = absl::GetFlag(flag);
  if (value.empty()) return std::nullopt;
  return value;
}

// Flag names may be written with dashes (--admin-listen, --log-format): absl knows them with
// underscores. Only the name part of "--name" / "--name=value" is rewritten, never a value.
std::vector<char*> NormalizeFlagNames(int argc, char** argv,
                                      std::vector<std::string>* storage) {
  storage->reserve(argc);
  std::vector<char*> out;
  bool after_double_dash = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i > 0 && !after_double_dash && arg == "--") after_double_dash = true;
    if (i > 0 && !after_double_dash && absl::StartsWith(arg, "--")) {
      const size_t end = std::min(arg.find('='), arg.size());
      for (size_t k = 2; k < end; ++k) {
        if (arg[k] == '-') arg[k] = '_';
      }
    }
    storage->push_back(std::move(arg));
    out.push_back(storage->back().data());
  }
  return out;
}

// absl's --help lists the flags of <program>.cc by default; ours live in server/main.cc.
bool IsOurFlagFile(absl::string_view file) {
  return absl::EndsWith(file, "server/main.cc") ||
         absl::StrContains(file, "server/app/");
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex lock (ours and gRPC's) would
  // update a process-wide deadlock graph under a global lock, and every Mutex destruction would
  // remove its node: 2.5-4% of the gateway's CPU at c=64 (tests/bench/PROFILE.md). Tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // glibc gives each thread that allocates its own malloc arena (up to 8 per core), and each
  // keeps the peak of what was freed in it: with gRPC's and cpprestsdk's threads that is peak
  // RSS without benefit on a 2-core box. Four arenas (two made big pages at c=16 50% dearer in
  // CPU: contention), before any thread exists. tests/bench/PERF_LOG.md section 6.
  mallopt(M_ARENA_MAX, 4);
  fgw::BlockTerminationSignals();  // Before any thread exists.
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = IsOurFlagFile;
  usage.contains_helpshort_flags = IsOurFlagFile;
  usage.version_string = [] {
    return std::string("formance-grpc-gateway " FGW_VERSION "\n");
  };
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "Serves every Formance Stack REST operation over gRPC.\n\n"
      "  formance-grpc-gateway [--config=FILE] [--listen=ADDR] "
      "[--upstream=URL] ...\n\n"
      "Environment: FORMANCE_URL, FGW_LISTEN, FORMANCE_CLIENT_ID, "
      "FORMANCE_CLIENT_SECRET_FILE, FORMANCE_CLIENT_SECRET, "
      "FORMANCE_TOKEN_FILE, "
      "FORMANCE_TOKEN, FGW_LOG_LEVEL, FGW_LOG_FORMAT, FGW_ADMIN_LISTEN, "
      "FGW_ADMIN_GRPC_LISTEN.\n"
      "Signals: SIGTERM drains (grpc.drain_delay) and stops; SIGINT stops "
      "without the drain delay; SIGHUP reloads the config.");
  std::vector<std::string> arg_storage;
  std::vector<char*> args = NormalizeFlagNames(argc, argv, &arg_storage);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());

  fgw::FlagOverrides flags;
  flags.listen = FlagValue(FLAGS_listen);
  flags.upstream_url = FlagValue(FLAGS_upstream);
  flags.log_level = FlagValue(FLAGS_log_level);
  flags.descriptor_set_file = FlagValue(FLAGS_descriptor_set);
  flags.client_secret = FlagValue(FLAGS_client_secret);
  flags.log_format = FlagValue(FLAGS_log_format);
  flags.admin_listen = FlagValue(FLAGS_admin_listen);
  flags.admin_grpc_listen = FlagValue(FLAGS_admin_grpc_listen);
  const std::string config_path = absl::GetFlag(FLAGS_config);
  absl::StatusOr<fgw::GatewayConfig> config =
      fgw::LoadConfig(config_path, fgw::ProcessEnvironment(), flags);
  if (!config.ok()) {
    std::fprintf(stderr, "formance-grpc-gateway: invalid configuration: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  if (absl::Status logging =
          fgw::SetupLogging(config->log_level, config->log_format);
      !logging.ok()) {
    spdlog::warn("{}", std::string(logging.message()));
  }
  spdlog::info("upstream {}, auth {}", config->upstream.url,
               std::string(fgw::AuthModeName(config->auth.mode)));

  absl::StatusOr<std::unique_ptr<fgw::GatewayEngine>> engine =
      fgw::GatewayEngine::Create(*config);
  if (!engine.ok()) {
    spdlog::critical("cannot start: {}", engine.status().ToString());
    return 1;
  }
  fgw::GatewayEngine* e = engine->get();
  fgw::AppBackend backend;
  backend.handler = e->handler();
  backend.streams = e->stream_handler();
  backend.reflection = e->reflection();
  backend.service_names = e->service_names();
  backend.shutdown = [e] { e->Shutdown(); };
  backend.authenticates_callers = e->authenticates_callers();
  backend.ready = [e] { return e->Ready(); };
  backend.metrics = [e] { return e->metrics()->Scrape(); };
  backend.reload = [e](const fgw::GatewayConfig& next) {
    return e->ApplyReload(next);
  };
  fgw::AppOptions options;
  // A reload reads the same layers as the start: file, environment, flags.
  options.load_config = [config_path, flags] {
    return fgw::LoadConfig(config_path, fgw::ProcessEnvironment(), flags);
  };
  options.config_path = config_path;
  absl::StatusOr<std::unique_ptr<fgw::GatewayApp>> app =
      fgw::GatewayApp::Start(*config, std::move(backend), std::move(options));
  if (!app.ok()) {
    spdlog::critical("cannot start: {}", app.status().ToString());
    return 1;
  }
  // SIGHUP and a changed config file also re-read the caller policy and its API-key file
  // (which the policy store watches on its own as well).
  (*app)->AddReloadHook("policy", [e](const fgw::GatewayConfig&) {
    return e->policy()->Reload();
  });
  return (*app)->RunUntilSignal();
}
