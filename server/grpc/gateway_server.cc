#include "server/grpc/gateway_server.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "server/config/listen_address.h"
#include "server/grpc/unary_reactor.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

int ClampToInt(int64_t value) {
  if (value > std::numeric_limits<int>::max())
    return std::numeric_limits<int>::max();
  if (value < 1) return 1;
  return static_cast<int>(value);
}

}  // namespace

GatewayServer::GatewayServer(std::vector<std::string> service_names,
                             const ReflectionSource* reflection,
                             UnaryCallHandler* handler, bool health_only)
    : service_names_(std::move(service_names)),
      handler_(health_only ? nullptr : handler),
      reflection_(reflection, service_names_),
      health_(service_names_),
      reactors_([this, health_only](
                    const std::string& method) -> std::unique_ptr<CallReactor> {
        if (method == kHealthCheckMethod) {
          return std::make_unique<UnaryReactor>(&health_);
        }
        if (method == kHealthWatchMethod) return health_.NewWatchReactor();
        if ((method == kReflectionMethod || method == kReflectionV1Method) &&
            !health_only) {
          return reflection_.NewReactor();
        }
        return std::make_unique<UnaryReactor>(
            handler_);  // Null: UNIMPLEMENTED.
      }) {}

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(
    const ServerOptions& options, UnaryCallHandler* handler,
    const ReflectionSource* reflection,
    std::vector<std::string> service_names) {
  absl::StatusOr<ListenAddress> listen = ParseListenAddress(options.listen);
  if (!listen.ok()) return listen.status();
  if (options.max_message_bytes < 1) {
    return absl::InvalidArgumentError("max message size must be positive");
  }
  if (options.keepalive_time <= absl::ZeroDuration() ||
      options.keepalive_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "keepalive time and timeout must be positive");
  }
  if (options.completion_queues < 1 || options.completion_queues > 64) {
    return absl::InvalidArgumentError(
        "completion queue threads must be between 1 and 64");
  }

  std::unique_ptr<GatewayServer> self(new GatewayServer(
      std::move(service_names), reflection, handler, options.health_only));

  // Health is served by our own reactors: gRPC's default service is a callback service,
  // and any callback service starts extra polling threads.
  grpc::EnableDefaultHealthCheckService(false);
  grpc::ServerBuilder builder;
  int selected_port = 0;
  const std::string uri = listen->ToGrpcUri();
  builder.AddListeningPort(uri, grpc::InsecureServerCredentials(),
                           &selected_port);
  builder.RegisterAsyncGenericService(&self->generic_);
  for (int i = 0; i < options.completion_queues; ++i) {
    self->queues_.push_back(builder.AddCompletionQueue());
  }
  builder.SetMaxReceiveMessageSize(ClampToInt(options.max_message_bytes));
  builder.SetMaxSendMessageSize(ClampToInt(options.max_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIME_MS,
      ClampToInt(absl::ToInt64Milliseconds(options.keepalive_time)));
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      ClampToInt(absl::ToInt64Milliseconds(options.keepalive_timeout)));
  // Clients that keep idle connections alive with pings (every 10 s at most) are not
  // punished with GOAWAY.
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);

  self->server_ = builder.BuildAndStart();
  if (self->server_ == nullptr ||
      (listen->kind == ListenAddress::Kind::kTcp && selected_port == 0)) {
    if (self->server_ != nullptr) self->server_->Shutdown();
    self->StopQueues();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen,
                     " (address in use, not permitted, or no such interface)"));
  }
  if (listen->kind == ListenAddress::Kind::kTcp) {
    self->port_ = selected_port;
    ListenAddress bound = *listen;
    bound.port = selected_port;
    self->address_ = bound.ToGrpcUri();
  } else {
    self->address_ = uri;
  }
  // Enough listening slots per queue that a burst of new calls does not wait for the
  // queue's thread to post the next one.
  constexpr int kSlotsPerQueue = 16;
  for (auto& queue : self->queues_) {
    auto& call_queue =
        self->call_queues_.emplace_back(std::make_unique<CallQueue>());
    call_queue->service = &self->generic_;
    call_queue->cq = queue.get();
    call_queue->factory = &self->reactors_;
    call_queue->tracker = self->calls_.get();
    for (int i = 0; i < kSlotsPerQueue; ++i)
      ServerCall::Listen(call_queue.get());
    self->queue_threads_.emplace_back(ServeCompletionQueue, queue.get());
  }
  self->SetServing(true);
  if (options.health_only) {
    spdlog::info("admin: grpc health listening on {}", self->address_);
  } else {
    spdlog::info("grpc: listening on {} ({} services)", self->address_,
                 self->service_names_.size());
  }
  return self;
}

GatewayServer::~GatewayServer() {
  if (server_ != nullptr) Shutdown(absl::ZeroDuration());
}

void GatewayServer::SetServing(bool serving) {
  {
    absl::MutexLock lock(&mu_);
    if (shutdown_started_) return;
  }
  health_.SetServing(serving);
}

void GatewayServer::SetGate(const std::string& service, bool open) {
  {
    absl::MutexLock lock(&mu_);
    if (shutdown_started_) return;
  }
  health_.SetGate(service, open);
}

void GatewayServer::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (shutdown_started_) {
      // Another thread is shutting down: wait until it is done.
      mu_.Await(absl::Condition(&shutdown_done_));
      return;
    }
    shutdown_started_ = true;
  }
  spdlog::info("grpc: shutting down (grace {})", absl::FormatDuration(grace));
  health_.Shutdown();  // Every status NOT_SERVING; watches end.
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  StopQueues();
  absl::MutexLock lock(&mu_);
  shutdown_done_ = true;
}

void GatewayServer::StopQueues() {
  // Calls still alive hold operations on the queues (a handler's `done` may still be on its
  // way from the upstream's threads); shutting a queue down under them would abort.
  if (!calls_->WaitForNone(absl::Seconds(30))) {
    // A handler broke its contract (never answered). Leave its call, the queues and their
    // threads running rather than free what they use: the process is on its way out.
    spdlog::error("grpc: calls still alive 30 s after shutdown; leaving them");
    for (auto& thread : queue_threads_) thread.detach();
    queue_threads_.clear();
    for (auto& queue : queues_) queue.release();
    queues_.clear();
    for (auto& call_queue : call_queues_) call_queue.release();
    call_queues_.clear();
    calls_.release();
    return;
  }
  for (auto& queue : queues_) queue->Shutdown();
  for (auto& thread : queue_threads_) thread.join();
  queue_threads_.clear();
  for (auto& queue : queues_) {
    void* tag = nullptr;
    bool ok = false;
    while (queue->Next(&tag, &ok)) {
    }
  }
}

void GatewayServer::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&shutdown_done_));
}

}  // namespace fgw
