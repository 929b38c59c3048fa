#include "server/policy/caller_policy.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace fgw {
namespace {

constexpr char kAllRole[] = "all";
constexpr char kReadOnlyRole[] = "read-only";

std::string Join(absl::string_view path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

// The served methods `globs` match; a glob matching none is reported under `path`.
absl::flat_hash_set<std::string> Expand(
    const std::vector<std::string>& globs,
    const std::vector<ServedMethod>& methods, const std::string& path,
    std::vector<std::string>* errors) {
  absl::flat_hash_set<std::string> out;
  for (size_t i = 0; i < globs.size(); ++i) {
    absl::string_view glob = globs[i];
    absl::ConsumePrefix(&glob, "/");
    bool any = false;
    for (const ServedMethod& m : methods) {
      if (GlobMatches(glob, m.name)) {
        out.insert(m.name);
        any = true;
      }
    }
    if (!any) {
      errors->push_back(absl::StrCat(
          path, "[", i, "]: \"", globs[i],
          "\" matches no served method (expected \"package.Service/Method\" "
          "with '*' wildcards, e.g. formance.ledger.v2.LedgerService/Get*)"));
    }
  }
  return out;
}

}  // namespace

bool GlobMatches(absl::string_view glob, absl::string_view name) {
  // Iterative wildcard match with one backtrack point: linear in practice, never recursive.
  size_t g = 0, n = 0, star = absl::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = n;
    } else if (g < glob.size() && glob[g] == name[n]) {
      ++g;
      ++n;
    } else if (star != absl::string_view::npos) {
      g = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

absl::StatusOr<std::unique_ptr<const CallerPolicy>> CallerPolicy::Compile(
    const PolicyDocument& doc, const std::vector<ApiKeyEntry>& file_keys,
    const std::vector<ServedMethod>& methods, absl::string_view path) {
  std::unique_ptr<CallerPolicy> policy(new CallerPolicy());
  policy->audit_ = doc.audit;
  std::vector<std::string> errors;

  std::map<std::string, absl::flat_hash_set<std::string>> roles;
  for (const ServedMethod& m : methods) {
    roles[kAllRole].insert(m.name);
    if (m.read_only && !m.secret_bearing) roles[kReadOnlyRole].insert(m.name);
  }
  roles[kReadOnlyRole];  // Exists even when no method qualifies.
  const std::string roles_path = Join(path, "roles");
  for (const RoleSpec& role : doc.roles) {
    roles[role.name] =
        Expand(role.methods, methods, Join(roles_path, role.name), &errors);
  }

  absl::flat_hash_map<std::string, Caller*> by_name;
  absl::flat_hash_map<std::string, std::string> key_owner;  // hash -> caller
  const std::string callers_path = Join(path, "callers");
  auto add_key = [&](Caller* caller, const std::string& hash,
                     const std::string& where) {
    auto [it, inserted] = key_owner.emplace(hash, caller->name);
    if (!inserted) {
      if (it->second != caller->name) {
        errors.push_back(absl::StrCat(where,
                                      ": the same API key hash is "
                                      "already given to caller \"",
                                      it->second, "\""));
      }
      return;
    }
    policy->by_key_hash_.emplace_back(hash, caller);
  };
  for (const CallerSpec& spec : doc.callers) {
    auto caller = std::make_unique<Caller>();
    caller->name = spec.name;
    caller->limits = spec.limits;
    caller->formance_client = spec.formance_client;
    const std::string cp = Join(callers_path, spec.name);
    for (size_t i = 0; i < spec.roles.size(); ++i) {
      auto it = roles.find(spec.roles[i]);
      if (it == roles.end()) {
        errors.push_back(absl::StrCat(cp, ".roles[", i, "]: unknown role \"",
                                      spec.roles[i],
                                      "\" (built in: all, "
                                      "read-only; or one under ",
                                      roles_path, ")"));
        continue;
      }
      caller->allowed.insert(it->second.begin(), it->second.end());
    }
    for (const std::string& id : spec.certificates) {
      auto [it, inserted] = policy->by_certificate_.emplace(id, caller.get());
      if (!inserted) {
        errors.push_back(absl::StrCat(cp, ".certificates: \"", id,
                                      "\" is already caller \"",
                                      it->second->name, "\""));
      }
    }
    for (const std::string& hash : spec.api_keys_sha256) {
      add_key(caller.get(), hash, Join(cp, "api_keys_sha256"));
    }
    if (spec.local) {
      if (policy->local_ != nullptr) {
        errors.push_back(absl::StrCat(cp, ".local: caller \"",
                                      policy->local_->name,
                                      "\" is already the local caller"));
      } else {
        policy->local_ = caller.get();
      }
    }
    by_name[spec.name] = caller.get();
    policy->callers_.push_back(std::move(caller));
  }
  for (const ApiKeyEntry& entry : file_keys) {
    auto it = by_name.find(entry.caller);
    if (it == by_name.end()) {
      errors.push_back(absl::StrCat(Join(path, "api_keys_file"),
                                    ": a key for unknown caller \"",
                                    entry.caller, "\""));
      continue;
    }
    add_key(it->second, entry.sha256, Join(path, "api_keys_file"));
  }

  const std::string deny_path = Join(path, "deny");
  for (size_t i = 0; i < doc.deny.size(); ++i) {
    const DenySpec& deny = doc.deny[i];
    const std::string dp = absl::StrCat(deny_path, "[", i, "]");
    absl::flat_hash_set<std::string> denied =
        Expand(deny.methods, methods, Join(dp, "methods"), &errors);
    for (const std::string& name : deny.callers) {
      if (name == "*") {
        for (auto& caller : policy->callers_) {
          for (const auto& m : denied) caller->allowed.erase(m);
        }
        continue;
      }
      auto it = by_name.find(name);
      if (it == by_name.end()) {
        errors.push_back(
            absl::StrCat(dp, ".callers: unknown caller \"", name, "\""));
        continue;
      }
      for (const auto& m : denied) it->second->allowed.erase(m);
    }
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  }
  return std::unique_ptr<const CallerPolicy>(std::move(policy));
}

CallerPolicy::Identification CallerPolicy::Identify(
    const CallerCredential& credential) const {
  Identification out;
  if (!credential.certificate_identity.empty()) {
    out.identity = absl::StrCat("cert:", credential.certificate_identity);
    auto it = by_certificate_.find(credential.certificate_identity);
    if (it != by_certificate_.end()) {
      out.caller = it->second;
    } else {
      out.status = absl::UnauthenticatedError(
          "the client certificate's identity is not a caller of this gateway");
    }
    return out;
  }
  if (!credential.api_key.empty()) {
    const std::string hash = Sha256Hex(credential.api_key);
    // Every stored hash is compared, whatever matches: the time does not say which key is
    // close or how many there are before it.
    const Caller* found = nullptr;
    for (const auto& [stored, caller] : by_key_hash_) {
      if (ConstantTimeEquals(hash, stored)) found = caller;
    }
    if (found != nullptr) {
      out.caller = found;
      out.identity = absl::StrCat("api-key:", found->name);
    } else {
      out.identity = "api-key:unrecognised";
      out.status = absl::UnauthenticatedError("the API key is not recognised");
    }
    return out;
  }
  if (credential.local) {
    out.identity = "local";
    if (local_ != nullptr) {
      out.caller = local_;
    } else {
      out.status = absl::UnauthenticatedError(
          "no caller is configured for unix-socket peers (local: true); "
          "present an API key");
    }
    return out;
  }
  out.identity = "anonymous";
  out.status = absl::UnauthenticatedError(
      "no caller credential: present a client certificate or an API key "
      "(authorization: Bearer <key> or x-api-key metadata)");
  return out;
}

bool CallerPolicy::Allows(const Caller& caller,
                          absl::string_view method) const {
  absl::ConsumePrefix(&method, "/");
  return caller.allowed.contains(method);
}

}  // namespace fgw
