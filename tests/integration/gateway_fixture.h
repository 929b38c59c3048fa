// GatewayFixture: the whole gateway in-process (GatewayEngine + GatewayServer on 127.0.0.1:0)
// in front of a recording fake Formance (LoopbackHttpServer), and a gRPC client that builds
// requests from proto3 JSON with the same embedded descriptors. Tests script the fake's reply
// and assert on the exact REST request it received and on the gRPC reply.
#ifndef FGW_TESTS_INTEGRATION_GATEWAY_FIXTURE_H_
#define FGW_TESTS_INTEGRATION_GATEWAY_FIXTURE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/config/gateway_config.h"
#include "server/engine/gateway_engine.h"
#include "server/grpc/gateway_server.h"
#include "server/routing/api_descriptors.h"
#include "server/util/status_details.h"
#include "tests/support/loopback_http_server.h"

namespace fgw {

struct GrpcReply {
  grpc::Status status;
  std::string json;  // The response as proto3 JSON (empty on error).
  std::unique_ptr<google::protobuf::Message> message;
  std::multimap<std::string, std::string> trailers;
  std::optional<ErrorInfo> error_info;  // From grpc-status-details-bin.
  std::vector<std::string> detail_type_urls;
  std::string trailer(const std::string& key) const;
};

class GatewayFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Restarts the gateway with `config` (its upstream.url is set to the fake's).
  void StartGateway(GatewayConfig config);

  // Calls `method` ("formance.ledger.v2.LedgerService/GetAccount") with a request given as
  // proto3 JSON.
  GrpcReply Call(const std::string& method, const std::string& request_json,
                 absl::Duration timeout = absl::Seconds(10),
                 std::map<std::string, std::string> metadata = {});

  // The only request the fake received since the last call of this method.
  RecordedRequest OnlyRequest();

  void Reply(int status, std::string body,
             std::vector<std::pair<std::string, std::string>> headers = {});

  std::unique_ptr<LoopbackHttpServer> upstream_;
  std::unique_ptr<ApiDescriptors> client_descriptors_;
  std::unique_ptr<GatewayEngine> engine_;
  std::unique_ptr<GatewayServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string token_file_;
  size_t seen_requests_ = 0;
};

}  // namespace fgw

#endif  // FGW_TESTS_INTEGRATION_GATEWAY_FIXTURE_H_
