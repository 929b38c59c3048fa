#include "tests/support/loopback_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace fgw {
namespace {

constexpr size_t kMaxHeaderBytes = 1 << 20;

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

bool SendAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads more bytes into `buffer`; false on EOF or error.
bool ReadMore(int fd, std::string& buffer) {
  char chunk[16384];
  for (;;) {
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
    return true;
  }
}

// Ensures buffer holds at least `size` bytes.
bool ReadAtLeast(int fd, std::string& buffer, size_t size) {
  while (buffer.size() < size) {
    if (!ReadMore(fd, buffer)) return false;
  }
  return true;
}

// Reads one request from `fd` (with leftover bytes in `buffer`). False on EOF/parse error.
bool ReadRequest(int fd, std::string& buffer, RecordedRequest& out) {
  size_t header_end;
  while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    if (buffer.size() > kMaxHeaderBytes || !ReadMore(fd, buffer)) return false;
  }
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(buffer).substr(0, header_end), "\r\n");
  std::vector<absl::string_view> request_line = absl::StrSplit(lines[0], ' ');
  if (request_line.size() != 3) return false;
  out.method = std::string(request_line[0]);
  out.target = std::string(request_line[1]);
  out.version = std::string(request_line[2]);
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) return false;
    out.headers.emplace_back(
        std::string(lines[i].substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
  }
  buffer.erase(0, header_end + 4);
  std::string length = out.header("Content-Length");
  if (absl::EqualsIgnoreCase(out.header("Transfer-Encoding"), "chunked")) {
    for (;;) {
      size_t eol;
      while ((eol = buffer.find("\r\n")) == std::string::npos) {
        if (!ReadMore(fd, buffer)) return false;
      }
      size_t size = 0;
      std::string size_text(buffer.substr(0, eol));
      size_text = size_text.substr(0, size_text.find(';'));
      if (!absl::SimpleHexAtoi(size_text, &size)) return false;
      buffer.erase(0, eol + 2);
      if (!ReadAtLeast(fd, buffer, size + 2)) return false;
      out.body.append(buffer, 0, size);
      buffer.erase(0, size + 2);
      if (size == 0)
        break;  // Trailers are not supported (none are sent by our clients).
    }
  } else if (!length.empty()) {
    size_t size = 0;
    if (!absl::SimpleAtoi(length, &size)) return false;
    if (!ReadAtLeast(fd, buffer, size)) return false;
    out.body = buffer.substr(0, size);
    buffer.erase(0, size);
  }
  return true;
}

std::string FindIn(
    const std::vector<std::pair<std::string, std::string>>& headers,
    absl::string_view name) {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

}  // namespace

std::string RecordedRequest::header(const std::string& name) const {
  return FindIn(headers, name);
}

std::unique_ptr<LoopbackHttpServer> LoopbackHttpServer::Start(Handler handler) {
  std::unique_ptr<LoopbackHttpServer> server(
      new LoopbackHttpServer(std::move(handler)));
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 128) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return nullptr;
  }
  server->listen_fd_ = fd;
  server->port_ = ntohs(addr.sin_port);
  server->acceptor_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

LoopbackHttpServer::~LoopbackHttpServer() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);  // Wakes accept().
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // Wakes recv().
    workers.swap(workers_);
  }
  for (auto& worker : workers) worker.join();
}

std::string LoopbackHttpServer::base_url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

std::vector<RecordedRequest> LoopbackHttpServer::requests() {
  absl::MutexLock lock(&mu_);
  return requests_;
}

int LoopbackHttpServer::connections_accepted() {
  absl::MutexLock lock(&mu_);
  return connections_;
}

int LoopbackHttpServer::max_open_connections() {
  absl::MutexLock lock(&mu_);
  return max_open_;
}

void LoopbackHttpServer::set_handler(Handler handler) {
  absl::MutexLock lock(&mu_);
  handler_ = std::move(handler);
}

void LoopbackHttpServer::AcceptLoop() {
  while (!stopping_) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // Shut down.
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    absl::MutexLock lock(&mu_);
    if (shutdown_ || stopping_) {
      ::close(fd);
      return;
    }
    int connection = ++connections_;
    open_fds_.push_back(fd);
    max_open_ = std::max(max_open_, static_cast<int>(open_fds_.size()));
    workers_.emplace_back([this, fd, connection] { Serve(fd, connection); });
  }
}

bool LoopbackHttpServer::Delay(absl::Duration delay) {
  if (delay <= absl::ZeroDuration()) return true;
  absl::MutexLock lock(&mu_);
  auto stopped = [this]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return shutdown_; };
  return !mu_.AwaitWithTimeout(absl::Condition(&stopped), delay);
}

void LoopbackHttpServer::Serve(int fd, int connection) {
  std::string buffer;
  for (;;) {
    RecordedRequest request;
    if (!ReadRequest(fd, buffer, request)) break;
    request.connection = connection;
    Handler handler;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
      handler = handler_;
    }
    Reply reply = handler ? handler(request) : Reply{};
    if (!Delay(reply.delay)) break;
    if (reply.fault == Reply::Fault::kCloseWithoutResponse) break;
    if (reply.fault == Reply::Fault::kReset) {
      linger lin{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
      break;
    }
    std::string head = absl::StrCat("HTTP/1.1 ", reply.status, " ",
                                    ReasonPhrase(reply.status), "\r\n");
    bool has_length = false;
    for (const auto& [name, value] : reply.headers) {
      if (absl::EqualsIgnoreCase(name, "Content-Length")) has_length = true;
      absl::StrAppend(&head, name, ": ", value, "\r\n");
    }
    if (reply.chunk_size > 0) {
      absl::StrAppend(&head, "Transfer-Encoding: chunked\r\n");
    } else if (!has_length) {
      absl::StrAppend(&head, "Content-Length: ", reply.body.size(), "\r\n");
    }
    if (reply.fault == Reply::Fault::kCloseMidResponse) {
      SendAll(fd, head.substr(0, head.size() / 2));
      break;
    }
    absl::StrAppend(&head, "\r\n");
    if (!SendAll(fd, head)) break;
    if (reply.chunk_size > 0) {
      bool sent = true;
      for (size_t at = 0; sent && at < reply.body.size();
           at += reply.chunk_size) {
        absl::string_view chunk =
            absl::string_view(reply.body).substr(at, reply.chunk_size);
        sent = SendAll(fd, absl::StrCat(absl::Hex(chunk.size()), "\r\n")) &&
               SendAll(fd, chunk) && SendAll(fd, "\r\n");
      }
      if (!sent || !SendAll(fd, "0\r\n\r\n")) break;
    } else if (!SendAll(fd, reply.body)) {
      break;
    }
    if (absl::EqualsIgnoreCase(request.header("Connection"), "close")) break;
  }
  {
    absl::MutexLock lock(&mu_);
    for (auto it = open_fds_.begin(); it != open_fds_.end(); ++it) {
      if (*it == fd) {
        open_fds_.erase(it);
        break;
      }
    }
  }
  ::close(fd);
}

}  // namespace fgw
