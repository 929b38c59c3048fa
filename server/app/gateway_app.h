// GatewayApp: the daemon's lifecycle around whatever answers the calls (the GatewayEngine in
// production, fakes in tests):
//
// - Start: the gRPC server (config.listen) with the health service SERVING, then the admin
//   listeners when configured (admin.grpc_listen: grpc.health.v1 only; admin.listen: HTTP
//   /healthz, /readyz, /metrics; see server/admin/admin_http_server.h). An admin listener that
//   cannot start fails Start() (nothing keeps running).
// - Readiness (/readyz; the admin gRPC service "readiness"): not draining and
//   AppBackend::ready says OK. The admin gRPC "readiness" status is refreshed every second on
//   the clock; /readyz asks at each request. "" (both listeners) and /healthz are liveness:
//   "" turns NOT_SERVING when the drain starts, /healthz answers 200 until the admin listener
//   closes at the very end.
// - RunUntilSignal: SIGHUP reloads (Reload()); SIGTERM drains: every health status turns
//   NOT_SERVING and /readyz 503 at once, calls are still served for grpc.drain_delay (on the
//   injected clock), then the listener closes, in-flight calls get grpc.shutdown_grace to finish
//   and the rest are cancelled; calls that arrive after the listener closed get UNAVAILABLE.
//   SIGINT (an interactive Ctrl-C) skips the drain delay. Stop() from another thread ends the
//   delay too. Then the backend stops (AppBackend::shutdown), the admin listeners close, exit 0.
// - Reload(): re-reads the config (AppOptions::load_config, the same layers as at start) and
//   applies what can change while running: log.level, then AppBackend::reload (the engine:
//   cache rules), then each hook added with AddReloadHook (e.g. the caller policy), in order.
//   A config that does not load (bad YAML, a key out of range) changes nothing: the running
//   config stays and the reason is logged (warn) and returned. Keys that only take effect at a
//   restart (listen, upstream, auth, ...) are named in a warning when they changed. Runs on
//   SIGHUP and, with AppOptions::config_path, when that file changes (ConfigWatcher, checked
//   every AppOptions::watch_interval on the clock). Reloads never overlap: one asked for while
//   another runs is run right after it.
//
// Signals: call BlockTerminationSignals() first thing in main(), before any thread exists, so
// every thread (gRPC's included) inherits the mask and only RunUntilSignal() receives them.
//
// Thread safety: Stop() and Reload() may be called from any thread, any number of times (not
// from a reload hook); AddReloadHook before RunUntilSignal; the other methods from the owning
// thread.
#ifndef FGW_SERVER_APP_GATEWAY_APP_H_
#define FGW_SERVER_APP_GATEWAY_APP_H_

#include <pthread.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/admin/admin_http_server.h"
#include "server/config/gateway_config.h"
#include "server/grpc/call_handler.h"
#include "server/grpc/gateway_server.h"
#include "server/grpc/reflection_service.h"
#include "server/util/clock.h"

namespace fgw {

class ConfigWatcher;

// The admin gRPC listener's readiness service name.
inline constexpr char kReadinessService[] = "readiness";

// What serves the calls. `handler` and `reflection` must outlive the GatewayApp.
struct AppBackend {
  UnaryCallHandler* handler = nullptr;
  StreamCallHandler* streams = nullptr;  // The Stream rpcs; may be null.
  const ReflectionSource* reflection = nullptr;
  std::vector<std::string> service_names;
  // Runs once, after the server has drained (GatewayEngine::Shutdown). May be empty.
  std::function<void()> shutdown;
  // OK when ready to serve, else why not (GatewayEngine::Ready). Empty: always ready.
  std::function<absl::Status()> ready;
  // The Prometheus text for /metrics (PrometheusMetrics::Scrape). Empty: no /metrics.
  std::function<std::string()> metrics;
  // The backend's part of a reload (GatewayEngine::ApplyReload). May be empty.
  std::function<absl::Status(const GatewayConfig&)> reload;
  // The handler identifies callers (a caller policy with callers): a plaintext non-loopback
  // listener is then allowed (GatewayServer::Start).
  bool authenticates_callers = false;
};

struct AppOptions {
  Clock* clock =
      nullptr;  // Drain delay, readiness refresh, file checks. Null: RealClock().
  // Loads the config again for Reload(). Empty: Reload() answers FAILED_PRECONDITION.
  std::function<absl::StatusOr<GatewayConfig>()> load_config;
  std::string config_path;  // Watched for changes when not empty.
  absl::Duration watch_interval = absl::Seconds(2);
};

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it starts
// afterwards.
void BlockTerminationSignals();

// The gRPC server options a config asks for.
ServerOptions ServerOptionsFrom(const GatewayConfig& config);

class GatewayApp {
 public:
  using ReloadHook = std::function<absl::Status(const GatewayConfig& next)>;

  // Starts serving on config.listen (and the admin listeners). Errors: those of
  // GatewayServer::Start and AdminHttpServer::Start.
  static absl::StatusOr<std::unique_ptr<GatewayApp>> Start(
      const GatewayConfig& config, AppBackend backend,
      AppOptions options = AppOptions());
  ~GatewayApp();

  int port() const { return server_->port(); }
  const std::string& address() const { return server_->address(); }
  // 0 / "" when that admin listener is off.
  int admin_http_port() const;
  int admin_grpc_port() const;
  std::string admin_grpc_address() const;

  // Waits for signals as described above until a drain and shutdown ran (or Stop() was called
  // from another thread). Returns the process exit code: 0.
  int RunUntilSignal();

  // NOT_SERVING everywhere at once; calls keep being served. Idempotent.
  void BeginDrain();
  bool draining() const { return draining_.load(); }
  // Readiness as /readyz reports it.
  absl::Status Ready();

  // Graceful shutdown without the drain delay; returns once done. Idempotent; wakes
  // RunUntilSignal().
  void Stop();

  absl::Status Reload();
  void AddReloadHook(std::string name, ReloadHook hook);
  // Reloads that applied (for tests and logs).
  int reloads_applied() const { return reloads_applied_.load(); }

 private:
  GatewayApp(const GatewayConfig& config, AppBackend backend,
             AppOptions options);
  absl::Status StartAdmin(const GatewayConfig& config);
  absl::Status ReloadOnce();
  void RefreshReadiness();
  // Waits up to drain_delay (ends early on Stop()).
  void WaitDrainDelay();

  // Set by Start(), then only read; Stop() runs the shutdown once (stopping_).
  const absl::Duration grace_;
  const absl::Duration drain_delay_;
  AppBackend backend_;
  const AppOptions options_;
  Clock* const clock_;
  std::unique_ptr<GatewayServer> server_;
  std::unique_ptr<GatewayServer> admin_grpc_;
  std::unique_ptr<AdminHttpServer> admin_http_;
  std::unique_ptr<ConfigWatcher> watcher_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopped_flag_{false};  // /healthz's liveness.

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
  pthread_t waiter_ ABSL_GUARDED_BY(mu_){};
  GatewayConfig running_ ABSL_GUARDED_BY(mu_);  // The config as last applied.
  std::vector<std::pair<std::string, ReloadHook>> hooks_ ABSL_GUARDED_BY(mu_);

  // Readiness refresh timer; run_mu_ shared by the timer, exclusive by Stop().
  absl::Mutex run_mu_;
  bool timers_stopped_ ABSL_GUARDED_BY(run_mu_) = false;
  Clock::TimerId readiness_timer_ ABSL_GUARDED_BY(mu_) = 0;

  // Reload serialization without a lock held across hooks: pending_ counts requests.
  std::atomic<int> reload_requests_{0};
  std::atomic<int> reloads_applied_{0};
};

}  // namespace fgw

#endif  // FGW_SERVER_APP_GATEWAY_APP_H_
