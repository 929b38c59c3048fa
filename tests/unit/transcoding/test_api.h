// Test helpers: the fgw.test API (testdata/transcoding_test_api.proto) loaded dynamically,
// exactly as production loads the Formance descriptor set.
#ifndef FGW_TESTS_UNIT_TRANSCODING_TEST_API_H_
#define FGW_TESTS_UNIT_TRANSCODING_TEST_API_H_

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "server/routing/api_descriptors.h"
#include "server/routing/route_table.h"

namespace fgw::testing {

inline const ApiDescriptors& TestApi() {
  static const ApiDescriptors* api = [] {
    auto loaded = ApiDescriptors::FromFile(FGW_TEST_DESCRIPTOR_SET);
    if (!loaded.ok()) {
      ADD_FAILURE() << loaded.status();
      std::abort();
    }
    return loaded->release();
  }();
  return *api;
}

inline const RouteTable& TestRoutes() {
  static const RouteTable* table = [] {
    auto built = RouteTable::Build(TestApi());
    if (!built.ok()) {
      ADD_FAILURE() << built.status();
      std::abort();
    }
    return built->release();
  }();
  return *table;
}

inline const Route& TestRoute(const std::string& method) {
  const Route* route =
      TestRoutes().Find(absl::StrCat("/fgw.test.TestService/", method));
  if (route == nullptr) {
    ADD_FAILURE() << "no route " << method;
    std::abort();
  }
  return *route;
}

// A new message of type fgw.test.<name>, filled from text format.
inline std::unique_ptr<google::protobuf::Message> NewMessage(
    const std::string& name, const std::string& text = "") {
  const google::protobuf::Descriptor* d =
      TestApi().pool()->FindMessageTypeByName(absl::StrCat("fgw.test.", name));
  if (d == nullptr) {
    ADD_FAILURE() << "no message " << name;
    std::abort();
  }
  std::unique_ptr<google::protobuf::Message> m(TestApi().Prototype(d)->New());
  if (!text.empty() &&
      !google::protobuf::TextFormat::ParseFromString(text, m.get())) {
    ADD_FAILURE() << "bad text format for " << name << ": " << text;
  }
  return m;
}

// Text format of a message, for comparisons.
inline std::string Text(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.PrintToString(m, &out);
  return out;
}

}  // namespace fgw::testing

#endif  // FGW_TESTS_UNIT_TRANSCODING_TEST_API_H_
