#include "server/chain/credentials_filter.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

// One request through this filter: token, send, at most one 401 replay. The steps run one after
// the other (each starts from the previous one's callback), but the Exchange's cancellation may
// fire on another thread at any time: it answers CANCELLED at once, also while the token is
// awaited, and `mu_` guards the stage they share.
class TokenedSend : public std::enable_shared_from_this<TokenedSend> {
 public:
  // Where the request is; moves forward only.
  enum class Stage {
    kFirstToken,   // Waiting for the token.
    kFirstSend,    // Sent with it: a 401 is replayed.
    kReplayToken,  // After a 401: waiting for a new token.
    kReplaySend,   // Replayed: its reply is the answer.
    kAnswered,
  };

  TokenedSend(TokenSource* tokens, std::shared_ptr<Exchange> x,
              HttpRequest request, Next next, ReplyCallback done)
      : tokens_(tokens),
        x_(std::move(x)),
        request_(std::move(request)),
        next_(next),
        done_(std::move(done)) {}

  void Start() {
    auto self = shared_from_this();
    Cancellation::Handle handle = x_->cancellation().OnCancel(
        [self] { self->Answer(absl::CancelledError("call cancelled")); });
    {
      absl::MutexLock lock(&mu_);
      if (stage_ == Stage::kAnswered) return;  // Already over: nothing starts.
      cancel_handle_ = handle;
    }
    FetchToken();
  }

 private:
  void FetchToken() {
    auto self = shared_from_this();
    tokens_->GetToken(x_->spec().scopes, x_->deadline(),
                      [self](absl::StatusOr<std::string> token) {
                        if (!token.ok()) {
                          self->Answer(FinalError(token.status()));
                          return;
                        }
                        self->SendWith(*std::move(token));
                      });
  }

  void SendWith(std::string token) {
    {
      absl::MutexLock lock(&mu_);
      if (stage_ == Stage::kAnswered) return;
      stage_ =
          stage_ == Stage::kFirstToken ? Stage::kFirstSend : Stage::kReplaySend;
    }
    if (x_->over()) {
      Answer(absl::CancelledError("call cancelled"));
      return;
    }
    HttpRequest attempt = request_;  // The token lives on this copy only.
    if (!token.empty()) {
      SetHeader(attempt.headers, "Authorization",
                absl::StrCat("Bearer ", token));
    }
    auto self = shared_from_this();
    next_(x_, std::move(attempt),
          [self, token = std::move(token)](Reply reply) {
            self->OnReply(token, std::move(reply));
          });
  }

  void OnReply(const std::string& token, Reply reply) {
    bool replay = false;
    if (reply.ok() && reply->status == 401 && !token.empty() && !x_->over()) {
      absl::MutexLock lock(&mu_);
      if (stage_ == Stage::kFirstSend) {
        stage_ = Stage::kReplayToken;
        replay = true;
      }
    }
    if (replay) {
      spdlog::debug(
          "upstream {}: HTTP 401, refreshing the token and replaying once",
          x_->spec().method);
      tokens_->Invalidate(x_->spec().scopes, token);
      x_->CountAttempt();
      FetchToken();
      return;
    }
    Answer(std::move(reply));
  }

  void Answer(Reply reply) {
    ReplyCallback done;
    Cancellation::Handle handle;
    {
      absl::MutexLock lock(&mu_);
      if (stage_ == Stage::kAnswered) return;
      stage_ = Stage::kAnswered;
      done = std::move(done_);
      handle = cancel_handle_;
      cancel_handle_ = 0;
    }
    if (handle != 0) x_->cancellation().Remove(handle);
    done(std::move(reply));
  }

  TokenSource* const tokens_;
  const std::shared_ptr<Exchange> x_;
  const HttpRequest request_;
  const Next next_;
  absl::Mutex mu_;
  Stage stage_ ABSL_GUARDED_BY(mu_) = Stage::kFirstToken;
  ReplyCallback done_ ABSL_GUARDED_BY(mu_);  // Moved out by the one Answer().
  Cancellation::Handle cancel_handle_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

void CredentialsFilter::Send(const std::shared_ptr<Exchange>& x,
                             HttpRequest request, const Next& next,
                             ReplyCallback done) {
  // The caller's own Formance client when the policy gives it one, else the gateway's.
  TokenSource* tokens =
      x->caller_tokens() != nullptr ? x->caller_tokens() : tokens_;
  if (tokens == nullptr || !x->spec().needs_token) {
    next(x, std::move(request), std::move(done));
    return;
  }
  std::make_shared<TokenedSend>(tokens, x, std::move(request), next,
                                std::move(done))
      ->Start();
}

}  // namespace fgw
