// LoopbackHttpServer: a tiny HTTP/1.1 server on 127.0.0.1 (kernel-assigned port) for tests that
// need real sockets: transport tests, integration tests against a fake Formance, fault tests.
//
// - One thread accepts; each connection gets its own thread. Keep-alive: a connection serves
//   requests until the client closes it or sends "Connection: close".
// - Requests are parsed (request line, headers, Content-Length or chunked body) and recorded.
// - Each request is answered by the Handler's Reply: status, headers, body, an optional delay
//   before answering, or a fault (close without answering, send half a response then close,
//   reset the connection).
// - Content-Length is added to every reply (unless the handler set one, or asked for a chunked
//   body with Reply::chunk_size); the server never compresses.
//
// Thread safety: every public method may be called from any thread. The handler runs on the
// connection's thread, concurrently for different connections.
// The destructor closes every socket and joins every thread; a delayed reply is interrupted.
#ifndef FGW_TESTS_SUPPORT_LOOPBACK_HTTP_SERVER_H_
#define FGW_TESTS_SUPPORT_LOOPBACK_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fgw {

struct RecordedRequest {
  std::string method;
  std::string
      target;  // As sent: origin form "/x?y" or absolute form "http://h/x" (via a proxy).
  std::string version;  // "HTTP/1.1".
  std::vector<std::pair<std::string, std::string>>
      headers;  // As received, in order.
  std::string body;
  int connection = 0;  // 1-based index of the connection it arrived on.

  // First header named `name` (case-insensitive), or "" when absent.
  std::string header(const std::string& name) const;
};

struct Reply {
  enum class Fault {
    kNone,
    kCloseWithoutResponse,  // Read the request, then close: the client gets EOF.
    kCloseMidResponse,  // Send the status line and part of the headers, then close.
    kReset,             // Read the request, then reset the connection (RST).
  };
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  absl::Duration delay = absl::ZeroDuration();  // Before answering (real time).
  Fault fault = Fault::kNone;
  // > 0: the body is sent with Transfer-Encoding: chunked, in chunks of this many bytes.
  size_t chunk_size = 0;
};

class LoopbackHttpServer {
 public:
  using Handler = std::function<Reply(const RecordedRequest&)>;

  // Binds 127.0.0.1:0 and starts serving. Returns nullptr if the socket cannot be set up.
  static std::unique_ptr<LoopbackHttpServer> Start(Handler handler);
  ~LoopbackHttpServer();

  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const;  // "http://127.0.0.1:<port>"
  std::vector<RecordedRequest> requests();
  int connections_accepted();
  // The most connections that were open at the same time.
  int max_open_connections();
  // Replaces the handler for requests that arrive from now on.
  void set_handler(Handler handler);

 private:
  explicit LoopbackHttpServer(Handler handler) : handler_(std::move(handler)) {}
  void AcceptLoop();
  void Serve(int fd, int connection);
  // Waits `delay` or until shutdown; false on shutdown.
  bool Delay(absl::Duration delay);

  // Set by Start() before the acceptor thread exists, then only read (the destructor joins).
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};  // Atomic: the acceptor polls it.

  absl::Mutex mu_;
  Handler handler_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordedRequest> requests_ ABSL_GUARDED_BY(mu_);
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  int max_open_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fgw

#endif  // FGW_TESTS_SUPPORT_LOOPBACK_HTTP_SERVER_H_
