// Test helpers for the gRPC layer: a programmable UnaryCallHandler, a raw-bytes client
// (grpc::GenericStub) and a decoder for grpc-status-details-bin.
#ifndef FGW_TESTS_UNIT_GRPC_GRPC_TEST_UTIL_H_
#define FGW_TESTS_UNIT_GRPC_GRPC_TEST_UTIL_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "server/grpc/call_handler.h"
#include "server/grpc/status_conversion.h"

namespace fgw::testing {

// Runs a std::function per call.
class FakeHandler : public UnaryCallHandler {
 public:
  using Fn = std::function<void(const IncomingCall&, std::string,
                                std::function<void(CallResult)>)>;
  explicit FakeHandler(Fn fn) : fn_(std::move(fn)) {}
  void HandleUnary(const IncomingCall& call, std::string request,
                   std::function<void(CallResult)> done) override {
    fn_(call, std::move(request), std::move(done));
  }

 private:
  Fn fn_;
};

struct RawResult {
  grpc::Status status;
  std::string response;
  std::multimap<std::string, std::string> initial_metadata;
  std::multimap<std::string, std::string> trailing_metadata;
};

inline std::shared_ptr<grpc::Channel> Connect(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

inline std::multimap<std::string, std::string> Copy(
    const std::multimap<grpc::string_ref, grpc::string_ref>& in) {
  std::multimap<std::string, std::string> out;
  for (const auto& [k, v] : in) {
    out.emplace(std::string(k.data(), k.size()),
                std::string(v.data(), v.size()));
  }
  return out;
}

// One unary call with raw bytes; `setup` may add metadata or a deadline to the context.
inline RawResult RawCall(
    grpc::GenericStub& stub, const std::string& method,
    const std::string& request,
    const std::function<void(grpc::ClientContext*)>& setup = nullptr) {
  grpc::ClientContext ctx;
  if (setup) setup(&ctx);
  grpc::ByteBuffer req = StringToByteBuffer(request);
  grpc::ByteBuffer resp;
  absl::Notification done;
  RawResult result;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &req, &resp,
                 [&](grpc::Status s) {
                   result.status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  result.response = ByteBufferToString(resp);
  result.initial_metadata = Copy(ctx.GetServerInitialMetadata());
  result.trailing_metadata = Copy(ctx.GetServerTrailingMetadata());
  return result;
}

// One streaming call with raw bytes, driven step by step on its own completion queue: every
// operation waits for its own completion, so a test reads like the exchange it checks.
class RawStream {
 public:
  RawStream(grpc::GenericStub& stub, const std::string& method) {
    call_ = stub.PrepareCall(&ctx_, method, &cq_);
    call_->StartCall(Tag(kStart));
    Step(kStart);
  }
  ~RawStream() {
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }
  // Each returns whether the operation succeeded.
  bool Write(const std::string& message) {
    grpc::ByteBuffer buffer = StringToByteBuffer(message);
    call_->Write(buffer, Tag(kWrite));
    return Step(kWrite);
  }
  bool WriteLast(const std::string& message) {
    grpc::ByteBuffer buffer = StringToByteBuffer(message);
    call_->WriteLast(buffer, grpc::WriteOptions(), Tag(kWrite));
    return Step(kWrite);
  }
  bool WritesDone() {
    call_->WritesDone(Tag(kWritesDone));
    return Step(kWritesDone);
  }
  // False when the server ended the stream.
  bool Read(std::string* message) {
    grpc::ByteBuffer buffer;
    call_->Read(&buffer, Tag(kRead));
    if (!Step(kRead)) return false;
    *message = ByteBufferToString(buffer);
    return true;
  }
  grpc::Status Finish() {
    grpc::Status status;
    call_->Finish(&status, Tag(kFinish));
    Step(kFinish);
    return status;
  }
  void Cancel() { ctx_.TryCancel(); }

 private:
  enum Op : intptr_t { kStart = 1, kWrite, kWritesDone, kRead, kFinish };
  static void* Tag(Op op) { return reinterpret_cast<void*>(op); }
  bool Step(Op expected) {
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq_.Next(&tag, &ok));
    EXPECT_EQ(tag, Tag(expected));
    return ok;
  }

  grpc::ClientContext ctx_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
};

// google.rpc.Status decoded: code, message and (type_url, value) of each detail.
struct DecodedRpcStatus {
  int code = 0;
  std::string message;
  std::vector<std::pair<std::string, std::string>> details;
};

inline bool DecodeRpcStatus(const std::string& bytes, DecodedRpcStatus* out) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  while (uint32_t tag = in.ReadTag()) {
    int field = WireFormatLite::GetTagFieldNumber(tag);
    if (field == 1) {
      uint32_t code;
      if (!in.ReadVarint32(&code)) return false;
      out->code = static_cast<int>(code);
    } else if (field == 2) {
      if (!WireFormatLite::ReadString(&in, &out->message)) return false;
    } else if (field == 3) {
      std::string any;
      if (!WireFormatLite::ReadString(&in, &any)) return false;
      google::protobuf::io::CodedInputStream a(
          reinterpret_cast<const uint8_t*>(any.data()),
          static_cast<int>(any.size()));
      std::pair<std::string, std::string> detail;
      while (uint32_t atag = a.ReadTag()) {
        std::string s;
        if (!WireFormatLite::ReadString(&a, &s)) return false;
        (WireFormatLite::GetTagFieldNumber(atag) == 1 ? detail.first
                                                      : detail.second) = s;
      }
      out->details.push_back(std::move(detail));
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
  return true;
}

}  // namespace fgw::testing

#endif  // FGW_TESTS_UNIT_GRPC_GRPC_TEST_UTIL_H_
