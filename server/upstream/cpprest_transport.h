// CpprestTransport: the production Transport, on one cpprestsdk http_client per upstream base URL
// (asynchronous, keep-alive: connections are pooled and reused by the client).
//
// - The request's path_and_query is sent as is (already percent-encoded; never re-encoded),
//   appended to the base URL's path. Headers are copied; User-Agent is set to options.user_agent;
//   Host comes from the base URL. The body is sent as raw bytes; the response body is read whole
//   as raw bytes (never through web::json).
// - Deadline: each Send() is bounded by min(options.deadline, now + request_timeout), enforced by
//   a Clock timer that cancels the request (DEADLINE_EXCEEDED). SendOptions::cancellation aborts
//   it too (CANCELLED).
// - Every cpprestsdk/pplx exception is caught here and mapped (transport.h codes): connect
//   refused, host not found, TLS handshake failure -> UNAVAILABLE marked not-sent; a reset or EOF
//   after sending -> UNAVAILABLE (may have reached the server); a timeout -> DEADLINE_EXCEEDED;
//   anything else -> INTERNAL. Messages never contain header values or bodies.
// - TLS: certificates are verified (system store), plus the PEM CAs of options.ca_file.
// - cpprestsdk's thread pool is process-wide: the first CpprestTransport sizes it to
//   options.io_threads (crossplat::threadpool::initialize_with_threads), later ones cannot change
//   it. Create the first transport before any other cpprestsdk use.
// - cpprestsdk resends a request by itself, once, when a pooled keep-alive connection turns out
//   closed by the server before the response status line (even if the server had read it). That
//   is harmless for reads and for writes carrying an Idempotency-Key, but would apply a plain
//   write twice; so a request that is neither GET/HEAD/OPTIONS nor carries an Idempotency-Key is
//   sent on a fresh connection of its own ("Connection: close"), which cpprestsdk never resends
//   on (fresh_connection_for_unsafe_writes).
//
// Thread safety: Send() may be called concurrently. The transport must outlive its calls' `done`.
#ifndef FGW_SERVER_UPSTREAM_CPPREST_TRANSPORT_H_
#define FGW_SERVER_UPSTREAM_CPPREST_TRANSPORT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/upstream/transport.h"
#include "server/util/clock.h"

namespace fgw {

struct TransportOptions {
  std::string
      base_url;  // "https://org.env.formance.cloud" (a path prefix is allowed).
  absl::Duration request_timeout =
      absl::Seconds(30);  // Per Send(), never past the deadline.
  // Bounds connection setup together with request_timeout: cpprestsdk's asio client has no
  // separate connect timeout, so this is the client-wide socket inactivity timeout when smaller.
  absl::Duration connect_timeout = absl::Seconds(5);
  std::string
      ca_file;  // PEM bundle of extra trusted CAs; empty: system store only.
  std::string proxy;  // "http://proxy:3128"; empty: direct.
  std::string user_agent = std::string("formance-grpc-gateway/") + FGW_VERSION;
  int io_threads =
      2;  // Process-wide cpprestsdk pool size (first transport wins).
  bool validate_certificates = true;  // Only tests may turn this off.
  // See above: plain writes never ride a reused connection. Turning it off trades the
  // at-most-once guarantee for a saved connection setup.
  bool fresh_connection_for_unsafe_writes = true;
};

// The UpstreamConfig fields map one to one: base_url = url, request_timeout, connect_timeout,
// ca_file, proxy, io_threads.
class CpprestTransport : public Transport {
 public:
  // Validates the URLs and the CA file. `clock` (not owned; RealClock() by default) runs the
  // deadline timers.
  static absl::StatusOr<std::unique_ptr<CpprestTransport>> Create(
      TransportOptions options, Clock* clock = nullptr);
  ~CpprestTransport() override;

  void Send(HttpRequest request, const SendOptions& options,
            Callback done) override;

  const TransportOptions& options() const { return options_; }

 private:
  struct Impl;
  CpprestTransport(TransportOptions options, Clock* clock,
                   std::unique_ptr<Impl> impl);

  const TransportOptions options_;
  Clock* const clock_;
  std::unique_ptr<Impl> impl_;
};

// Sizes cpprestsdk's process-wide pool once; later calls (and any call after cpprestsdk started
// its default pool) are ignored. Returns true if this call set the size.
bool InitializeCpprestThreadPool(int threads);

}  // namespace fgw

#endif  // FGW_SERVER_UPSTREAM_CPPREST_TRANSPORT_H_
