// A temporary directory for file-based credential tests, removed at the end.
#ifndef FGW_TESTS_UNIT_AUTH_TEMP_DIR_H_
#define FGW_TESTS_UNIT_AUTH_TEMP_DIR_H_

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace fgw {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/fgw_auth_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path_).c_str()); }
  const std::string& path() const { return path_; }
  // Writes `content` to a new file and renames it over `name` (an atomic swap, like Kubernetes).
  std::string Write(const std::string& name, const std::string& content) {
    std::string target = path_ + "/" + name;
    std::string tmp = target + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << content;
    }
    std::rename(tmp.c_str(), target.c_str());
    return target;
  }

 private:
  std::string path_;
};

}  // namespace fgw

#endif  // FGW_TESTS_UNIT_AUTH_TEMP_DIR_H_
