// curl_floor: the CPU one HTTP request costs with no thread hand-off at all, for comparison with
// bench_rest (cpprestsdk): one thread, one reused libcurl easy handle, blocking GETs in a loop
// against the benchmark's nginx. Prints requests/s, mean latency and CPU per request
// (getrusage of the process). Built only when libcurl's headers are installed
// (libcurl4-openssl-dev); not a dependency of the gateway. PERF_LOG.md, section 11.
//   curl_floor URL [seconds]
#include <curl/curl.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

double ProcessCpuSeconds() {
  rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec +
         r.ru_stime.tv_usec / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: curl_floor URL [seconds]\n");
    return 2;
  }
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  curl_global_init(CURL_GLOBAL_ALL);
  CURL* handle = curl_easy_init();
  std::string body;
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  curl_easy_setopt(handle, CURLOPT_URL, argv[1]);
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &body);
  // Warm-up (connection, caches), then the measured loop.
  for (double limit : {0.5, seconds}) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = ProcessCpuSeconds();
    long requests = 0;
    double wall = 0;
    while (wall < limit) {
      body.clear();
      long status = 0;
      if (curl_easy_perform(handle) != CURLE_OK ||
          curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status) !=
              CURLE_OK ||
          status != 200) {
        std::fprintf(stderr, "request failed (HTTP %ld)\n", status);
        return 1;
      }
      ++requests;
      wall = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                           start)
                 .count();
    }
    if (limit == seconds) {
      std::printf(
          "libcurl, one thread, reused handle: %ld requests, %.0f/s, mean %.1f "
          "us, CPU %.1f us per request, %zu-byte body\n",
          requests, requests / wall, wall / requests * 1e6,
          (ProcessCpuSeconds() - cpu_start) / requests * 1e6, body.size());
    }
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(handle);
  curl_global_cleanup();
  return 0;
}
