// Runs the izwi binary and captures its output and exit status.
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

namespace izwi::test {

// Runs a shell command and sends it SIGKILL after `after`; true if the kill
// (not its own end) stopped it. For crash-safety tests.
inline bool run_and_kill(const std::string& command, std::chrono::milliseconds after) {
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(after);
  kill(pid, SIGKILL);
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

struct RunResult {
  int status;          // exit code; 128 + signal if it crashed
  std::string output;  // stdout + stderr
};

inline RunResult run_izwi_env(const std::string& env, const std::string& args) {
  const std::string cmd = env + std::string(IZWI_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

inline RunResult run_izwi(const std::string& args) {
  return run_izwi_env("", args);
}

// Runs `izwi args` as a terminal would (SIGINT and SIGTERM at their defaults),
// sends it `sig` once its output (stdout + stderr) shows `cue`, and returns
// what it printed and its exit status; a run that ends before the cue is
// returned as it ended.
inline RunResult run_izwi_and_signal(const std::string& args, int sig, const std::string& cue) {
  int fds[2];
  if (pipe(fds) != 0) return {-1, "pipe failed"};
  const std::string cmd = "exec " + std::string(IZWI_BINARY) + " " + args;
  const pid_t pid = fork();
  if (pid == 0) {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  bool sent = false;
  std::array<char, 4096> buf{};
  ssize_t n;
  while ((n = read(fds[0], buf.data(), buf.size())) > 0) {
    out.append(buf.data(), static_cast<size_t>(n));
    if (!sent && out.find(cue) != std::string::npos) sent = kill(pid, sig) == 0;
  }
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

// Runs `izwi args` (through sh, which execs it: redirections work) and returns
// its exit status and its peak resident memory in KiB (getrusage's ru_maxrss).
struct PeakRun {
  int status;
  long max_rss_kib;
};
inline PeakRun run_izwi_peak_memory(const std::string& args) {
  const std::string cmd = "exec " + std::string(IZWI_BINARY) + " " + args;
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int st = 0;
  rusage usage{};
  wait4(pid, &st, 0, &usage);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), usage.ru_maxrss};
}

// Single-quotes a string for the shell.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace izwi::test
