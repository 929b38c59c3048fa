#include "tests/support/fake_transport.h"

#include <utility>

namespace fgw {

HttpResponse MakeHttpResponse(int status, std::string body,
                              HttpHeaders headers) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

FakeTransport::~FakeTransport() {
  std::deque<std::shared_ptr<Pending>> pending;
  {
    absl::MutexLock lock(&mu_);
    pending.swap(pending_);
  }
  for (auto& p : pending) {
    Cancellation::Handle cancel_handle;
    Clock::TimerId timer;
    {
      absl::MutexLock lock(&mu_);
      cancel_handle = p->cancel_handle;
      timer = p->timer;
    }
    if (p->cancellation != nullptr) p->cancellation->Remove(cancel_handle);
    if (clock_ != nullptr && timer != 0) clock_->Cancel(timer);
  }
}

void FakeTransport::Send(HttpRequest request, const SendOptions& options,
                         Callback done) {
  std::optional<Result> answer;
  Handler handler;
  {
    absl::MutexLock lock(&mu_);
    requests_.push_back(request);
    options_.push_back(options);
    handler = handler_;
  }
  if (handler) answer = handler(request);
  auto pending = std::make_shared<Pending>();
  {
    absl::MutexLock lock(&mu_);
    if (!answer.has_value() && !hold_ && !queue_.empty()) {
      answer = std::move(queue_.front());
      queue_.pop_front();
    }
    if (!answer.has_value() || hold_) {
      pending->id = next_id_++;
      pending->done = std::move(done);
      pending->cancellation = options.cancellation;
      pending->scripted = std::move(answer);
      pending_.push_back(pending);
    }
  }
  if (pending->done == nullptr) {
    done(std::move(*answer));
    return;
  }
  // The call is visible to other threads from here: ReleaseNext() or its timer may complete
  // it before its timer and handle are recorded, and then they are cancelled here.
  const uint64_t id = pending->id;
  Clock::TimerId timer = 0;
  if (clock_ != nullptr && options.deadline != absl::InfiniteFuture()) {
    timer = clock_->RunAfter(options.deadline - clock_->Now(), [this, id] {
      Complete(
          id, absl::DeadlineExceededError("fake transport: deadline exceeded"));
    });
  }
  Cancellation::Handle cancel_handle = 0;
  if (options.cancellation != nullptr) {
    cancel_handle = options.cancellation->OnCancel([this, id] {
      Complete(id, absl::CancelledError("fake transport: cancelled"));
    });
  }
  bool completed;
  {
    absl::MutexLock lock(&mu_);
    completed = pending->completed;
    if (!completed) {
      pending->timer = timer;
      pending->cancel_handle = cancel_handle;
    }
  }
  if (completed) {
    if (timer != 0) clock_->Cancel(timer);
    if (cancel_handle != 0) options.cancellation->Remove(cancel_handle);
  }
}

bool FakeTransport::Complete(uint64_t id, Result result) {
  std::shared_ptr<Pending> found;
  Cancellation::Handle cancel_handle = 0;
  Clock::TimerId timer = 0;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if ((*it)->id == id) {
        found = *it;
        pending_.erase(it);
        found->completed = true;
        cancel_handle = found->cancel_handle;
        timer = found->timer;
        break;
      }
    }
  }
  if (found == nullptr) return false;
  if (found->cancellation != nullptr && cancel_handle != 0) {
    found->cancellation->Remove(cancel_handle);
  }
  if (clock_ != nullptr && timer != 0) clock_->Cancel(timer);
  found->done(std::move(result));
  return true;
}

void FakeTransport::Enqueue(Result result) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(result));
}

void FakeTransport::SetHandler(Handler handler) {
  absl::MutexLock lock(&mu_);
  handler_ = std::move(handler);
}

void FakeTransport::set_hold(bool hold) {
  absl::MutexLock lock(&mu_);
  hold_ = hold;
}

bool FakeTransport::ReleaseNext(Result result) {
  uint64_t id;
  {
    absl::MutexLock lock(&mu_);
    if (pending_.empty()) return false;
    id = pending_.front()->id;
  }
  return Complete(id, std::move(result));
}

bool FakeTransport::ReleaseNext() {
  Result result = absl::InternalError("fake transport: nothing scripted");
  {
    absl::MutexLock lock(&mu_);
    if (pending_.empty()) return false;
    if (pending_.front()->scripted.has_value()) {
      result = std::move(*pending_.front()->scripted);
      pending_.front()->scripted.reset();
    } else if (!queue_.empty()) {
      result = std::move(queue_.front());
      queue_.pop_front();
    }
  }
  return ReleaseNext(std::move(result));
}

int FakeTransport::ReleaseAll(const Result& result) {
  int n = 0;
  while (ReleaseNext(result)) ++n;
  return n;
}

int FakeTransport::num_calls() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(requests_.size());
}

int FakeTransport::num_pending() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(pending_.size());
}

std::vector<HttpRequest> FakeTransport::requests() {
  absl::MutexLock lock(&mu_);
  return requests_;
}

HttpRequest FakeTransport::request(int i) {
  absl::MutexLock lock(&mu_);
  return requests_.at(i);
}

std::vector<SendOptions> FakeTransport::options() {
  absl::MutexLock lock(&mu_);
  return options_;
}

}  // namespace fgw
