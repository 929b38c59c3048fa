// Transport: sends one HttpRequest to the Formance upstream and reports the HttpResponse.
// The production implementation is CpprestTransport; tests inject fakes and fault injectors.
//
// Contract:
// - Send() never blocks on the network; `done` runs exactly once, on a transport-owned thread
//   (or inline when the call fails before any I/O). `done` must not block.
// - Any HTTP status, 4xx and 5xx included, is a success of the transport: an OK StatusOr.
// - Failures are absl::Status with these codes:
//     UNAVAILABLE        connection refused or reset, DNS failure, TLS failure, proxy failure;
//     DEADLINE_EXCEEDED  `options.deadline` passed before the response was complete;
//     CANCELLED          `options.cancellation` fired;
//     INTERNAL           anything else, with what went wrong.
//   Messages never contain header values (an Authorization header is a secret).
// - RequestMayHaveReachedServer(status) tells the retry layer whether the bytes may have left:
//   false only when the connection was never established (refused, DNS, TLS handshake).
//
// Thread safety: Send() may be called concurrently from any thread.
#ifndef FGW_SERVER_UPSTREAM_TRANSPORT_H_
#define FGW_SERVER_UPSTREAM_TRANSPORT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/upstream/http_message.h"
#include "server/util/cancellation.h"

namespace fgw {

// Takes a response body chunk by chunk as it arrives (ledger v2 ExportLogs) instead of whole in
// HttpResponse::body. Calls are never concurrent; the transport keeps the sink until the
// request is over (after `done`'s answer, if chunks are still being read).
class BodySink {
 public:
  virtual ~BodySink() = default;
  // Once the status and headers are in, before any chunk: true to take the body as chunks
  // (HttpResponse::body then stays empty and limits.max_response_bytes does not apply: the
  // transport holds one chunk at a time), false to get it whole as usual (an error reply).
  virtual bool WantsBody(int status) = 0;
  // The next chunk. The transport reads no more from the connection until `more` runs (once,
  // from any thread): flow control back to the upstream. A sink that gives up (its caller went
  // away) still runs `more`; the request's cancellation then ends it.
  virtual void OnChunk(std::string chunk, std::function<void()> more) = 0;
};

struct SendOptions {
  absl::Time deadline = absl::InfiniteFuture();
  // Optional; not owned; must outlive the call.
  Cancellation* cancellation = nullptr;
  // Optional. Transports that cannot stream a body ignore it (the body then arrives whole).
  std::shared_ptr<BodySink> body_sink;
};

class Transport {
 public:
  // Move-only: a callback that captures no more than a shared_ptr is stored without allocating.
  using Callback = absl::AnyInvocable<void(absl::StatusOr<HttpResponse>)>;
  virtual ~Transport() = default;
  virtual void Send(HttpRequest request, const SendOptions& options,
                    Callback done) = 0;
};

// Marks `status` as "the request never reached the server" (set by transports).
absl::Status MarkNotSent(absl::Status status);
// False only for statuses marked by MarkNotSent.
bool RequestMayHaveReachedServer(const absl::Status& status);

}  // namespace fgw

#endif  // FGW_SERVER_UPSTREAM_TRANSPORT_H_
