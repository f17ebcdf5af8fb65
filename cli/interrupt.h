// Ctrl-C (SIGINT) and SIGTERM for commands that should stop cleanly rather
// than die mid-write: while a StopSignals lives, the first signal only sets a
// flag that the work polls (a generation callback returns false, a loop ends);
// a second one ends the process at once, as usual.
#pragma once

#include <csignal>
#include <stdexcept>
#include <string>

namespace izwi::cli {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();  // the previous handlers back
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The signal that asked to stop (SIGINT or SIGTERM), 0 while none has.
  static int received();
  // "Ctrl-C" or "SIGTERM", for messages.
  static const char* name(int signal) { return signal == SIGINT ? "Ctrl-C" : "SIGTERM"; }

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

// Thrown when a command stops for a signal: main() prints it and exits with
// 128 + the signal, as a shell reports a process the signal ended.
class Interrupted : public std::runtime_error {
 public:
  Interrupted(int signal, const std::string& what) : std::runtime_error(what), signal_(signal) {}
  int exit_status() const { return 128 + signal_; }

 private:
  int signal_;
};

}  // namespace izwi::cli
