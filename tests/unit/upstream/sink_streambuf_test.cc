// SinkStreambuf through the real CpprestTransport: a body handed to a BodySink chunk by chunk,
// against LoopbackHttpServer on 127.0.0.1.
#include "server/upstream/sink_streambuf.h"

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/upstream/cpprest_transport.h"
#include "tests/support/loopback_http_server.h"

namespace fgw {
namespace {

// Records the chunks; releases `more` at once, or holds it until Release() when holding.
class TestSink : public BodySink {
 public:
  explicit TestSink(bool hold) : hold_(hold) {}
  bool WantsBody(int status) override {
    status_ = status;
    return status >= 200 && status < 300;
  }
  void OnChunk(std::string chunk, std::function<void()> more) override {
    {
      absl::MutexLock lock(&mu_);
      bytes_ += chunk.size();
      ++chunks_;
      if (hold_) {
        held_.push_back(std::move(more));
        return;
      }
    }
    more();
  }
  // Stops holding and releases what is held.
  void Release() {
    std::deque<std::function<void()>> held;
    {
      absl::MutexLock lock(&mu_);
      hold_ = false;
      held.swap(held_);
    }
    for (auto& more : held) more();
  }
  int64_t bytes() {
    absl::MutexLock lock(&mu_);
    return bytes_;
  }
  int chunks() {
    absl::MutexLock lock(&mu_);
    return chunks_;
  }
  std::atomic<int> status_{0};

 private:
  absl::Mutex mu_;
  bool hold_ ABSL_GUARDED_BY(mu_);
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int chunks_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::function<void()>> held_ ABSL_GUARDED_BY(mu_);
};

struct Waiter {
  absl::Notification done;
  absl::StatusOr<HttpResponse> result;
};

std::shared_ptr<Waiter> Send(Transport& transport, const std::string& path,
                             SendOptions options) {
  auto w = std::make_shared<Waiter>();
  HttpRequest request;
  request.method = "POST";
  request.path_and_query = path;
  transport.Send(std::move(request), options,
                 [w](absl::StatusOr<HttpResponse> r) {
                   w->result = std::move(r);
                   w->done.Notify();
                 });
  return w;
}

std::unique_ptr<CpprestTransport> MakeTransport(const std::string& base_url) {
  TransportOptions options;
  options.base_url = base_url;
  options.limits.max_response_bytes =
      1 << 20;  // The streamed body is 20 times that.
  auto transport = CpprestTransport::Create(std::move(options));
  EXPECT_TRUE(transport.ok()) << transport.status();
  return std::move(transport).value();
}

constexpr size_t kBody = 20 << 20;

std::unique_ptr<LoopbackHttpServer> Server(size_t chunk_size) {
  return LoopbackHttpServer::Start([chunk_size](const RecordedRequest& r) {
    Reply reply;
    if (r.target == "/missing") {
      reply.status = 404;
      reply.body = R"({"errorCode":"NOT_FOUND","errorMessage":"no"})";
      return reply;
    }
    reply.body = std::string(kBody, 'x');
    reply.chunk_size = chunk_size;
    return reply;
  });
}

TEST(SinkStreambufTest, ABodyOverTheLimitStreamsToTheSink) {
  for (size_t chunk_size :
       {size_t{0}, size_t{65536}}) {  // Content-Length, chunked.
    auto server = Server(chunk_size);
    auto transport = MakeTransport(server->base_url());
    auto sink = std::make_shared<TestSink>(/*hold=*/false);
    SendOptions options;
    options.body_sink = sink;
    auto w = Send(*transport, "/export", options);
    ASSERT_TRUE(w->done.WaitForNotificationWithTimeout(absl::Seconds(20)));
    ASSERT_TRUE(w->result.ok()) << w->result.status();
    EXPECT_EQ(w->result->status, 200);
    EXPECT_TRUE(w->result->body.empty());
    EXPECT_EQ(sink->bytes(), static_cast<int64_t>(kBody)) << chunk_size;
    EXPECT_GT(sink->chunks(), 1);
  }
}

TEST(SinkStreambufTest, TheTransportReadsNoMoreUntilTheSinkIsReady) {
  auto server = Server(65536);
  auto transport = MakeTransport(server->base_url());
  auto sink = std::make_shared<TestSink>(/*hold=*/true);
  SendOptions options;
  options.body_sink = sink;
  auto w = Send(*transport, "/export", options);
  // One chunk arrives, then nothing while it is held (the socket buffers fill up).
  for (int i = 0; i < 200 && sink->chunks() == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_FALSE(w->done.WaitForNotificationWithTimeout(absl::Milliseconds(300)));
  EXPECT_EQ(sink->chunks(), 1);
  sink->Release();
  ASSERT_TRUE(w->done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  ASSERT_TRUE(w->result.ok()) << w->result.status();
  EXPECT_EQ(sink->bytes(), static_cast<int64_t>(kBody));
}

TEST(SinkStreambufTest, AnErrorReplyIsCollectedWhole) {
  auto server = Server(0);
  auto transport = MakeTransport(server->base_url());
  auto sink = std::make_shared<TestSink>(/*hold=*/false);
  SendOptions options;
  options.body_sink = sink;
  auto w = Send(*transport, "/missing", options);
  ASSERT_TRUE(w->done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  ASSERT_TRUE(w->result.ok()) << w->result.status();
  EXPECT_EQ(w->result->status, 404);
  EXPECT_EQ(w->result->body,
            R"({"errorCode":"NOT_FOUND","errorMessage":"no"})");
  EXPECT_EQ(sink->chunks(), 0);
  EXPECT_EQ(sink->status_.load(), 404);
}

TEST(SinkStreambufTest, CancelWhileTheSinkHoldsAChunk) {
  auto server = Server(65536);
  auto transport = MakeTransport(server->base_url());
  auto sink = std::make_shared<TestSink>(/*hold=*/true);
  Cancellation cancel;
  SendOptions options;
  options.body_sink = sink;
  options.cancellation = &cancel;
  auto w = Send(*transport, "/export", options);
  for (int i = 0; i < 200 && sink->chunks() == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(sink->chunks(), 1);
  cancel.Cancel();
  sink->Release();  // A sink that gives up still releases the chunk.
  ASSERT_TRUE(w->done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(w->result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(sink->bytes(), static_cast<int64_t>(kBody));
}

}  // namespace
}  // namespace fgw
