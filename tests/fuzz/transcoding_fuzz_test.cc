// Property tests of the transcoder over the real Formance API, with seeded random inputs (so a
// failure is reproducible) and bounded iterations:
// - every one of the 276 request messages, filled with random values, encodes to a REST call or
//   fails with INVALID_ARGUMENT; a JSON body it writes always parses;
// - every response message survives JSON -> message -> JSON unchanged (where the JSON names its
//   union member), and random corruptions of that JSON give OK or INTERNAL, never a crash.
#include <random>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "proto/embedded_descriptors.h"
#include "rapidjson/document.h"
#include "server/routing/api_descriptors.h"
#include "server/routing/route_table.h"
#include "server/transcoding/codec_plan.h"
#include "server/transcoding/message_json_encoder.h"
#include "server/transcoding/request_encoder.h"
#include "server/transcoding/response_decoder.h"

namespace fgw {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

class RandomFiller {
 public:
  // `valid`: only values the API accepts (digits in bigint fields, known enum values in
  // required enums); otherwise anything goes.
  RandomFiller(uint32_t seed, bool valid) : rng_(seed), valid_(valid) {}

  void Fill(Message* m, int depth) {
    const MessagePlan& plan = GetMessagePlan(m->GetDescriptor());
    if (plan.well_known != WellKnown::kNone)
      return FillWellKnown(m, plan.well_known, depth);
    const Descriptor* d = m->GetDescriptor();
    if (plan.union_oneof != nullptr) {
      const FieldDescriptor* f =
          plan.union_oneof->field(Pick(plan.union_oneof->field_count()));
      return SetOne(m, f, plan.Of(f), depth);
    }
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      const FieldPlan& fp = plan.Of(f);
      if (&fp == plan.null_fields) continue;
      if (!fp.required && Pick(3) == 0) continue;
      if (f->is_repeated()) {
        const int n = depth > 3 ? 0 : Pick(3);
        for (int k = 0; k < n; ++k) AddOne(m, f, fp, depth);
      } else {
        SetOne(m, f, fp, depth);
      }
    }
  }

 private:
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::string Text() {
    static const char* kSamples[] = {
        "users:001",  "a b/c?d#e",   "ünïcode ✓", "",      "%2F",
        "\"quoted\"", "line\nbreak", "world",     "USD/2", "{json}"};
    return kSamples[Pick(10)];
  }

  std::string Digits() {
    std::string s = Pick(4) == 0 ? "-" : "";
    const int n = 1 + Pick(45);
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + Pick(10)));
    if (s.size() > 1 && s[s.size() - n] == '0') s[s.size() - n] = '7';
    return s;
  }

  std::string Scalar(const FieldPlan& fp) {
    if (fp.bigint) return valid_ || Pick(4) ? Digits() : Text();
    return Text();
  }

  int EnumValue(const FieldDescriptor* f, const FieldPlan& fp) {
    const auto* e = f->enum_type();
    if (valid_ || fp.required)
      return e->value(1 + Pick(e->value_count() - 1))->number();
    return e->value(Pick(e->value_count()))->number();
  }

  void SetOne(Message* m, const FieldDescriptor* f, const FieldPlan& fp,
              int depth) {
    if (f->is_map() || f->is_repeated()) return AddOne(m, f, fp, depth);
    const Reflection* r = m->GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        if (f->type() == FieldDescriptor::TYPE_BYTES)
          return r->SetString(m, f, "\x01\x02raw");
        return r->SetString(m, f, Scalar(fp));
      case FieldDescriptor::CPPTYPE_INT64:
        return r->SetInt64(m, f,
                           static_cast<int64_t>(rng_()) * (Pick(2) ? 1 : -1));
      case FieldDescriptor::CPPTYPE_INT32:
        return r->SetInt32(m, f, static_cast<int32_t>(rng_()));
      case FieldDescriptor::CPPTYPE_UINT64:
        return r->SetUInt64(m, f, rng_());
      case FieldDescriptor::CPPTYPE_UINT32:
        return r->SetUInt32(m, f, static_cast<uint32_t>(rng_()));
      case FieldDescriptor::CPPTYPE_DOUBLE:
        return r->SetDouble(m, f, (Pick(1000) - 500) / 8.0);
      case FieldDescriptor::CPPTYPE_FLOAT:
        return r->SetFloat(m, f, (Pick(1000) - 500) / 8.0f);
      case FieldDescriptor::CPPTYPE_BOOL:
        return r->SetBool(m, f, Pick(2) == 1);
      case FieldDescriptor::CPPTYPE_ENUM:
        return r->SetEnumValue(m, f, EnumValue(f, fp));
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth < 5) Fill(r->MutableMessage(m, f), depth + 1);
        return;
    }
  }

  void AddOne(Message* m, const FieldDescriptor* f, const FieldPlan& fp,
              int depth) {
    const Reflection* r = m->GetReflection();
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (depth >= 5) return;
      Message* item = r->AddMessage(m, f);
      if (f->is_map()) {
        const FieldDescriptor* key = f->message_type()->map_key();
        const FieldDescriptor* value = f->message_type()->map_value();
        item->GetReflection()->SetString(item, key,
                                         absl::StrCat(Text(), Pick(100)));
        SetOne(item, value, fp, depth + 1);
        return;
      }
      Fill(item, depth + 1);
      return;
    }
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        return r->AddString(m, f, Scalar(fp));
      case FieldDescriptor::CPPTYPE_ENUM:
        return r->AddEnumValue(m, f, EnumValue(f, fp));
      case FieldDescriptor::CPPTYPE_INT64:
        return r->AddInt64(m, f, static_cast<int64_t>(rng_()));
      case FieldDescriptor::CPPTYPE_BOOL:
        return r->AddBool(m, f, true);
      case FieldDescriptor::CPPTYPE_DOUBLE:
        return r->AddDouble(m, f, 0.5);
      default:
        return;
    }
  }

  void FillWellKnown(Message* m, WellKnown kind, int depth) {
    const Reflection* r = m->GetReflection();
    const Descriptor* d = m->GetDescriptor();
    if (kind == WellKnown::kValue) {
      if (depth > 4)
        return r->SetString(m, d->FindFieldByName("string_value"), Text());
      switch (Pick(4)) {
        case 0:
          return r->SetDouble(m, d->FindFieldByName("number_value"),
                              Pick(1 << 20));
        case 1:
          return r->SetString(m, d->FindFieldByName("string_value"), Text());
        case 2:
          return r->SetBool(m, d->FindFieldByName("bool_value"), true);
        default:
          return FillWellKnown(
              r->MutableMessage(m, d->FindFieldByName("struct_value")),
              WellKnown::kStruct, depth + 1);
      }
    }
    if (kind == WellKnown::kStruct) {
      const FieldDescriptor* fields = d->FindFieldByName("fields");
      for (int i = Pick(3); i > 0; --i) {
        Message* entry = r->AddMessage(m, fields);
        entry->GetReflection()->SetString(
            entry, entry->GetDescriptor()->map_key(), absl::StrCat("k", i));
        FillWellKnown(entry->GetReflection()->MutableMessage(
                          entry, entry->GetDescriptor()->map_value()),
                      WellKnown::kValue, depth + 1);
      }
      return;
    }
    if (kind == WellKnown::kListValue) {
      const FieldDescriptor* values = d->FindFieldByName("values");
      for (int i = Pick(3); i > 0; --i) {
        FillWellKnown(r->AddMessage(m, values), WellKnown::kValue, depth + 1);
      }
    }
  }

  std::mt19937 rng_;
  bool valid_;
};

class TranscodingFuzzTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto api = ApiDescriptors::FromSerializedSet(EmbeddedApiDescriptorSet());
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = api->release();
    auto routes = RouteTable::Build(*api_);
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = routes->release();
  }
  static const ApiDescriptors* api_;
  static const RouteTable* routes_;
};
const ApiDescriptors* TranscodingFuzzTest::api_ = nullptr;
const RouteTable* TranscodingFuzzTest::routes_ = nullptr;

// Whether the message (transitively) holds a union whose JSON does not name its member: those
// decode by shape, which may pick another member with the same JSON.
bool HasUndiscriminatedUnion(const Descriptor* d, int depth = 0) {
  if (depth > 6) return false;
  const MessagePlan& plan = GetMessagePlan(d);
  if (plan.union_oneof != nullptr && plan.discriminator.empty()) return true;
  for (int i = 0; i < d->field_count(); ++i) {
    const Descriptor* sub = d->field(i)->message_type();
    if (sub != nullptr && sub != d && HasUndiscriminatedUnion(sub, depth + 1))
      return true;
  }
  return false;
}

TEST_F(TranscodingFuzzTest, RandomRequestsEncodeOrAreInvalidArgument) {
  int encoded = 0, refused = 0;
  for (const Route& route : routes_->routes()) {
    for (uint32_t seed = 0; seed < 20; ++seed) {
      SCOPED_TRACE(absl::StrCat(route.grpc_method, " seed ", seed));
      std::unique_ptr<Message> m(
          api_->Prototype(route.method->input_type())->New());
      RandomFiller(seed, /*valid=*/seed % 2 == 0).Fill(m.get(), 0);
      absl::StatusOr<HttpRequest> request = EncodeRequest(route, *m);
      if (!request.ok()) {
        ++refused;
        EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument)
            << request.status();
        continue;
      }
      ++encoded;
      EXPECT_EQ(request->method, route.http_method);
      EXPECT_TRUE(absl::StartsWith(request->path_and_query, "/"));
      for (char c : request->path_and_query) {
        ASSERT_TRUE(c > 0x20 && c < 0x7f)
            << "raw byte in target: " << request->path_and_query;
      }
      const std::string* type = FindHeader(request->headers, "Content-Type");
      if (type != nullptr && *type == "application/json") {
        rapidjson::Document doc;
        doc.Parse(request->body.data(), request->body.size());
        EXPECT_FALSE(doc.HasParseError()) << request->body;
      }
    }
  }
  std::printf("random requests: %d encoded, %d refused with INVALID_ARGUMENT\n",
              encoded, refused);
  EXPECT_GT(encoded, 276 * 5);
}

TEST_F(TranscodingFuzzTest, ResponsesRoundTripAndCorruptionsNeverCrash) {
  int round_trips = 0, corruptions = 0, corrupt_ok = 0;
  std::mt19937 rng(7);
  for (const Route& route : routes_->routes()) {
    const Descriptor* type = route.method->output_type();
    if (route.response_body_field != nullptr)
      continue;  // Raw and bare bodies: covered elsewhere.
    const bool exact = !HasUndiscriminatedUnion(type);
    for (uint32_t seed = 0; seed < 6; ++seed) {
      SCOPED_TRACE(absl::StrCat(route.grpc_method, " seed ", seed));
      std::unique_ptr<Message> m(api_->Prototype(type)->New());
      RandomFiller(seed, /*valid=*/true).Fill(m.get(), 0);
      absl::StatusOr<std::string> json = MessageToJson(*m);
      if (!json.ok()) continue;  // A header-only field left empty, say.
      HttpResponse response;
      response.status = 200;
      response.body = *json;
      std::unique_ptr<Message> back(api_->Prototype(type)->New());
      absl::Status decoded = DecodeResponse(route, response, back.get());
      ASSERT_TRUE(decoded.ok()) << decoded << "\n" << *json;
      if (exact) {
        absl::StatusOr<std::string> again = MessageToJson(*back);
        ASSERT_TRUE(again.ok()) << again.status();
        EXPECT_EQ(*again, *json);
        ++round_trips;
      }
      for (int k = 0; k < 8; ++k) {
        std::string bad = *json;
        const size_t at = bad.empty() ? 0 : rng() % bad.size();
        switch (rng() % 4) {
          case 0:
            bad.resize(at);
            break;
          case 1:
            if (!bad.empty()) bad[at] = static_cast<char>(rng() % 128);
            break;
          case 2:
            bad.insert(at, "{[\"\\u12");
            break;
          default:
            bad.insert(at, "99999999999999999999999999999e999");
            break;
        }
        response.body = bad;
        std::unique_ptr<Message> out(api_->Prototype(type)->New());
        absl::Status s = DecodeResponse(route, response, out.get());
        ++corruptions;
        if (s.ok()) {
          ++corrupt_ok;
        } else {
          EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
        }
      }
    }
  }
  std::printf(
      "responses: %d exact round trips; %d corruptions decoded (%d still valid "
      "JSON)\n",
      round_trips, corruptions, corrupt_ok);
  EXPECT_GT(round_trips, 500);
}

}  // namespace
}  // namespace fgw
