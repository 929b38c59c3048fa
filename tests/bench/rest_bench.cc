// bench_rest: REST load generator on cpprestsdk, set up like the gateway's upstream client
// (server/upstream/cpprest_transport.cc): one http_client per base URL, a sized process-wide
// pool (crossplat::threadpool::initialize_with_threads), raw request bytes, the response body
// read whole into a std::string through a container_buffer (never through web::json).
//
// `--concurrency` loops each keep one request in flight for `--warmup` + `--duration` seconds;
// prints one JSON line (bench_common.h). Example (one command line):
//   bench_rest --url http://127.0.0.1:8081 --path /api/ledger/v2/bench/accounts/users:001
//              --concurrency 16 --duration 3
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "cpprest/containerstream.h"
#include "cpprest/http_client.h"
#include "pplx/threadpool.h"
#include "tests/bench/bench_common.h"

ABSL_FLAG(std::string, url, "http://127.0.0.1:8081",
          "Base URL of the REST server");
ABSL_FLAG(std::string, path, "/api/ledger/v2/bench/accounts/users:001",
          "Path and query");
ABSL_FLAG(std::string, method, "GET", "HTTP method");
ABSL_FLAG(std::string, body_file, "",
          "Request body (sent as application/json) for POST");
ABSL_FLAG(std::string, label, "rest", "Row label in the JSON result");
ABSL_FLAG(int, concurrency, 1, "Requests in flight");
ABSL_FLAG(double, duration, 3.0, "Measured seconds");
ABSL_FLAG(double, warmup, 0.5,
          "Warm-up seconds before the window (not counted)");
ABSL_FLAG(int, threads, 2,
          "cpprestsdk pool threads (the gateway's upstream.io_threads)");
ABSL_FLAG(std::string, curve_out, "",
          "Write the latency percentile curve here");
ABSL_FLAG(bool, inline_continuations, false,
          "Run pplx task continuations inline on the thread that completes the "
          "antecedent (an "
          "ambient pplx scheduler that calls the chore at once) instead of "
          "posting each to the "
          "pool: measures the thread hops cpprestsdk's .then() chain costs");
ABSL_FLAG(int, watch_pid, 0,
          "Sample this process's CPU time and peak RSS over the window");
ABSL_FLAG(int, upstream_pid, 0,
          "Sample this process's CPU time too (nginx's worker)");

namespace {

// Runs each chore where it is scheduled: a continuation runs on the thread that finished its
// antecedent (an asio I/O thread) instead of being posted back to the pool.
struct InlineScheduler : pplx::scheduler_interface {
  void schedule(pplx::TaskProc_t proc, void* param) override { proc(param); }
};

namespace http = web::http;
namespace client = web::http::client;
using fgw_bench::LoopStats;
using fgw_bench::NowNs;
using fgw_bench::Window;

struct Shared {
  client::http_client* client;
  std::string method;
  std::string path;
  std::string body;
  Window* window;
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  std::atomic<int64_t> response_bytes{0};
};

void Issue(Shared* s, LoopStats* stats) {
  const int64_t start = NowNs();
  if (s->window->Over(start)) {
    std::lock_guard<std::mutex> lock(s->mu);
    if (--s->running == 0) s->cv.notify_all();
    return;
  }
  http::http_request message{http::method(s->method)};
  message.set_request_uri(web::uri(s->path));
  if (!s->body.empty()) {
    std::string body = s->body;
    const size_t size = body.size();
    message.set_body(
        concurrency::streams::bytestream::open_istream(std::move(body)), size,
        "application/json");
  }
  message.headers().add(http::header_names::user_agent, "fgw-bench");
  concurrency::streams::container_buffer<std::string> body_buffer;
  message.set_response_stream(concurrency::streams::ostream(body_buffer));
  s->client->request(message)
      .then(
          [](http::http_response response) { return response.content_ready(); })
      .then([s, stats, start,
             body_buffer](pplx::task<http::http_response> task) mutable {
        const int64_t finish = NowNs();
        bool ok = false;
        std::string error;
        try {
          http::http_response response = task.get();
          ok = response.status_code() == 200 &&
               !body_buffer.collection().empty();
          if (!ok) error = "HTTP " + std::to_string(response.status_code());
          s->response_bytes.store(
              static_cast<int64_t>(body_buffer.collection().size()),
              std::memory_order_relaxed);
        } catch (const std::exception& e) {
          error = e.what();
        }
        if (s->window->Counts(start, finish)) {
          if (ok) {
            stats->latencies_ns.push_back(finish - start);
          } else {
            ++stats->errors;
            if (stats->first_error.empty()) stats->first_error = error;
          }
        }
        Issue(s, stats);
      });
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  crossplat::threadpool::initialize_with_threads(
      static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_threads))));
  if (absl::GetFlag(FLAGS_inline_continuations)) {
    pplx::set_ambient_scheduler(std::make_shared<InlineScheduler>());
  }
  client::http_client_config config;
  config.set_timeout(
      std::chrono::seconds(31));  // As the gateway: request_timeout + 1 s.
  client::http_client http_client(web::uri(absl::GetFlag(FLAGS_url)), config);

  Shared shared;
  shared.client = &http_client;
  shared.method = absl::GetFlag(FLAGS_method);
  shared.path = absl::GetFlag(FLAGS_path);
  if (!absl::GetFlag(FLAGS_body_file).empty()) {
    std::ifstream f(absl::GetFlag(FLAGS_body_file), std::ios::binary);
    shared.body.assign(std::istreambuf_iterator<char>(f),
                       std::istreambuf_iterator<char>());
  }
  const int concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  std::vector<LoopStats> loops(concurrency);
  for (auto& l : loops) l.latencies_ns.reserve(1 << 16);
  Window window(absl::GetFlag(FLAGS_warmup), absl::GetFlag(FLAGS_duration),
                absl::GetFlag(FLAGS_watch_pid),
                absl::GetFlag(FLAGS_upstream_pid));
  shared.window = &window;
  shared.running = concurrency;
  for (int i = 0; i < concurrency; ++i) {
    crossplat::threadpool::shared_instance().service().post(
        [&shared, &loops, i] { Issue(&shared, &loops[i]); });
  }
  {
    std::unique_lock<std::mutex> lock(shared.mu);
    shared.cv.wait(lock, [&] { return shared.running == 0; });
  }
  window.Join();
  fgw_bench::Report(absl::GetFlag(FLAGS_label), concurrency, window, loops,
                    absl::GetFlag(FLAGS_curve_out),
                    shared.response_bytes.load());
  return 0;
}
