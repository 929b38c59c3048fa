#include "server/app/gateway_app.h"

#include <signal.h>

#include <utility>

#include "spdlog/spdlog.h"

namespace fgw {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void BlockTerminationSignals() {
  // A shell starts background jobs with SIGINT ignored, and an ignored signal is discarded
  // even while blocked: restore the default so sigwait() sees it.
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

ServerOptions ServerOptionsFrom(const GatewayConfig& config) {
  ServerOptions options;
  options.listen = config.listen;
  options.max_message_bytes = config.max_message_bytes;
  options.keepalive_time = config.keepalive_time;
  options.keepalive_timeout = config.keepalive_timeout;
  options.completion_queues = config.grpc_threads;
  options.tls = config.tls;
  options.unix_socket_mode = config.unix_socket_mode;
  options.allow_insecure_remote = config.allow_insecure_remote;
  return options;
}

GatewayApp::GatewayApp(const GatewayConfig& config, AppBackend backend)
    : grace_(config.shutdown_grace), backend_(std::move(backend)) {}

absl::StatusOr<std::unique_ptr<GatewayApp>> GatewayApp::Start(
    const GatewayConfig& config, AppBackend backend) {
  std::unique_ptr<GatewayApp> app(new GatewayApp(config, std::move(backend)));
  ServerOptions options = ServerOptionsFrom(config);
  options.authenticates_callers = app->backend_.authenticates_callers;
  absl::StatusOr<std::unique_ptr<GatewayServer>> server = GatewayServer::Start(
      options, app->backend_.handler, app->backend_.reflection,
      app->backend_.service_names, app->backend_.streams);
  if (!server.ok()) return server.status();
  app->server_ = std::move(*server);
  spdlog::info("formance-grpc-gateway {} serving {} services on {}",
               FGW_VERSION, app->backend_.service_names.size(),
               app->server_->address());
  return app;
}

GatewayApp::~GatewayApp() { Stop(); }

int GatewayApp::RunUntilSignal() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // In case main() did not.
  bool wait_for_signal;
  {
    absl::MutexLock lock(&mu_);
    wait_for_signal = !stopping_;
    if (wait_for_signal) {
      waiting_ = true;
      waiter_ = pthread_self();
    }
  }
  if (wait_for_signal) {
    int sig = 0;
    sigwait(&set, &sig);
    absl::MutexLock lock(&mu_);
    waiting_ = false;
    if (!stopping_) {
      spdlog::info("received {}, shutting down (grace {})",
                   sig == SIGINT ? "SIGINT" : "SIGTERM",
                   absl::FormatDuration(grace_));
    }
  }
  Stop();
  return 0;
}

void GatewayApp::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      mu_.Await(absl::Condition(&stopped_));
      return;
    }
    stopping_ = true;
    // Wakes RunUntilSignal: a thread-directed signal it has blocked, so sigwait takes it.
    if (waiting_) pthread_kill(waiter_, SIGTERM);
  }
  if (server_ != nullptr) {     // Null when Start() failed.
    server_->Shutdown(grace_);  // NOT_SERVING, drain, cancel what is left.
    if (backend_.shutdown) backend_.shutdown();
    spdlog::info("stopped");
  }
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

}  // namespace fgw
