// UnaryReactor end to end: a GatewayServer on 127.0.0.1:0 (ServerCall on its completion
// queue), a fake handler, raw-bytes calls through grpc::GenericStub.
#include <atomic>
#include <deque>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/grpc/gateway_server.h"
#include "server/util/status_details.h"
#include "tests/unit/grpc/grpc_test_util.h"

namespace fgw {
namespace {

CallResult ResultWith(absl::Status status) {
  CallResult result;
  result.status = std::move(status);
  return result;
}

using ::fgw::testing::DecodedRpcStatus;
using ::fgw::testing::FakeHandler;
using ::fgw::testing::RawCall;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kMethod[] = "/formance.ledger.v2.LedgerService/GetInfo";

class UnaryReactorTest : public ::testing::Test {
 protected:
  void StartServer(FakeHandler::Fn fn) {
    handler_ = std::make_unique<FakeHandler>(std::move(fn));
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    auto server = GatewayServer::Start(options, handler_.get(), nullptr,
                                       {"formance.ledger.v2.LedgerService"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = std::make_unique<grpc::GenericStub>(
        testing::Connect(server_->address()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }

  std::unique_ptr<FakeHandler> handler_;
  std::unique_ptr<GatewayServer> server_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

TEST_F(UnaryReactorTest, ResponseAndMetadataPassThrough) {
  IncomingCall seen;
  std::string seen_request;
  StartServer([&](const IncomingCall& call, std::string request,
                  std::function<void(CallResult)> done) {
    seen = call;
    seen_request = request;
    CallResult result;
    result.response = "resp:" + request;
    result.initial_metadata = {{"x-init", "i"}};
    result.trailing_metadata = {{"x-trail", "t"},
                                {"x-trail-bin", std::string("\0\1", 2)}};
    done(std::move(result));
  });
  std::string request(
      "\x0a\x03"
      "abc\0",
      6);
  auto result = RawCall(*stub_, kMethod, request, [](grpc::ClientContext* ctx) {
    ctx->AddMetadata("x-caller", "svc-a");
    ctx->AddMetadata("idempotency-key", "k1");
    ctx->AddMetadata("x-raw-bin", std::string("\xff\x00", 2));
  });
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.response, "resp:" + request);
  EXPECT_EQ(seen_request, request);
  EXPECT_EQ(seen.method, kMethod);
  EXPECT_THAT(seen.metadata, Contains(Pair("x-caller", "svc-a")));
  EXPECT_THAT(seen.metadata, Contains(Pair("idempotency-key", "k1")));
  EXPECT_THAT(seen.metadata,
              Contains(Pair("x-raw-bin", std::string("\xff\x00", 2))));
  EXPECT_THAT(seen.peer, HasSubstr("127.0.0.1"));
  EXPECT_EQ(seen.deadline, absl::InfiniteFuture());
  EXPECT_NE(seen.cancellation, nullptr);
  EXPECT_THAT(result.initial_metadata, Contains(Pair("x-init", "i")));
  EXPECT_THAT(result.trailing_metadata, Contains(Pair("x-trail", "t")));
  EXPECT_THAT(result.trailing_metadata,
              Contains(Pair("x-trail-bin", std::string("\0\1", 2))));
}

TEST_F(UnaryReactorTest, ErrorBecomesGrpcStatusWithDetailsAndHttpTrailer) {
  StartServer([](const IncomingCall&, std::string,
                 std::function<void(CallResult)> done) {
    CallResult result;
    result.status =
        WithErrorInfo(absl::NotFoundError("ledger not found"),
                      ErrorInfo{"NOT_FOUND", "ledger", {{"ledger", "main"}}});
    result.trailing_metadata = {{"x-request-id", "r1"},
                                {kHttpStatusTrailer, "404"}};
    done(std::move(result));
  });
  auto result = RawCall(*stub_, kMethod, "");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(result.status.error_message(), "ledger not found");
  DecodedRpcStatus decoded;
  ASSERT_TRUE(
      testing::DecodeRpcStatus(result.status.error_details(), &decoded));
  EXPECT_EQ(decoded.code, static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(decoded.message, "ledger not found");
  ASSERT_EQ(decoded.details.size(), 1u);
  EXPECT_EQ(decoded.details[0].first, kErrorInfoTypeUrl);
  auto info = ParseErrorInfo(decoded.details[0].second);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "NOT_FOUND");
  EXPECT_EQ(info->domain, "ledger");
  EXPECT_EQ(info->metadata.at("ledger"), "main");
  EXPECT_THAT(result.trailing_metadata,
              Contains(Pair("formance-http-status", "404")));
  EXPECT_THAT(result.trailing_metadata, Contains(Pair("x-request-id", "r1")));
}

// Issue 9: gRPC core aborts the process on metadata it considers invalid. Whatever the handler
// puts in its metadata or status, the call ends with the handler's code and the server lives.
TEST_F(UnaryReactorTest, HostileMetadataAndHugeStatusNeverAbortAndKeepTheCode) {
  StartServer([](const IncomingCall&, std::string,
                 std::function<void(CallResult)> done) {
    CallResult result;
    ErrorInfo info{std::string(20000, 'E'), "ledger", {}};
    for (int i = 0; i < 200; ++i) {
      info.metadata[absl::StrCat("k", i)] = std::string(500, 'v');
    }
    result.status = WithDetail(
        WithErrorInfo(absl::InvalidArgumentError(std::string(20000, 'm')),
                      info),
        "formance.ledger.v2.V2BulkResponse", std::string(50000, 'b'));
    result.initial_metadata = {{"x-init\r\n", "bad key"}, {"x-ok", "fine"}};
    result.trailing_metadata = {
        {"formance-idempotency-key", "caf\xc3\xa9"},
        {"formance-nul", std::string("a\0b", 3)},
        {"formance-lf", "a\nb"},
        {"Upper-Case", "v"},
        {"grpc-status", "0"},
        {"formance-long", std::string(5000, 'x')},
        {"formance-attempts", "1"},
    };
    done(std::move(result));
  });
  auto result = RawCall(*stub_, kMethod, "");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LE(result.status.error_message().size(), kMaxStatusMessageBytes + 3);
  EXPECT_LE(result.status.error_details().size(), kMaxStatusDetailsBytes);
  DecodedRpcStatus decoded;
  ASSERT_TRUE(
      testing::DecodeRpcStatus(result.status.error_details(), &decoded));
  ASSERT_FALSE(decoded.details.empty());
  EXPECT_EQ(decoded.details[0].first, kErrorInfoTypeUrl);
  auto parsed = ParseErrorInfo(decoded.details[0].second);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_LE(parsed->reason.size(), 131u);
  EXPECT_EQ(parsed->domain, "ledger");
  EXPECT_THAT(parsed->metadata.at("omitted_details"),
              HasSubstr("formance.ledger.v2.V2BulkResponse (50000 bytes)"));
  EXPECT_THAT(result.trailing_metadata,
              Contains(Pair("formance-attempts", "1")));
  EXPECT_EQ(result.trailing_metadata.count("formance-idempotency-key"), 0u);
  EXPECT_EQ(result.trailing_metadata.count("formance-nul"), 0u);
  EXPECT_EQ(result.trailing_metadata.count("formance-long"), 0u);
  EXPECT_THAT(result.initial_metadata, Contains(Pair("x-ok", "fine")));
  // Still serving.
  auto again = RawCall(*stub_, kMethod, "");
  EXPECT_EQ(again.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(UnaryReactorTest, PlainErrorHasNoDetailsNorHttpTrailer) {
  StartServer([](const IncomingCall&, std::string,
                 std::function<void(CallResult)> done) {
    done(ResultWith(absl::UnimplementedError("unknown method")));
  });
  auto result = RawCall(*stub_, "/no.such.Service/Nope", "");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(result.status.error_details(), "");
  EXPECT_EQ(result.trailing_metadata.count("formance-http-status"), 0u);
}

TEST_F(UnaryReactorTest, DeadlineIsVisibleToTheHandler) {
  absl::Time seen;
  StartServer([&](const IncomingCall& call, std::string,
                  std::function<void(CallResult)> done) {
    seen = call.deadline;
    done(CallResult{});
  });
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  auto result = RawCall(*stub_, kMethod, "", [&](grpc::ClientContext* ctx) {
    ctx->set_deadline(absl::ToChronoTime(deadline));
  });
  ASSERT_TRUE(result.status.ok());
  EXPECT_LT(absl::AbsDuration(seen - deadline), absl::Seconds(1));
}

TEST_F(UnaryReactorTest, ClientCancellationFiresCancellationAndLateDoneIsSafe) {
  absl::Notification started, cancelled;
  std::function<void(CallResult)> saved_done;
  StartServer([&](const IncomingCall& call, std::string,
                  std::function<void(CallResult)> done) {
    saved_done = std::move(done);
    call.cancellation->OnCancel([&] { cancelled.Notify(); });
    started.Notify();
  });
  grpc::ClientContext ctx;
  grpc::ByteBuffer req = StringToByteBuffer("x"), resp;
  absl::Notification finished;
  grpc::Status status;
  stub_->UnaryCall(&ctx, kMethod, grpc::StubOptions(), &req, &resp,
                   [&](grpc::Status s) {
                     status = s;
                     finished.Notify();
                   });
  started.WaitForNotification();
  ctx.TryCancel();
  ASSERT_TRUE(cancelled.WaitForNotificationWithTimeout(absl::Seconds(10)));
  finished.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  // The handler answers long after the call is gone: dropped, no crash, no leak of the call.
  CallResult late;
  late.response = "too late";
  saved_done(std::move(late));
}

// An answer given on a foreign thread with CallResult::build has its reply built on the call's
// queue thread (the one that ran HandleUnary: call_handler.h's thread model, item 4), and the
// reply built there reaches the client.
TEST_F(UnaryReactorTest, BuildRunsOnTheCallsQueueThread) {
  std::thread::id handler_thread, built_thread, foreign_thread;
  std::thread foreign;
  StartServer([&](const IncomingCall&, std::string request,
                  std::function<void(CallResult)> done) {
    handler_thread = std::this_thread::get_id();
    foreign = std::thread([&, request, done = std::move(done)]() mutable {
      foreign_thread = std::this_thread::get_id();
      CallResult result;
      result.build = [&, request](CallResult& out) {
        built_thread = std::this_thread::get_id();
        out.response = "resumed " + request;
      };
      done(std::move(result));
    });
  });
  auto result = RawCall(*stub_, kMethod, "x");
  foreign.join();
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.response, "resumed x");
  EXPECT_EQ(built_thread, handler_thread);
  EXPECT_NE(built_thread, foreign_thread);
}

TEST_F(UnaryReactorTest, HandlerDroppingDoneFinishesWithInternal) {
  StartServer([](const IncomingCall&, std::string,
                 std::function<void(CallResult)> /*done*/) {
    // Breaks the contract: `done` is destroyed without being called.
  });
  auto result = RawCall(*stub_, kMethod, "x");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INTERNAL);
}

TEST_F(UnaryReactorTest, DeadlineExpiryFiresCancellation) {
  absl::Notification fired;
  StartServer([&](const IncomingCall& call, std::string,
                  std::function<void(CallResult)> done) {
    // Answers only when cancelled, from the cancelling thread (inline in OnCancel).
    call.cancellation->OnCancel([&fired, done = std::move(done)] {
      done(ResultWith(absl::CancelledError("aborted")));
      fired.Notify();
    });
  });
  auto result = RawCall(*stub_, kMethod, "", [](grpc::ClientContext* ctx) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(200));
  });
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server's own deadline timer fires a moment after the client's.
  EXPECT_TRUE(fired.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST_F(UnaryReactorTest, ZeroOrTwoRequestMessagesAreInvalidArgument) {
  std::atomic<int> handled{0};
  StartServer([&](const IncomingCall&, std::string,
                  std::function<void(CallResult)> done) {
    ++handled;
    done(CallResult{});
  });
  for (int messages : {0, 2}) {
    grpc::ClientContext ctx;
    grpc::CompletionQueue cq;
    auto call = stub_->PrepareCall(&ctx, kMethod, &cq);
    void* tag;
    bool ok;
    auto step = [&](int id) {
      ASSERT_TRUE(cq.Next(&tag, &ok));
      EXPECT_EQ(tag, reinterpret_cast<void*>(id));
    };
    call->StartCall(reinterpret_cast<void*>(1));
    step(1);
    for (int i = 0; i < messages; ++i) {
      grpc::ByteBuffer b = StringToByteBuffer("m");
      call->Write(b, reinterpret_cast<void*>(2));
      step(2);
    }
    call->WritesDone(reinterpret_cast<void*>(3));
    step(3);
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(4));
    step(4);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << messages;
    EXPECT_THAT(status.error_message(),
                HasSubstr("exactly one request message"));
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
  }
  EXPECT_EQ(handled, 0);
}

TEST(UnaryReactorNullHandlerTest, UnimplementedWithoutHandler) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  auto server = GatewayServer::Start(options, nullptr, nullptr, {});
  ASSERT_TRUE(server.ok()) << server.status();
  grpc::GenericStub stub(testing::Connect((*server)->address()));
  auto result = RawCall(stub, kMethod, "x");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  (*server)->Shutdown(absl::Seconds(1));
}

// 200 calls in flight at once, answered by ONE worker thread after a delay: no thread per call.
TEST_F(UnaryReactorTest, TwoHundredConcurrentCallsAnsweredFromAnotherThread) {
  constexpr int kCalls = 200;
  struct Pending {
    absl::Time ready;
    std::string request;
    std::function<void(CallResult)> done;
  };
  absl::Mutex mu;
  std::deque<Pending> queue;
  int in_handler = 0, max_in_handler = 0;
  bool stop = false;
  StartServer([&](const IncomingCall&, std::string request,
                  std::function<void(CallResult)> done) {
    absl::MutexLock lock(&mu);
    queue.push_back({absl::Now() + absl::Milliseconds(100), std::move(request),
                     std::move(done)});
    max_in_handler = std::max(max_in_handler, ++in_handler);
  });
  std::thread worker([&] {
    auto has_work = [&] { return !queue.empty() || stop; };
    mu.Lock();
    while (true) {
      mu.Await(absl::Condition(&has_work, &decltype(has_work)::operator()));
      if (queue.empty()) break;
      // Waits out the oldest call's delay while more calls pile up.
      absl::Time ready = queue.front().ready;
      mu.Unlock();
      absl::SleepFor(ready - absl::Now());
      mu.Lock();
      Pending p = std::move(queue.front());
      queue.pop_front();
      --in_handler;
      mu.Unlock();
      CallResult result;
      result.response = "r" + p.request;
      p.done(std::move(result));  // Never under the lock.
      mu.Lock();
    }
    mu.Unlock();
  });

  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<grpc::ByteBuffer> requests(kCalls), responses(kCalls);
  std::vector<grpc::Status> statuses(kCalls);
  absl::BlockingCounter remaining(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(std::chrono::system_clock::now() +
                                  std::chrono::seconds(30));
    requests[i] = StringToByteBuffer(std::to_string(i));
    stub_->UnaryCall(contexts.back().get(), kMethod, grpc::StubOptions(),
                     &requests[i], &responses[i], [&, i](grpc::Status s) {
                       statuses[i] = std::move(s);
                       remaining.DecrementCount();
                     });
  }
  remaining.Wait();
  {
    absl::MutexLock lock(&mu);
    stop = true;
  }
  worker.join();
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
    EXPECT_EQ(ByteBufferToString(responses[i]), "r" + std::to_string(i));
  }
  absl::MutexLock lock(&mu);
  // Far more calls waited at once than gRPC has threads.
  EXPECT_GE(max_in_handler, 100);
}

}  // namespace
}  // namespace fgw
