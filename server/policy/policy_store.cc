#include "server/policy/policy_store.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

constexpr size_t kMaxPolicyFileBytes = 4 << 20;

absl::StatusOr<std::string> ReadPolicyFile(const std::string& path,
                                           absl::string_view key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    std::string message =
        absl::StrCat(key, ": cannot read ", path, ": ", std::strerror(err));
    if (err == EACCES) return absl::PermissionDeniedError(message);
    return absl::NotFoundError(message);
  }
  std::string text;
  char buffer[8192];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxPolicyFileBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          key, ": ", path, " is larger than ", kMaxPolicyFileBytes, " bytes"));
    }
  }
  return text;
}

// Identities come from certificates a trusted CA signed, but still: no control characters
// and a bounded length in a log line.
std::string ForLog(absl::string_view text) {
  std::string out;
  for (char c : text.substr(0, 256)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  if (text.size() > 256) out += "...";
  return out;
}

}  // namespace

PolicyStore::PolicyStore(PolicyStoreOptions options, Clock* clock)
    : options_(std::move(options)), clock_(clock) {}

absl::StatusOr<std::unique_ptr<PolicyStore>> PolicyStore::Create(
    PolicyStoreOptions options, Clock* clock) {
  std::unique_ptr<PolicyStore> store(
      new PolicyStore(std::move(options), clock));
  {
    absl::MutexLock lock(&store->reload_mu_);
    absl::Status loaded = store->ReloadLocked();
    if (!loaded.ok()) return loaded;
  }
  if (!store->options_.file.empty() || !store->options_.inline_yaml.empty()) {
    {
      absl::MutexLock lock(&store->ticker_->mu);
      store->ticker_->store = store.get();
    }
    Tick(store->ticker_);
  }
  return store;
}

PolicyStore::~PolicyStore() {
  absl::MutexLock lock(&ticker_->mu);  // Waits for a check in progress.
  ticker_->store = nullptr;
  clock_->Cancel(ticker_->timer);
}

void PolicyStore::Tick(const std::shared_ptr<Ticker>& ticker) {
  absl::MutexLock lock(&ticker->mu);
  PolicyStore* store = ticker->store;
  if (store == nullptr) return;
  store->MaybeReload();
  ticker->timer = store->clock_->RunAfter(store->options_.recheck_interval,
                                          [ticker] { Tick(ticker); });
}

absl::StatusOr<std::shared_ptr<const CallerPolicy>> PolicyStore::Load(
    std::string* keys_file) {
  std::string text = options_.inline_yaml;
  std::string source = "policy";
  std::string path = "policy";
  if (!options_.file.empty()) {
    absl::StatusOr<std::string> read =
        ReadPolicyFile(options_.file, "policy.file");
    if (!read.ok()) return read.status();
    text = *std::move(read);
    source = options_.file;
    path = "";
  }
  absl::StatusOr<PolicyDocument> doc = ParsePolicyDocument(text, source, path);
  if (!doc.ok()) return doc.status();
  std::vector<ApiKeyEntry> keys;
  *keys_file = doc->api_keys_file;
  if (!doc->api_keys_file.empty()) {
    absl::StatusOr<std::string> read =
        ReadPolicyFile(doc->api_keys_file, "policy.api_keys_file");
    if (!read.ok()) return read.status();
    absl::StatusOr<std::vector<ApiKeyEntry>> parsed =
        ParseApiKeyFile(*read, doc->api_keys_file);
    if (!parsed.ok()) return parsed.status();
    keys = *std::move(parsed);
  }
  absl::StatusOr<std::unique_ptr<const CallerPolicy>> policy =
      CallerPolicy::Compile(*doc, keys, options_.methods, path);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", policy.status().message()));
  }
  return std::shared_ptr<const CallerPolicy>(*std::move(policy));
}

absl::Status PolicyStore::ReloadLocked() {
  std::string keys_file;
  absl::StatusOr<std::shared_ptr<const CallerPolicy>> policy = Load(&keys_file);
  // Watch what this document names, loaded or not, so fixing the file is seen too.
  if (!options_.file.empty() && policy_watch_ == nullptr) {
    policy_watch_ = std::make_unique<WatchedFile>(options_.file, clock_,
                                                  options_.recheck_interval);
  }
  if (policy.ok() &&
      (keys_watch_ == nullptr ? !keys_file.empty()
                              : keys_watch_->path() != keys_file)) {
    keys_watch_ = keys_file.empty()
                      ? nullptr
                      : std::make_unique<WatchedFile>(
                            keys_file, clock_, options_.recheck_interval);
  }
  if (policy_watch_ != nullptr) {
    auto c = policy_watch_->Read();
    if (c.ok()) policy_version_ = c->version;
  }
  if (keys_watch_ != nullptr) {
    auto c = keys_watch_->Read();
    if (c.ok()) keys_version_ = c->version;
  }
  if (!policy.ok()) {
    if (generation() > 0) {
      spdlog::warn(
          "policy: the new policy does not load, keeping the one in "
          "force: {}",
          std::string(policy.status().message()));
    }
    return policy.status();
  }
  absl::StatusOr<absl::flat_hash_map<std::string, std::shared_ptr<TokenSource>>>
      tokens = CallerTokens(**policy);
  if (!tokens.ok()) {
    if (generation() > 0) {
      spdlog::warn(
          "policy: the new policy does not load, keeping the one in "
          "force: {}",
          std::string(tokens.status().message()));
    }
    return tokens.status();
  }
  const size_t callers = (*policy)->callers().size();
  const bool audit = (*policy)->audit();
  Install(*std::move(policy), *std::move(tokens));
  const uint64_t generation =
      generation_.fetch_add(1, std::memory_order_relaxed) + 1;
  spdlog::info("policy: {} ({} callers{}){}",
               generation == 1 ? "loaded" : "reloaded", callers,
               audit ? ", audit mode: nothing is refused" : "",
               callers == 0 ? ": every caller may call every method" : "");
  return absl::OkStatus();
}

absl::StatusOr<absl::flat_hash_map<std::string, std::shared_ptr<TokenSource>>>
PolicyStore::CallerTokens(const CallerPolicy& policy) {
  absl::flat_hash_map<std::string, std::shared_ptr<TokenSource>> out;
  for (const auto& caller : policy.callers()) {
    const FormanceClientSpec& client = caller->formance_client;
    if (!client.configured()) continue;
    const std::string where =
        absl::StrCat("policy.callers.", caller->name, ".formance_client");
    if (!options_.make_tokens) {
      return absl::InvalidArgumentError(
          absl::StrCat(where,
                       ": per-caller Formance credentials are not "
                       "available here"));
    }
    const std::string key =
        absl::StrCat(client.client_id, "\n", client.client_secret_file);
    auto it = token_sources_.find(key);
    if (it == token_sources_.end()) {
      absl::StatusOr<std::shared_ptr<TokenSource>> made =
          options_.make_tokens(client);
      if (!made.ok()) {
        return absl::Status(made.status().code(),
                            absl::StrCat(where, ": ", made.status().message()));
      }
      it = token_sources_.emplace(key, *std::move(made)).first;
    }
    out.emplace(caller->name, it->second);
  }
  return out;
}

void PolicyStore::Shutdown() {
  absl::MutexLock lock(&reload_mu_);
  for (auto& [key, tokens] : token_sources_) tokens->Shutdown();
}

void PolicyStore::Install(
    std::shared_ptr<const CallerPolicy> policy,
    absl::flat_hash_map<std::string, std::shared_ptr<TokenSource>>
        caller_tokens) {
  absl::MutexLock lock(&mu_);
  caller_tokens_ = std::move(caller_tokens);
  absl::flat_hash_map<std::string, std::shared_ptr<CallerLimiter>> limiters;
  for (const auto& caller : policy->callers()) {
    const CallerLimitsSpec& spec = caller->limits;
    if (spec.rate_per_second <= 0 && spec.max_in_flight <= 0) continue;
    auto it = limiters_.find(caller->name);
    if (it != limiters_.end()) {
      it->second->Update(spec);
      limiters.emplace(caller->name, it->second);
    } else {
      limiters.emplace(caller->name, std::make_shared<CallerLimiter>(
                                         caller->name, spec, clock_));
    }
  }
  limiters_ = std::move(limiters);
  open_.store(policy->open(), std::memory_order_release);
  policy_ = std::move(policy);
}

absl::Status PolicyStore::Reload() {
  absl::MutexLock lock(&reload_mu_);
  return ReloadLocked();
}

void PolicyStore::MaybeReload() {
  if (!reload_mu_.TryLock()) return;
  bool changed = false;
  if (policy_watch_ != nullptr) {
    auto c = policy_watch_->Read();
    changed = changed || (c.ok() && c->version != policy_version_);
  }
  if (keys_watch_ != nullptr) {
    auto c = keys_watch_->Read();
    changed = changed || (c.ok() && c->version != keys_version_);
  }
  if (changed) ReloadLocked().IgnoreError();  // Logged there.
  reload_mu_.Unlock();
}

std::shared_ptr<const CallerPolicy> PolicyStore::current() {
  absl::MutexLock lock(&mu_);
  return policy_;
}

absl::Status PolicyStore::Refuse(const CallerPolicy& policy,
                                 absl::string_view identity,
                                 const CallerCredential& credential,
                                 absl::string_view method,
                                 absl::Status status) {
  spdlog::warn("audit: {} caller={} peer={} method={} code={}: {}",
               policy.audit() ? "would refuse (audit mode)" : "refused",
               ForLog(identity), ForLog(credential.peer), ForLog(method),
               absl::StatusCodeToString(status.code()),
               std::string(status.message()));
  if (policy.audit()) return absl::OkStatus();
  return status;
}

absl::StatusOr<PolicyStore::Admission> PolicyStore::Admit(
    const CallerCredential& credential, absl::string_view method) {
  if (open_.load(std::memory_order_acquire)) return Admission();
  std::shared_ptr<const CallerPolicy> policy;
  std::shared_ptr<CallerLimiter> limiter;
  std::shared_ptr<TokenSource> tokens;
  CallerPolicy::Identification id;
  {
    absl::MutexLock lock(&mu_);
    policy = policy_;
    if (policy->open()) return Admission();
    id = policy->Identify(credential);
    if (id.caller != nullptr) {
      auto it = limiters_.find(id.caller->name);
      if (it != limiters_.end()) limiter = it->second;
      auto t = caller_tokens_.find(id.caller->name);
      if (t != caller_tokens_.end()) tokens = t->second;
    }
  }
  Admission admission;
  if (!id.status.ok()) {
    absl::Status refused =
        Refuse(*policy, id.identity, credential, method, id.status);
    if (!refused.ok()) return refused;
    return admission;
  }
  admission.caller = id.caller->name;
  admission.tokens = std::move(tokens);
  absl::string_view name = method;
  absl::ConsumePrefix(&name, "/");
  if (!policy->Allows(*id.caller, name)) {
    absl::Status refused = Refuse(
        *policy, id.identity, credential, method,
        absl::PermissionDeniedError(absl::StrCat(
            "caller ", id.caller->name, " may not call ", name, " (policy)")));
    if (!refused.ok()) return refused;
    return admission;
  }
  if (limiter != nullptr) {
    absl::StatusOr<CallerLimiter::Ticket> ticket = limiter->Admit();
    if (!ticket.ok()) {
      absl::Status refused =
          Refuse(*policy, id.identity, credential, method, ticket.status());
      if (!refused.ok()) return refused;
      return admission;
    }
    admission.ticket = *std::move(ticket);
  }
  return admission;
}

}  // namespace fgw
