#include "interrupt.h"

namespace izwi::cli {

namespace {

// A signal handler can only reach a flag of this type; the one process-wide
// state the CLI keeps.
volatile std::sig_atomic_t g_signal = 0;

void on_signal(int signal) {
  g_signal = signal;
}

}  // namespace

StopSignals::StopSignals() {
  g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  // SA_RESETHAND: the handler runs once; a second Ctrl-C ends the process.
  // SA_RESTART: a read or write under way carries on rather than failing with
  // EINTR; the work notices the flag at its next frame.
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
  // Started with Ctrl-C ignored (nohup, a shell's background job): it stays so.
  if (old_int_.sa_handler == SIG_IGN) sigaction(SIGINT, &old_int_, nullptr);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

int StopSignals::received() {
  return g_signal;
}

}  // namespace izwi::cli
