#include "client/cli/cli_options.h"

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace fgw::cli {
namespace {

absl::StatusOr<std::pair<std::string, std::string>> ParseHeader(
    absl::string_view text) {
  size_t at = text.find(':');
  if (at == absl::string_view::npos) at = text.find('=');
  if (at == absl::string_view::npos || at == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("-H wants 'key: value', got: ", text));
  }
  std::string key =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(text.substr(0, at)));
  std::string value(absl::StripAsciiWhitespace(text.substr(at + 1)));
  // gRPC aborts the process on an illegal key or value: refuse them here.
  bool key_ok = absl::c_all_of(key, [](char c) {
    return absl::ascii_isdigit(c) || absl::ascii_islower(c) || c == '-' ||
           c == '_' || c == '.';
  });
  if (!key_ok || absl::StartsWith(key, "grpc-")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "-H: illegal metadata key '", key, "' (0-9 a-z - _ . only, no grpc-)"));
  }
  if (!absl::EndsWith(key, "-bin") &&
      !absl::c_all_of(value, [](char c) { return c >= 0x20 && c <= 0x7e; })) {
    return absl::InvalidArgumentError(absl::StrCat(
        "-H ", key, ": the value must be printable ASCII (or use a -bin key)"));
  }
  return std::make_pair(std::move(key), std::move(value));
}

// "--flag=value" or "--flag value" / "-flag value"; advances `i` past a separate value.
bool TakeValue(const std::vector<std::string>& argv, size_t& i,
               absl::string_view flag, std::string* value) {
  const std::string& a = argv[i];
  for (absl::string_view dashes : {"--", "-"}) {
    std::string name = absl::StrCat(dashes, flag);
    if (absl::StartsWith(a, name + "=")) {
      *value = a.substr(name.size() + 1);
      return true;
    }
    if (a == name && i + 1 < argv.size()) {
      *value = argv[++i];
      return true;
    }
  }
  return false;
}

}  // namespace

const char* UsageText() {
  return "usage: formance-grpc-cli [--addr=HOST:PORT|unix:PATH] "
         "[--timeout=10s]\n"
         "                         [-H 'key: value']... [-d '{json}' | -d @] "
         "COMMAND\n"
         "  list [SERVICE]          services (or a service's methods), from "
         "the server's reflection\n"
         "  describe SYMBOL         a service, method, message or enum, from "
         "the server's reflection\n"
         "  health [SERVICE]        grpc.health.v1 Check; exit 0 iff SERVING\n"
         "  call METHOD [JSON|-]    one unary call (METHOD alone works too)\n"
         "METHOD: formance.ledger.v2.LedgerService/ListLedgers, "
         "...LedgerService.ListLedgers or ledger.v2.ListLedgers\n"
         "Exit status: 0 OK, 1 gRPC error (code name, message, ErrorInfo on "
         "stderr), 2 usage.\n";
}

absl::StatusOr<Options> ParseOptions(const std::vector<std::string>& argv) {
  Options opts;
  std::vector<std::string> positional;
  bool have_data = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    std::string value;
    if (TakeValue(argv, i, "addr", &value)) {
      opts.addr = value;
    } else if (TakeValue(argv, i, "timeout", &value)) {
      if (!absl::ParseDuration(value, &opts.timeout) ||
          opts.timeout <= absl::ZeroDuration()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--timeout wants a duration like 10s, got: ", value));
      }
    } else if (a == "-H" || a == "--header" || a == "-rpc-header") {
      if (i + 1 >= argv.size()) {
        return absl::InvalidArgumentError("-H wants 'key: value'");
      }
      auto header = ParseHeader(argv[++i]);
      if (!header.ok()) return header.status();
      opts.metadata.push_back(*std::move(header));
    } else if (a == "-d" || a == "--data") {
      if (i + 1 >= argv.size()) {
        return absl::InvalidArgumentError("-d wants JSON or @");
      }
      opts.data = argv[++i] == "@" ? "-" : argv[i];
      have_data = true;
    } else if (a == "-plaintext" || a == "--plaintext") {
      // The CLI always speaks plaintext.
    } else if (absl::StartsWith(a, "-") && a != "-") {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag: ", a));
    } else {
      positional.push_back(a);
    }
  }
  if (positional.empty()) return absl::InvalidArgumentError("no command");
  const std::string& first = positional[0];
  if (first == "list" || first == "describe" || first == "health" ||
      first == "call") {
    opts.command = first;
    opts.args.assign(positional.begin() + 1, positional.end());
  } else {
    opts.command = "call";
    opts.args = positional;
  }
  size_t max_args = opts.command == "call" ? 2 : 1;
  if (opts.args.size() > max_args) {
    return absl::InvalidArgumentError(
        absl::StrCat("too many arguments for ", opts.command));
  }
  if (opts.command == "describe" && opts.args.size() != 1) {
    return absl::InvalidArgumentError("describe wants one SYMBOL");
  }
  if (opts.command == "call") {
    if (opts.args.empty()) return absl::InvalidArgumentError("no METHOD");
    if (opts.args.size() == 2) {
      if (have_data) {
        return absl::InvalidArgumentError(
            "request JSON given twice (-d and an argument)");
      }
      opts.data = opts.args[1];
      opts.args.pop_back();
    }
  }
  return opts;
}

}  // namespace fgw::cli
