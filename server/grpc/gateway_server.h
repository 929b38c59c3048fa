// GatewayServer: the running gRPC server. One grpc::AsyncGenericService serves every method
// (ServerCall, server_call.h) on `completion_queues` completion queues, each drained by one
// thread of its own: the Formance methods (UnaryReactor -> the UnaryCallHandler; the Stream
// rpcs: StreamReactor -> the StreamCallHandler), server
// reflection (ReflectionService) and grpc.health.v1.Health (HealthService), which reports ""
// and every listed service SERVING from Start() until Shutdown(). No other service is
// registered, so gRPC starts no polling threads besides the queues'.
//
// Lifecycle: Start() binds and serves; Shutdown(grace) sets NOT_SERVING, ends health Watch
// streams, stops accepting, lets in-flight calls finish for up to `grace`, then cancels the
// rest, waits until every call is done and stops the completion-queue threads; Wait() blocks
// until Shutdown() has completed. Shutdown() is idempotent and may be called from any thread
// except a completion-queue thread (from a handler, say: it would wait for itself). The
// destructor shuts down with no grace if Shutdown() was not called.
//
// Listener security (ServerOptions::tls, grpc.tls): TLS, or mutual TLS with client
// certificates verified against client_ca_file, through gRPC's TlsServerCredentials with a
// FileWatcherCertificateProvider: the certificate, key and CA files are re-read every
// refresh_interval, so a rotated certificate is served without restart. A client certificate
// that does not verify (expired, unknown CA) fails the TLS handshake: the client sees
// UNAVAILABLE and no call exists. A unix socket gets `unix_socket_mode` after binding.
// A TCP listener on a non-loopback address with neither TLS nor callers
// (authenticates_callers) is refused unless allow_insecure_remote, and then logs a warning.
//
// Errors from Start(): INVALID_ARGUMENT for a malformed listen address or option,
// FAILED_PRECONDITION for an insecure non-loopback listener or a TLS file that cannot be read,
// UNAVAILABLE when the address cannot be bound (in use, not permitted). SO_REUSEPORT is off,
// so a second daemon on the same port fails instead of sharing it.
#ifndef FGW_SERVER_GRPC_GATEWAY_SERVER_H_
#define FGW_SERVER_GRPC_GATEWAY_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/server.h"
#include "server/config/gateway_config.h"
#include "server/grpc/call_handler.h"
#include "server/grpc/health_service.h"
#include "server/grpc/reflection_service.h"
#include "server/grpc/server_call.h"
#include "server/grpc/stream_call_handler.h"

namespace fgw {

// The defaults are GatewayConfig's (declared once, there: config sits below grpc).
struct ServerOptions {
  // host:port (port 0: any free port) or unix:/path.
  std::string listen = GatewayConfig().listen;
  int64_t max_message_bytes =
      GatewayConfig().max_message_bytes;  // Receive and send limit.
  absl::Duration keepalive_time = GatewayConfig().keepalive_time;
  absl::Duration keepalive_timeout = GatewayConfig().keepalive_timeout;
  // Threads that poll gRPC and run the calls' steps (request decoding and encoding); the
  // upstream's I/O threads decode the replies.
  int completion_queues = GatewayConfig().grpc_threads;
  TlsConfig tls;  // grpc.tls; off by default.
  std::string
      unix_socket_mode;  // grpc.unix_socket_mode ("0660"); empty: as created.
  bool allow_insecure_remote = GatewayConfig().allow_insecure_remote;
  // The caller policy identifies callers (callers configured): a plaintext non-loopback
  // listener is then allowed, with a warning that API keys cross the network in clear.
  bool authenticates_callers = false;
  // The admin listener's server (admin.grpc_listen): grpc.health.v1 only; every other method,
  // reflection included, answers UNIMPLEMENTED and no handler is called.
  bool health_only = false;
};

class GatewayServer {
 public:
  // `handler`, `reflection` and `streams` (any may be null) must outlive the server.
  // `service_names` are listed by reflection and reported SERVING by the health service. A
  // method streams.IsStream() names is served by a StreamReactor, any other by `handler`.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(
      const ServerOptions& options, UnaryCallHandler* handler,
      const ReflectionSource* reflection,
      std::vector<std::string> service_names,
      StreamCallHandler* streams = nullptr);

  ~GatewayServer();
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;

  // The bound TCP port (the chosen one when the address asked for port 0); 0 for unix sockets.
  int port() const { return port_; }
  // The address as bound: "127.0.0.1:40123" or "unix:/run/fgw.sock".
  const std::string& address() const { return address_; }

  // Health of "" and every listed service. Ignored after Shutdown() started.
  void SetServing(bool serving);
  // HealthService::SetGate for one listed service. Ignored after Shutdown() started.
  void SetGate(const std::string& service, bool open);

  void Shutdown(absl::Duration grace);
  void Wait();

 private:
  GatewayServer(std::vector<std::string> service_names,
                const ReflectionSource* reflection, UnaryCallHandler* handler,
                StreamCallHandler* streams, bool tls, bool health_only);

  // Stops the completion-queue threads once no call is alive; after server_->Shutdown().
  void StopQueues();

  // Set up by Start() before any queue thread runs, then only read, until the one Shutdown()
  // that set shutdown_started_ stops the queues (StopQueues: queues_, call_queues_,
  // queue_threads_, calls_). HealthService and CallTracker lock for themselves.
  const std::vector<std::string> service_names_;
  UnaryCallHandler* const handler_;
  StreamCallHandler* const streams_;
  ReflectionService reflection_;
  HealthService health_;
  const ReactorFactory reactors_;
  const bool tls_;  // Read client certificates for caller identity.
  grpc::AsyncGenericService generic_;
  std::unique_ptr<CallTracker> calls_ = std::make_unique<CallTracker>();
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::unique_ptr<CallQueue>> call_queues_;
  std::vector<std::thread> queue_threads_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string address_;

  absl::Mutex mu_;
  bool shutdown_started_ ABSL_GUARDED_BY(mu_) = false;
  bool shutdown_done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_GATEWAY_SERVER_H_
