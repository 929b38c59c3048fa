// GatewayApp: the daemon's lifecycle around whatever answers the calls (the GatewayEngine in
// production, fakes in tests): start the gRPC server with the health service SERVING, wait for
// SIGTERM/SIGINT, then shut down gracefully (NOT_SERVING, drain in-flight calls for up to
// grpc.shutdown_grace, cancel the rest, then stop the backend) and exit 0.
//
// Signals: call BlockTerminationSignals() first thing in main(), before any thread exists, so
// every thread (gRPC's included) inherits the mask and only RunUntilSignal() receives them.
//
// Thread safety: Stop() may be called from any thread, any number of times; the other methods
// from the owning thread.
#ifndef FGW_SERVER_APP_GATEWAY_APP_H_
#define FGW_SERVER_APP_GATEWAY_APP_H_

#include <pthread.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/config/gateway_config.h"
#include "server/grpc/call_handler.h"
#include "server/grpc/gateway_server.h"
#include "server/grpc/reflection_service.h"

namespace fgw {

// What serves the calls. `handler` and `reflection` must outlive the GatewayApp.
struct AppBackend {
  UnaryCallHandler* handler = nullptr;
  StreamCallHandler* streams = nullptr;  // The Stream rpcs; may be null.
  const ReflectionSource* reflection = nullptr;
  std::vector<std::string> service_names;
  // Runs once, after the server has drained (GatewayEngine::Shutdown). May be empty.
  std::function<void()> shutdown;
  // The handler identifies callers (a caller policy with callers): a plaintext non-loopback
  // listener is then allowed (GatewayServer::Start).
  bool authenticates_callers = false;
};

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts afterwards.
void BlockTerminationSignals();

// The gRPC server options a config asks for.
ServerOptions ServerOptionsFrom(const GatewayConfig& config);

class GatewayApp {
 public:
  // Starts serving on config.listen. Errors: those of GatewayServer::Start.
  static absl::StatusOr<std::unique_ptr<GatewayApp>> Start(
      const GatewayConfig& config, AppBackend backend);
  ~GatewayApp();

  int port() const { return server_->port(); }
  const std::string& address() const { return server_->address(); }

  // Waits for SIGTERM or SIGINT (blocked beforehand by BlockTerminationSignals) or for Stop()
  // from another thread, then stops gracefully. Returns the process exit code: 0.
  int RunUntilSignal();

  // Graceful shutdown as described above; returns once done. Idempotent; wakes
  // RunUntilSignal().
  void Stop();

 private:
  GatewayApp(const GatewayConfig& config, AppBackend backend);

  // Set by Start(), then only read; Stop() runs the shutdown once (stopping_).
  const absl::Duration grace_;
  AppBackend backend_;
  std::unique_ptr<GatewayServer> server_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
  pthread_t waiter_ ABSL_GUARDED_BY(mu_){};
};

}  // namespace fgw

#endif  // FGW_SERVER_APP_GATEWAY_APP_H_
