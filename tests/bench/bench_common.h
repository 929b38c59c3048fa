// Shared pieces of the benchmark load generators (bench_rest, bench_grpc): the measurement window,
// per-call latency recording, percentiles, /proc sampling of a watched process (the gateway), and
// the one-line JSON result the runner (run_bench.sh) parses.
//
// Timing model: every loop keeps one call in flight. A call counts when it started at or after
// the window's begin and finished at or before its end; loops stop issuing at the end. Warm-up
// calls (before begin) open connections and fill caches and are not counted.
#ifndef FGW_TESTS_BENCH_BENCH_COMMON_H_
#define FGW_TESTS_BENCH_BENCH_COMMON_H_

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fgw_bench {

using SteadyClock = std::chrono::steady_clock;

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

// utime + stime of `pid` in nanoseconds (from /proc/<pid>/stat), or -1.
inline int64_t ProcessCpuNs(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return -1;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  // Fields after "(comm)": state(3) ... utime(14) stime(15).
  int64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  const long hz = sysconf(_SC_CLK_TCK);
  return (utime + stime) * (1000000000LL / hz);
}

// A "Vm...:  1234 kB" value of /proc/<pid>/status, in KiB, or -1.
inline int64_t ProcessStatusKib(int pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.compare(0, key.size(), key) == 0 && line.size() > key.size() &&
        line[key.size()] == ':') {
      return std::stoll(line.substr(key.size() + 1));
    }
  }
  return -1;
}

// The measurement window, plus CPU samples of a watched process taken at its edges.
class Window {
 public:
  // `watch_pid`: the server under test (the gateway); `upstream_pid`: the upstream (nginx's
  // worker). Either may be 0.
  Window(double warmup_s, double duration_s, int watch_pid,
         int upstream_pid = 0)
      : watch_pid_(watch_pid),
        upstream_pid_(upstream_pid),
        begin_ns_(NowNs() + static_cast<int64_t>(warmup_s * 1e9)),
        end_ns_(begin_ns_ + static_cast<int64_t>(duration_s * 1e9)) {
    sampler_ = std::thread([this] {
      SleepUntil(begin_ns_);
      cpu_begin_ns_ = watch_pid_ > 0 ? ProcessCpuNs(watch_pid_) : -1;
      up_cpu_begin_ns_ = upstream_pid_ > 0 ? ProcessCpuNs(upstream_pid_) : -1;
      self_cpu_begin_ns_ = ProcessCpuNs(getpid());
      SleepUntil(end_ns_);
      cpu_end_ns_ = watch_pid_ > 0 ? ProcessCpuNs(watch_pid_) : -1;
      up_cpu_end_ns_ = upstream_pid_ > 0 ? ProcessCpuNs(upstream_pid_) : -1;
      self_cpu_end_ns_ = ProcessCpuNs(getpid());
    });
  }
  ~Window() {
    if (sampler_.joinable()) sampler_.join();
  }
  void Join() {
    if (sampler_.joinable()) sampler_.join();
  }
  int64_t begin_ns() const { return begin_ns_; }
  int64_t end_ns() const { return end_ns_; }
  bool Over(int64_t now) const { return now >= end_ns_; }
  bool Counts(int64_t start, int64_t finish) const {
    return start >= begin_ns_ && finish <= end_ns_;
  }
  double seconds() const { return (end_ns_ - begin_ns_) / 1e9; }
  int64_t watched_cpu_ns() const {
    return cpu_begin_ns_ >= 0 && cpu_end_ns_ >= 0 ? cpu_end_ns_ - cpu_begin_ns_
                                                  : -1;
  }
  int64_t upstream_cpu_ns() const {
    return up_cpu_begin_ns_ >= 0 && up_cpu_end_ns_ >= 0
               ? up_cpu_end_ns_ - up_cpu_begin_ns_
               : -1;
  }
  int upstream_pid() const { return upstream_pid_; }
  int64_t self_cpu_ns() const { return self_cpu_end_ns_ - self_cpu_begin_ns_; }
  int watch_pid() const { return watch_pid_; }

 private:
  static void SleepUntil(int64_t ns) {
    std::this_thread::sleep_until(
        SteadyClock::time_point(std::chrono::nanoseconds(ns)));
  }
  const int watch_pid_;
  const int upstream_pid_;
  const int64_t begin_ns_;
  const int64_t end_ns_;
  int64_t cpu_begin_ns_ = -1, cpu_end_ns_ = -1;
  int64_t up_cpu_begin_ns_ = -1, up_cpu_end_ns_ = -1;
  int64_t self_cpu_begin_ns_ = 0, self_cpu_end_ns_ = 0;
  std::thread sampler_;
};

// Per-loop latency samples (no sharing while running), merged at the end.
struct LoopStats {
  std::vector<int64_t> latencies_ns;
  int64_t errors = 0;
  std::string first_error;
};

inline double Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = p / 100.0 * (sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(sorted.size() - 1, lo + 1);
  const double frac = rank - lo;
  return sorted[lo] * (1 - frac) + sorted[hi] * frac;
}

inline std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// Prints the result line and writes the latency curve (percentile, microseconds) if asked.
inline void Report(const std::string& label, int concurrency,
                   const Window& window, std::vector<LoopStats>& loops,
                   const std::string& curve_out, int64_t response_bytes) {
  std::vector<int64_t> all;
  int64_t errors = 0;
  std::string first_error;
  for (auto& l : loops) {
    all.insert(all.end(), l.latencies_ns.begin(), l.latencies_ns.end());
    errors += l.errors;
    if (first_error.empty()) first_error = l.first_error;
  }
  std::sort(all.begin(), all.end());
  double sum = 0;
  for (int64_t v : all) sum += v;
  const double n = static_cast<double>(all.size());
  const double mean_us = all.empty() ? 0 : sum / n / 1e3;
  const double secs = window.seconds();
  const int64_t gw_cpu = window.watched_cpu_ns();
  std::printf(
      "{\"label\":\"%s\",\"concurrency\":%d,\"calls\":%lld,\"errors\":%lld,"
      "\"seconds\":%.3f,"
      "\"throughput\":%.1f,\"mean_us\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
      "\"p999_us\":%.1f,"
      "\"max_us\":%.1f,\"response_bytes\":%lld,\"client_cpu_us_per_call\":%.1f",
      JsonEscape(label).c_str(), concurrency,
      static_cast<long long>(all.size()), static_cast<long long>(errors), secs,
      n / secs, mean_us, Percentile(all, 50) / 1e3, Percentile(all, 99) / 1e3,
      Percentile(all, 99.9) / 1e3, all.empty() ? 0.0 : all.back() / 1e3,
      static_cast<long long>(response_bytes),
      all.empty() ? 0.0 : window.self_cpu_ns() / n / 1e3);
  if (window.watch_pid() > 0) {
    std::printf(
        ",\"server_cpu_us_per_call\":%.1f,\"server_peak_rss_kib\":%lld",
        gw_cpu >= 0 && !all.empty() ? gw_cpu / n / 1e3 : -1.0,
        static_cast<long long>(ProcessStatusKib(window.watch_pid(), "VmHWM")));
  }
  if (window.upstream_pid() > 0) {
    const int64_t up = window.upstream_cpu_ns();
    std::printf(",\"upstream_cpu_us_per_call\":%.1f",
                up >= 0 && !all.empty() ? up / n / 1e3 : -1.0);
  }
  if (!first_error.empty()) {
    std::printf(",\"first_error\":\"%s\"", JsonEscape(first_error).c_str());
  }
  std::printf("}\n");
  std::fflush(stdout);
  if (!curve_out.empty() && !all.empty()) {
    std::ofstream out(curve_out);
    out << "# percentile latency_us (" << label << ", c=" << concurrency
        << ")\n";
    // Evenly spaced in log(1/(1-p)): 0, 50, 90, 99, 99.9, 99.99 ... as far as the samples go.
    for (double x = 0; x <= 5.0; x += 0.05) {
      const double p = 100.0 * (1.0 - std::pow(10.0, -x));
      if (x > 0 && (1.0 - p / 100.0) * n < 1.0) break;
      out << p << " " << Percentile(all, p) / 1e3 << "\n";
    }
    out << "100 " << all.back() / 1e3 << "\n";
  }
}

}  // namespace fgw_bench

#endif  // FGW_TESTS_BENCH_BENCH_COMMON_H_
