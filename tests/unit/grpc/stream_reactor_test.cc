// StreamReactor end to end: a GatewayServer on 127.0.0.1:0 with a programmable
// StreamCallHandler, read by a raw-bytes server-streaming client (grpc::ClientReader).
#include "server/grpc/stream_reactor.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/sync_stream.h"
#include "gtest/gtest.h"
#include "server/grpc/gateway_server.h"
#include "tests/unit/grpc/grpc_test_util.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;

constexpr char kStream[] = "/formance.ledger.v2.LedgerService/StreamAccounts";

class FakeStreams : public StreamCallHandler {
 public:
  using Fn = std::function<void(const IncomingCall&, std::string,
                                std::shared_ptr<StreamSink>)>;
  explicit FakeStreams(Fn fn) : fn_(std::move(fn)) {}
  bool IsStream(absl::string_view method) const override {
    return method == kStream;
  }
  void HandleStream(const IncomingCall& call, std::string request,
                    std::shared_ptr<StreamSink> sink) override {
    fn_(call, std::move(request), std::move(sink));
  }

 private:
  Fn fn_;
};

struct Read {
  std::vector<std::string> messages;
  grpc::Status status;
  std::multimap<std::string, std::string> trailing;
};

class StreamReactorTest : public ::testing::Test {
 protected:
  void StartServer(FakeStreams::Fn fn) {
    streams_ = std::make_unique<FakeStreams>(std::move(fn));
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    auto server = GatewayServer::Start(options, nullptr, nullptr,
                                       {"formance.ledger.v2.LedgerService"},
                                       streams_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);  // The window stays at 64 KiB.
    channel_ = grpc::CreateCustomChannel(
        server_->address(), grpc::InsecureChannelCredentials(), args);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }

  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> Open(
      grpc::ClientContext* ctx, const std::string& request = "req") {
    grpc::internal::RpcMethod method(
        kStream, grpc::internal::RpcMethod::SERVER_STREAMING);
    grpc::Slice slice(request);
    grpc::ByteBuffer buffer(&slice, 1);
    return std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>>(
        grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
            channel_.get(), method, ctx, buffer));
  }

  Read ReadAll(grpc::ClientReader<grpc::ByteBuffer>& reader,
               grpc::ClientContext& ctx) {
    Read out;
    grpc::ByteBuffer buffer;
    while (reader.Read(&buffer)) {
      std::vector<grpc::Slice> slices;
      EXPECT_TRUE(buffer.Dump(&slices).ok());
      std::string s;
      for (const auto& slice : slices) {
        s.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
      }
      out.messages.push_back(std::move(s));
    }
    out.status = reader.Finish();
    out.trailing = testing::Copy(ctx.GetServerTrailingMetadata());
    return out;
  }

  std::unique_ptr<FakeStreams> streams_;
  std::unique_ptr<GatewayServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(StreamReactorTest, WritesInOrderThenFinishesWithTrailers) {
  std::string seen_request, seen_method;
  StartServer([&](const IncomingCall& call, std::string request,
                  std::shared_ptr<StreamSink> sink) {
    seen_request = request;
    seen_method = call.method;
    sink->Write({"a", "b", "c"}, [sink]() {
      sink->Write({"d"}, [sink]() {
        sink->Finish(absl::OkStatus(),
                     {{"formance-items", "4"}, {"Bad Key", "dropped"}});
      });
    });
  });
  grpc::ClientContext ctx;
  auto reader = Open(&ctx, "hello");
  Read r = ReadAll(*reader, ctx);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_THAT(r.messages, ::testing::ElementsAre("a", "b", "c", "d"));
  EXPECT_EQ(seen_request, "hello");
  EXPECT_EQ(seen_method, kStream);
  EXPECT_THAT(r.trailing,
              ::testing::Contains(::testing::Pair("formance-items", "4")));
}

TEST_F(StreamReactorTest, DrainedWaitsForTheReader) {
  // 16 messages of 256 KiB: far more than the client's 64 KiB window and gRPC's write buffer.
  absl::Notification drained;
  StartServer(
      [&](const IncomingCall&, std::string, std::shared_ptr<StreamSink> sink) {
        std::vector<std::string> big(16, std::string(256 << 10, 'x'));
        sink->Write(std::move(big), [sink, &drained]() {
          drained.Notify();
          sink->Finish(absl::OkStatus(), {});
        });
      });
  grpc::ClientContext ctx;
  auto reader = Open(&ctx);
  // The reader reads nothing: the writes cannot all be taken.
  EXPECT_FALSE(drained.WaitForNotificationWithTimeout(absl::Milliseconds(500)));
  Read r = ReadAll(*reader, ctx);
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.messages.size(), 16u);
  EXPECT_TRUE(drained.HasBeenNotified());
}

TEST_F(StreamReactorTest, CancelDropsThePendingDrainAndTheSink) {
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  absl::Notification started;
  StartServer(
      [&](const IncomingCall&, std::string, std::shared_ptr<StreamSink> sink) {
        std::vector<std::string> big(16, std::string(256 << 10, 'x'));
        sink->Write(std::move(big), [sink, token = std::move(token)]() {
          ADD_FAILURE() << "drained after the cancel";
        });
        started.Notify();
      });
  grpc::ClientContext ctx;
  auto reader = Open(&ctx);
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(5)));
  ctx.TryCancel();
  Read r = ReadAll(*reader, ctx);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::CANCELLED);
  // The closure (and the sink it holds) is destroyed: nothing keeps the call alive.
  for (int i = 0; i < 500 && !watch.expired(); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(watch.expired());
}

TEST_F(StreamReactorTest, ASinkDroppedUnfinishedEndsTheCallWithInternal) {
  StartServer(
      [&](const IncomingCall&, std::string, std::shared_ptr<StreamSink> sink) {
        sink->Write({"a"}, {});
      });
  grpc::ClientContext ctx;
  auto reader = Open(&ctx);
  Read r = ReadAll(*reader, ctx);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(r.status.error_message(), HasSubstr("dropped"));
}

TEST_F(StreamReactorTest, AnErrorStatusReachesTheCaller) {
  StartServer(
      [&](const IncomingCall&, std::string, std::shared_ptr<StreamSink> sink) {
        sink->Write({"a"}, {});
        sink->Finish(absl::NotFoundError("gone"),
                     {{"formance-http-status", "404"}});
      });
  grpc::ClientContext ctx;
  auto reader = Open(&ctx);
  Read r = ReadAll(*reader, ctx);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(r.messages.size(), 1u);
  EXPECT_THAT(r.trailing, ::testing::Contains(
                              ::testing::Pair("formance-http-status", "404")));
}

TEST_F(StreamReactorTest, UnaryMethodsStillGoToTheUnaryHandler) {
  StartServer(
      [&](const IncomingCall&, std::string, std::shared_ptr<StreamSink> sink) {
        sink->Finish(absl::OkStatus(), {});
      });
  grpc::GenericStub stub(channel_);
  auto result =
      testing::RawCall(stub, "/formance.ledger.v2.LedgerService/GetInfo", "x");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace fgw
