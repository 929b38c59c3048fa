#include "server/transcoding/scalar_text.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/internal/dtoa.h"

namespace fgw {
namespace {

using google::protobuf::FieldDescriptor;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Strips leading zeros of `digits` (all digits, non-empty) and prefixes '-' unless zero.
void AppendInteger(bool negative, absl::string_view digits, std::string* out) {
  size_t first = 0;
  while (first + 1 < digits.size() && digits[first] == '0') ++first;
  digits.remove_prefix(first);
  out->clear();
  if (negative && digits != "0") out->push_back('-');
  out->append(digits.data(), digits.size());
}

}  // namespace

bool NormalizeBigint(absl::string_view text, std::string* out) {
  bool negative = false;
  if (!text.empty() && text[0] == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  if (text.empty()) return false;
  for (char c : text) {
    if (!IsDigit(c)) return false;
  }
  AppendInteger(negative, text, out);
  return true;
}

bool JsonNumberToInteger(absl::string_view number, std::string* out) {
  bool negative = false;
  if (!number.empty() && number[0] == '-') {
    negative = true;
    number.remove_prefix(1);
  }
  size_t i = 0;
  while (i < number.size() && IsDigit(number[i])) ++i;
  if (i == 0) return false;
  std::string digits(number.substr(0, i));
  long exponent = 0;
  if (i < number.size() && number[i] == '.') {
    const size_t start = ++i;
    while (i < number.size() && IsDigit(number[i])) ++i;
    if (i == start) return false;
    digits.append(number.data() + start, i - start);
    exponent -= static_cast<long>(i - start);
  }
  if (i < number.size() && (number[i] == 'e' || number[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < number.size() && (number[i] == '+' || number[i] == '-')) {
      exp_negative = number[i] == '-';
      ++i;
    }
    const size_t start = i;
    long exp = 0;
    while (i < number.size() && IsDigit(number[i])) {
      exp = exp * 10 + (number[i] - '0');
      if (exp > 1000000) return false;
      ++i;
    }
    if (i == start) return false;
    exponent += exp_negative ? -exp : exp;
  }
  if (i != number.size()) return false;
  if (exponent < 0) {
    // The dropped digits must all be zeros.
    const size_t drop = static_cast<size_t>(-exponent);
    if (drop > digits.size()) {
      for (char c : digits) {
        if (c != '0') return false;
      }
      digits = "0";
    } else {
      for (size_t k = digits.size() - drop; k < digits.size(); ++k) {
        if (digits[k] != '0') return false;
      }
      digits.resize(digits.size() - drop);
      if (digits.empty()) digits = "0";
    }
  } else if (exponent > 0) {
    bool zero = true;
    for (char c : digits) zero = zero && c == '0';
    if (!zero) {
      if (exponent > 4096) return false;
      digits.append(static_cast<size_t>(exponent), '0');
    }
  }
  AppendInteger(negative, digits, out);
  return true;
}

bool FormatDouble(double value, std::string* out) {
  if (!std::isfinite(value)) return false;
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    *out = absl::StrCat(static_cast<int64_t>(value));
    return true;
  }
  char buffer[32];
  char* end = rapidjson::internal::dtoa(value, buffer);
  out->assign(buffer, end);
  return true;
}

absl::StatusOr<std::string> ScalarText(const google::protobuf::Message& message,
                                       const FieldDescriptor* field, int index,
                                       const FieldPlan& plan) {
  const google::protobuf::Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(message, field, index)
                              : r->GetInt32(message, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(message, field, index)
                              : r->GetInt64(message, field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(message, field, index)
                              : r->GetUInt32(message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(message, field, index)
                              : r->GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return std::string((rep ? r->GetRepeatedBool(message, field, index)
                              : r->GetBool(message, field))
                             ? "true"
                             : "false");
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      const double v = field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE
                           ? (rep ? r->GetRepeatedDouble(message, field, index)
                                  : r->GetDouble(message, field))
                           : (rep ? r->GetRepeatedFloat(message, field, index)
                                  : r->GetFloat(message, field));
      std::string out;
      if (!FormatDouble(v, &out)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "field '", plan.field->name(), "' is not a finite number"));
      }
      return out;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number = rep ? r->GetRepeatedEnumValue(message, field, index)
                             : r->GetEnumValue(message, field);
      const std::string* wire = plan.Enum().Wire(number);
      if (wire == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("field '", plan.field->name(), "': enum value ",
                         number, " has no wire value"));
      }
      return *wire;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s =
          rep ? r->GetRepeatedStringReference(message, field, index, &scratch)
              : r->GetStringReference(message, field, &scratch);
      if (field->type() == FieldDescriptor::TYPE_BYTES)
        return absl::Base64Escape(s);
      if (!plan.bigint) return s;
      std::string out;
      if (!NormalizeBigint(s, &out)) {
        return absl::InvalidArgumentError(
            absl::StrCat("field '", plan.field->name(),
                         "' must be an integer (digits, optional '-')"));
      }
      return out;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("field '", plan.field->name(), "' is not a scalar"));
}

}  // namespace fgw
