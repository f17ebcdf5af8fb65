// A real PostgreSQL server for tests: a cluster initdb'd in a temporary
// folder, listening on a free loopback port (and a socket in that folder),
// trust authentication for the `postgres` role. Debian's postgresql package
// provides the binaries (scripts/install-deps.sh installs it). As root, the
// server runs as the `postgres` system user: initdb refuses to run as root.
#pragma once

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace izwi::test {

class PgServer {
 public:
  PgServer() {
    char tmpl[] = "/tmp/izwi-pg-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("PgServer: mkdtemp failed");
    dir_ = tmpl;
    if (getuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (!pw)
        throw std::runtime_error(
            "PgServer: running as root needs the 'postgres' user (apt-get install postgresql)");
      if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("PgServer: cannot chown " + dir_);
      as_ = "runuser -u postgres -- ";
    }
    bin_ = find_bindir();
    port_ = free_port();
    sh(as_ + bin_ + "/initdb -D " + dir_ + "/data -U postgres --auth=trust -E UTF8 --no-sync " +
       "> " + dir_ + "/initdb.log 2>&1");
    start();
  }
  ~PgServer() {
    std::system(
        (as_ + bin_ + "/pg_ctl -D " + dir_ + "/data -m immediate stop > /dev/null 2>&1").c_str());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const { return port_; }
  // A loopback port nothing listens on now.
  static int free_port() {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      close(s);
      throw std::runtime_error("PgServer: no free port");
    }
    close(s);
    return ntohs(a.sin_port);
  }

  std::string url(const std::string& db = "postgres") const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }
  // A fresh database (each test its own): `label` and a number.
  std::string new_database(const std::string& label) {
    const std::string name = label + "_" + std::to_string(++databases_);
    psql("CREATE DATABASE \"" + name + "\"");
    return url(name);
  }
  // One value: the first column of the first row.
  std::string query(const std::string& sql, const std::string& db = "postgres") const {
    const std::string cmd = bin_ + "/psql -q -X -t -A -h 127.0.0.1 -p " + std::to_string(port_) +
                            " -U postgres -d " + db + " -c \"" + sql + "\"";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("PgServer: cannot run psql");
    std::string out;
    char buf[256];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }
  void psql(const std::string& sql, const std::string& db = "postgres") const {
    sh(bin_ + "/psql -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " + std::to_string(port_) +
       " -U postgres -d " + db + " -c '" + sql + "' > /dev/null");
  }

  void start() {
    // fsync off: a test cluster need not survive a power cut, and it saves seconds.
    sh(as_ + bin_ + "/pg_ctl -D " + dir_ + "/data -w -t 60 -l " + dir_ + "/server.log " +
       "-o \"-p " + std::to_string(port_) + " -k " + dir_ +
       " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100\" start > /dev/null");
  }
  // "fast": clients are disconnected, the server shuts down cleanly.
  void stop(const std::string& mode = "fast") {
    sh(as_ + bin_ + "/pg_ctl -D " + dir_ + "/data -w -m " + mode + " stop > /dev/null");
  }

 private:
  static void sh(const std::string& cmd) {
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("PgServer: failed: " + cmd);
  }
  static std::string find_bindir() {
    for (const char* v : {"17", "16", "15", "14", "13"}) {
      const std::string d = std::string("/usr/lib/postgresql/") + v + "/bin";
      if (std::filesystem::exists(d + "/initdb")) return d;
    }
    throw std::runtime_error(
        "PgServer: no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (apt-get install "
        "postgresql)");
  }

  std::string dir_, bin_, as_;
  int port_ = 0;
  int databases_ = 0;
};

}  // namespace izwi::test
