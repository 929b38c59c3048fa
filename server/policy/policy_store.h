// PolicyStore: the caller policy in force, and the one entry point the admission filter calls
// for each call (Admit): identify the caller, check the method, apply the caller's limits, and
// write one audit line per refusal.
//
// Where the policy comes from: `inline_yaml` (the `policy:` section of the gateway config) or,
// when `file` is set, that file; the API keys of `api_keys_file` (api_key.h) are added. Both
// files are watched: a timer on the injected clock checks them every `recheck_interval` (a stat
// each, on the clock's thread; never on a call's path), and a change reloads there. Reload() does the same at once (the SIGHUP handler calls it). A new document that
// does not parse or compile keeps the policy in force, logs why (warning) and is returned as
// the error; the next change is tried again.
//
// Admit() outcomes:
//   - open policy (no callers): admitted, no identity, no limits (the sidecar case);
//   - UNAUTHENTICATED: no credential, or one matching no caller;
//   - PERMISSION_DENIED "caller <name> may not call <method>";
//   - RESOURCE_EXHAUSTED: the caller's rate or in-flight cap (caller_limits.h).
// Each refusal logs one line at warning level:
//   audit: refused caller=<identity> peer=<peer> method=<method> code=<code>: <reason>
// (identities as CallerPolicy::Identification says: never a key). In audit mode the line reads
// "audit: would refuse (audit mode) ..." and the call is admitted.
//
// Per-caller Formance credentials: a caller with `formance_client` gets its own token source
// (Admission::tokens, made by options.make_tokens), kept across reloads while its client id and
// secret file stay the same; its tokens and (through TokenSource::Identity) its cache entries are
// separate from the gateway's and from every other client's.
//
// Thread safety: every method may be called concurrently. Admission tickets may outlive a
// reload (they keep their limiter alive); the store must outlive them.
#ifndef FGW_SERVER_POLICY_POLICY_STORE_H_
#define FGW_SERVER_POLICY_POLICY_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/token_source.h"
#include "server/auth/watched_file.h"
#include "server/policy/caller_credential.h"
#include "server/policy/caller_limits.h"
#include "server/policy/caller_policy.h"
#include "server/util/clock.h"

namespace fgw {

// Makes the token source of a caller's own Formance client (policy: formance_client). Called
// under the store's reload lock, once per distinct (client id, secret file).
using CallerTokensFactory =
    std::function<absl::StatusOr<std::shared_ptr<TokenSource>>(
        const FormanceClientSpec& client)>;

struct PolicyStoreOptions {
  std::string
      inline_yaml;   // The `policy:` section; ignored when `file` is set.
  std::string file;  // policy.file.
  std::vector<ServedMethod> methods;
  absl::Duration recheck_interval = absl::Seconds(1);
  // Empty: a policy naming a formance_client does not load.
  CallerTokensFactory make_tokens;
};

class PolicyStore {
 public:
  // What an admitted call holds until its reply.
  struct Admission {
    CallerLimiter::Ticket ticket;
    std::string caller;  // Empty for an open policy.
    // The caller's own Formance credentials; null: the gateway's.
    std::shared_ptr<TokenSource> tokens;
  };

  // Loads the policy; its errors (INVALID_ARGUMENT, NOT_FOUND...) if it does not load.
  // `clock` is not owned and must outlive the store.
  static absl::StatusOr<std::unique_ptr<PolicyStore>> Create(
      PolicyStoreOptions options, Clock* clock);
  // Stops the watch timer; waits for a check in progress.
  ~PolicyStore();

  absl::StatusOr<Admission> Admit(const CallerCredential& credential,
                                  absl::string_view method)
      ABSL_LOCKS_EXCLUDED(mu_, reload_mu_);

  // Re-reads and recompiles now. On error the policy in force stays.
  absl::Status Reload() ABSL_LOCKS_EXCLUDED(mu_, reload_mu_);

  std::shared_ptr<const CallerPolicy> current() ABSL_LOCKS_EXCLUDED(mu_);

  // Shuts down every caller token source (TokenSource::Shutdown); idempotent. After the gRPC
  // server has drained.
  void Shutdown() ABSL_LOCKS_EXCLUDED(reload_mu_);
  // Successful loads so far (1 after Create).
  uint64_t generation() const {
    return generation_.load(std::memory_order_relaxed);
  }

 private:
  PolicyStore(PolicyStoreOptions options, Clock* clock);

  // Reads and compiles; sets `keys_file` to the API-key file the document names.
  absl::StatusOr<std::shared_ptr<const CallerPolicy>> Load(
      std::string* keys_file);
  absl::Status ReloadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(reload_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Install(std::shared_ptr<const CallerPolicy> policy,
               absl::flat_hash_map<std::string, std::shared_ptr<TokenSource>>
                   caller_tokens) ABSL_LOCKS_EXCLUDED(mu_);
  // The token sources of the callers of `policy` that name a formance_client.
  absl::StatusOr<absl::flat_hash_map<std::string, std::shared_ptr<TokenSource>>>
  CallerTokens(const CallerPolicy& policy)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(reload_mu_);
  // Reloads when a watched file changed; skips if another thread is reloading. The timer's.
  void MaybeReload() ABSL_LOCKS_EXCLUDED(mu_, reload_mu_);
  absl::Status Refuse(const CallerPolicy& policy, absl::string_view identity,
                      const CallerCredential& credential,
                      absl::string_view method, absl::Status status);

  // The watch timer's link to the store, cut by the destructor.
  struct Ticker {
    absl::Mutex mu;
    PolicyStore* store ABSL_GUARDED_BY(mu) = nullptr;
    Clock::TimerId timer ABSL_GUARDED_BY(mu) = 0;
  };
  static void Tick(const std::shared_ptr<Ticker>& ticker);

  const PolicyStoreOptions options_;
  Clock* const clock_;
  std::shared_ptr<Ticker> ticker_ = std::make_shared<Ticker>();
  std::atomic<uint64_t> generation_{0};
  // The policy in force has no callers: Admit() answers without a lock (the sidecar's path).
  std::atomic<bool> open_{true};

  absl::Mutex reload_mu_;  // One reload at a time; taken before mu_.
  std::unique_ptr<WatchedFile> policy_watch_ ABSL_GUARDED_BY(reload_mu_);
  std::unique_ptr<WatchedFile> keys_watch_ ABSL_GUARDED_BY(reload_mu_);
  uint64_t policy_version_ ABSL_GUARDED_BY(reload_mu_) = 0;
  uint64_t keys_version_ ABSL_GUARDED_BY(reload_mu_) = 0;
  // Every caller token source made, by client id and secret file; kept so Shutdown() reaches
  // them all (bounded by the distinct clients ever configured).
  absl::flat_hash_map<std::string, std::shared_ptr<TokenSource>> token_sources_
      ABSL_GUARDED_BY(reload_mu_);

  absl::Mutex mu_;
  std::shared_ptr<const CallerPolicy> policy_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<CallerLimiter>> limiters_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<TokenSource>> caller_tokens_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace fgw

#endif  // FGW_SERVER_POLICY_POLICY_STORE_H_
