// AdminHttpServer: the admin listener's HTTP side (admin.listen), on civetweb (Debian
// libcivetweb, which prometheus-cpp's pull library also uses). It serves exactly:
//
//   GET /healthz   200 "ok" while AdminHandlers::live says so (the process is up, draining
//                  included: a liveness probe must not restart a draining gateway), else 503
//   GET /readyz    200 "ready" when AdminHandlers::ready says OK, else 503 with its reason
//   GET /metrics   200, the Prometheus text format (AdminHandlers::metrics)
//
// HEAD is answered like GET without a body. Any other method: 405 (Allow: GET, HEAD); any
// other path: 404. No files, no directory listing, no CGI, no keep-alive; a request line and
// headers over 8 KiB are refused by civetweb; each connection is bounded by a 10 s request
// timeout; `threads` connections are served at once (others wait in the backlog). Nothing of a
// request (path, query, headers) is logged or echoed.
//
// The listener takes "host:port" with an IP literal ("0.0.0.0:9090", "127.0.0.2:0",
// "[::]:9090"); port 0 picks a free port (port() reports it). Errors from Start():
// INVALID_ARGUMENT for another form (unix sockets included), UNAVAILABLE when civetweb cannot
// bind.
//
// Thread safety: the handlers are called concurrently from civetweb's threads and must not
// block for long (the metrics text is built in the request). Stop() (also run by the
// destructor) waits for requests being served, then returns; idempotent; callable from any
// thread except a handler's.
#ifndef FGW_SERVER_ADMIN_ADMIN_HTTP_SERVER_H_
#define FGW_SERVER_ADMIN_ADMIN_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

struct mg_context;
struct mg_connection;

namespace fgw {

struct AdminHandlers {
  std::function<bool()> live;  // Null: always live.
  std::function<absl::Status()>
      ready;  // Null: always ready. The message says why not.
  std::function<std::string()> metrics;  // Null: /metrics is 404.
};

struct AdminHttpOptions {
  std::string listen;  // host:port, see above.
  int threads = 2;     // 1..16.
};

class AdminHttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<AdminHttpServer>> Start(
      const AdminHttpOptions& options, AdminHandlers handlers);
  ~AdminHttpServer();
  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;

  int port() const { return port_; }
  // "127.0.0.2:40123" (IPv6: "[::1]:40123").
  const std::string& address() const { return address_; }

  void Stop();

 private:
  explicit AdminHttpServer(AdminHandlers handlers)
      : handlers_(std::move(handlers)) {}
  static int Handle(mg_connection* conn, void* self);

  const AdminHandlers handlers_;
  int port_ = 0;
  std::string address_;
  absl::Mutex mu_;
  mg_context* context_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace fgw

#endif  // FGW_SERVER_ADMIN_ADMIN_HTTP_SERVER_H_
