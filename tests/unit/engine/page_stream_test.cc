#include "server/engine/page_stream.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/embedded_descriptors.h"
#include "server/engine/stream_cursor.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_transport.h"

namespace fgw {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kStream[] =
    "/formance.ledger.v2.LedgerService/StreamTransactions";

// Records what the driver writes; `drained` waits until the test calls Drain(), as gRPC's
// write completion waits for the reader (and runs inline when nothing was written, as
// ServerCall::NotifyWhenDrained does).
class RecordingSink : public StreamSink {
 public:
  void Write(std::vector<std::string> messages,
             absl::AnyInvocable<void()> drained) override {
    if (messages.empty()) {  // Nothing queued: ServerCall runs it inline.
      if (drained) drained();
      return;
    }
    for (auto& m : messages) messages_.push_back(std::move(m));
    drained_ = std::move(drained);
  }
  void Finish(absl::Status status, Metadata trailing) override {
    ++finishes_;
    status_ = std::move(status);
    trailing_ = std::move(trailing);
  }
  void Resume(absl::AnyInvocable<void()> fn) override { fn(); }

  // Runs the pending `drained`; false if there is none.
  bool Drain() {
    if (!drained_) return false;
    auto fn = std::move(drained_);
    drained_ = nullptr;
    fn();
    return true;
  }
  bool waiting() const { return static_cast<bool>(drained_); }
  std::string Trailer(absl::string_view key) const {
    for (const auto& [k, v] : trailing_) {
      if (k == key) return v;
    }
    return "";
  }

  std::vector<std::string> messages_;
  absl::AnyInvocable<void()> drained_;
  int finishes_ = 0;
  std::optional<absl::Status> status_;
  Metadata trailing_;
};

// A ledger v2 page: transactions `first`..`last` (inclusive), and `next` when not empty.
HttpResponse Page(int first, int last, absl::string_view next) {
  std::vector<std::string> items;
  for (int i = first; i <= last; ++i) {
    items.push_back(absl::StrCat(
        R"({"id":)", i,
        R"(,"timestamp":"2024-01-01T00:00:00Z","postings":[],"metadata":{},"reverted":false})"));
  }
  std::string cursor = absl::StrCat(R"({"pageSize":3,"hasMore":)",
                                    next.empty() ? "false" : "true");
  if (!next.empty()) absl::StrAppend(&cursor, R"(,"next":")", next, R"(")");
  absl::StrAppend(&cursor, R"(,"data":[)", absl::StrJoin(items, ","), "]}");
  return MakeHttpResponse(200, absl::StrCat(R"({"cursor":)", cursor, "}"),
                          {{"Content-Type", "application/json"}});
}

class PageStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto api = ApiDescriptors::FromSerializedSet(EmbeddedApiDescriptorSet());
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = api->release();
    routes_ = RouteTable::Build(*api_)->release();
    methods_ = MethodTable::Compile(*api_, *routes_, {}).release();
    streams_ = StreamMethods::Compile(*api_, *methods_)->release();
  }

  PageStreamTest()
      : transport_(&clock_),
        chain_(UpstreamChainOptions{}, &transport_, nullptr, nullptr, nullptr,
               &clock_, RealRandom()) {}

  const StreamMethod* method() { return streams_->Find(kStream); }

  std::unique_ptr<google::protobuf::Message> Request(
      absl::string_view cursor = "", absl::string_view pit = "") {
    std::unique_ptr<google::protobuf::Message> m(
        method()->list->request_prototype->New());
    const auto* d = m->GetDescriptor();
    const auto* r = m->GetReflection();
    r->SetString(m.get(), d->FindFieldByName("ledger"), "main");
    r->SetInt64(m.get(), d->FindFieldByName("page_size"), 3);
    r->SetString(m.get(), d->FindFieldByName("sort"), "id:desc");
    if (!cursor.empty())
      r->SetString(m.get(), d->FindFieldByName("cursor"), std::string(cursor));
    if (!pit.empty())
      r->SetString(m.get(), d->FindFieldByName("pit"), std::string(pit));
    return m;
  }

  void Start(std::unique_ptr<google::protobuf::Message> request,
             PageStreamOptions options = {}) {
    if (options.cancellation == nullptr) options.cancellation = &cancel_;
    PageStream::Start(method(), api_, &chain_, &clock_, UpstreamLimits(),
                      std::move(request), options, sink_);
  }

  // The stream messages written so far, parsed.
  std::vector<std::unique_ptr<google::protobuf::Message>> Written() {
    const auto* out =
        method()->list->route->method->service()->FindMethodByName(
            "StreamTransactions");
    std::vector<std::unique_ptr<google::protobuf::Message>> v;
    for (const std::string& bytes : sink_->messages_) {
      std::unique_ptr<google::protobuf::Message> m(
          api_->Prototype(out->output_type())->New());
      EXPECT_TRUE(m->ParseFromString(bytes));
      v.push_back(std::move(m));
    }
    return v;
  }
  static std::string Id(const google::protobuf::Message& m) {
    const auto* item = m.GetDescriptor()->FindFieldByName("item");
    const auto& tx = m.GetReflection()->GetMessage(m, item);
    return tx.GetReflection()->GetString(
        tx, tx.GetDescriptor()->FindFieldByName("id"));
  }
  static std::string Cursor(const google::protobuf::Message& m) {
    return m.GetReflection()->GetString(
        m, m.GetDescriptor()->FindFieldByName("cursor"));
  }
  std::vector<std::string> Ids() {
    std::vector<std::string> ids;
    for (const auto& m : Written()) ids.push_back(Id(*m));
    return ids;
  }

  static const ApiDescriptors* api_;
  static const RouteTable* routes_;
  static const MethodTable* methods_;
  static const StreamMethods* streams_;
  FakeClock clock_;
  FakeTransport transport_;
  UpstreamChain chain_;
  Cancellation cancel_;
  std::shared_ptr<RecordingSink> sink_ = std::make_shared<RecordingSink>();
};

const ApiDescriptors* PageStreamTest::api_ = nullptr;
const RouteTable* PageStreamTest::routes_ = nullptr;
const MethodTable* PageStreamTest::methods_ = nullptr;
const StreamMethods* PageStreamTest::streams_ = nullptr;

TEST_F(PageStreamTest, NextPageOnlyAfterTheWritesDrain) {
  transport_.Enqueue(Page(0, 2, "c2"));
  transport_.Enqueue(Page(3, 4, "c3"));
  transport_.Enqueue(Page(5, 5, ""));
  Start(Request());
  EXPECT_EQ(transport_.num_calls(), 1);
  EXPECT_EQ(sink_->messages_.size(), 3u);
  EXPECT_TRUE(sink_->waiting());
  EXPECT_EQ(transport_.num_calls(),
            1);  // Nothing more until the reader takes page 1.
  ASSERT_TRUE(sink_->Drain());
  EXPECT_EQ(transport_.num_calls(), 2);
  EXPECT_EQ(sink_->messages_.size(), 5u);
  ASSERT_TRUE(sink_->Drain());
  EXPECT_EQ(transport_.num_calls(), 3);
  ASSERT_EQ(sink_->finishes_, 1);
  EXPECT_TRUE(sink_->status_->ok()) << *sink_->status_;
  EXPECT_THAT(Ids(), ::testing::ElementsAre("0", "1", "2", "3", "4", "5"));
  EXPECT_EQ(sink_->Trailer("formance-pages"), "3");
  EXPECT_EQ(sink_->Trailer("formance-items"), "6");
  EXPECT_EQ(sink_->Trailer("formance-attempts"), "3");
  EXPECT_EQ(sink_->Trailer("formance-http-status"), "200");
  // Later pages carry the path and the cursor alone.
  EXPECT_EQ(transport_.request(1).path_and_query,
            "/api/ledger/v2/main/transactions?cursor=c2");
  EXPECT_EQ(transport_.request(2).path_and_query,
            "/api/ledger/v2/main/transactions?cursor=c3");
}

TEST_F(PageStreamTest, PitIsPinnedToTheStartAndCarriedByTheCursors) {
  transport_.Enqueue(Page(0, 2, "c2"));
  transport_.Enqueue(Page(3, 3, ""));
  Start(Request());
  const std::string first = transport_.request(0).path_and_query;
  EXPECT_THAT(first, HasSubstr("pageSize=3"));
  EXPECT_THAT(first, HasSubstr("pit=2024-01-01T00%3A00%3A00.000000Z"));
  auto written = Written();
  ASSERT_EQ(written.size(), 3u);
  // Mid-page: the page's cursor ("" = first page) and the count; last: the next page.
  auto c0 = ParseStreamCursor(Cursor(*written[0]));
  ASSERT_TRUE(c0.ok());
  EXPECT_EQ(c0->upstream, "");
  EXPECT_EQ(c0->skip, 1);
  EXPECT_EQ(c0->pit, "2024-01-01T00:00:00.000000Z");
  auto c2 = ParseStreamCursor(Cursor(*written[2]));
  EXPECT_EQ(c2->upstream, "c2");
  EXPECT_EQ(c2->skip, 0);
  clock_.Advance(absl::Minutes(5));
  ASSERT_TRUE(sink_->Drain());
  EXPECT_EQ(Cursor(*Written()[3]), "");  // The last item of a complete stream.
}

TEST_F(PageStreamTest, TheCallersPitIsKept) {
  transport_.Enqueue(Page(0, 0, ""));
  Start(Request("", "2023-05-05T00:00:00Z"));
  EXPECT_THAT(transport_.request(0).path_and_query,
              HasSubstr("pit=2023-05-05T00%3A00%3A00Z"));
}

TEST_F(PageStreamTest, MaxItemsEndsOkAndTheCursorResumesMidPage) {
  transport_.Enqueue(Page(0, 2, "c2"));
  transport_.Enqueue(Page(3, 5, "c3"));
  PageStreamOptions options;
  options.max_items = 4;
  Start(Request(), options);
  ASSERT_TRUE(sink_->Drain());
  ASSERT_EQ(sink_->finishes_, 1);
  EXPECT_TRUE(sink_->status_->ok());
  EXPECT_THAT(Ids(), ::testing::ElementsAre("0", "1", "2", "3"));
  EXPECT_EQ(transport_.num_calls(), 2);
  const std::string resume = Cursor(*Written().back());

  // Resume: page c2 again, its first item skipped.
  sink_ = std::make_shared<RecordingSink>();
  transport_.Enqueue(Page(3, 5, ""));
  Start(Request(resume));
  EXPECT_EQ(transport_.request(2).path_and_query,
            "/api/ledger/v2/main/transactions?cursor=c2");
  ASSERT_EQ(sink_->finishes_, 1);
  EXPECT_THAT(Ids(), ::testing::ElementsAre("4", "5"));
}

TEST_F(PageStreamTest, ResumeOnTheFirstPageKeepsTheRequestAndThePit) {
  transport_.Enqueue(Page(0, 2, ""));
  Start(Request(FormatStreamCursor({"", 2, "2023-01-01T00:00:00Z"})));
  const std::string q = transport_.request(0).path_and_query;
  EXPECT_THAT(q, HasSubstr("pageSize=3"));
  EXPECT_THAT(q, HasSubstr("sort=id%3Adesc"));
  EXPECT_THAT(q, HasSubstr("pit=2023-01-01T00%3A00%3A00Z"));
  EXPECT_THAT(q, Not(HasSubstr("cursor=")));
  EXPECT_THAT(Ids(), ::testing::ElementsAre("2"));
}

TEST_F(PageStreamTest, AFormanceCursorIsSentAlone) {
  transport_.Enqueue(Page(0, 0, ""));
  Start(Request("abc=="));
  EXPECT_EQ(transport_.request(0).path_and_query,
            "/api/ledger/v2/main/transactions?cursor=abc%3D%3D");
}

TEST_F(PageStreamTest, CancelWhileTheReaderLagsStartsNoRequest) {
  transport_.Enqueue(Page(0, 2, "c2"));
  Start(Request());
  cancel_.Cancel();
  sink_->Drain();  // Had the write completed anyway.
  EXPECT_EQ(transport_.num_calls(), 1);
  ASSERT_EQ(sink_->finishes_, 1);
  EXPECT_EQ(sink_->status_->code(), absl::StatusCode::kCancelled);
}

TEST_F(PageStreamTest, CancelDuringAPageAbandonsIt) {
  transport_.Enqueue(Page(0, 2, "c2"));
  Start(Request());
  transport_.set_hold(true);
  ASSERT_TRUE(sink_->Drain());
  EXPECT_EQ(transport_.num_pending(), 1);
  cancel_.Cancel();
  ASSERT_EQ(sink_->finishes_, 1);
  EXPECT_EQ(sink_->status_->code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(transport_.num_calls(), 2);
  EXPECT_EQ(sink_->Trailer("formance-items"), "3");
}

TEST_F(PageStreamTest, DeadlineWhileWaitingForAPage) {
  transport_.set_hold(true);
  PageStreamOptions options;
  options.deadline = clock_.Now() + absl::Seconds(5);
  Start(Request(), options);
  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(sink_->finishes_, 0);
  clock_.Advance(absl::Seconds(2));
  ASSERT_EQ(sink_->finishes_, 1);
  EXPECT_EQ(sink_->status_->code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(PageStreamTest, DeadlinePassedWhileTheReaderLagged) {
  transport_.Enqueue(Page(0, 2, "c2"));
  PageStreamOptions options;
  options.deadline = clock_.Now() + absl::Seconds(5);
  Start(Request(), options);
  clock_.Advance(absl::Seconds(6));
  ASSERT_TRUE(sink_->Drain());
  EXPECT_EQ(transport_.num_calls(), 1);
  ASSERT_EQ(sink_->finishes_, 1);
  EXPECT_EQ(sink_->status_->code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(sink_->status_->message(), HasSubstr("before page 2"));
}

TEST_F(PageStreamTest, AnUpstreamErrorEndsTheStreamAfterTheItemsSent) {
  transport_.Enqueue(Page(0, 2, "c2"));
  transport_.Enqueue(MakeHttpResponse(
      404, R"({"errorCode":"NOT_FOUND","errorMessage":"gone"})",
      {{"Content-Type", "application/json"}}));
  Start(Request());
  ASSERT_TRUE(sink_->Drain());
  ASSERT_EQ(sink_->finishes_, 1);
  EXPECT_EQ(sink_->status_->code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(sink_->Trailer("formance-http-status"), "404");
  EXPECT_EQ(sink_->messages_.size(), 3u);
}

TEST_F(PageStreamTest, MalformedJsonIsInternal) {
  transport_.Enqueue(MakeHttpResponse(200, R"({"cursor":{"data":[)",
                                      {{"Content-Type", "application/json"}}));
  Start(Request());
  ASSERT_EQ(sink_->finishes_, 1);
  EXPECT_EQ(sink_->status_->code(), absl::StatusCode::kInternal);
}

TEST_F(PageStreamTest, ARepeatedCursorIsCut) {
  transport_.Enqueue(Page(0, 2, "c2"));
  transport_.Enqueue(Page(3, 5, "c2"));
  Start(Request());
  ASSERT_TRUE(sink_->Drain());
  ASSERT_EQ(sink_->finishes_, 1);
  EXPECT_EQ(sink_->status_->code(), absl::StatusCode::kInternal);
  EXPECT_THAT(sink_->status_->message(), HasSubstr("repeats"));
  EXPECT_EQ(sink_->messages_.size(), 3u);
}

TEST_F(PageStreamTest, EmptyPagesInARowAreBounded) {
  int n = 0;
  transport_.SetHandler([&n](const HttpRequest&) {
    ++n;
    return std::optional<FakeTransport::Result>(
        Page(1, 0, absl::StrCat("c", n)));  // No item, always more.
  });
  Start(Request());
  ASSERT_EQ(sink_->finishes_, 1);
  EXPECT_EQ(sink_->status_->code(), absl::StatusCode::kInternal);
  EXPECT_EQ(transport_.num_calls(), kMaxEmptyPages);
}

TEST_F(PageStreamTest, AMalformedStreamCursorSendsNothing) {
  Start(Request("fgws1.@@.1."));
  ASSERT_EQ(sink_->finishes_, 1);
  EXPECT_EQ(sink_->status_->code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(transport_.num_calls(), 0);
}

TEST_F(PageStreamTest, PathParametersOfAnyTypeAreKeptOnLaterPages) {
  // payments v1 ListConnectorTasks: the `connector` path parameter is an enum.
  const StreamMethod* tasks = streams_->Find(
      "/formance.payments.v1.PaymentsService/StreamConnectorTasks");
  ASSERT_NE(tasks, nullptr);
  std::unique_ptr<google::protobuf::Message> request(
      tasks->list->request_prototype->New());
  const auto* connector =
      request->GetDescriptor()->FindFieldByName("connector");
  ASSERT_NE(connector->enum_type(), nullptr);
  request->GetReflection()->SetEnumValue(request.get(), connector, 1);
  request->GetReflection()->SetInt64(
      request.get(), request->GetDescriptor()->FindFieldByName("page_size"), 2);
  auto page = [](absl::string_view next) {
    std::string cursor = absl::StrCat(
        R"({"cursor":{"pageSize":2,"hasMore":)",
        next.empty() ? "false" : "true",
        next.empty() ? "" : absl::StrCat(R"(,"next":")", next, R"(")"),
        R"(,"data":[{"id":"t1","connectorID":"c","createdAt":"2024-01-01T00:00:00Z",)",
        R"("updatedAt":"2024-01-01T00:00:00Z","descriptor":{},"status":"ACTIVE","state":{}}]}})");
    return MakeHttpResponse(200, cursor,
                            {{"Content-Type", "application/json"}});
  };
  transport_.Enqueue(page("n2"));
  transport_.Enqueue(page(""));
  PageStream::Start(tasks, api_, &chain_, &clock_, UpstreamLimits(),
                    std::move(request), PageStreamOptions{}, sink_);
  ASSERT_TRUE(sink_->Drain());
  ASSERT_EQ(sink_->finishes_, 1);
  EXPECT_TRUE(sink_->status_->ok()) << *sink_->status_;
  ASSERT_EQ(transport_.num_calls(), 2);
  const std::string first = transport_.request(0).path_and_query;
  const std::string second = transport_.request(1).path_and_query;
  EXPECT_THAT(first, HasSubstr("pageSize=2"));
  EXPECT_EQ(second.substr(0, first.find('?')),
            first.substr(0, first.find('?')));
  EXPECT_THAT(second, ::testing::EndsWith("/tasks?cursor=n2"));
}

TEST_F(PageStreamTest, PagesBypassTheCache) {
  transport_.Enqueue(Page(0, 0, ""));
  Start(Request());
  ASSERT_EQ(transport_.num_calls(), 1);
  EXPECT_EQ(sink_->finishes_, 1);
  // (The cache filter passes a call through when CallOptions::bypass_cache is set or the
  // spec's TTL is zero; both hold: stream_methods_test checks the TTL.)
  EXPECT_EQ(method()->spec.cache_ttl, absl::ZeroDuration());
}

}  // namespace
}  // namespace fgw
