// PageStream: the driver of one Stream rpc. It reads the list's pages one at a time through
// the upstream chain and writes each page's items to the caller, one message per item
// (`item`, and the StreamCursor to resume after it in `cursor`).
//
// Pace (flow control): the next page is asked for only once every message of the current
// page has been taken by gRPC's transport (StreamSink::Write's `drained`), which takes more
// only as the caller reads; so at most one page per call is held in the gateway, and a caller
// that stops reading stops the upstream requests.
//
// Pages: the first request is the caller's, with:
// - a StreamCursor in `cursor`: its Formance cursor (if any) replaces the request as below, its
//   skip drops that many items of the first page, its pit is used when there is no Formance
//   cursor;
// - no cursor and no pit, on a list with a pit: pit = the clock's now (UTC, microseconds), so
//   every page reads the same point in time.
// Every later request (and a first one with a Formance cursor) holds only the path parameters
// and the cursor: a Formance cursor carries the list's other options. Every page skips the
// cache (CallOptions::bypass_cache; the spec's cache TTL is zero too).
//
// End: OK after the last page (no next cursor, or has-more false), or after `max_items` items
// (the last message's cursor resumes); a page's error (transport, mapped HTTP error,
// malformed JSON) ends it with that status, items already sent stand. CANCELLED when the caller
// cancels (no request starts afterwards; one in flight is abandoned), DEADLINE_EXCEEDED when
// the deadline passes (waiting for a page, or before one would start). INTERNAL when the
// upstream's next cursor repeats the current one, or after kMaxEmptyPages pages in a row
// without an item (a loop of a hostile upstream). Trailers: formance-pages, formance-items,
// formance-attempts (over every page), formance-http-status (of the last page answered).
//
// Threads: call_handler.h's thread model. Start() runs on the caller's thread; a page's answer
// is decoded where StreamSink::Resume runs it; the next page starts from the write completion
// (the gRPC thread). One step runs at a time, so the state needs no lock.
//
// Lifetime: shared by the closures of its pending step; `method`, `descriptors`, `chain` and
// `clock` must outlive every stream.
#ifndef FGW_SERVER_ENGINE_PAGE_STREAM_H_
#define FGW_SERVER_ENGINE_PAGE_STREAM_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "server/chain/exchange.h"
#include "server/chain/upstream_chain.h"
#include "server/config/gateway_config.h"
#include "server/engine/stream_methods.h"
#include "server/grpc/stream_call_handler.h"
#include "server/routing/api_descriptors.h"
#include "server/util/cancellation.h"
#include "server/util/clock.h"

namespace fgw {

inline constexpr int kMaxEmptyPages = 16;

struct PageStreamOptions {
  int64_t max_items = 0;  // 0: no bound.
  absl::Time deadline = absl::InfiniteFuture();
  Cancellation* cancellation =
      nullptr;       // The caller's; lives as long as the sink.
  CallOptions call;  // max_attempts; bypass_cache is forced.
  // The caller's credential: every page is admitted (caller policy) as a call of the list.
  CallerCredential caller;
};

class PageStream : public std::enable_shared_from_this<PageStream> {
 public:
  // Starts the stream; `request` is a message of the list's request type.
  static void Start(const StreamMethod* method,
                    const ApiDescriptors* descriptors, UpstreamChain* chain,
                    Clock* clock, const UpstreamLimits& limits,
                    std::unique_ptr<google::protobuf::Message> request,
                    PageStreamOptions options,
                    std::shared_ptr<StreamSink> sink);

  PageStream(const StreamMethod* method, const ApiDescriptors* descriptors,
             UpstreamChain* chain, Clock* clock, const UpstreamLimits& limits,
             std::unique_ptr<google::protobuf::Message> request,
             PageStreamOptions options, std::shared_ptr<StreamSink> sink);

 private:
  absl::Status Prepare();
  void Fetch();
  void OnPage(CallOutcome& outcome);
  // Keeps only the path parameters and sets the cursor.
  void PageRequest(const std::string& cursor);
  void Finish(absl::Status status);

  const StreamMethod* const method_;
  const ApiDescriptors* const descriptors_;
  UpstreamChain* const chain_;
  Clock* const clock_;
  const UpstreamLimits limits_;
  const std::unique_ptr<google::protobuf::Message> request_;
  const PageStreamOptions options_;
  const std::shared_ptr<StreamSink> sink_;
  const absl::Time start_;

  std::string
      page_cursor_;   // The Formance cursor of the page asked for; "" first.
  int64_t skip_ = 0;  // Items of that page the caller has.
  std::string pit_;   // The pinned point in time, if any.
  int64_t items_ = 0;
  int pages_ = 0;
  int attempts_ = 0;
  int empty_pages_ = 0;
  int http_status_ = 0;
};

}  // namespace fgw

#endif  // FGW_SERVER_ENGINE_PAGE_STREAM_H_
