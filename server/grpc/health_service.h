// HealthService: grpc.health.v1.Health (Check and Watch) for "" and the listed services,
// served as reactors of the daemon's one generic service (server_call.h), so the server
// starts no polling threads of its own for it.
//
//   Check   SERVING / NOT_SERVING for a known service; NOT_FOUND for an unknown one. A unary
//           call: the server serves it with a UnaryReactor over this UnaryCallHandler.
//   Watch   the current status at once (SERVICE_UNKNOWN for an unknown service), then each
//           change; ends when the client cancels, or with UNAVAILABLE after Shutdown().
// A request that does not parse as HealthCheckRequest finishes with INVALID_ARGUMENT.
//
// Every service starts NOT_SERVING. SetServing() changes them all; SetGate() adds a condition
// of one listed service of its own (the admin listener's "readiness": SERVING only while the
// gateway is serving AND ready). After Shutdown() every service is NOT_SERVING for good and
// later SetServing()/SetGate() calls are ignored.
//
// Thread safety: all methods may be called from any thread. A Watch keeps its call alive
// (ServerCall::Hold) until it ends. The service must outlive the server.
#ifndef FGW_SERVER_GRPC_HEALTH_SERVICE_H_
#define FGW_SERVER_GRPC_HEALTH_SERVICE_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/grpc/call_handler.h"
#include "server/grpc/server_call.h"

namespace fgw {

inline constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";
inline constexpr char kHealthWatchMethod[] = "/grpc.health.v1.Health/Watch";

class HealthService final : public UnaryCallHandler {
 public:
  // grpc.health.v1.HealthCheckResponse.ServingStatus.
  enum Status {
    kUnknown = 0,
    kServing = 1,
    kNotServing = 2,
    kServiceUnknown = 3
  };

  explicit HealthService(std::vector<std::string> services);
  ~HealthService() override;

  void SetServing(bool serving) ABSL_LOCKS_EXCLUDED(mu_);
  // `service` (one of the listed) reports SERVING only while serving and `open`; ungated
  // services are unaffected. Unknown services are ignored.
  void SetGate(const std::string& service, bool open) ABSL_LOCKS_EXCLUDED(mu_);
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);
  // The status Watch reports for `service`.
  Status StatusOf(const std::string& service) const ABSL_LOCKS_EXCLUDED(mu_);

  // Check (never blocks; answers inline).
  void HandleUnary(const IncomingCall& call, std::string request,
                   std::function<void(CallResult)> done) override;
  std::unique_ptr<CallReactor> NewWatchReactor();

 private:
  class WatchReactor;
  struct Watcher {
    std::string service;
    std::shared_ptr<ServerCall::Hold> hold;
  };

  Status StatusLocked(const std::string& service) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The status of each watcher (in watchers_ order); after a change, NotifyChangesLocked
  // writes the new status to each watcher whose status differs from `before`.
  std::vector<Status> WatcherStatusesLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotifyChangesLocked(const std::vector<Status>& before)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddWatcher(const void* key, Watcher watcher) ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveWatcher(const void* key) ABSL_LOCKS_EXCLUDED(mu_);

  const std::set<std::string> services_;
  mutable absl::Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, bool> gates_ ABSL_GUARDED_BY(mu_);
  std::map<const void*, Watcher> watchers_ ABSL_GUARDED_BY(mu_);
};

// Wire form of the two messages (field 1 each), exposed for tests.
absl::StatusOr<std::string> ParseHealthCheckRequest(const std::string& bytes);
std::string HealthCheckResponseBytes(HealthService::Status status);

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_HEALTH_SERVICE_H_
