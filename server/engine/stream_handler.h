// StreamHandler: the StreamCallHandler that serves the Stream rpcs (stream_methods.h) with one
// PageStream per call (page_stream.h: pace, pages, cursors, end), or for a raw-body stream
// (StreamExportLogs) one BodyStream (body_stream.h; x-formance-max-items does not apply).
//
// Request metadata the caller may set (all optional):
//   x-formance-max-items     a whole number >= 1: the stream ends OK after that many items
//                            (the last message's cursor resumes). Where it lives: metadata, as
//                            the gateway's other per-call settings, so the Stream request stays
//                            the list's request field for field.
//   x-formance-max-attempts  lowers the attempt limit of each page (1 = no retry).
// The cache is always bypassed. The caller's credential (IncomingCall::credential) goes with
// every page, which the caller policy admits as a call of the list (StreamMethod::spec).
//
// Errors before the first page: UNIMPLEMENTED for a method that is not a Stream rpc,
// INVALID_ARGUMENT for a request that does not parse, a malformed stream cursor
// (stream_cursor.h) or a malformed x-formance-max-items / x-formance-max-attempts.
//
// Thread safety: HandleStream and IsStream may be called concurrently; everything held is
// immutable or thread-safe. All pointers are not owned and must outlive every call.
#ifndef FGW_SERVER_ENGINE_STREAM_HANDLER_H_
#define FGW_SERVER_ENGINE_STREAM_HANDLER_H_

#include <memory>
#include <string>

#include "server/chain/upstream_chain.h"
#include "server/config/gateway_config.h"
#include "server/engine/stream_methods.h"
#include "server/grpc/stream_call_handler.h"
#include "server/routing/api_descriptors.h"
#include "server/util/clock.h"

namespace fgw {

class StreamHandler : public StreamCallHandler {
 public:
  StreamHandler(const ApiDescriptors* descriptors, const StreamMethods* streams,
                UpstreamChain* chain, Clock* clock,
                const UpstreamLimits& limits);

  bool IsStream(absl::string_view method) const override;
  void HandleStream(const IncomingCall& call, std::string request,
                    std::shared_ptr<StreamSink> sink) override;

 private:
  const ApiDescriptors* const descriptors_;
  const StreamMethods* const streams_;
  UpstreamChain* const chain_;
  Clock* const clock_;
  const UpstreamLimits limits_;
};

}  // namespace fgw

#endif  // FGW_SERVER_ENGINE_STREAM_HANDLER_H_
