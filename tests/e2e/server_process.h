// Runs the real `izwi serve` binary on a free loopback port for a test, with
// its own model and voice stores, and stops it with a signal.
#pragma once

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_run.h"

namespace izwi::test {

// Starts `izwi <args>` with `env` (NAME=VALUE entries, before the inherited
// environment: getenv() takes the first of a name; IZWI_OFFLINE=1 unless
// given, so tests never reach the network), stdout and stderr to `log_path`.
inline pid_t spawn_izwi(const std::vector<std::string>& args, const std::vector<std::string>& env,
                        const std::string& log_path) {
  std::vector<std::string> argv_s = {IZWI_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s(env.begin(), env.end());
  for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
  bool offline_given = false;
  for (const auto& e : env) offline_given |= e.rfind("IZWI_OFFLINE=", 0) == 0;
  if (!offline_given) env_s.emplace_back("IZWI_OFFLINE=1");
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* log = std::fopen(log_path.c_str(), "w");
    dup2(fileno(log), 1);
    dup2(fileno(log), 2);
    std::vector<char*> a, e;
    for (auto& s : argv_s) a.push_back(s.data());
    a.push_back(nullptr);
    for (auto& s : env_s) e.push_back(s.data());
    e.push_back(nullptr);
    execve(a[0], a.data(), e.data());
    _exit(127);
  }
  return pid;
}

class ServerProcess {
 public:
  // `env`: extra NAME=VALUE entries; `args`: after `izwi serve --port 0`.
  ServerProcess(const std::vector<std::string>& env, const std::vector<std::string>& args,
                const std::string& log_path, bool wait_ready = true)
      : log_path_(log_path) {
    std::vector<std::string> argv_s = {"serve", "--port", "0"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::remove(log_path.c_str());  // never read an earlier server's "listening on"
    pid_ = spawn_izwi(argv_s, env, log_path);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    const std::regex listening(R"(listening on http://([0-9.]+|\[[0-9a-f:]+\]):([0-9]+))");
    while (std::chrono::steady_clock::now() < deadline && port_ < 0) {
      std::smatch m;
      const std::string l = log();
      if (std::regex_search(l, m, listening)) {
        host_ = m[1];
        port_ = std::stoi(m[2]);
      } else if (exited()) {
        return;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    if (!wait_ready) return;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = client().Get("/readyz");
      if (r && r->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~ServerProcess() { stop(SIGKILL); }

  bool started() const { return port_ > 0; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  const std::string& host() const { return host_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    // Sanitizer builds (scripts/tsan.sh sets IZWI_TEST_SLOW) run several times slower.
    c.set_read_timeout(std::getenv("IZWI_TEST_SLOW") ? 900 : 120, 0);
    return c;
  }
  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Sends `sig` and waits for the exit; returns the exit code (128+signal if killed).
  int stop(int sig = SIGTERM, int timeout_s = 60) {
    if (pid_ <= 0) return status_;
    kill(pid_, sig);
    for (int i = 0; i < timeout_s * 50 && !exited(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!exited()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &raw_, 0);
      record();
    }
    return status_;
  }
  int status() const { return status_; }

 private:
  bool exited() {
    if (pid_ <= 0) return true;
    if (waitpid(pid_, &raw_, WNOHANG) == pid_) {
      record();
      return true;
    }
    return false;
  }
  void record() {
    status_ = WIFEXITED(raw_) ? WEXITSTATUS(raw_) : 128 + WTERMSIG(raw_);
    pid_ = -1;
  }
  std::string log_path_, host_;
  pid_t pid_ = -1;
  int port_ = -1, raw_ = 0, status_ = -1;
};

}  // namespace izwi::test
