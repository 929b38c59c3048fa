#include "server/grpc/gateway_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/server_builder.h"
#include "server/config/listen_address.h"
#include "server/grpc/stream_reactor.h"
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

absl::Status CheckReadable(const std::string& path, const char* key) {
  if (access(path.c_str(), R_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(key, ": cannot read ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// The listener's credentials: plaintext, or TLS from files gRPC re-reads when they change.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ListenerCredentials(
    const TlsConfig& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  for (auto [path, key] :
       {std::pair{&tls.cert_file, "grpc.tls.cert_file"},
        std::pair{&tls.key_file, "grpc.tls.key_file"},
        std::pair{&tls.client_ca_file, "grpc.tls.client_ca_file"}}) {
    if (path->empty()) continue;
    if (absl::Status s = CheckReadable(*path, key); !s.ok()) return s;
  }
  const auto refresh = static_cast<unsigned int>(
      std::max<int64_t>(1, absl::ToInt64Seconds(tls.refresh_interval)));
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          tls.key_file, tls.cert_file, tls.client_ca_file, refresh);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  ClientCertificates mode = tls.client_certificates;
  if (mode == ClientCertificates::kAuto) {
    mode = tls.client_ca_file.empty() ? ClientCertificates::kNone
                                      : ClientCertificates::kRequire;
  }
  if (!tls.client_ca_file.empty()) options.watch_root_certs();
  switch (mode) {
    case ClientCertificates::kAuto:
    case ClientCertificates::kNone:
      options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
      break;
    case ClientCertificates::kOptional:
      options.set_cert_request_type(
          GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
      break;
    case ClientCertificates::kRequire:
      options.set_cert_request_type(
          GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      break;
  }
  return grpc::experimental::TlsServerCredentials(options);
}

// Refuses (or warns about) a listener anyone on the network can use.
absl::Status CheckExposure(const ServerOptions& options,
                           const ListenAddress& listen) {
  if (listen.IsLoopback()) return absl::OkStatus();
  if (options.tls.enabled()) return absl::OkStatus();
  if (options.authenticates_callers) {
    spdlog::warn(
        "grpc: {} is not a loopback address and has no TLS: API keys cross "
        "the network in clear text (configure grpc.tls)",
        options.listen);
    return absl::OkStatus();
  }
  if (!options.allow_insecure_remote) {
    return absl::FailedPreconditionError(absl::StrCat(
        "listen ", options.listen,
        " is not a loopback address, and the listener has neither TLS "
        "(grpc.tls) nor callers (policy.callers): anyone who can reach it "
        "would spend the organisation's Formance credentials. Configure TLS "
        "or callers, or set grpc.allow_insecure_remote: true "
        "(FGW_ALLOW_INSECURE_REMOTE=1) to accept that"));
  }
  spdlog::warn(
      "grpc: listening on {} without TLS or caller authentication "
      "(grpc.allow_insecure_remote): anyone who can reach it may call every "
      "method with the organisation's Formance credentials",
      options.listen);
  return absl::OkStatus();
}

}  // namespace

GatewayServer::GatewayServer(std::vector<std::string> service_names,
                             const ReflectionSource* reflection,
                             UnaryCallHandler* handler,
                             StreamCallHandler* streams, bool tls,
                             bool health_only)
    : service_names_(std::move(service_names)),
      handler_(health_only ? nullptr : handler),
      streams_(health_only ? nullptr : streams),
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
        if (streams_ != nullptr && streams_->IsStream(method)) {
          return std::make_unique<StreamReactor>(streams_, tls_);
        }
        return std::make_unique<UnaryReactor>(handler_,
                                              tls_);  // Null: UNIMPLEMENTED.
      }),
      tls_(tls) {}

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(
    const ServerOptions& options, UnaryCallHandler* handler,
    const ReflectionSource* reflection, std::vector<std::string> service_names,
    StreamCallHandler* streams) {
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

  // The health-only admin server answers nothing but health: it may listen anywhere.
  if (!options.health_only) {
    if (absl::Status exposed = CheckExposure(options, *listen); !exposed.ok()) {
      return exposed;
    }
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ListenerCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();

  std::unique_ptr<GatewayServer> self(
      new GatewayServer(std::move(service_names), reflection, handler, streams,
                        options.tls.enabled(), options.health_only));

  // Health is served by our own reactors: gRPC's default service is a callback service,
  // and any callback service starts extra polling threads.
  grpc::EnableDefaultHealthCheckService(false);
  grpc::ServerBuilder builder;
  int selected_port = 0;
  const std::string uri = listen->ToGrpcUri();
  builder.AddListeningPort(uri, *credentials, &selected_port);
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
    if (!options.unix_socket_mode.empty()) {
      const auto mode = static_cast<mode_t>(
          std::stoul(options.unix_socket_mode, nullptr, 8) & 0777);
      if (chmod(listen->path.c_str(), mode) != 0) {
        const int err = errno;
        self->server_->Shutdown();
        self->StopQueues();
        return absl::FailedPreconditionError(
            absl::StrCat("grpc.unix_socket_mode: cannot chmod ", listen->path,
                         ": ", std::strerror(err)));
      }
    }
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
    spdlog::info("grpc: listening on {} ({} services, {})", self->address_,
                 self->service_names_.size(),
                 !options.tls.enabled() ? "plaintext"
                 : options.tls.client_ca_file.empty()
                     ? "TLS"
                     : "TLS, client certificates");
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
