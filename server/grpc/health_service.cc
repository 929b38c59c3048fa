#include "server/grpc/health_service.h"

#include <utility>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace fgw {
namespace {

using ::google::protobuf::internal::WireFormatLite;

constexpr char kInvalidRequest[] =
    "request does not parse as grpc.health.v1.HealthCheckRequest";

}  // namespace

absl::StatusOr<std::string> ParseHealthCheckRequest(const std::string& bytes) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  std::string service;
  bool ok = true;
  while (uint32_t tag = in.ReadTag()) {
    if (tag ==
        WireFormatLite::MakeTag(1, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      ok = WireFormatLite::ReadString(&in, &service);
    } else {
      ok = WireFormatLite::SkipField(&in, tag);
    }
    if (!ok) break;
  }
  if (!ok || !in.ConsumedEntireMessage()) {
    return absl::InvalidArgumentError("HealthCheckRequest does not parse");
  }
  return service;
}

std::string HealthCheckResponseBytes(HealthService::Status status) {
  std::string out;
  if (status != HealthService::kUnknown) {  // proto3: the default is not sent.
    out.push_back(static_cast<char>(
        WireFormatLite::MakeTag(1, WireFormatLite::WIRETYPE_VARINT)));
    out.push_back(static_cast<char>(status));
  }
  return out;
}

class HealthService::WatchReactor final : public CallReactor {
 public:
  explicit WatchReactor(HealthService* health) : health_(health) {}

  void OnMessage(ServerCall* call, std::string message) override {
    if (++messages_ > 1) {
      call->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "Watch takes exactly one request message"));
      return;
    }
    absl::StatusOr<std::string> service = ParseHealthCheckRequest(message);
    if (!service.ok()) {
      call->Finish(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, kInvalidRequest));
      return;
    }
    health_->AddWatcher(
        this, Watcher{*service, std::make_shared<ServerCall::Hold>(call)});
  }
  void OnHalfClose(ServerCall* call) override {
    if (messages_ == 0) {
      call->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "Watch takes exactly one request message"));
    }
    // Otherwise the stream goes on until the client cancels.
  }
  void OnCancel(ServerCall* /*call*/) override { health_->RemoveWatcher(this); }

 private:
  HealthService* const health_;
  int messages_ = 0;
};

HealthService::HealthService(std::vector<std::string> services)
    : services_(services.begin(), services.end()) {}

HealthService::~HealthService() { Shutdown(); }

HealthService::Status HealthService::StatusLocked(
    const std::string& service) const {
  if (!service.empty() && services_.count(service) == 0) return kServiceUnknown;
  if (!serving_) return kNotServing;
  auto gate = gates_.find(service);
  return (gate == gates_.end() || gate->second) ? kServing : kNotServing;
}

HealthService::Status HealthService::StatusOf(
    const std::string& service) const {
  absl::MutexLock lock(&mu_);
  return StatusLocked(service);
}

void HealthService::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  if (shutdown_ || serving_ == serving) return;
  const std::vector<Status> before = WatcherStatusesLocked();
  serving_ = serving;
  NotifyChangesLocked(before);
}

void HealthService::SetGate(const std::string& service, bool open) {
  absl::MutexLock lock(&mu_);
  if (shutdown_ || services_.count(service) == 0) return;
  auto it = gates_.find(service);
  if (it != gates_.end() && it->second == open) return;
  const std::vector<Status> before = WatcherStatusesLocked();
  gates_[service] = open;
  NotifyChangesLocked(before);
}

std::vector<HealthService::Status> HealthService::WatcherStatusesLocked()
    const {
  std::vector<Status> statuses;
  statuses.reserve(watchers_.size());
  for (const auto& [key, watcher] : watchers_) {
    statuses.push_back(StatusLocked(watcher.service));
  }
  return statuses;
}

void HealthService::NotifyChangesLocked(const std::vector<Status>& before) {
  // ServerCall::Write only queues (it never calls back): safe under the lock, and keeps the
  // updates of concurrent calls in order.
  size_t i = 0;
  for (auto& [key, watcher] : watchers_) {
    const Status now = StatusLocked(watcher.service);
    if (now != before[i++]) {
      watcher.hold->call()->Write(HealthCheckResponseBytes(now));
    }
  }
}

void HealthService::Shutdown() {
  std::map<const void*, Watcher> ended;
  {
    absl::MutexLock lock(&mu_);
    if (shutdown_) return;
    shutdown_ = true;
    serving_ = false;
    ended.swap(watchers_);
  }
  for (auto& [key, watcher] : ended) {
    ServerCall* call = watcher.hold->call();
    if (watcher.service.empty() || services_.count(watcher.service) != 0) {
      call->Write(HealthCheckResponseBytes(kNotServing));
    }
    call->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the gateway is shutting down"));
  }
}

void HealthService::AddWatcher(const void* key, Watcher watcher) {
  ServerCall* call = watcher.hold->call();
  absl::MutexLock lock(&mu_);
  call->Write(HealthCheckResponseBytes(StatusLocked(watcher.service)));
  if (shutdown_) {
    call->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the gateway is shutting down"));
    return;  // `watcher` (and its hold) goes after the lock is released.
  }
  watchers_.emplace(key, std::move(watcher));
}

void HealthService::RemoveWatcher(const void* key) {
  Watcher removed;
  absl::MutexLock lock(&mu_);
  auto it = watchers_.find(key);
  if (it == watchers_.end()) return;
  removed = std::move(it->second);
  watchers_.erase(it);
}

void HealthService::HandleUnary(const IncomingCall& /*call*/,
                                std::string request,
                                std::function<void(CallResult)> done) {
  CallResult result;
  absl::StatusOr<std::string> service = ParseHealthCheckRequest(request);
  if (!service.ok()) {
    result.status = absl::InvalidArgumentError(kInvalidRequest);
  } else if (Status status = StatusOf(*service); status == kServiceUnknown) {
    result.status = absl::NotFoundError("unknown service " + *service);
  } else {
    result.response = HealthCheckResponseBytes(status);
  }
  done(std::move(result));
}

std::unique_ptr<CallReactor> HealthService::NewWatchReactor() {
  return std::make_unique<WatchReactor>(this);
}

}  // namespace fgw
