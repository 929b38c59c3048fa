// BodyStream: the driver of a raw-body Stream rpc (ledger v2 StreamExportLogs). One upstream
// call through the chain whose body the transport hands over chunk by chunk (BodySink,
// transport.h); each chunk becomes one message (`chunk`), and the transport reads the next only
// once that message has been taken by gRPC's transport, which takes it only as the caller reads.
// So the gateway holds one chunk per call however big the export, and a caller that stops
// reading stops the upstream's socket (TCP flow control).
//
// End: OK once the body is complete; a non-2xx reply (collected whole, bounded by
// limits.max_response_bytes) is mapped as for the unary rpc and nothing is streamed; transport
// failures end it with their status after the chunks already sent (a stream that ends early is
// started again: there is no resume point in a raw body). The whole call is bounded by the
// caller's deadline and, per attempt, upstream.request_timeout. Never cached. CANCELLED when
// the caller cancels: the upstream request is aborted. Trailers: formance-chunks,
// formance-bytes, formance-attempts, formance-http-status.
//
// Threads: chunks arrive on the HTTP I/O thread and are written from there (StreamSink::Write
// is thread-safe); the next read is released from the write completion (the gRPC thread).
//
// Lifetime: shared by the chain's callback (which outlives every chunk); `method`,
// `descriptors` and `chain` must outlive every stream.
#ifndef FGW_SERVER_ENGINE_BODY_STREAM_H_
#define FGW_SERVER_ENGINE_BODY_STREAM_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "google/protobuf/message.h"
#include "server/chain/upstream_chain.h"
#include "server/config/gateway_config.h"
#include "server/engine/page_stream.h"
#include "server/engine/stream_methods.h"
#include "server/grpc/stream_call_handler.h"
#include "server/routing/api_descriptors.h"
#include "server/upstream/transport.h"
#include "server/util/clock.h"

namespace fgw {

class BodyStream : public BodySink,
                   public std::enable_shared_from_this<BodyStream> {
 public:
  // `request` is a message of the unary rpc's request type; options.max_items is ignored.
  static void Start(const StreamMethod* method,
                    const ApiDescriptors* descriptors, UpstreamChain* chain,
                    Clock* clock, const UpstreamLimits& limits,
                    std::unique_ptr<google::protobuf::Message> request,
                    PageStreamOptions options,
                    std::shared_ptr<StreamSink> sink);

  BodyStream(const StreamMethod* method, const ApiDescriptors* descriptors,
             Clock* clock, PageStreamOptions options,
             std::shared_ptr<StreamSink> sink);

  // BodySink: called by the transport, one at a time.
  bool WantsBody(int status) override;
  void OnChunk(std::string chunk, std::function<void()> more) override;

 private:
  void OnDone(CallOutcome& outcome);

  const StreamMethod* const method_;
  const ApiDescriptors* const descriptors_;
  Clock* const clock_;
  const PageStreamOptions options_;
  const std::shared_ptr<StreamSink> sink_;
  const absl::Time start_;
  // Written by the transport's calls, read by the chain's answer (after the last chunk).
  std::atomic<int64_t> chunks_{0};
  std::atomic<int64_t> bytes_{0};
};

}  // namespace fgw

#endif  // FGW_SERVER_ENGINE_BODY_STREAM_H_
