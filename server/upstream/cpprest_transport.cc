#include "server/upstream/cpprest_transport.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/upstream/connection_slots.h"
#include "server/upstream/http_field.h"
#include "server/upstream/sink_streambuf.h"
#include "spdlog/spdlog.h"
// cpprestsdk defines a macro U() that breaks fmt (spdlog) templates unless turned off.
#define _TURN_OFF_PLATFORM_STRING
#include "cpprest/containerstream.h"
#include "cpprest/http_client.h"
#include "pplx/threadpool.h"

namespace fgw {
namespace {

namespace http = web::http;
namespace client = web::http::client;

// Headers the client library owns: a caller copy would duplicate or contradict them.
bool IsManagedHeader(absl::string_view name) {
  return absl::EqualsIgnoreCase(name, "Host") ||
         absl::EqualsIgnoreCase(name, "Content-Length") ||
         absl::EqualsIgnoreCase(name, "Transfer-Encoding") ||
         absl::EqualsIgnoreCase(name, "Connection") ||
         absl::EqualsIgnoreCase(name, "User-Agent");
}

// Why our side cancelled a request, if it did.
enum class Abort { kNone, kDeadline, kConnectTimeout, kCancelled, kTooLarge };

// Thrown from the progress handler to make cpprestsdk abort a reply over the size limit.
struct ResponseTooLarge {};

// Shared by the request's callbacks (cpprestsdk's threads), its timer (the clock's thread) and
// its cancellation (any thread): every field written after the request started is atomic; the
// others are set before it starts and only read after.
struct SendState {
  std::atomic<Abort> abort{Abort::kNone};  // The first reason wins.
  // Set once cpprestsdk reports upload progress: the whole request head is on the socket.
  std::atomic<bool> head_written{false};
  // Set when the result is handed over: a timer re-armed after that cancels itself.
  std::atomic<bool> finished{false};
  // Set when the body goes to a BodySink: the size limit does not apply (one chunk is held).
  std::atomic<bool> streaming{false};
  pplx::cancellation_token_source cts;
  // The request's one timer: armed for the connection-setup bound first when that comes before
  // the deadline, then re-armed (from the clock's thread) for the deadline.
  std::atomic<Clock::TimerId> timer{0};
  Cancellation* cancellation = nullptr;
  Cancellation::Handle cancel_handle = 0;
  // The caller's callback, taken by the one finish (pplx continuations must be copyable, so
  // they share this state rather than hold the move-only callback).
  Transport::Callback done;

  void AbortWith(Abort why) {
    Abort expected = Abort::kNone;
    if (!abort.compare_exchange_strong(expected, why,
                                       std::memory_order_acq_rel))
      return;
    cts.cancel();  // Cancellation callbacks may complete the request inline.
  }
  Abort aborted() { return abort.load(std::memory_order_acquire); }
};

// Maps the exception held by a finished task to a transport status (not yet marked as sent or
// not: the caller knows whether the request head was written).
absl::Status MapException(std::exception_ptr error, Abort abort,
                          int64_t max_response_bytes,
                          absl::Duration connect_timeout) {
  if (abort == Abort::kDeadline) {
    return absl::DeadlineExceededError("upstream request deadline exceeded");
  }
  if (abort == Abort::kConnectTimeout) {
    return absl::UnavailableError(absl::StrCat(
        "upstream connection not established within upstream.connect_timeout (",
        absl::FormatDuration(connect_timeout), ")"));
  }
  if (abort == Abort::kCancelled)
    return absl::CancelledError("upstream request cancelled");
  if (abort == Abort::kTooLarge) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "upstream reply is larger than limits.max_response_bytes (",
        max_response_bytes, " bytes); the request may have been applied"));
  }
  try {
    std::rethrow_exception(error);
  } catch (const http::http_exception& e) {
    if (e.error_code() == std::errc::timed_out) {
      return absl::DeadlineExceededError("upstream request timed out");
    }
    return absl::UnavailableError(
        absl::StrCat("upstream connection failed: ", e.what()));
  } catch (const pplx::task_canceled&) {
    return absl::CancelledError("upstream request cancelled");
  } catch (const web::uri_exception& e) {
    return absl::InternalError(
        absl::StrCat("invalid upstream URI: ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("upstream transport error: ", e.what()));
  } catch (...) {
    return absl::InternalError("upstream transport error: unknown exception");
  }
}

std::chrono::milliseconds ToMillis(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

}  // namespace

bool InitializeCpprestThreadPool(int threads) {
  static std::once_flag once;
  bool set = false;
  std::call_once(once, [&] {
    try {
      crossplat::threadpool::initialize_with_threads(
          static_cast<size_t>(std::max(1, threads)));
      set = true;
    } catch (const std::exception& e) {
      spdlog::warn(
          "cpprestsdk thread pool already initialized; io_threads ignored");
    }
  });
  return set;
}

// Holds one connection slot; frees it when the request that holds it is destroyed. The release
// is posted to cpprestsdk's pool, so the next waiter starts its request outside cpprestsdk's
// destructor chain.
struct CpprestTransport::SlotLease {
  explicit SlotLease(std::shared_ptr<ConnectionSlots> s)
      : slots(std::move(s)) {}
  ~SlotLease() {
    crossplat::threadpool::shared_instance().service().post(
        [s = std::move(slots)] { s->Release(); });
  }
  std::shared_ptr<ConnectionSlots> slots;
};

struct CpprestTransport::Impl {
  Impl(int max_connections, Clock* clock)
      : slots(std::make_shared<ConnectionSlots>(max_connections, clock)) {}
  web::uri base;
  client::http_client_config config;
  std::shared_ptr<client::http_client>
      client;  // Shared pool for everything safe to resend.
  std::shared_ptr<ConnectionSlots> slots;
};

namespace {

// A write that the server cannot deduplicate: no Idempotency-Key, not GET/HEAD/OPTIONS.
bool IsUnsafeToResend(const HttpRequest& request) {
  if (request.method == "GET" || request.method == "HEAD" ||
      request.method == "OPTIONS") {
    return false;
  }
  return FindHeader(request.headers, kIdempotencyKeyHeader) == nullptr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CpprestTransport>> CpprestTransport::Create(
    TransportOptions options, Clock* clock) {
  if (clock == nullptr) clock = RealClock();
  if (options.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("request_timeout must be positive");
  }
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connect_timeout must be positive");
  }
  if (options.limits.max_connections < 1 ||
      options.limits.max_response_bytes < 1 ||
      options.limits.max_request_target_bytes < 1 ||
      options.limits.max_request_header_bytes < 1) {
    return absl::InvalidArgumentError("upstream limits must be positive");
  }
  web::uri base;
  try {
    base = web::uri(options.base_url);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid upstream url: ", e.what()));
  }
  std::string scheme = absl::AsciiStrToLower(base.scheme());
  if ((scheme != "http" && scheme != "https") || base.host().empty()) {
    return absl::InvalidArgumentError(
        "upstream url must be http:// or https:// with a host");
  }
  client::http_client_config config;
  // Client-wide socket timeout: a backstop behind the per-request deadline timer. (It restarts at
  // every read and write of the exchange, so it cannot be the connect timeout either: that one
  // is the request's own timer, see SendOnSlot.)
  config.set_timeout(ToMillis(options.request_timeout + absl::Seconds(1)));
  config.set_validate_certificates(options.validate_certificates);
  // A redirect would carry the Authorization header to wherever it points, and turn a write
  // into a bodiless GET: never follow one.
  config.set_max_redirects(0);
  if (!options.proxy.empty()) {
    try {
      config.set_proxy(web::web_proxy(web::uri(options.proxy)));
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid proxy url: ", e.what()));
    }
  }
  if (!options.ca_file.empty()) {
    FILE* f = std::fopen(options.ca_file.c_str(), "rb");
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read ca_file ", options.ca_file));
    }
    std::fclose(f);
    std::string ca_file = options.ca_file;
    config.set_ssl_context_callback(
        [ca_file](boost::asio::ssl::context& context) {
          boost::system::error_code ec;
          context.load_verify_file(ca_file,
                                   ec);  // In addition to the system store.
          if (ec)
            spdlog::error("cannot load ca_file {}: {}", ca_file, ec.message());
        });
  }
  InitializeCpprestThreadPool(options.io_threads);
  auto impl = std::make_unique<Impl>(options.limits.max_connections, clock);
  impl->base = base;
  impl->config = config;
  try {
    impl->client = std::make_shared<client::http_client>(base, config);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create http client: ", e.what()));
  }
  return std::unique_ptr<CpprestTransport>(
      new CpprestTransport(std::move(options), clock, std::move(impl)));
}

CpprestTransport::CpprestTransport(TransportOptions options, Clock* clock,
                                   std::unique_ptr<Impl> impl)
    : options_(std::move(options)), clock_(clock), impl_(std::move(impl)) {}

CpprestTransport::~CpprestTransport() = default;

int CpprestTransport::connections_in_use() { return impl_->slots->in_use(); }

int CpprestTransport::connections_waiting() { return impl_->slots->waiting(); }

void CpprestTransport::Send(HttpRequest request, const SendOptions& options,
                            Callback done) {
  const absl::Time now = clock_->Now();
  const absl::Time deadline =
      std::min(options.deadline, now + options_.request_timeout);
  if (options.cancellation != nullptr && options.cancellation->IsCancelled()) {
    done(MarkNotSent(
        absl::CancelledError("upstream request cancelled before sending")));
    return;
  }
  if (deadline <= now) {
    done(MarkNotSent(
        absl::DeadlineExceededError("deadline passed before sending")));
    return;
  }
  if (absl::Status valid = CheckOutgoingRequest(request, options_.limits);
      !valid.ok()) {
    done(MarkNotSent(std::move(valid)));
    return;
  }
  Cancellation* cancellation = options.cancellation;
  std::shared_ptr<BodySink> body_sink = options.body_sink;
  std::shared_ptr<ConnectionSlots> slots = impl_->slots;
  slots->Acquire(deadline, cancellation,
                 [this, slots, request = std::move(request), deadline,
                  cancellation, body_sink = std::move(body_sink),
                  done = std::move(done)](absl::Status granted) mutable {
                   if (!granted.ok()) {
                     done(MarkNotSent(std::move(granted)));
                     return;
                   }
                   SendOnSlot(std::move(request), deadline, cancellation,
                              std::move(body_sink),
                              std::make_shared<SlotLease>(std::move(slots)),
                              std::move(done));
                 });
}

void CpprestTransport::SendOnSlot(HttpRequest request, absl::Time deadline,
                                  Cancellation* cancellation,
                                  std::shared_ptr<BodySink> body_sink,
                                  std::shared_ptr<SlotLease> lease,
                                  Callback done) {
  const absl::Time now = clock_->Now();
  if (deadline <= now) {
    done(MarkNotSent(absl::DeadlineExceededError(
        "deadline passed waiting for an upstream connection")));
    return;
  }
  http::http_request message{http::method(request.method)};
  try {
    message.set_request_uri(web::uri(request.path_and_query));
  } catch (const std::exception& e) {
    done(MarkNotSent(
        absl::InternalError(absl::StrCat("invalid request path: ", e.what()))));
    return;
  }
  if (!request.body.empty()) {
    const size_t size = request.body.size();
    message.set_body(
        concurrency::streams::bytestream::open_istream(std::move(request.body)),
        size);
  }
  http::http_headers& headers = message.headers();
  // set_body() adds a default Content-Type; the request's own headers say which.
  headers.remove(http::header_names::content_type);
  for (auto& [name, value] : request.headers) {
    if (!IsManagedHeader(name)) headers.add(name, value);
  }
  headers.add(http::header_names::user_agent, options_.user_agent);

  // cpprestsdk resends a request by itself when a pooled connection turns out closed by the
  // server before the status line, even after the server read it. A write the server cannot
  // deduplicate therefore gets a connection of its own: a fresh client (fresh pool), never reused.
  std::shared_ptr<client::http_client> http_client = impl_->client;
  if (options_.fresh_connection_for_unsafe_writes &&
      IsUnsafeToResend(request)) {
    try {
      http_client =
          std::make_shared<client::http_client>(impl_->base, impl_->config);
    } catch (...) {
      done(MarkNotSent(MapException(std::current_exception(), Abort::kNone,
                                    options_.limits.max_response_bytes,
                                    options_.connect_timeout)));
      return;
    }
    headers.add(http::header_names::connection, "close");
  }

  concurrency::streams::container_buffer<std::string> body_buffer;
  // A body sink takes the body chunk by chunk (sink_streambuf.h); otherwise it is collected.
  std::shared_ptr<SinkStreambuf> sink_buffer;
  if (body_sink != nullptr) {
    sink_buffer = std::make_shared<SinkStreambuf>(
        body_sink, static_cast<size_t>(options_.limits.max_response_bytes));
    message.set_response_stream(concurrency::streams::ostream(
        concurrency::streams::streambuf<uint8_t>(sink_buffer)));
  } else {
    message.set_response_stream(concurrency::streams::ostream(body_buffer));
  }

  auto state = std::make_shared<SendState>();
  state->cancellation = cancellation;
  state->done = std::move(done);
  const int64_t max_response_bytes = options_.limits.max_response_bytes;
  // The handler lives in the request, which cpprestsdk destroys after the connection went back
  // to its pool (or was closed): the lease it holds frees the connection slot then.
  message.set_progress_handler([state, lease, max_response_bytes](
                                   http::message_direction::direction direction,
                                   utility::size64_t bytes) {
    if (direction == http::message_direction::upload) {
      state->head_written.store(true, std::memory_order_release);
    } else if (bytes > static_cast<uint64_t>(max_response_bytes) &&
               !state->streaming.load(std::memory_order_acquire)) {
      Abort expected = Abort::kNone;
      state->abort.compare_exchange_strong(expected, Abort::kTooLarge);
      throw ResponseTooLarge();
    }
  });
  lease.reset();
  // One timer per request. When connection setup must end before the deadline it first fires
  // connect_timeout from now: a request whose head is not on the socket by then (still
  // resolving, connecting, in the TLS handshake or a proxy's CONNECT) is aborted, UNAVAILABLE;
  // otherwise it is re-armed for the deadline. A request on a pooled connection writes its head
  // at once. cpprestsdk has no connect timeout of its own.
  Clock* clock = clock_;
  auto arm_deadline = [state, clock, deadline] {
    if (deadline == absl::InfiniteFuture()) return;
    const Clock::TimerId id = clock->RunAfter(deadline - clock->Now(), [state] {
      state->AbortWith(Abort::kDeadline);
    });
    state->timer.store(id);
    // finish() may have read the previous id already: then this one is ours to cancel.
    if (state->finished.load()) clock->Cancel(id);
  };
  if (now + options_.connect_timeout < deadline) {
    const Clock::TimerId id =
        clock_->RunAfter(options_.connect_timeout, [state, arm_deadline] {
          if (!state->head_written.load(std::memory_order_acquire)) {
            state->AbortWith(Abort::kConnectTimeout);
          } else {
            arm_deadline();
          }
        });
    // Unless it already fired and re-armed itself (a clock that ran it at once).
    Clock::TimerId unset = 0;
    state->timer.compare_exchange_strong(unset, id);
  } else {
    arm_deadline();
  }
  if (cancellation != nullptr) {
    state->cancel_handle = cancellation->OnCancel(
        [state] { state->AbortWith(Abort::kCancelled); });
  }

  auto finish = [state, clock](absl::StatusOr<HttpResponse> result) {
    state->finished.store(true);
    if (const Clock::TimerId id = state->timer.load(); id != 0) {
      clock->Cancel(id);
    }
    if (state->cancellation != nullptr && state->cancel_handle != 0) {
      state->cancellation->Remove(state->cancel_handle);
    }
    Transport::Callback done = std::move(state->done);
    done(std::move(result));
  };
  // Every failure goes through here: not sent unless the request head reached the socket.
  const absl::Duration connect_timeout = options_.connect_timeout;
  auto fail = [state, max_response_bytes,
               connect_timeout](std::exception_ptr error) {
    absl::Status status = MapException(error, state->aborted(),
                                       max_response_bytes, connect_timeout);
    if (!state->head_written.load(std::memory_order_acquire)) {
      status = MarkNotSent(std::move(status));
    }
    return status;
  };

  try {
    http_client->request(message, state->cts.get_token())
        .then([state, max_response_bytes, sink_buffer,
               body_sink](http::http_response response) {
          if (sink_buffer != nullptr) {
            const bool stream = body_sink->WantsBody(response.status_code());
            state->streaming.store(stream, std::memory_order_release);
            sink_buffer->Decide(stream);
          }
          // Refuse a declared length over the limit before its body is read.
          utility::size64_t length = 0;
          if (!state->streaming.load(std::memory_order_acquire) &&
              response.headers().match(http::header_names::content_length,
                                       length) &&
              length > static_cast<uint64_t>(max_response_bytes)) {
            state->AbortWith(Abort::kTooLarge);
          }
          return response.content_ready();
        })
        .then([state, body_buffer, sink_buffer, finish, fail,
               http_client](pplx::task<http::http_response> task) mutable {
          absl::StatusOr<HttpResponse> result;
          try {
            http::http_response response = task.get();
            if (state->aborted() == Abort::kTooLarge) {
              // The body was complete before the abort took effect: refuse it all the same.
              throw ResponseTooLarge();
            }
            HttpResponse out;
            out.status = response.status_code();
            out.headers.reserve(response.headers().size());
            for (const auto& [name, value] : response.headers())
              out.headers.emplace_back(name, value);
            out.body = sink_buffer != nullptr
                           ? sink_buffer->Collected()
                           : std::move(body_buffer.collection());
            result = std::move(out);
          } catch (...) {
            result = fail(std::current_exception());
          }
          finish(std::move(result));
        });
  } catch (...) {
    finish(fail(std::current_exception()));
  }
}

}  // namespace fgw
