// libFuzzer target for the config loader: the input is the YAML file given with --config.
//
// LoadConfig reads a path, so each input is written to an in-memory file (memfd) once created
// and loaded through /proc/self/fd/N: the whole loader runs (read, YAML reader, auth-mode
// inference, range checks) with no disk I/O. The environment is empty, there are no flags.
//
// Invariants: never crashes, never throws; the status is OK or INVALID_ARGUMENT (the file is
// always readable); a loaded config passes ValidateConfig. (Error messages are not bounded
// here: they quote the offending scalars, and a YAML alias may repeat one; the file is the
// operator's, read once at start.)
//
// Build: cmake -DFGW_BUILD_FUZZERS=ON with clang (see tests/fuzz/README.md).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "server/config/config_loader.h"
#include "server/config/gateway_config.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s: %s\n", what, detail.c_str());
  std::abort();
}

const std::string& ConfigPath() {
  static const std::string* path = [] {
    const int fd = memfd_create("fgw_config_fuzzer", 0);
    if (fd < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    return new std::string(absl::StrCat("/proc/self/fd/", fd));
  }();
  return *path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = ConfigPath();
  const int fd = std::atoi(path.c_str() + sizeof("/proc/self/fd/") - 1);
  if (ftruncate(fd, 0) != 0 ||
      pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
    std::perror("memfd write");
    std::abort();
  }
  static const fgw::MapEnvironment* env = new fgw::MapEnvironment();
  absl::StatusOr<fgw::GatewayConfig> config =
      fgw::LoadConfig(path, *env, fgw::FlagOverrides{});
  if (config.ok()) {
    const absl::Status valid = fgw::ValidateConfig(*config);
    if (!valid.ok()) Fail("loaded config is not valid", valid.ToString());
    return 0;
  }
  if (config.status().code() != absl::StatusCode::kInvalidArgument)
    Fail("status is not INVALID_ARGUMENT", config.status().ToString());
  return 0;
}
