// HttpGet: one blocking HTTP/1.1 exchange with a loopback server (the admin listener), for
// tests: connects to ip:port, sends `request` as given, reads until the server closes (5 s
// receive timeout, bounded reads). "<refused>" when nothing listens.
#ifndef FGW_TESTS_SUPPORT_HTTP_GET_H_
#define FGW_TESTS_SUPPORT_HTTP_GET_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace fgw {
namespace testing_http {

inline std::string Exchange(const std::string& ip, int port,
                            const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "<socket>";
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "<refused>";
  }
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buf[4096];
  for (int i = 0; i < 10000;
       ++i) {  // Bounded: the server closes after one answer.
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer;
}

inline std::string Get(const std::string& ip, int port, const std::string& path,
                       const std::string& method = "GET") {
  return Exchange(
      ip, port,
      absl::StrCat(method, " ", path,
                   " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
}

inline std::string Body(const std::string& answer) {
  size_t at = answer.find("\r\n\r\n");
  return at == std::string::npos ? "" : answer.substr(at + 4);
}

}  // namespace testing_http
}  // namespace fgw

#endif  // FGW_TESTS_SUPPORT_HTTP_GET_H_
