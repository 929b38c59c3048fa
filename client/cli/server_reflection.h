// What formance-grpc-cli knows about the server, learnt from the server's own reflection
// (grpc.reflection.v1, falling back on v1alpha when the server answers UNIMPLEMENTED): the
// service list and, on demand, the files defining a symbol, built into a DescriptorPool.
// The CLI embeds no descriptors: with no server, every lookup fails (UNAVAILABLE naming the
// address).
//
// Each lookup is one short ServerReflectionInfo stream (one request, one response) with the
// given deadline. Not thread-safe (one CLI command at a time). Answers are untrusted: a
// malformed file or a dependency loop gives an error, never a crash; at most
// kMaxReflectedFiles files are fetched.
#ifndef FGW_CLIENT_CLI_SERVER_REFLECTION_H_
#define FGW_CLIENT_CLI_SERVER_REFLECTION_H_

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor_database.h"
#include "grpcpp/channel.h"

namespace fgw::cli {

inline constexpr int kMaxReflectedFiles = 1000;

class ServerReflection {
 public:
  // `addr` only names the server in errors.
  ServerReflection(std::shared_ptr<grpc::Channel> channel, std::string addr,
                   absl::Duration timeout,
                   std::vector<std::pair<std::string, std::string>> metadata);

  // The service names the server lists.
  absl::StatusOr<std::vector<std::string>> ListServices();

  // Fetches the file defining `symbol` (a service, method, message or enum full name) and its
  // dependencies into pool(). NOT_FOUND when the server does not know the symbol.
  absl::Status LoadSymbol(const std::string& symbol);

  // Holds every file loaded so far.
  const google::protobuf::DescriptorPool* pool() const { return &pool_; }

 private:
  // One request -> one ServerReflectionResponse (serialized), on the v1 method or v1alpha.
  absl::StatusOr<std::string> Ask(const std::string& request);
  absl::StatusOr<std::string> AskOn(const std::string& method,
                                    const std::string& request);
  // Adds the response's files, then fetches missing dependencies by file name.
  absl::Status AddFiles(const std::string& response);

  std::shared_ptr<grpc::Channel> channel_;
  const std::string addr_;
  const absl::Duration timeout_;
  const std::vector<std::pair<std::string, std::string>> metadata_;
  bool v1alpha_only_ = false;
  int fetched_ = 0;
  std::set<std::string> known_files_;
  google::protobuf::SimpleDescriptorDatabase database_;
  google::protobuf::DescriptorPool pool_{&database_};
};

}  // namespace fgw::cli

#endif  // FGW_CLIENT_CLI_SERVER_REFLECTION_H_
