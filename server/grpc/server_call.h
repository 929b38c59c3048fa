// ServerCall: one call of the daemon's grpc::AsyncGenericService, driven by the thread that
// drains its completion queue, with its meaning supplied by a CallReactor chosen from the
// method name. Every method arrives here: the Formance methods (UnaryReactor), health
// (HealthService) and reflection (ReflectionService); the server registers no other service.
//
// Why the async API: the queue's one thread polls the network and runs the calls' steps
// itself, so a call crosses threads only where it must (to the upstream's I/O thread and
// back). gRPC 1.51's callback API adds executor and poller hand-offs per step, and any
// callback service starts extra polling threads (tests/bench/PERF_LOG.md, section 10).
//
// Threading: a call's reactor hooks run on its queue's thread, one at a time. Write(),
// Finish() and Resume() may be called from any thread.
//
// Lifetime: every operation a ServerCall starts on the queue comes back exactly once, as a
// Step run by the queue's thread. The finish is claimed once (Finish() or cancellation);
// once it is claimed, the queued writes are out and every operation and Hold is back, the
// call can start nothing more and leaves the CallTracker; its memory (and the reactor's) is
// freed when, in addition, the last Hold is gone. Code that answers later from another
// thread keeps a Hold, so it never touches freed memory, and the queue is not shut down
// under a Resume().
#ifndef FGW_SERVER_GRPC_SERVER_CALL_H_
#define FGW_SERVER_GRPC_SERVER_CALL_H_

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/alarm.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/server_context.h"

namespace fgw {

// What a completion-queue thread runs for each event: the tag given to gRPC is always a
// CompletionTag*.
class CompletionTag {
 public:
  virtual void Run(bool ok) = 0;

 protected:
  ~CompletionTag() = default;
};

// Drains `cq` on the calling thread until the queue is shut down and empty, running each
// event's CompletionTag. Calls served from `cq` Resume() on this thread.
void ServeCompletionQueue(grpc::ServerCompletionQueue* cq);

// Counts the ServerCall objects that may still start operations on a queue (listening slots
// and calls in progress), so shutdown can wait for none before shutting the queues down.
// Thread-safe.
class CallTracker {
 public:
  void Add() ABSL_LOCKS_EXCLUDED(mu_);
  void Remove() ABSL_LOCKS_EXCLUDED(mu_);
  // True once none is left; false if `timeout` passed first.
  bool WaitForNone(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  int alive_ ABSL_GUARDED_BY(mu_) = 0;
};

class ServerCall;
class CallReactor;

// Picks the reactor for a method. Must not return null; thread-safe.
using ReactorFactory =
    std::function<std::unique_ptr<CallReactor>(const std::string& method)>;

// What the calls of one completion queue share. Everything must outlive every call of the
// queue: shut the server down, wait for `tracker` to reach none, then shut `cq` down.
struct CallQueue {
  grpc::AsyncGenericService* service = nullptr;
  grpc::ServerCompletionQueue* cq = nullptr;
  const ReactorFactory* factory = nullptr;
  CallTracker* tracker = nullptr;
  // Resume() work waiting for the queue's thread; from kMaxPendingResumes on, the work runs
  // where it was handed over instead, so a busy queue thread shares the load.
  std::atomic<int> pending_resumes{0};
  static constexpr int kMaxPendingResumes = 2;
};

// The meaning of one call. Hooks run on the call's queue thread, never concurrently.
class CallReactor {
 public:
  virtual ~CallReactor() = default;
  // Each request message, in order.
  virtual void OnMessage(ServerCall* call, std::string message) = 0;
  // No more messages: the client half-closed (or the call died; OnCancel follows then).
  virtual void OnHalfClose(ServerCall* call) = 0;
  // The client cancelled, the deadline passed or the server shut down before the call was
  // finished: nothing more reaches the client. Not called after a normal finish.
  virtual void OnCancel(ServerCall* /*call*/) {}
};

class ServerCall {
 public:
  // Keeps a call alive (memory and queue) while work for it runs elsewhere.
  class Hold {
   public:
    explicit Hold(ServerCall* call);
    ~Hold();
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    ServerCall* call() const { return call_; }

   private:
    ServerCall* const call_;
  };

  // Posts one listening slot on `queue`: when a call arrives there, a new slot is posted
  // first (so the queue keeps listening) and the queue's factory picks its reactor.
  static void Listen(CallQueue* queue);

  ServerCall(const ServerCall&) = delete;
  ServerCall& operator=(const ServerCall&) = delete;

  // Method, deadline, client metadata and peer; the reactor may add initial metadata before
  // the first Write() and trailing metadata before Finish().
  grpc::GenericServerContext& context() { return ctx_; }

  // Queues a response message; sent in order. Ignored once Finish() was called.
  void Write(std::string message) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs `fn` once every message queued so far has been written (gRPC's transport took it,
  // which it does only as the client's flow-control window allows): on the queue's thread, or
  // inline when nothing is queued. Dropped (destroyed unrun) once the call is finished or
  // cancelled first: here when it already is (so `fn` must not be the only owner of the
  // caller), else on the queue's thread. One at a time: a second one replaces the first.
  void NotifyWhenDrained(absl::AnyInvocable<void()> fn)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the call once the queued messages are out; with `last_message`, sends it with the
  // status in one operation. Only the first Finish() counts; false if the call was already
  // finished or cancelled.
  bool Finish(grpc::Status status, std::string* last_message = nullptr)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Runs `fn` on the call's queue thread, soon: inline when called there, and also inline
  // (on the caller's thread) when the queue has kMaxPendingResumes resumes waiting already.
  // Callers off the queue thread must hold a Hold until `fn` has run; one at a time.
  void Resume(absl::AnyInvocable<void()> fn);

 private:
  // A completion-queue event routed to one member function.
  class Step final : public CompletionTag {
   public:
    Step(ServerCall* call, void (ServerCall::*fn)(bool))
        : call_(call), fn_(fn) {}
    void Run(bool ok) override { (call_->*fn_)(ok); }

   private:
    ServerCall* const call_;
    void (ServerCall::*const fn_)(bool);
  };

  explicit ServerCall(CallQueue* queue);
  ~ServerCall();

  void OnRequested(bool ok);
  void OnRead(bool ok);
  void OnWritten(bool ok);
  void OnDone(bool ok);
  void OnFinished(bool ok);
  void OnResumed(bool ok);

  void StartRead();
  // Starts the next queued write, or the pending finish. Call with mu_ held.
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Counts an operation about to start on the queue; EndOp() once its Step has run.
  void StartOp() { ops_.fetch_add(1, std::memory_order_relaxed); }
  void EndOp();
  void Unref();

  CallQueue* const queue_;

  grpc::GenericServerContext ctx_;
  grpc::GenericServerAsyncReaderWriter stream_{&ctx_};
  std::unique_ptr<CallReactor> reactor_;
  Step requested_{this, &ServerCall::OnRequested};
  Step read_{this, &ServerCall::OnRead};
  Step written_{this, &ServerCall::OnWritten};
  Step done_{this, &ServerCall::OnDone};
  Step finished_{this, &ServerCall::OnFinished};
  Step resumed_{this, &ServerCall::OnResumed};
  grpc::Alarm alarm_;  // Wakes the queue's thread for Resume().
  absl::AnyInvocable<void()> resumed_fn_;
  grpc::ByteBuffer read_buffer_;

  absl::Mutex mu_;
  std::deque<std::string> writes_ ABSL_GUARDED_BY(mu_);
  grpc::ByteBuffer write_buffer_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_claimed_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_started_ ABSL_GUARDED_BY(mu_) =
      false;  // Or abandoned (cancelled).
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
  absl::AnyInvocable<void()> drained_ ABSL_GUARDED_BY(mu_);

  // Operations outstanding on the queue, plus one until the finish is started or abandoned.
  std::atomic<int> ops_{2};
  // One while operations may still start (ops_ > 0), one per Hold.
  std::atomic<int> refs_{1};
};

}  // namespace fgw

#endif  // FGW_SERVER_GRPC_SERVER_CALL_H_
