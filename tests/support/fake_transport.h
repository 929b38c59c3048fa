// FakeTransport: a scripted Transport for unit tests. It records every request and answers from
// a queue of scripted results, from a handler, or holds the call until the test releases it.
//
// Order of answering a Send(): the handler (if set and it returns a value), then the next queued
// result; with neither, or when hold mode is on, the call is held (pending) until Release*().
// Held calls honour SendOptions: the cancellation completes them with CANCELLED, and, when the
// transport has a clock, the deadline completes them with DEADLINE_EXCEEDED on that clock.
// Answers are delivered inline on the thread that sends or releases, outside the lock.
//
// Thread safety: every method may be called from any thread.
#ifndef FGW_TESTS_SUPPORT_FAKE_TRANSPORT_H_
#define FGW_TESTS_SUPPORT_FAKE_TRANSPORT_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/upstream/transport.h"
#include "server/util/clock.h"

namespace fgw {

// Builds an HttpResponse.
HttpResponse MakeHttpResponse(int status, std::string body = "",
                              HttpHeaders headers = {});

class FakeTransport : public Transport {
 public:
  using Result = absl::StatusOr<HttpResponse>;
  using Handler = std::function<std::optional<Result>(const HttpRequest&)>;

  // `clock` (optional, not owned) enforces deadlines of held calls.
  explicit FakeTransport(Clock* clock = nullptr) : clock_(clock) {}
  ~FakeTransport() override;

  void Send(HttpRequest request, const SendOptions& options,
            Callback done) override;

  // Scripts the next answer(s), FIFO.
  void Enqueue(Result result);
  void SetHandler(Handler handler);
  // When on, every call is held until released, even if answers are queued.
  void set_hold(bool hold);

  // Completes the oldest held call with `result`, or (no argument) with the handler's answer
  // for it, else the next queued answer, else INTERNAL. False if none held.
  bool ReleaseNext(Result result);
  bool ReleaseNext();
  // Completes every held call with `result`. Returns how many.
  int ReleaseAll(const Result& result);

  int num_calls();
  int num_pending();
  std::vector<HttpRequest> requests();
  HttpRequest request(int i);
  std::vector<SendOptions> options();

 private:
  // A held call. Read and written under mu_ only, except `done` once the call is taken out of
  // pending_ (Clang cannot check a nested struct against the enclosing object's mutex).
  struct Pending {
    uint64_t id;
    Callback done;
    Cancellation* cancellation;
    Cancellation::Handle cancel_handle = 0;
    Clock::TimerId timer = 0;
    // Taken out of pending_: whoever took it cancels the timer and handle recorded by then.
    bool completed = false;
    std::optional<Result>
        scripted;  // The handler's answer, when held by hold mode.
  };
  // Removes the held call `id` and completes it; false if it was already completed.
  bool Complete(uint64_t id, Result result);

  Clock* const clock_;
  absl::Mutex mu_;
  std::vector<HttpRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<SendOptions> options_ ABSL_GUARDED_BY(mu_);
  std::deque<Result> queue_ ABSL_GUARDED_BY(mu_);
  Handler handler_ ABSL_GUARDED_BY(mu_);
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::deque<std::shared_ptr<Pending>> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fgw

#endif  // FGW_TESTS_SUPPORT_FAKE_TRANSPORT_H_
