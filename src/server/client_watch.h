// Whether the client of a request is still connected, for requests whose
// response is sent only at the end (a streamed response learns it from a
// failed write). cpp-httplib hands handlers no socket, so the connection is
// found by its addresses among the process's sockets (Linux /proc/self/fd).
#pragma once

#include <string>

namespace izwi::server {

class ClientWatch {
 public:
  ClientWatch(const std::string& remote_addr, int remote_port, int local_port);
  // True once the peer has closed or reset the connection. A connection that
  // cannot be found is assumed alive (never cancels a request by mistake).
  bool gone() const;

 private:
  bool same_peer(int fd) const;
  std::string remote_addr_;
  int remote_port_, local_port_;
  int fd_ = -1;
};

}  // namespace izwi::server
