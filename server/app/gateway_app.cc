#include "server/app/gateway_app.h"

#include <signal.h>

#include <utility>

#include "absl/strings/str_join.h"
#include "server/app/config_watcher.h"
#include "server/app/logging_setup.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

constexpr absl::Duration kReadinessRefresh = absl::Seconds(1);

// Settings a reload does not apply (they are read once at start), by key.
std::vector<std::string> RestartOnlyChanges(const GatewayConfig& a,
                                            const GatewayConfig& b) {
  std::vector<std::string> keys;
  auto diff = [&keys](bool differ, const char* key) {
    if (differ) keys.push_back(key);
  };
  diff(a.listen != b.listen, "listen");
  diff(a.admin.listen != b.admin.listen, "admin.listen");
  diff(a.admin.grpc_listen != b.admin.grpc_listen, "admin.grpc_listen");
  diff(a.descriptor_set_file != b.descriptor_set_file, "descriptor_set_file");
  diff(a.upstream.url != b.upstream.url, "upstream.url");
  diff(a.upstream.request_timeout != b.upstream.request_timeout,
       "upstream.request_timeout");
  diff(a.upstream.connect_timeout != b.upstream.connect_timeout,
       "upstream.connect_timeout");
  diff(a.upstream.ca_file != b.upstream.ca_file, "upstream.ca_file");
  diff(a.upstream.proxy != b.upstream.proxy, "upstream.proxy");
  diff(a.upstream.io_threads != b.upstream.io_threads, "upstream.io_threads");
  diff(a.auth.mode != b.auth.mode, "auth.mode");
  diff(a.auth.client_id != b.auth.client_id, "auth.client_id");
  diff(a.auth.client_id_file != b.auth.client_id_file, "auth.client_id_file");
  diff(a.auth.client_secret_file != b.auth.client_secret_file,
       "auth.client_secret_file");
  diff(a.auth.static_token_file != b.auth.static_token_file,
       "auth.static_token_file");
  diff(a.auth.token_url != b.auth.token_url, "auth.token_url");
  diff(a.retry.max_attempts != b.retry.max_attempts ||
           a.retry.initial_backoff != b.retry.initial_backoff ||
           a.retry.max_backoff != b.retry.max_backoff ||
           a.retry.multiplier != b.retry.multiplier ||
           a.retry.budget_ratio != b.retry.budget_ratio ||
           a.retry.budget_min_per_second != b.retry.budget_min_per_second,
       "retry");
  diff(a.cache.max_bytes != b.cache.max_bytes ||
           a.cache.max_entries != b.cache.max_entries,
       "cache.max_bytes/max_entries");
  diff(a.limits.max_calls_in_flight != b.limits.max_calls_in_flight ||
           a.limits.upstream.max_request_target_bytes !=
               b.limits.upstream.max_request_target_bytes ||
           a.limits.upstream.max_request_header_bytes !=
               b.limits.upstream.max_request_header_bytes ||
           a.limits.upstream.max_response_bytes !=
               b.limits.upstream.max_response_bytes ||
           a.limits.upstream.max_connections !=
               b.limits.upstream.max_connections,
       "limits");
  diff(a.log_format != b.log_format, "log.format");
  diff(a.max_message_bytes != b.max_message_bytes, "grpc.max_message_bytes");
  diff(a.grpc_threads != b.grpc_threads, "grpc.threads");
  diff(a.shutdown_grace != b.shutdown_grace, "grpc.shutdown_grace");
  diff(a.drain_delay != b.drain_delay, "grpc.drain_delay");
  diff(a.keepalive_time != b.keepalive_time ||
           a.keepalive_timeout != b.keepalive_timeout,
       "grpc.keepalive_time/keepalive_timeout");
  return keys;
}

// The drain delay's wait, shared with its timer (which may fire after the app is gone).
struct DrainWait {
  absl::Mutex mu;
  bool over ABSL_GUARDED_BY(mu) = false;
};

}  // namespace

void BlockTerminationSignals() {
  // A shell starts background jobs with SIGINT ignored, and an ignored signal is discarded
  // even while blocked: restore the default so sigwait() sees it.
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  sigset_t set = HandledSignals();
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

GatewayApp::GatewayApp(const GatewayConfig& config, AppBackend backend,
                       AppOptions options)
    : grace_(config.shutdown_grace),
      drain_delay_(config.drain_delay),
      backend_(std::move(backend)),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : RealClock()),
      running_(config) {}

absl::StatusOr<std::unique_ptr<GatewayApp>> GatewayApp::Start(
    const GatewayConfig& config, AppBackend backend, AppOptions options) {
  std::unique_ptr<GatewayApp> app(
      new GatewayApp(config, std::move(backend), std::move(options)));
  ServerOptions server_options = ServerOptionsFrom(config);
  server_options.authenticates_callers = app->backend_.authenticates_callers;
  absl::StatusOr<std::unique_ptr<GatewayServer>> server = GatewayServer::Start(
      server_options, app->backend_.handler, app->backend_.reflection,
      app->backend_.service_names, app->backend_.streams);
  if (!server.ok()) return server.status();
  app->server_ = std::move(*server);
  if (absl::Status admin = app->StartAdmin(config); !admin.ok()) {
    app->Stop();
    return admin;
  }
  if (!app->options_.config_path.empty() && app->options_.load_config) {
    GatewayApp* self = app.get();
    app->watcher_ = std::make_unique<ConfigWatcher>(
        app->options_.config_path, app->options_.watch_interval, app->clock_,
        [self] {
          spdlog::info("config file changed, reloading");
          self->Reload().IgnoreError();  // Logged by Reload.
        });
    app->watcher_->Start();
  }
  spdlog::info("formance-grpc-gateway {} serving {} services on {}",
               FGW_VERSION, app->backend_.service_names.size(),
               app->server_->address());
  return app;
}

absl::Status GatewayApp::StartAdmin(const GatewayConfig& config) {
  if (!config.admin.grpc_listen.empty()) {
    ServerOptions options;
    options.listen = config.admin.grpc_listen;
    options.completion_queues = 1;
    options.health_only = true;
    absl::StatusOr<std::unique_ptr<GatewayServer>> admin =
        GatewayServer::Start(options, nullptr, nullptr, {kReadinessService});
    if (!admin.ok()) {
      return absl::Status(
          admin.status().code(),
          absl::StrCat("admin.grpc_listen: ", admin.status().message()));
    }
    admin_grpc_ = std::move(*admin);
    RefreshReadiness();
  }
  if (!config.admin.listen.empty()) {
    AdminHandlers handlers;
    handlers.live = [this] { return !stopped_flag_.load(); };
    handlers.ready = [this] { return Ready(); };
    handlers.metrics = backend_.metrics;
    AdminHttpOptions options;
    options.listen = config.admin.listen;
    absl::StatusOr<std::unique_ptr<AdminHttpServer>> http =
        AdminHttpServer::Start(options, std::move(handlers));
    if (!http.ok()) {
      return absl::Status(
          http.status().code(),
          absl::StrCat("admin.listen: ", http.status().message()));
    }
    admin_http_ = std::move(*http);
  }
  return absl::OkStatus();
}

GatewayApp::~GatewayApp() { Stop(); }

int GatewayApp::admin_http_port() const {
  return admin_http_ != nullptr ? admin_http_->port() : 0;
}

int GatewayApp::admin_grpc_port() const {
  return admin_grpc_ != nullptr ? admin_grpc_->port() : 0;
}

std::string GatewayApp::admin_grpc_address() const {
  return admin_grpc_ != nullptr ? admin_grpc_->address() : "";
}

absl::Status GatewayApp::Ready() {
  if (draining_.load()) return absl::UnavailableError("draining");
  if (backend_.ready) return backend_.ready();
  return absl::OkStatus();
}

void GatewayApp::RefreshReadiness() {
  {
    absl::ReaderMutexLock lock(&run_mu_);
    if (timers_stopped_ || admin_grpc_ == nullptr) return;
    admin_grpc_->SetGate(kReadinessService, Ready().ok());
  }
  absl::ReaderMutexLock lock(&run_mu_);
  if (timers_stopped_) return;
  absl::MutexLock timer_lock(&mu_);
  // RunAfter never runs the callback inline.
  readiness_timer_ =
      clock_->RunAfter(kReadinessRefresh, [this] { RefreshReadiness(); });
}

void GatewayApp::BeginDrain() {
  if (draining_.exchange(true)) return;
  // Health "" of both listeners and /readyz, at once; the listener still serves.
  if (server_ != nullptr) server_->SetServing(false);
  if (admin_grpc_ != nullptr) admin_grpc_->SetServing(false);
  spdlog::info("draining: health NOT_SERVING, /readyz 503");
}

void GatewayApp::WaitDrainDelay() {
  if (drain_delay_ <= absl::ZeroDuration()) return;
  auto wait = std::make_shared<DrainWait>();
  Clock::TimerId timer = clock_->RunAfter(drain_delay_, [wait] {
    absl::MutexLock lock(&wait->mu);
    wait->over = true;
  });
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      clock_->Cancel(timer);
      return;
    }
  }
  // Stop() from another thread ends the wait early: it sets stopping_, seen within 50 ms.
  absl::MutexLock lock(&wait->mu);
  while (!wait->over) {
    wait->mu.AwaitWithTimeout(absl::Condition(&wait->over),
                              absl::Milliseconds(50));
    absl::MutexLock app_lock(&mu_);
    if (stopping_) break;
  }
  clock_->Cancel(timer);
}

int GatewayApp::RunUntilSignal() {
  sigset_t set = HandledSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // In case main() did not.
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
      waiting_ = true;
      waiter_ = pthread_self();
    }
    int sig = 0;
    sigwait(&set, &sig);
    {
      absl::MutexLock lock(&mu_);
      waiting_ = false;
      if (stopping_) break;
    }
    if (sig == SIGHUP) {
      spdlog::info("received SIGHUP, reloading the config");
      Reload().IgnoreError();  // Logged by Reload.
      continue;
    }
    spdlog::info("received {}, shutting down (drain delay {}, grace {})",
                 sig == SIGINT ? "SIGINT" : "SIGTERM",
                 sig == SIGINT ? "skipped" : absl::FormatDuration(drain_delay_),
                 absl::FormatDuration(grace_));
    BeginDrain();
    if (sig == SIGTERM) WaitDrainDelay();
    break;
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
  BeginDrain();
  {
    absl::MutexLock lock(
        &run_mu_);  // Waits for a readiness refresh in progress.
    timers_stopped_ = true;
  }
  {
    Clock::TimerId timer;
    {
      absl::MutexLock lock(&mu_);
      timer = readiness_timer_;
      readiness_timer_ = 0;
    }
    if (timer != 0) clock_->Cancel(timer);
  }
  if (watcher_ != nullptr) watcher_->Stop();
  if (server_ != nullptr) {     // Null when Start() failed.
    server_->Shutdown(grace_);  // Stop accepting, drain, cancel what is left.
    if (backend_.shutdown) backend_.shutdown();
  }
  if (admin_grpc_ != nullptr) admin_grpc_->Shutdown(absl::ZeroDuration());
  stopped_flag_.store(true);
  if (admin_http_ != nullptr) admin_http_->Stop();
  if (server_ != nullptr) spdlog::info("stopped");
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

void GatewayApp::AddReloadHook(std::string name, ReloadHook hook) {
  absl::MutexLock lock(&mu_);
  hooks_.emplace_back(std::move(name), std::move(hook));
}

absl::Status GatewayApp::Reload() {
  // One reload at a time, none lost: the one running repeats for requests made meanwhile.
  if (reload_requests_.fetch_add(1) > 0) {
    return absl::OkStatus();  // Runs right after the one in progress.
  }
  absl::Status last;
  do {
    last = ReloadOnce();
  } while (reload_requests_.fetch_sub(1) != 1);
  return last;
}

absl::Status GatewayApp::ReloadOnce() {
  if (!options_.load_config) {
    return absl::FailedPreconditionError("no config to reload");
  }
  absl::StatusOr<GatewayConfig> next = options_.load_config();
  if (!next.ok()) {
    spdlog::warn("reload: keeping the running config: {}",
                 std::string(next.status().message()));
    return next.status();
  }
  GatewayConfig running;
  std::vector<std::pair<std::string, ReloadHook>> hooks;
  {
    absl::MutexLock lock(&mu_);
    running = running_;
    hooks = hooks_;
  }
  std::vector<std::string> restart_only = RestartOnlyChanges(running, *next);
  if (!restart_only.empty()) {
    spdlog::warn("reload: changed, but applied only at a restart: {}",
                 absl::StrJoin(restart_only, ", "));
  }
  std::vector<std::string> errors;
  if (next->log_level != running.log_level) {
    if (absl::Status level = SetLogLevel(next->log_level); !level.ok()) {
      errors.push_back(absl::StrCat("log.level: ", level.message()));
    } else {
      spdlog::info("reload: log.level {} -> {}", running.log_level,
                   next->log_level);
    }
  }
  if (backend_.reload) {
    if (absl::Status s = backend_.reload(*next); !s.ok()) {
      errors.push_back(std::string(s.message()));
    }
  }
  for (auto& [name, hook] : hooks) {
    if (absl::Status s = hook(*next); !s.ok()) {
      errors.push_back(absl::StrCat(name, ": ", s.message()));
    }
  }
  {
    absl::MutexLock lock(&mu_);
    running_ = *next;
  }
  reloads_applied_.fetch_add(1);
  if (!errors.empty()) {
    const std::string joined = absl::StrJoin(errors, "; ");
    spdlog::warn("reload: applied, except: {}", joined);
    return absl::FailedPreconditionError(joined);
  }
  spdlog::info("reload: applied");
  return absl::OkStatus();
}

}  // namespace fgw
