#include "server/upstream/transport.h"

#include "absl/strings/cord.h"

namespace fgw {
namespace {
constexpr char kNotSentPayload[] = "fgw/request-not-sent";
}  // namespace

absl::Status MarkNotSent(absl::Status status) {
  status.SetPayload(kNotSentPayload, absl::Cord("1"));
  return status;
}

bool RequestMayHaveReachedServer(const absl::Status& status) {
  return !status.GetPayload(kNotSentPayload).has_value();
}

}  // namespace fgw
