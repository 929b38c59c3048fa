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
enum class Abort { kNone, kDeadline, kCancelled };

struct SendState {
  std::atomic<Abort> abort{Abort::kNone};  // The first reason wins.
  pplx::cancellation_token_source cts;
  Clock::TimerId timer = 0;
  Cancellation* cancellation = nullptr;
  Cancellation::Handle cancel_handle = 0;

  void AbortWith(Abort why) {
    Abort expected = Abort::kNone;
    if (!abort.compare_exchange_strong(expected, why,
                                       std::memory_order_acq_rel))
      return;
    cts.cancel();  // Cancellation callbacks may complete the request inline.
  }
  Abort aborted() { return abort.load(std::memory_order_acquire); }
};

bool LooksNotSent(const std::error_code& ec, absl::string_view what) {
  if (ec == std::errc::host_unreachable ||
      ec == std::errc::connection_refused ||
      ec == std::errc::network_unreachable) {
    return true;
  }
  return absl::StrContains(what, "Failed to connect") ||
         absl::StrContains(what, "resolv") ||
         absl::StrContains(what, "Host not found") ||
         absl::StrContains(what, "handshake") ||
         absl::StrContains(what, "certificate") ||
         absl::StrContains(what, "SSL");
}

// Maps the exception held by a finished task to a transport status.
absl::Status MapException(std::exception_ptr error, Abort abort) {
  if (abort == Abort::kDeadline) {
    return absl::DeadlineExceededError("upstream request deadline exceeded");
  }
  if (abort == Abort::kCancelled)
    return absl::CancelledError("upstream request cancelled");
  try {
    std::rethrow_exception(error);
  } catch (const http::http_exception& e) {
    const std::error_code ec = e.error_code();
    if (ec == std::errc::timed_out) {
      return absl::DeadlineExceededError("upstream request timed out");
    }
    std::string what = e.what();
    if (LooksNotSent(ec, what)) {
      return MarkNotSent(absl::UnavailableError(
          absl::StrCat("upstream connection failed: ", what)));
    }
    return absl::UnavailableError(
        absl::StrCat("upstream connection lost: ", what));
  } catch (const pplx::task_canceled&) {
    return absl::CancelledError("upstream request cancelled");
  } catch (const web::uri_exception& e) {
    return MarkNotSent(
        absl::InternalError(absl::StrCat("invalid upstream URI: ", e.what())));
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

struct CpprestTransport::Impl {
  web::uri base;
  client::http_client_config config;
  std::shared_ptr<client::http_client>
      client;  // Shared pool for everything safe to resend.
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
  // Client-wide socket timeout: a backstop behind the per-request deadline timer.
  config.set_timeout(ToMillis(options.request_timeout + absl::Seconds(1)));
  config.set_validate_certificates(options.validate_certificates);
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
  auto impl = std::make_unique<Impl>();
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
      done(MarkNotSent(MapException(std::current_exception(), Abort::kNone)));
      return;
    }
    headers.add(http::header_names::connection, "close");
  }

  concurrency::streams::container_buffer<std::string> body_buffer;
  message.set_response_stream(concurrency::streams::ostream(body_buffer));

  auto state = std::make_shared<SendState>();
  state->cancellation = options.cancellation;
  if (deadline != absl::InfiniteFuture()) {
    state->timer = clock_->RunAfter(
        deadline - now, [state] { state->AbortWith(Abort::kDeadline); });
  }
  if (options.cancellation != nullptr) {
    state->cancel_handle = options.cancellation->OnCancel(
        [state] { state->AbortWith(Abort::kCancelled); });
  }

  Clock* clock = clock_;
  auto finish = [state, clock,
                 done = std::move(done)](absl::StatusOr<HttpResponse> result) {
    if (state->timer != 0) clock->Cancel(state->timer);
    if (state->cancellation != nullptr && state->cancel_handle != 0) {
      state->cancellation->Remove(state->cancel_handle);
    }
    done(std::move(result));
  };

  try {
    http_client->request(message, state->cts.get_token())
        .then([](http::http_response response) {
          return response.content_ready();
        })
        .then([state, body_buffer, finish,
               http_client](pplx::task<http::http_response> task) mutable {
          absl::StatusOr<HttpResponse> result;
          try {
            http::http_response response = task.get();
            HttpResponse out;
            out.status = response.status_code();
            out.headers.reserve(response.headers().size());
            for (const auto& [name, value] : response.headers())
              out.headers.emplace_back(name, value);
            out.body = std::move(body_buffer.collection());
            result = std::move(out);
          } catch (...) {
            result = MapException(std::current_exception(), state->aborted());
          }
          finish(std::move(result));
        });
  } catch (...) {
    finish(MapException(std::current_exception(), state->aborted()));
  }
}

}  // namespace fgw
