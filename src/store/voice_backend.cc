// What both voice backends share: URL handling, media keys, and when a
// pending write counts as still running.
#include "store/voice_backend.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "store/pending_write.h"

namespace izwi::store {

bool is_postgres_url(const std::string& s) {
  return s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0;
}

std::string redact_url(const std::string& url) {
  // scheme://user:password@host... -> scheme://user:***@host...
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t at = url.find('@', scheme + 3);
  const size_t slash = url.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
  const size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

std::string new_media_key(const std::string& voice, const std::string& file) {
  std::random_device rd;
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%08x%08x", rd(), rd());
  return "voices/" + voice + "." + suffix + "/" + file;
}

bool pending_write_alive(const PendingWrite& w, int64_t now) {
  if (w.host == host_name()) {
    const bool alive = w.pid > 0 && (kill(static_cast<pid_t>(w.pid), 0) == 0 || errno == EPERM);
    return alive && now - w.started < 24 * 3600;
  }
  // Another machine's process cannot be asked; a write takes seconds.
  return now - w.started < 3600;
}

}  // namespace izwi::store
