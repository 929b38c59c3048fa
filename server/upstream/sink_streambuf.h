// SinkStreambuf: a cpprestsdk write-only stream buffer that hands a response body to a BodySink
// (transport.h) chunk by chunk, for CpprestTransport.
//
// cpprestsdk writes each piece of the body it reads with putn_nocopy() and reads the next piece
// only once the returned task completes; here that task completes when the sink runs `more`.
// So one chunk at a time is held, and a slow sink slows the socket reads (TCP flow control
// back to the upstream). Pieces that arrive before Decide() wait for it: cpprestsdk starts
// reading the body before the response's continuation (where the status is known) runs.
//
// Not decided to stream (an error reply): the body is collected in memory instead, at most
// `max_collect` bytes (then the write fails and cpprestsdk fails the request); Collected() gives
// it once the request is over.
//
// Thread safety: cpprestsdk calls the buffer from its threads, one write at a time; Decide() and
// Collected() may be called from any thread.
#ifndef FGW_SERVER_UPSTREAM_SINK_STREAMBUF_H_
#define FGW_SERVER_UPSTREAM_SINK_STREAMBUF_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/upstream/transport.h"
// cpprestsdk defines a macro U() that breaks fmt (spdlog) templates unless turned off.
#define _TURN_OFF_PLATFORM_STRING
#include "cpprest/astreambuf.h"

namespace fgw {

class SinkStreambuf
    : public concurrency::streams::details::streambuf_state_manager<uint8_t> {
 public:
  // The buffer keeps `sink` as long as cpprestsdk keeps the buffer (the request's life).
  SinkStreambuf(std::shared_ptr<BodySink> sink, size_t max_collect);

  // Whether the body streams to the sink (true) or is collected (false). Once.
  void Decide(bool stream);
  bool streaming() const;
  // The collected body (an error reply); empty when it streamed.
  std::string Collected();

  // Write side (the only one): cpprestsdk's interface.
  bool can_seek() const override { return false; }
  bool has_size() const override { return false; }
  size_t buffer_size(std::ios_base::openmode) const override { return 0; }
  void set_buffer_size(size_t, std::ios_base::openmode) override {}
  size_t in_avail() const override { return 0; }
  pos_type getpos(std::ios_base::openmode) const override { return -1; }
  pos_type seekpos(pos_type, std::ios_base::openmode) override { return -1; }
  pos_type seekoff(off_type, std::ios_base::seekdir,
                   std::ios_base::openmode) override {
    return -1;
  }
  bool acquire(uint8_t*& ptr, size_t& count) override {
    ptr = nullptr;
    count = 0;
    return false;
  }
  void release(uint8_t*, size_t) override {}

 protected:
  pplx::task<int_type> _putc(uint8_t ch) override;
  pplx::task<size_t> _putn(const uint8_t* ptr, size_t count) override;
  pplx::task<int_type> _bumpc() override {
    return pplx::task_from_result(traits::eof());
  }
  int_type _sbumpc() override { return traits::eof(); }
  pplx::task<int_type> _getc() override {
    return pplx::task_from_result(traits::eof());
  }
  int_type _sgetc() override { return traits::eof(); }
  pplx::task<int_type> _nextc() override {
    return pplx::task_from_result(traits::eof());
  }
  pplx::task<int_type> _ungetc() override {
    return pplx::task_from_result(traits::eof());
  }
  pplx::task<size_t> _getn(uint8_t*, size_t) override {
    return pplx::task_from_result<size_t>(0);
  }
  size_t _scopy(uint8_t*, size_t) override { return 0; }
  pplx::task<bool> _sync() override { return pplx::task_from_result(true); }
  uint8_t* _alloc(size_t) override { return nullptr; }  // putn only.
  void _commit(size_t) override {}

 private:
  const std::shared_ptr<BodySink> sink_;
  const size_t max_collect_;
  pplx::task_completion_event<bool> decided_;
  mutable absl::Mutex mu_;
  bool streaming_ ABSL_GUARDED_BY(mu_) = false;
  std::string collected_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fgw

#endif  // FGW_SERVER_UPSTREAM_SINK_STREAMBUF_H_
