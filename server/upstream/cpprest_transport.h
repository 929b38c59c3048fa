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
// - Connection setup: once a request holds its connection slot, its head must be on the socket
//   within connect_timeout (resolving, TCP connect, TLS handshake, a proxy's CONNECT); if not, it
//   is aborted with UNAVAILABLE "upstream connection not established within
//   upstream.connect_timeout", marked not sent (so the retry layer may retry it). A request on a
//   pooled keep-alive connection writes its head at once. cpprestsdk's asio client has no
//   connect timeout (its client-wide timeout restarts at every read and write of the exchange, so
//   it would also cut a slow reply): the request's own deadline timer enforces it, first armed
//   at now + connect_timeout and re-armed for the deadline once the head is written (one timer
//   per request either way). A deadline that comes first wins (DEADLINE_EXCEEDED).
// - Nothing leaves unchecked: CheckOutgoingRequest (http_field.h) runs first, so a request
//   whose target or headers are not valid HTTP, or exceed options.limits, is refused with
//   INVALID_ARGUMENT and no byte is sent.
// - Redirects are never followed (cpprestsdk would follow 10, Authorization included): a 3xx
//   comes back as the response it is, for the error mapper to refuse.
// - Connections: at most options.limits.max_connections requests are on the wire at once
//   (ConnectionSlots); a request waits for a slot until its deadline (DEADLINE_EXCEEDED) or
//   cancellation (CANCELLED), both marked not sent.
// - Reply size: a response whose Content-Length, or whose body bytes as they are read, exceed
//   options.limits.max_response_bytes is aborted with RESOURCE_EXHAUSTED (the connection is
//   closed). cpprestsdk counts a body per read of up to 64 KiB; a chunked body is counted per
//   chunk, and cpprestsdk buffers one whole chunk (and the whole header block) before anything
//   can count it, so those two are bounded only in time, by the request timeout.
// - "Never sent" is proven, not guessed: cpprestsdk reports upload progress only once the whole
//   request head is written to the socket. Any failure before that (resolve, connect, TLS
//   handshake, a connection slot not obtained, a deadline or cancellation while connecting) is
//   marked not sent (MarkNotSent); any failure after it may have reached the server.
// - Every cpprestsdk/pplx exception is caught here and mapped (transport.h codes): connection
//   failures -> UNAVAILABLE; a timeout -> DEADLINE_EXCEEDED; anything else -> INTERNAL.
//   Messages never contain header values or bodies.
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
#include "server/upstream/upstream_limits.h"
#include "server/util/clock.h"

namespace fgw {

// The defaults are declared here only: UpstreamConfig (server/config/gateway_config.h) takes
// request_timeout, connect_timeout and io_threads from them.
struct TransportOptions {
  std::string
      base_url;  // "https://org.env.formance.cloud" (a path prefix is allowed).
  absl::Duration request_timeout =
      absl::Seconds(30);  // Per Send(), never past the deadline.
  // Connection setup of one Send(), from when it holds a connection slot until its request head
  // is written (see "Connection setup" above). Positive.
  absl::Duration connect_timeout = absl::Seconds(5);
  std::string
      ca_file;  // PEM bundle of extra trusted CAs; empty: system store only.
  std::string proxy;  // "http://proxy:3128"; empty: direct.
  std::string user_agent = std::string("formance-grpc-gateway/") + FGW_VERSION;
  int io_threads =
      1;  // Process-wide cpprestsdk pool size (first transport wins).
  UpstreamLimits limits;
  bool validate_certificates = true;  // Only tests may turn this off.
  // See above: plain writes never ride a reused connection. Turning it off trades the
  // at-most-once guarantee for a saved connection setup.
  bool fresh_connection_for_unsafe_writes = true;
};

// The UpstreamConfig fields map one to one: base_url = url, request_timeout, connect_timeout,
// ca_file, proxy, io_threads; limits is GatewayConfig::limits.upstream.
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
  // Requests holding a connection slot, and requests waiting for one.
  int connections_in_use();
  int connections_waiting();

 private:
  struct Impl;
  struct SlotLease;
  CpprestTransport(TransportOptions options, Clock* clock,
                   std::unique_ptr<Impl> impl);
  // Sends `request` while `lease` holds a connection slot.
  void SendOnSlot(HttpRequest request, absl::Time deadline,
                  Cancellation* cancellation,
                  std::shared_ptr<BodySink> body_sink,
                  std::shared_ptr<SlotLease> lease, Callback done);

  const TransportOptions options_;
  Clock* const clock_;
  std::unique_ptr<Impl> impl_;
};

// Sizes cpprestsdk's process-wide pool once; later calls (and any call after cpprestsdk started
// its default pool) are ignored. Returns true if this call set the size.
bool InitializeCpprestThreadPool(int threads);

}  // namespace fgw

#endif  // FGW_SERVER_UPSTREAM_CPPREST_TRANSPORT_H_
