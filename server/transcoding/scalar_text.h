// Text forms of scalar values shared by the JSON, query, path and header codecs: big integers
// checked and normalised digit for digit, doubles in their shortest round-trip form, scalar
// fields as the text a query parameter or header carries.
//
// Thread safety: pure functions.
#ifndef FGW_SERVER_TRANSCODING_SCALAR_TEXT_H_
#define FGW_SERVER_TRANSCODING_SCALAR_TEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "server/transcoding/codec_plan.h"

namespace fgw {

// Checks a bigint field's value (optional '-', then at least one digit, nothing else) and
// returns it without leading zeros ("-0" becomes "0"). false when it is not such a string.
bool NormalizeBigint(absl::string_view text, std::string* out);

// Converts JSON number text ("12", "-3", "1.20e2", "1E+40") to integer digits, exactly;
// false when the number is not an integer (1.5, 1e-3) or its exponent exceeds 4096.
bool JsonNumberToInteger(absl::string_view number, std::string* out);

// Shortest text that reads back to `value`; integral values below 2^53 without a fraction
// ("100", not "100.0"). false for NaN and infinities (not representable in JSON).
bool FormatDouble(double value, std::string* out);

// The text of one scalar value for a query parameter, path segment or header: integers in
// decimal, bools true/false, enums by wire value, bigint digits (normalised), strings as is,
// bytes in base64. `index` is -1 for a singular field, else the element. `field` may be a
// map entry's value field (then `message` is the entry). INVALID_ARGUMENT naming the field for
// a malformed bigint or an enum value without a wire string.
absl::StatusOr<std::string> ScalarText(
    const google::protobuf::Message& message,
    const google::protobuf::FieldDescriptor* field, int index,
    const FieldPlan& plan);

}  // namespace fgw

#endif  // FGW_SERVER_TRANSCODING_SCALAR_TEXT_H_
