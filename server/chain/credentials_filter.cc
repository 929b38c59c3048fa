#include "server/chain/credentials_filter.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace fgw {
namespace {

// One request through this filter: token, send, at most one 401 replay. Steps run one after
// the other (each starts from the previous one's callback), so no lock is needed.
class TokenedSend : public std::enable_shared_from_this<TokenedSend> {
 public:
  enum class Stage { kFirst, kReplay };

  TokenedSend(TokenSource* tokens, std::shared_ptr<Exchange> x,
              HttpRequest request, Next next, ReplyCallback done)
      : tokens_(tokens),
        x_(std::move(x)),
        request_(std::move(request)),
        next_(next),
        done_(std::move(done)) {}

  void FetchToken() {
    auto self = shared_from_this();
    tokens_->GetToken(x_->spec().scopes, x_->deadline(),
                      [self](absl::StatusOr<std::string> token) {
                        if (!token.ok()) {
                          self->done_(FinalError(token.status()));
                          return;
                        }
                        self->SendWith(*std::move(token));
                      });
  }

 private:
  void SendWith(std::string token) {
    if (x_->over()) {
      done_(absl::CancelledError("call cancelled"));
      return;
    }
    HttpRequest attempt = request_;  // The token lives on this copy only.
    SetHeader(attempt.headers, "Authorization", absl::StrCat("Bearer ", token));
    auto self = shared_from_this();
    next_(x_, std::move(attempt),
          [self, token = std::move(token)](Reply reply) {
            self->OnReply(token, std::move(reply));
          });
  }

  void OnReply(const std::string& token, Reply reply) {
    if (reply.ok() && reply->status == 401 && !token.empty() &&
        stage_ == Stage::kFirst && !x_->over()) {
      stage_ = Stage::kReplay;
      spdlog::debug(
          "upstream {}: HTTP 401, refreshing the token and replaying once",
          x_->spec().method);
      tokens_->Invalidate(x_->spec().scopes, token);
      x_->CountAttempt();
      FetchToken();
      return;
    }
    done_(std::move(reply));
  }

  TokenSource* const tokens_;
  const std::shared_ptr<Exchange> x_;
  const HttpRequest request_;
  const Next next_;
  const ReplyCallback done_;
  Stage stage_ = Stage::kFirst;
};

}  // namespace

void CredentialsFilter::Send(const std::shared_ptr<Exchange>& x,
                             HttpRequest request, const Next& next,
                             ReplyCallback done) {
  if (tokens_ == nullptr || !x->spec().needs_token) {
    next(x, std::move(request), std::move(done));
    return;
  }
  std::make_shared<TokenedSend>(tokens_, x, std::move(request), next,
                                std::move(done))
      ->FetchToken();
}

}  // namespace fgw
