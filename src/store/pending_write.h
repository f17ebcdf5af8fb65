// A media write in progress, as both voice backends record it.
#pragma once

#include <cstdint>
#include <string>

namespace izwi::store {

struct PendingWrite {
  std::string key;
  std::string host;  // gethostname() of the writer
  int64_t pid = 0;
  int64_t started = 0;  // Unix time
};

std::string host_name();
// "voices/<voice>.<16 hex digits>/<file>": unique, never reused.
std::string new_media_key(const std::string& voice, const std::string& file);
// Alive: its process is running on this host (and it began within a day), or
// it is on another host and began within an hour.
bool pending_write_alive(const PendingWrite& w, int64_t now);

}  // namespace izwi::store
