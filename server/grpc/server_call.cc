#include "server/grpc/server_call.h"

#include <utility>

#include "server/grpc/status_conversion.h"

namespace fgw {
namespace {

// The queue the current thread drains, if any.
thread_local grpc::ServerCompletionQueue* current_queue = nullptr;

}  // namespace

void ServeCompletionQueue(grpc::ServerCompletionQueue* cq) {
  current_queue = cq;
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) static_cast<CompletionTag*>(tag)->Run(ok);
  current_queue = nullptr;
}

void CallTracker::Add() {
  absl::MutexLock lock(&mu_);
  ++alive_;
}

void CallTracker::Remove() {
  absl::MutexLock lock(&mu_);
  --alive_;
}

bool CallTracker::WaitForNone(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto none = [this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return alive_ == 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&none), timeout);
}

ServerCall::Hold::Hold(ServerCall* call) : call_(call) {
  call_->refs_.fetch_add(1, std::memory_order_relaxed);
  call_->StartOp();
}

ServerCall::Hold::~Hold() {
  ServerCall* call = call_;
  call->EndOp();
  call->Unref();
}

void ServerCall::Listen(CallQueue* queue) {
  auto* call = new ServerCall(queue);
  // Must precede RequestCall; delivered once the call, if it starts, is over.
  call->ctx_.AsyncNotifyWhenDone(&call->done_);
  queue->service->RequestCall(&call->ctx_, &call->stream_, queue->cq, queue->cq,
                              &call->requested_);
}

ServerCall::ServerCall(CallQueue* queue) : queue_(queue) {
  queue_->tracker->Add();
}

ServerCall::~ServerCall() = default;

void ServerCall::OnRequested(bool ok) {
  if (!ok) {  // The server is shutting down: the call never started (no done event).
    {
      absl::MutexLock lock(&mu_);
      finish_claimed_ = finish_started_ = true;
    }
    EndOp();  // The finish.
    EndOp();
    return;
  }
  Listen(queue_);
  StartOp();  // The done event, now that the call started.
  reactor_ = (*queue_->factory)(ctx_.method());
  StartRead();
  EndOp();
}

void ServerCall::StartRead() {
  StartOp();
  stream_.Read(&read_buffer_, &read_);
}

void ServerCall::OnRead(bool ok) {
  if (ok) {
    std::string message = ByteBufferToString(read_buffer_);
    read_buffer_.Clear();
    reactor_->OnMessage(this, std::move(message));
    bool claimed;
    {
      absl::MutexLock lock(&mu_);
      claimed = finish_claimed_;
    }
    if (!claimed) StartRead();
  } else {
    reactor_->OnHalfClose(this);
  }
  EndOp();
}

void ServerCall::Write(std::string message) {
  absl::MutexLock lock(&mu_);
  if (finish_claimed_) return;
  writes_.push_back(std::move(message));
  PumpLocked();
}

bool ServerCall::Finish(grpc::Status status, std::string* last_message) {
  absl::MutexLock lock(&mu_);
  if (finish_claimed_) return false;
  finish_claimed_ = true;
  finish_status_ = std::move(status);
  if (last_message != nullptr) writes_.push_back(std::move(*last_message));
  PumpLocked();
  return true;
}

void ServerCall::PumpLocked() {
  if (writing_ || finish_started_) return;
  if (!writes_.empty()) {
    write_buffer_ = StringToByteBuffer(std::move(writes_.front()));
    writes_.pop_front();
    StartOp();
    if (finish_claimed_ &&
        writes_.empty()) {  // The last message travels with the status.
      finish_started_ = true;
      stream_.WriteAndFinish(write_buffer_, grpc::WriteOptions(),
                             finish_status_, &finished_);
      EndOp();  // The finish; the operation just started keeps ops_ above zero.
    } else {
      writing_ = true;
      // More queued behind it (a Stream rpc's page): gRPC may hold it to send with the next.
      grpc::WriteOptions options;
      if (!writes_.empty()) options.set_buffer_hint();
      stream_.Write(write_buffer_, options, &written_);
    }
    return;
  }
  if (finish_claimed_) {
    finish_started_ = true;
    StartOp();
    stream_.Finish(finish_status_, &finished_);
    EndOp();  // The finish, as above.
  }
}

void ServerCall::NotifyWhenDrained(absl::AnyInvocable<void()> fn) {
  absl::AnyInvocable<void()> dropped;  // Destroyed outside the lock.
  {
    absl::MutexLock lock(&mu_);
    if (finish_claimed_) {
      dropped = std::move(fn);
      return;
    }
    if (writing_ || !writes_.empty()) {
      dropped = std::move(drained_);
      drained_ = std::move(fn);
      return;
    }
  }
  fn();
}

void ServerCall::OnWritten(bool /*ok*/) {
  absl::AnyInvocable<void()> drained;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    PumpLocked();
    if (!writing_ && writes_.empty() && !finish_claimed_) {
      drained = std::move(drained_);
    }
  }
  if (drained) drained();
  EndOp();
}

void ServerCall::OnDone(bool /*ok*/) {
  if (ctx_.IsCancelled()) {
    bool abandoned = false;
    absl::AnyInvocable<void()> dropped;  // Destroyed outside the lock.
    {
      absl::MutexLock lock(&mu_);
      finish_claimed_ = true;
      writes_.clear();
      dropped = std::move(drained_);
      if (!finish_started_) finish_started_ = abandoned = true;
    }
    if (abandoned)
      EndOp();  // The finish; the done event keeps ops_ above zero.
    if (reactor_ != nullptr) reactor_->OnCancel(this);
  }
  EndOp();
}

void ServerCall::OnFinished(bool /*ok*/) {
  absl::AnyInvocable<void()> dropped;  // Destroyed outside the lock.
  {
    absl::MutexLock lock(&mu_);
    dropped = std::move(drained_);
  }
  dropped = nullptr;
  EndOp();
}

void ServerCall::Resume(absl::AnyInvocable<void()> fn) {
  if (current_queue == queue_->cq ||
      queue_->pending_resumes.load(std::memory_order_relaxed) >=
          CallQueue::kMaxPendingResumes) {
    fn();
    return;
  }
  queue_->pending_resumes.fetch_add(1, std::memory_order_relaxed);
  resumed_fn_ = std::move(fn);
  StartOp();
  alarm_.Set(queue_->cq, gpr_inf_past(GPR_CLOCK_MONOTONIC), &resumed_);
}

void ServerCall::OnResumed(bool /*ok*/) {
  queue_->pending_resumes.fetch_sub(1, std::memory_order_relaxed);
  absl::AnyInvocable<void()> fn = std::move(resumed_fn_);
  fn();
  EndOp();
}

void ServerCall::EndOp() {
  if (ops_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  // Nothing can start an operation any more: shutdown may close the queue.
  queue_->tracker->Remove();
  Unref();
}

void ServerCall::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

}  // namespace fgw
