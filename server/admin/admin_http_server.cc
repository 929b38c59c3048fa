#include "server/admin/admin_http_server.h"

#include <civetweb.h>

#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/config/listen_address.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

constexpr char kMetricsContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";
constexpr char kTextContentType[] = "text/plain; charset=utf-8";

bool IsIpLiteral(const std::string& host) {
  // civetweb binds numeric addresses only; a name would be resolved nowhere.
  for (char c : host) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
          (c >= 'A' && c <= 'F') || c == '.' || c == ':')) {
      return false;
    }
  }
  return !host.empty();
}

void Reply(mg_connection* conn, bool head, int status, const char* reason,
           const char* content_type, const std::string& body,
           const char* extra_header = "") {
  std::string head_text = absl::StrCat(
      "HTTP/1.1 ", status, " ", reason, "\r\nContent-Type: ", content_type,
      "\r\nContent-Length: ", body.size(),
      "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
      extra_header, "Connection: close\r\n\r\n");
  mg_write(conn, head_text.data(), head_text.size());
  if (!head && !body.empty()) mg_write(conn, body.data(), body.size());
}

int LogMessage(const mg_connection*, const char* message) {
  // civetweb's own errors (bind failures, bad requests); never request content of ours.
  spdlog::debug("admin http: {}", message != nullptr ? message : "");
  return 1;  // Handled: civetweb writes no error log of its own.
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminHttpServer>> AdminHttpServer::Start(
    const AdminHttpOptions& options, AdminHandlers handlers) {
  absl::StatusOr<ListenAddress> listen = ParseListenAddress(options.listen);
  if (!listen.ok()) return listen.status();
  if (listen->kind != ListenAddress::Kind::kTcp || !IsIpLiteral(listen->host)) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin listen address \"", options.listen,
                     "\": expected IP:port (\"0.0.0.0:9090\", \"127.0.0.1:0\", "
                     "\"[::]:9090\")"));
  }
  if (options.threads < 1 || options.threads > 16) {
    return absl::InvalidArgumentError("admin threads must be from 1 to 16");
  }
  const bool v6 = listen->host.find(':') != std::string::npos;
  const std::string ports =
      v6 ? absl::StrCat("[", listen->host, "]:", listen->port)
         : absl::StrCat(listen->host, ":", listen->port);
  const std::string threads = absl::StrCat(options.threads);
  const char* civet_options[] = {"listening_ports",
                                 ports.c_str(),
                                 "num_threads",
                                 threads.c_str(),
                                 "request_timeout_ms",
                                 "10000",
                                 "enable_keep_alive",
                                 "no",
                                 "enable_directory_listing",
                                 "no",
                                 "max_request_size",
                                 "8192",
                                 nullptr};
  std::unique_ptr<AdminHttpServer> self(
      new AdminHttpServer(std::move(handlers)));
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  callbacks.log_message = LogMessage;
  mg_context* context = mg_start(&callbacks, nullptr, civet_options);
  if (context == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen,
                     " (admin: address in use, not permitted, or no such "
                     "interface)"));
  }
  mg_set_request_handler(context, "/", &AdminHttpServer::Handle, self.get());
  mg_server_port bound[4];
  std::memset(bound, 0, sizeof(bound));
  const int n = mg_get_server_ports(context, 4, bound);
  self->port_ = n > 0 ? bound[0].port : listen->port;
  self->address_ = v6 ? absl::StrCat("[", listen->host, "]:", self->port_)
                      : absl::StrCat(listen->host, ":", self->port_);
  {
    absl::MutexLock lock(&self->mu_);
    self->context_ = context;
  }
  spdlog::info("admin: http listening on {} (/healthz /readyz /metrics)",
               self->address_);
  return self;
}

AdminHttpServer::~AdminHttpServer() { Stop(); }

void AdminHttpServer::Stop() {
  mg_context* context;
  {
    absl::MutexLock lock(&mu_);
    context = context_;
    context_ = nullptr;
  }
  if (context != nullptr) mg_stop(context);  // Joins civetweb's threads.
}

int AdminHttpServer::Handle(mg_connection* conn, void* cbdata) {
  const AdminHttpServer* self = static_cast<const AdminHttpServer*>(cbdata);
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string method = info != nullptr && info->request_method != nullptr
                                 ? info->request_method
                                 : "";
  const std::string path =
      info != nullptr && info->local_uri != nullptr ? info->local_uri : "";
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    Reply(conn, false, 405, "Method Not Allowed", kTextContentType,
          "method not allowed\n", "Allow: GET, HEAD\r\n");
    return 405;
  }
  const AdminHandlers& h = self->handlers_;
  if (path == "/healthz") {
    if (!h.live || h.live()) {
      Reply(conn, head, 200, "OK", kTextContentType, "ok\n");
      return 200;
    }
    Reply(conn, head, 503, "Service Unavailable", kTextContentType,
          "shutting down\n");
    return 503;
  }
  if (path == "/readyz") {
    absl::Status ready = h.ready ? h.ready() : absl::OkStatus();
    if (ready.ok()) {
      Reply(conn, head, 200, "OK", kTextContentType, "ready\n");
      return 200;
    }
    Reply(conn, head, 503, "Service Unavailable", kTextContentType,
          absl::StrCat("not ready: ", ready.message(), "\n"));
    return 503;
  }
  if (path == "/metrics" && h.metrics) {
    Reply(conn, head, 200, "OK", kMetricsContentType, h.metrics());
    return 200;
  }
  Reply(conn, head, 404, "Not Found", kTextContentType, "not found\n");
  return 404;
}

}  // namespace fgw
