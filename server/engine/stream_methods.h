// StreamMethods: every Stream rpc (server streaming, MethodRules.stream) compiled once, when the
// engine is created, against the method table entry of the list it pages through.
//
// A StreamMethod holds the list's MethodEntry (route, request plan, response plan, prototypes),
// the field paths the driver pages with (items, next cursor, has-more in the list's response;
// cursor and pit in its request), the request fields kept on later pages (the path parameters:
// a Formance cursor carries every other option), the stream response's field numbers, and the
// upstream call spec of its pages (the list's, never cached).
//
// A raw-body stream (StreamRules.raw_body: ledger v2 StreamExportLogs) holds the unary rpc's
// entry and the number of its response's `bytes chunk`; the unary rpc must have a `bytes`
// response_body.
//
// Compile() fails with INVALID_ARGUMENT naming the rpc when the rules name no list rpc of the
// same service, a field path does not resolve to a field of the right kind (items: repeated
// message; next cursor: string; has-more: bool; cursor, pit: string), the stream's request is
// not the list's request field for field (same names, numbers and types: the bytes of one must
// parse as the other), or the stream's response lacks `item` (the items' type) or `cursor`.
//
// Thread safety: immutable after Compile(). Points into the descriptors and the method table.
#ifndef FGW_SERVER_ENGINE_STREAM_METHODS_H_
#define FGW_SERVER_ENGINE_STREAM_METHODS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "server/chain/exchange.h"
#include "server/engine/method_table.h"
#include "server/routing/api_descriptors.h"

namespace fgw {

using FieldPath = std::vector<const google::protobuf::FieldDescriptor*>;

struct StreamMethod {
  std::string
      grpc_method;  // "/formance.ledger.v2.LedgerService/StreamAccounts".
  const MethodEntry* list = nullptr;
  FieldPath items;        // In the list's response: repeated message.
  FieldPath next_cursor;  // string.
  FieldPath has_more;     // bool; empty when the page has none.
  const google::protobuf::FieldDescriptor* cursor = nullptr;  // In the request.
  const google::protobuf::FieldDescriptor* pit = nullptr;     // Or null.
  // Request fields bound to the path: the only ones sent again with a Formance cursor.
  std::vector<const google::protobuf::FieldDescriptor*> path_fields;
  int item_number = 0;  // Field numbers in the stream's response message.
  int cursor_number = 0;
  // StreamRules.raw_body: the list's raw body streams in `chunk` (number chunk_number); the
  // paging fields above are unset.
  bool raw_body = false;
  int chunk_number = 0;
  UpstreamCallSpec spec;  // The list's; cache_ttl zero.
};

class StreamMethods {
 public:
  static absl::StatusOr<std::unique_ptr<const StreamMethods>> Compile(
      const ApiDescriptors& descriptors, const MethodTable& methods);

  // The stream "/pkg.Service/Method", or nullptr.
  const StreamMethod* Find(absl::string_view grpc_method) const;
  size_t size() const { return streams_.size(); }

 private:
  StreamMethods() = default;
  absl::flat_hash_map<std::string, StreamMethod> streams_;
};

}  // namespace fgw

#endif  // FGW_SERVER_ENGINE_STREAM_METHODS_H_
