// PrintStream: formance-grpc-cli's server-streaming call (the Stream rpcs). Reads every message
// of `method` (a server-streaming rpc) and prints each as one line of proto3 JSON on `out` (JSON
// lines: `jq -c`, `while read`), then the formance-* trailers and, on an error, the status
// (status_output.h) on `err`. Returns the CLI's exit status: 0 OK, 1 gRPC error or a reply that does not parse.
//
// Thread safety: one call at a time per channel use; the prototypes must outlive the call.
#ifndef FGW_CLIENT_CLI_STREAM_PRINTER_H_
#define FGW_CLIENT_CLI_STREAM_PRINTER_H_

#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"

namespace fgw {

int PrintStream(
    const std::shared_ptr<grpc::Channel>& channel,
    const google::protobuf::MethodDescriptor* method,
    const google::protobuf::Message& request,
    const google::protobuf::Message& response_prototype,
    const std::vector<std::pair<std::string, std::string>>& metadata,
    absl::Time deadline, std::ostream& out, std::ostream& err);

}  // namespace fgw

#endif  // FGW_CLIENT_CLI_STREAM_PRINTER_H_
