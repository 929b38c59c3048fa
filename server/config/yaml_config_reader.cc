#include "server/config/yaml_config_reader.h"

#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "server/policy/policy_document.h"
#include "yaml-cpp/yaml.h"

namespace fgw {
namespace {

constexpr char kSecretRefused[] =
    "secrets are not accepted in the config file; put the secret in a file "
    "(auth.client_secret_file, FORMANCE_CLIENT_SECRET_FILE) or in the "
    "FORMANCE_CLIENT_SECRET "
    "environment variable";
constexpr char kTokenRefused[] =
    "tokens are not accepted in the config file; put the token in a file "
    "(auth.static_token_file, FORMANCE_TOKEN_FILE) or in the FORMANCE_TOKEN "
    "environment variable";

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return absl::StrCat("\"", node.Scalar(), "\"");
    default:
      return "nothing";
  }
}

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : absl::StrCat(path, ".", key);
}

// Walks the document; records the first problem of each key.
class Reader {
 public:
  using Field = std::function<void(const YAML::Node&, const std::string& path)>;

  // Reads mapping `node` at `path`: each key must be in `fields` (or in `refused`, whose value
  // is the reason it is refused).
  void Map(const YAML::Node& node, const std::string& path,
           const std::map<std::string, Field>& fields,
           const std::map<std::string, std::string>& refused = {}) {
    if (node.IsNull()) return;  // "upstream:" with nothing under it.
    if (!node.IsMap()) {
      Fail(path.empty() ? "(document)" : path,
           absl::StrCat("expected a mapping, got ", Describe(node)));
      return;
    }
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) {
        Fail(path.empty() ? "(document)" : path, "keys must be plain strings");
        continue;
      }
      std::string key = entry.first.Scalar();
      std::string key_path = Join(path, key);
      if (auto it = refused.find(key); it != refused.end()) {
        Fail(key_path, it->second);
        continue;
      }
      auto it = fields.find(key);
      if (it == fields.end()) {
        Fail(key_path, "unknown key");
        continue;
      }
      it->second(entry.second, key_path);
    }
  }

  Field String(std::string* out) {
    return [this, out](const YAML::Node& node, const std::string& path) {
      if (!node.IsScalar())
        return Fail(path,
                    absl::StrCat("expected a string, got ", Describe(node)));
      *out = node.Scalar();
    };
  }

  template <typename Int>
  Field Integer(Int* out) {
    return [this, out](const YAML::Node& node, const std::string& path) {
      Int value;
      if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value)) {
        return Fail(path,
                    absl::StrCat("expected an integer, got ", Describe(node)));
      }
      *out = value;
    };
  }

  Field Double(double* out) {
    return [this, out](const YAML::Node& node, const std::string& path) {
      double value;
      if (!node.IsScalar() || !absl::SimpleAtod(node.Scalar(), &value)) {
        return Fail(path,
                    absl::StrCat("expected a number, got ", Describe(node)));
      }
      *out = value;
    };
  }

  Field Duration(absl::Duration* out) {
    return [this, out](const YAML::Node& node, const std::string& path) {
      absl::Duration value;
      if (!node.IsScalar() || !absl::ParseDuration(node.Scalar(), &value)) {
        return Fail(
            path,
            absl::StrCat("expected a duration like \"250ms\" or \"30s\", got ",
                         Describe(node)));
      }
      *out = value;
    };
  }

  Field Bool(bool* out) {
    return [this, out](const YAML::Node& node, const std::string& path) {
      if (node.IsScalar() &&
          (node.Scalar() == "true" || node.Scalar() == "false")) {
        *out = node.Scalar() == "true";
        return;
      }
      Fail(path, absl::StrCat("expected true or false, got ", Describe(node)));
    };
  }

  void Fail(const std::string& path, const std::string& problem) {
    errors_.push_back(absl::StrCat(path, ": ", problem));
  }
  // A message that names its key path already.
  void Raw(std::string message) { errors_.push_back(std::move(message)); }

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

}  // namespace

absl::Status ApplyYamlConfig(const std::string& yaml_text,
                             const std::string& source, GatewayConfig* config,
                             std::optional<AuthMode>* auth_mode) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": not valid YAML: line ", e.mark.line + 1,
                     ", column ", e.mark.column + 1, ": ", e.msg));
  }
  Reader r;
  GatewayConfig& c = *config;
  auto mode_field = [&r, auth_mode](const YAML::Node& node,
                                    const std::string& path) {
    static const std::map<std::string, std::optional<AuthMode>> kModes = {
        {"auto", std::nullopt},
        {"none", AuthMode::kNone},
        {"static_token", AuthMode::kStaticToken},
        {"client_credentials", AuthMode::kClientCredentials}};
    auto it = node.IsScalar() ? kModes.find(node.Scalar()) : kModes.end();
    if (it == kModes.end()) {
      return r.Fail(path,
                    absl::StrCat("expected one of auto, none, static_token, "
                                 "client_credentials, got ",
                                 Describe(node)));
    }
    *auth_mode = it->second;
  };
  auto cache_rules = [&r, &c](const YAML::Node& node, const std::string& path) {
    if (node.IsNull()) return;
    if (!node.IsSequence()) {
      return r.Fail(path, absl::StrCat("expected a list of {method, ttl}, got ",
                                       Describe(node)));
    }
    std::vector<CacheRule> rules;
    for (size_t i = 0; i < node.size(); ++i) {
      CacheRule rule;
      bool has_method = false;
      std::string item = absl::StrCat(path, "[", i, "]");
      auto method = r.String(&rule.method);
      r.Map(node[i], item,
            {{"method",
              [&](const YAML::Node& n, const std::string& p) {
                has_method = true;
                method(n, p);
              }},
             {"ttl", r.Duration(&rule.ttl)}});
      if (node[i].IsMap() && !has_method)
        r.Fail(Join(item, "method"), "required");
      rules.push_back(std::move(rule));
    }
    c.cache.rules = std::move(rules);
  };

  auto client_certificates = [&r, &c](const YAML::Node& node,
                                      const std::string& path) {
    static const std::map<std::string, ClientCertificates> kModes = {
        {"auto", ClientCertificates::kAuto},
        {"none", ClientCertificates::kNone},
        {"optional", ClientCertificates::kOptional},
        {"require", ClientCertificates::kRequire}};
    auto it = node.IsScalar() ? kModes.find(node.Scalar()) : kModes.end();
    if (it == kModes.end()) {
      return r.Fail(path, absl::StrCat("expected one of auto, none, optional, "
                                       "require, got ",
                                       Describe(node)));
    }
    c.tls.client_certificates = it->second;
  };
  // `policy:` is {file: path}, or the policy itself (policy_document.h), checked here for its
  // syntax; the engine compiles it against the served methods.
  auto policy = [&r, &c](const YAML::Node& node, const std::string& path) {
    if (node.IsNull()) return;
    if (node.IsMap() && node["file"]) {
      if (node.size() != 1) {
        return r.Fail(path,
                      "either policy.file or the policy itself (roles, "
                      "callers, deny, audit, api_keys_file), not both");
      }
      r.String (&c.policy.file)(node["file"], path + ".file");
      return;
    }
    YAML::Emitter out;
    out << node;
    absl::StatusOr<PolicyDocument> doc =
        ParsePolicyDocument(out.c_str(), "", path);
    if (!doc.ok()) return r.Raw(std::string(doc.status().message()));
    c.policy.inline_yaml = out.c_str();
  };

  r.Map(
      root, "",
      {{"listen", r.String(&c.listen)},
       {"admin",
        [&](const YAML::Node& n, const std::string& p) {
          r.Map(n, p,
                {{"listen", r.String(&c.admin.listen)},
                 {"grpc_listen", r.String(&c.admin.grpc_listen)}});
        }},
       {"descriptor_set_file", r.String(&c.descriptor_set_file)},
       {"upstream",
        [&](const YAML::Node& n, const std::string& p) {
          r.Map(n, p,
                {{"url", r.String(&c.upstream.url)},
                 {"request_timeout", r.Duration(&c.upstream.request_timeout)},
                 {"connect_timeout", r.Duration(&c.upstream.connect_timeout)},
                 {"ca_file", r.String(&c.upstream.ca_file)},
                 {"proxy", r.String(&c.upstream.proxy)},
                 {"io_threads", r.Integer(&c.upstream.io_threads)}});
        }},
       {"auth",
        [&](const YAML::Node& n, const std::string& p) {
          r.Map(
              n, p,
              {{"mode", mode_field},
               {"token_url", r.String(&c.auth.token_url)},
               {"client_id", r.String(&c.auth.client_id)},
               {"client_id_file", r.String(&c.auth.client_id_file)},
               {"client_secret_file", r.String(&c.auth.client_secret_file)},
               {"client_secret_env", r.String(&c.auth.client_secret_env)},
               {"static_token_file", r.String(&c.auth.static_token_file)},
               {"refresh_ahead", r.Duration(&c.auth.refresh_ahead)},
               {"failure_backoff", r.Duration(&c.auth.failure_backoff)},
               {"max_failure_backoff", r.Duration(&c.auth.max_failure_backoff)},
               {"min_token_lifetime", r.Duration(&c.auth.min_token_lifetime)}},
              {{"client_secret", kSecretRefused},
               {"secret", kSecretRefused},
               {"static_token", kTokenRefused},
               {"token", kTokenRefused}});
        }},
       {"retry",
        [&](const YAML::Node& n, const std::string& p) {
          r.Map(n, p,
                {{"max_attempts", r.Integer(&c.retry.max_attempts)},
                 {"initial_backoff", r.Duration(&c.retry.initial_backoff)},
                 {"max_backoff", r.Duration(&c.retry.max_backoff)},
                 {"multiplier", r.Double(&c.retry.multiplier)},
                 {"budget_ratio", r.Double(&c.retry.budget_ratio)},
                 {"budget_min_per_second",
                  r.Integer(&c.retry.budget_min_per_second)}});
        }},
       {"cache",
        [&](const YAML::Node& n, const std::string& p) {
          r.Map(n, p,
                {{"max_bytes", r.Integer(&c.cache.max_bytes)},
                 {"max_entries", r.Integer(&c.cache.max_entries)},
                 {"rules", cache_rules}});
        }},
       {"limits",
        [&](const YAML::Node& n, const std::string& p) {
          UpstreamLimits& u = c.limits.upstream;
          r.Map(n, p,
                {{"max_calls_in_flight",
                  r.Integer(&c.limits.max_calls_in_flight)},
                 {"max_request_target_bytes",
                  r.Integer(&u.max_request_target_bytes)},
                 {"max_request_header_bytes",
                  r.Integer(&u.max_request_header_bytes)},
                 {"max_response_bytes", r.Integer(&u.max_response_bytes)},
                 {"max_upstream_connections", r.Integer(&u.max_connections)}});
        }},
       {"policy", policy},
       {"log",
        [&](const YAML::Node& n, const std::string& p) {
          r.Map(n, p,
                {{"level", r.String(&c.log_level)},
                 {"format", r.String(&c.log_format)}});
        }},
       {"grpc", [&](const YAML::Node& n, const std::string& p) {
          r.Map(n, p,
                {{"max_message_bytes", r.Integer(&c.max_message_bytes)},
                 {"threads", r.Integer(&c.grpc_threads)},
                 {"shutdown_grace", r.Duration(&c.shutdown_grace)},
                 {"drain_delay", r.Duration(&c.drain_delay)},
                 {"keepalive_time", r.Duration(&c.keepalive_time)},
                 {"keepalive_timeout", r.Duration(&c.keepalive_timeout)},
                 {"unix_socket_mode", r.String(&c.unix_socket_mode)},
                 {"allow_insecure_remote", r.Bool(&c.allow_insecure_remote)},
                 {"tls", [&](const YAML::Node& tn, const std::string& tp) {
                    r.Map(tn, tp,
                          {{"cert_file", r.String(&c.tls.cert_file)},
                           {"key_file", r.String(&c.tls.key_file)},
                           {"client_ca_file", r.String(&c.tls.client_ca_file)},
                           {"client_certificates", client_certificates},
                           {"refresh_interval",
                            r.Duration(&c.tls.refresh_interval)}});
                  }}});
        }}});
  if (!r.errors().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", absl::StrJoin(r.errors(), "; ")));
  }
  return absl::OkStatus();
}

}  // namespace fgw
