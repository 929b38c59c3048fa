#include "server/upstream/sink_streambuf.h"

#include <stdexcept>
#include <utility>

namespace fgw {

SinkStreambuf::SinkStreambuf(std::shared_ptr<BodySink> sink, size_t max_collect)
    : streambuf_state_manager<uint8_t>(std::ios_base::out),
      sink_(std::move(sink)),
      max_collect_(max_collect) {}

void SinkStreambuf::Decide(bool stream) {
  {
    absl::MutexLock lock(&mu_);
    streaming_ = stream;
  }
  decided_.set(stream);  // Runs the waiting write's continuation, if any.
}

bool SinkStreambuf::streaming() const {
  absl::MutexLock lock(&mu_);
  return streaming_;
}

std::string SinkStreambuf::Collected() {
  absl::MutexLock lock(&mu_);
  return std::move(collected_);
}

pplx::task<SinkStreambuf::int_type> SinkStreambuf::_putc(uint8_t ch) {
  return _putn(&ch, 1).then([ch](size_t n) {
    return n == 1 ? static_cast<int_type>(ch) : traits::eof();
  });
}

pplx::task<size_t> SinkStreambuf::_putn(const uint8_t* ptr, size_t count) {
  // Copied now: the caller's buffer is only guaranteed until the task completes, and the
  // chunk outlives that in the sink.
  std::string chunk(reinterpret_cast<const char*>(ptr), count);
  return pplx::create_task(decided_).then(
      [this,
       chunk = std::move(chunk)](bool stream) mutable -> pplx::task<size_t> {
        const size_t n = chunk.size();
        if (!stream) {
          absl::MutexLock lock(&mu_);
          if (collected_.size() + n > max_collect_) {
            throw std::length_error("reply over limits.max_response_bytes");
          }
          collected_.append(chunk);
          return pplx::task_from_result(n);
        }
        pplx::task_completion_event<size_t> taken;
        sink_->OnChunk(std::move(chunk), [taken, n]() { taken.set(n); });
        return pplx::create_task(taken);
      });
}

}  // namespace fgw
