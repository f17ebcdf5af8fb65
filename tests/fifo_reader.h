// Reads a named pipe as a player would, in a thread of its own, without
// hanging the test when the writer never opens it (a bug that replaced the
// pipe with a file): the pipe is opened without waiting, and reading stops at
// the writer's end of file or, once stop() is called, when nothing more comes.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>

namespace izwi::test {

class FifoReader {
 public:
  explicit FifoReader(const std::string& path)
      : fd_(::open(path.c_str(), O_RDONLY | O_NONBLOCK)), thread_([this] { run(); }) {}
  ~FifoReader() { stop(); }
  FifoReader(const FifoReader&) = delete;
  FifoReader& operator=(const FifoReader&) = delete;

  // Waits for the reading to end (the writer has exited); returns what arrived.
  const std::string& stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return bytes_;
  }

 private:
  void run() {
    if (fd_ < 0) return;
    char buf[1 << 16];
    for (;;) {
      // Linux reports no hang-up for a pipe no writer has opened yet.
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, 50);
      if (ready == 0) {
        if (stopping_) return;
        continue;
      }
      if (ready < 0) return;
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n > 0) bytes_.append(buf, static_cast<size_t>(n));
      if (n == 0) return;  // the writer closed it
      if (n < 0 && errno != EAGAIN && errno != EINTR) return;
    }
  }

  int fd_;
  std::string bytes_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last: starts once the rest is ready
};

}  // namespace izwi::test
