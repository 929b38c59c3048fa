// ListenAddress: the one syntax of a gRPC listen address the daemon accepts, parsed and
// validated once (config loading) and turned into the URI gRPC's ServerBuilder expects.
//
//   host:port        "127.0.0.1:50051", "0.0.0.0:0", "localhost:8080", "[::1]:50051", "[::]:50051"
//   unix:/abs/path   a Unix domain socket ("unix:" followed by an absolute path)
//
// Port 0 asks the kernel for a free port (GatewayServer::port() reports it). Errors are
// INVALID_ARGUMENT with a message that quotes the address and says what form is expected.
// Thread safety: pure functions.
#ifndef FGW_SERVER_CONFIG_LISTEN_ADDRESS_H_
#define FGW_SERVER_CONFIG_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fgw {

struct ListenAddress {
  enum class Kind { kTcp, kUnix };
  Kind kind = Kind::kTcp;
  std::string host;  // kTcp: without brackets ("::1").
  int port = 0;      // kTcp: 0..65535.
  std::string path;  // kUnix: absolute socket path.

  // "127.0.0.1:50051", "[::1]:50051" or "unix:/run/fgw.sock": what grpc::ServerBuilder takes.
  std::string ToGrpcUri() const;
  // Reachable from this host only: a unix socket, localhost, 127.0.0.0/8 or ::1. 0.0.0.0, [::]
  // and any other name or address are not.
  bool IsLoopback() const;
};

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view address);

}  // namespace fgw

#endif  // FGW_SERVER_CONFIG_LISTEN_ADDRESS_H_
