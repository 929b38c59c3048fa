#include "tests/integration/gateway_fixture.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "proto/embedded_descriptors.h"

namespace fgw {
namespace {

struct ScriptedReply {
  absl::Mutex mu;
  Reply reply;
};

ScriptedReply& Script() {
  static auto* s = new ScriptedReply;
  return *s;
}

// Decodes google.rpc.Status.details (field 3, Any{type_url = 1, value = 2}).
void DecodeDetails(const std::string& bytes, GrpcReply* out) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  while (uint32_t tag = in.ReadTag()) {
    int field = static_cast<int>(tag >> 3);
    if ((tag & 7) == 0) {
      uint64_t ignored;
      in.ReadVarint64(&ignored);
      continue;
    }
    uint32_t len;
    std::string value;
    if (!in.ReadVarint32(&len) || !in.ReadString(&value, static_cast<int>(len)))
      return;
    if (field != 3) continue;
    google::protobuf::io::CodedInputStream any(
        reinterpret_cast<const uint8_t*>(value.data()),
        static_cast<int>(value.size()));
    std::string type_url, payload;
    while (uint32_t t = any.ReadTag()) {
      uint32_t l;
      std::string s;
      if (!any.ReadVarint32(&l) || !any.ReadString(&s, static_cast<int>(l)))
        break;
      ((t >> 3) == 1 ? type_url : payload) = s;
    }
    out->detail_type_urls.push_back(type_url);
    if (type_url == kErrorInfoTypeUrl)
      out->error_info = ParseErrorInfo(payload);
  }
}

}  // namespace

std::string GrpcReply::trailer(const std::string& key) const {
  auto it = trailers.find(key);
  return it == trailers.end() ? "" : it->second;
}

void GatewayFixture::SetUp() {
  upstream_ = LoopbackHttpServer::Start([](const RecordedRequest&) {
    absl::MutexLock lock(&Script().mu);
    return Script().reply;
  });
  ASSERT_NE(upstream_, nullptr);
  auto descriptors =
      ApiDescriptors::FromSerializedSet(EmbeddedApiDescriptorSet());
  ASSERT_TRUE(descriptors.ok()) << descriptors.status();
  client_descriptors_ = *std::move(descriptors);
  // One file per process: ctest runs tests of this binary in parallel processes.
  token_file_ = ::testing::TempDir() + "/fgw_integration_token_" +
                std::to_string(getpid());
  std::ofstream(token_file_) << "integration-token\n";
  GatewayConfig config;
  config.auth.mode = AuthMode::kStaticToken;
  config.auth.static_token_file = token_file_;
  config.retry.initial_backoff = absl::Milliseconds(1);
  config.retry.max_backoff = absl::Milliseconds(5);
  StartGateway(config);
  Reply(200, "{}");
}

void GatewayFixture::TearDown() {
  if (server_) server_->Shutdown(absl::Seconds(1));
  server_.reset();
  if (engine_) engine_->Shutdown();
  engine_.reset();
  upstream_.reset();
  std::remove(token_file_.c_str());
}

void GatewayFixture::StartGateway(GatewayConfig config) {
  if (server_) server_->Shutdown(absl::Seconds(1));
  server_.reset();
  engine_.reset();
  if (config.upstream.url == "http://localhost")
    config.upstream.url = upstream_->base_url();
  auto engine = GatewayEngine::Create(config);
  ASSERT_TRUE(engine.ok()) << engine.status();
  engine_ = *std::move(engine);
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  auto server =
      GatewayServer::Start(options, engine_->handler(), engine_->reflection(),
                           engine_->service_names(), engine_->stream_handler());
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  channel_ = grpc::CreateChannel(server_->address(),
                                 grpc::InsecureChannelCredentials());
}

void GatewayFixture::Reply(
    int status, std::string body,
    std::vector<std::pair<std::string, std::string>> headers) {
  absl::MutexLock lock(&Script().mu);
  Script().reply = fgw::Reply{};
  Script().reply.status = status;
  Script().reply.body = std::move(body);
  Script().reply.headers = std::move(headers);
  if (!Script().reply.body.empty()) {
    Script().reply.headers.emplace_back("Content-Type", "application/json");
  }
}

GrpcReply GatewayFixture::Call(const std::string& method,
                               const std::string& request_json,
                               absl::Duration timeout,
                               std::map<std::string, std::string> metadata) {
  GrpcReply reply;
  auto slash = method.find('/');
  const auto* service =
      client_descriptors_->pool()->FindServiceByName(method.substr(0, slash));
  const auto* md =
      service ? service->FindMethodByName(method.substr(slash + 1)) : nullptr;
  std::string bytes;
  const google::protobuf::Descriptor* output = nullptr;
  if (md != nullptr) {
    std::unique_ptr<google::protobuf::Message> request(
        client_descriptors_->Prototype(md->input_type())->New());
    auto parsed = google::protobuf::util::JsonStringToMessage(request_json,
                                                              request.get());
    EXPECT_TRUE(parsed.ok()) << parsed.message();
    bytes = request->SerializeAsString();
    output = md->output_type();
  }
  grpc::GenericStub stub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  for (const auto& [k, v] : metadata) ctx.AddMetadata(k, v);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer send(&slice, 1), recv;
  absl::Notification done;
  stub.UnaryCall(&ctx, "/" + method, grpc::StubOptions(), &send, &recv,
                 [&](grpc::Status s) {
                   reply.status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
    reply.trailers.emplace(std::string(k.data(), k.size()),
                           std::string(v.data(), v.size()));
  }
  if (!reply.status.ok()) {
    DecodeDetails(reply.status.error_details(), &reply);
    return reply;
  }
  std::vector<grpc::Slice> slices;
  recv.Dump(&slices);
  std::string out;
  for (const auto& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (output != nullptr) {
    reply.message.reset(client_descriptors_->Prototype(output)->New());
    EXPECT_TRUE(reply.message->ParseFromString(out));
    (void)google::protobuf::util::MessageToJsonString(*reply.message,
                                                      &reply.json);
  }
  return reply;
}

RecordedRequest GatewayFixture::OnlyRequest() {
  std::vector<RecordedRequest> all = upstream_->requests();
  EXPECT_EQ(all.size(), seen_requests_ + 1)
      << "expected exactly one new upstream request";
  seen_requests_ = all.size();
  return all.empty() ? RecordedRequest{} : all.back();
}

}  // namespace fgw
