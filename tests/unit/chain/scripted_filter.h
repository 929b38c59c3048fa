// Helpers for the unit tests of one filter (tests/unit/chain/*_filter_test.cc, filter_chain_test):
//
// - ScriptedFilter: a terminal filter that records every request (and its Exchange) and answers
//   from a queue of scripted replies, or holds the reply callback until the test releases it.
//   Optionally (answer_on_cancel) a held call is answered CANCELLED when its Exchange's
//   cancellation fires, as a transport would.
// - ReplySlot: where a filter's answer lands; counts how many times it was answered.
// - FilterStack: the filter under test on top of a ScriptedFilter, run with Next directly (no
//   FilterChain: the test owns the Exchange, its deadline and its cancellation).
//
// Thread safety: ScriptedFilter and ReplySlot may be used from any thread; answers are given
// outside the lock.
#ifndef FGW_TESTS_UNIT_CHAIN_SCRIPTED_FILTER_H_
#define FGW_TESTS_UNIT_CHAIN_SCRIPTED_FILTER_H_

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/chain/exchange.h"
#include "server/chain/filter.h"
#include "server/upstream/http_message.h"

namespace fgw {
namespace testing_chain {

inline HttpResponse Response(int status, std::string body = "",
                             HttpHeaders headers = {}) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

class ScriptedFilter : public Filter {
 public:
  void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
            const Next& /*next*/, ReplyCallback done) override {
    std::optional<Reply> answer;
    std::shared_ptr<Held> held;
    bool watch;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
      exchanges_.push_back(x);
      watch = answer_on_cancel_;
      if (!hold_ && !queue_.empty()) {
        answer = std::move(queue_.front());
        queue_.pop_front();
      } else {
        held = std::make_shared<Held>();
        held->x = x;
        held->done = std::move(done);
        held_.push_back(held);
      }
    }
    if (answer.has_value()) {
      done(std::move(*answer));
      return;
    }
    if (watch) {
      std::weak_ptr<Held> weak = held;
      Cancellation::Handle handle = x->cancellation().OnCancel([this, weak] {
        if (std::shared_ptr<Held> h = weak.lock()) {
          Complete(h, absl::CancelledError("scripted: cancelled"));
        }
      });
      absl::MutexLock lock(&mu_);
      held->handle = handle;
    }
  }

  void Enqueue(Reply reply) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(reply));
  }
  // When on, every call is held (even with replies queued) until released.
  void set_hold(bool hold) {
    absl::MutexLock lock(&mu_);
    hold_ = hold;
  }
  // Held calls are answered CANCELLED when their Exchange's cancellation fires.
  void set_answer_on_cancel(bool on) {
    absl::MutexLock lock(&mu_);
    answer_on_cancel_ = on;
  }

  // Answers the oldest held call; false when none is held.
  bool ReleaseNext(Reply reply) {
    std::shared_ptr<Held> held;
    {
      absl::MutexLock lock(&mu_);
      if (held_.empty()) return false;
      held = held_.front();
    }
    return Complete(held, std::move(reply));
  }

  int num_calls() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(requests_.size());
  }
  int num_held() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(held_.size());
  }
  HttpRequest request(int i) {
    absl::MutexLock lock(&mu_);
    return requests_.at(i);
  }
  std::shared_ptr<Exchange> exchange(int i) {
    absl::MutexLock lock(&mu_);
    return exchanges_.at(i);
  }

 private:
  struct Held {
    std::shared_ptr<Exchange> x;
    ReplyCallback done;
    Cancellation::Handle handle = 0;
  };

  bool Complete(const std::shared_ptr<Held>& held, Reply reply) {
    Cancellation::Handle handle;
    {
      absl::MutexLock lock(&mu_);
      auto it = held_.begin();
      while (it != held_.end() && *it != held) ++it;
      if (it == held_.end()) return false;
      held_.erase(it);
      handle = held->handle;
    }
    if (handle != 0) held->x->cancellation().Remove(handle);
    ReplyCallback done = std::move(held->done);
    done(std::move(reply));
    return true;
  }

  absl::Mutex mu_;
  std::vector<HttpRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Exchange>> exchanges_ ABSL_GUARDED_BY(mu_);
  std::deque<Reply> queue_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<Held>> held_ ABSL_GUARDED_BY(mu_);
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  bool answer_on_cancel_ ABSL_GUARDED_BY(mu_) = false;
};

// Where one answer lands. `calls` counts every answer (the contract says exactly one).
class ReplySlot {
 public:
  ReplyCallback Callback() {
    return [this](Reply reply) {
      absl::MutexLock lock(&mu_);
      ++calls_;
      reply_ = std::move(reply);
    };
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  bool answered() { return calls() > 0; }
  Reply reply() {
    absl::MutexLock lock(&mu_);
    return reply_.value_or(absl::UnknownError("not answered"));
  }

 private:
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<Reply> reply_ ABSL_GUARDED_BY(mu_);
};

// The filter under test above a ScriptedFilter.
class FilterStack {
 public:
  explicit FilterStack(std::unique_ptr<Filter> under_test) {
    filters_.push_back(std::move(under_test));
    auto scripted = std::make_unique<ScriptedFilter>();
    scripted_ = scripted.get();
    filters_.push_back(std::move(scripted));
  }

  ScriptedFilter& scripted() { return *scripted_; }
  Filter& under_test() { return *filters_[0]; }

  void Send(const std::shared_ptr<Exchange>& x, HttpRequest request,
            ReplySlot* slot) {
    Next(&filters_, 0)(x, std::move(request), slot->Callback());
  }

 private:
  std::vector<std::unique_ptr<Filter>> filters_;
  ScriptedFilter* scripted_ = nullptr;
};

inline HttpRequest Get(std::string path = "/api/ledger/v2/l1/accounts/a") {
  HttpRequest r;
  r.method = "GET";
  r.path_and_query = std::move(path);
  return r;
}

inline HttpRequest Post(std::string path = "/api/ledger/v2/l1/transactions") {
  HttpRequest r;
  r.method = "POST";
  r.path_and_query = std::move(path);
  r.headers = {{"Content-Type", "application/json"}};
  r.body = R"({"postings":[]})";
  return r;
}

}  // namespace testing_chain
}  // namespace fgw

#endif  // FGW_TESTS_UNIT_CHAIN_SCRIPTED_FILTER_H_
