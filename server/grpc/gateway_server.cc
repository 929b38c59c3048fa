#include "server/grpc/gateway_server.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "server/config/listen_address.h"
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
                             UnaryCallHandler* handler)
    : service_names_(std::move(service_names)),
      reflection_(reflection, service_names_),
      generic_(handler, &reflection_) {}

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

  std::unique_ptr<GatewayServer> self(
      new GatewayServer(std::move(service_names), reflection, handler));

  // Process-wide switch; read by ServerBuilder::BuildAndStart.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int selected_port = 0;
  const std::string uri = listen->ToGrpcUri();
  builder.AddListeningPort(uri, grpc::InsecureServerCredentials(),
                           &selected_port);
  builder.RegisterCallbackGenericService(&self->generic_);
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
  self->SetServing(true);
  spdlog::info("grpc: listening on {} ({} services)", self->address_,
               self->service_names_.size());
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
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus(serving);
  for (const std::string& name : service_names_)
    health->SetServingStatus(name, serving);
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
  if (grpc::HealthCheckServiceInterface* health =
          server_->GetHealthCheckService()) {
    health->Shutdown();  // Every status NOT_SERVING; later updates ignored.
  }
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  absl::MutexLock lock(&mu_);
  shutdown_done_ = true;
}

void GatewayServer::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&shutdown_done_));
}

}  // namespace fgw
