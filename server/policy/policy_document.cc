#include "server/policy/policy_document.h"

#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/policy/api_key.h"
#include "yaml-cpp/yaml.h"

namespace fgw {
namespace {

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

std::string Join(absl::string_view path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

class Parser {
 public:
  void Fail(const std::string& path, const std::string& problem) {
    errors_.push_back(
        absl::StrCat(path.empty() ? "(document)" : path, ": ", problem));
  }
  const std::vector<std::string>& errors() const { return errors_; }

  // Calls `field(key, value, key_path)` for each entry of mapping `node`.
  template <typename F>
  void Entries(const YAML::Node& node, const std::string& path, F field) {
    if (!node || node.IsNull()) return;
    if (!node.IsMap()) {
      Fail(path, absl::StrCat("expected a mapping, got ", Describe(node)));
      return;
    }
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) {
        Fail(path, "keys must be plain strings");
        continue;
      }
      const std::string key = entry.first.Scalar();
      field(key, entry.second, Join(path, key));
    }
  }

  void Unknown(const std::string& path) { Fail(path, "unknown key"); }

  bool Bool(const YAML::Node& node, const std::string& path, bool* out) {
    if (node.IsScalar()) {
      std::string v = absl::AsciiStrToLower(node.Scalar());
      if (v == "true" || v == "false") {
        *out = v == "true";
        return true;
      }
    }
    Fail(path, absl::StrCat("expected true or false, got ", Describe(node)));
    return false;
  }

  void String(const YAML::Node& node, const std::string& path,
              std::string* out) {
    if (!node.IsScalar() || node.Scalar().empty()) {
      Fail(path,
           absl::StrCat("expected a non-empty string, got ", Describe(node)));
      return;
    }
    *out = node.Scalar();
  }

  void Strings(const YAML::Node& node, const std::string& path,
               std::vector<std::string>* out, absl::string_view what) {
    if (node.IsScalar() && !node.Scalar().empty()) {  // One item, unlisted.
      out->push_back(node.Scalar());
      return;
    }
    if (!node.IsSequence()) {
      Fail(path,
           absl::StrCat("expected a list of ", what, ", got ", Describe(node)));
      return;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      if (!node[i].IsScalar() || node[i].Scalar().empty()) {
        Fail(absl::StrCat(path, "[", i, "]"),
             absl::StrCat("expected a non-empty string, got ",
                          Describe(node[i])));
        continue;
      }
      out->push_back(node[i].Scalar());
    }
  }

  void Int(const YAML::Node& node, const std::string& path, int lo, int hi,
           int* out) {
    int v = 0;
    if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &v) || v < lo ||
        v > hi) {
      Fail(path, absl::StrCat("expected a whole number from ", lo, " to ", hi,
                              ", got ", Describe(node)));
      return;
    }
    *out = v;
  }

  void Caller(const YAML::Node& node, const std::string& path, CallerSpec* c) {
    if (!node.IsMap()) {
      Fail(path, absl::StrCat("expected a mapping (certificates, "
                              "api_keys_sha256, local, roles, rate, "
                              "max_in_flight), got ",
                              Describe(node)));
      return;
    }
    Entries(
        node, path,
        [&](const std::string& key, const YAML::Node& v, const std::string& p) {
          if (key == "certificates") {
            Strings(v, p, &c->certificates, "certificate identities");
          } else if (key == "api_keys_sha256") {
            std::vector<std::string> hashes;
            Strings(v, p, &hashes, "SHA-256 hex digests");
            for (size_t i = 0; i < hashes.size(); ++i) {
              if (!IsSha256Hex(hashes[i])) {
                // Not quoted: a raw key pasted here by mistake must not reach a log.
                Fail(absl::StrCat(p, "[", i, "]"),
                     "expected the SHA-256 of a key as 64 hex digits "
                     "(printf %s \"$KEY\" | sha256sum), never the key "
                     "itself");
                continue;
              }
              c->api_keys_sha256.push_back(absl::AsciiStrToLower(hashes[i]));
            }
          } else if (key == "api_key" || key == "api_keys" || key == "key") {
            Fail(p,
                 "API keys are not accepted in the config; give their "
                 "SHA-256 in api_keys_sha256 or in policy.api_keys_file");
          } else if (key == "local") {
            Bool(v, p, &c->local);
          } else if (key == "roles") {
            Strings(v, p, &c->roles, "role names");
          } else if (key == "rate") {
            Rate(v, p, &c->limits);
          } else if (key == "max_in_flight") {
            Int(v, p, 1, 1000000, &c->limits.max_in_flight);
          } else if (key == "formance_client") {
            FormanceClient(v, p, &c->formance_client);
          } else {
            Unknown(p);
          }
        });
  }

  void FormanceClient(const YAML::Node& node, const std::string& path,
                      FormanceClientSpec* out) {
    if (!node.IsMap()) {
      Fail(path, absl::StrCat("expected a mapping {client_id, "
                              "client_secret_file}, got ",
                              Describe(node)));
      return;
    }
    Entries(
        node, path,
        [&](const std::string& key, const YAML::Node& v, const std::string& p) {
          if (key == "client_id") {
            String(v, p, &out->client_id);
          } else if (key == "client_secret_file") {
            String(v, p, &out->client_secret_file);
          } else if (key == "client_secret" || key == "secret") {
            Fail(p,
                 "secrets are not accepted in the config; put it in a "
                 "file and name it in client_secret_file");
          } else {
            Unknown(p);
          }
        });
    if (out->client_id.empty()) Fail(Join(path, "client_id"), "required");
    if (out->client_secret_file.empty()) {
      Fail(Join(path, "client_secret_file"), "required");
    }
  }

  void Rate(const YAML::Node& node, const std::string& path,
            CallerLimitsSpec* limits) {
    bool has_rate = false;
    Entries(
        node, path,
        [&](const std::string& key, const YAML::Node& v, const std::string& p) {
          if (key == "per_second") {
            double d = 0;
            if (!v.IsScalar() || !absl::SimpleAtod(v.Scalar(), &d) ||
                !(d > 0) || d > 1e6) {
              Fail(p, absl::StrCat("expected a number above 0 and at "
                                   "most 1000000, got ",
                                   Describe(v)));
              return;
            }
            limits->rate_per_second = d;
            has_rate = true;
          } else if (key == "burst") {
            Int(v, p, 1, 1000000, &limits->burst);
          } else {
            Unknown(p);
          }
        });
    if (node.IsMap() && !has_rate) Fail(Join(path, "per_second"), "required");
  }

 private:
  std::vector<std::string> errors_;
};

}  // namespace

absl::StatusOr<PolicyDocument> ParsePolicyDocument(absl::string_view yaml_text,
                                                   absl::string_view source,
                                                   absl::string_view path) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        source.empty() ? path : source, ": not valid YAML: line ",
        e.mark.line + 1, ", column ", e.mark.column + 1, ": ", e.msg));
  }
  PolicyDocument doc;
  Parser p;
  const std::string base(path);
  if (root && !root.IsNull() && !root.IsMap()) {
    p.Fail(base, absl::StrCat("expected a mapping, got ", Describe(root)));
  }
  std::set<std::string> role_names, caller_names;
  p.Entries(
      root, base,
      [&](const std::string& key, const YAML::Node& v, const std::string& kp) {
        if (key == "audit") {
          p.Bool(v, kp, &doc.audit);
        } else if (key == "api_keys_file") {
          p.String(v, kp, &doc.api_keys_file);
        } else if (key == "roles") {
          p.Entries(v, kp,
                    [&](const std::string& name, const YAML::Node& rv,
                        const std::string& rp) {
                      RoleSpec role;
                      role.name = name;
                      if (name == "all" || name == "read-only") {
                        p.Fail(rp, "is a built-in role; choose another name");
                        return;
                      }
                      p.Strings(rv, rp, &role.methods, "method globs");
                      role_names.insert(name);
                      doc.roles.push_back(std::move(role));
                    });
        } else if (key == "callers") {
          p.Entries(v, kp,
                    [&](const std::string& name, const YAML::Node& cv,
                        const std::string& cp) {
                      CallerSpec caller;
                      caller.name = name;
                      p.Caller(cv, cp, &caller);
                      doc.callers.push_back(std::move(caller));
                    });
        } else if (key == "deny") {
          if (!v.IsSequence()) {
            p.Fail(kp,
                   absl::StrCat("expected a list of {callers, methods}, got ",
                                Describe(v)));
            return;
          }
          for (size_t i = 0; i < v.size(); ++i) {
            const std::string item = absl::StrCat(kp, "[", i, "]");
            DenySpec deny;
            bool has_methods = false;
            if (!v[i].IsMap()) {
              p.Fail(item,
                     absl::StrCat("expected a mapping {callers, methods}, "
                                  "got ",
                                  Describe(v[i])));
              continue;
            }
            p.Entries(v[i], item,
                      [&](const std::string& dk, const YAML::Node& dv,
                          const std::string& dp) {
                        if (dk == "callers") {
                          p.Strings(dv, dp, &deny.callers,
                                    "caller names or \"*\"");
                        } else if (dk == "methods") {
                          has_methods = true;
                          p.Strings(dv, dp, &deny.methods, "method globs");
                        } else {
                          p.Unknown(dp);
                        }
                      });
            if (!has_methods) p.Fail(Join(item, "methods"), "required");
            if (deny.callers.empty()) deny.callers.push_back("*");
            doc.deny.push_back(std::move(deny));
          }
        } else {
          p.Unknown(kp);
        }
      });
  if (!p.errors().empty()) {
    std::string joined = absl::StrJoin(p.errors(), "; ");
    if (source.empty()) return absl::InvalidArgumentError(joined);
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", joined));
  }
  return doc;
}

}  // namespace fgw
