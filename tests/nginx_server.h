// nginx for tests: the project's deploy/nginx/izwi.conf with its upstream
// servers and listen port replaced, inside a minimal main configuration
// whose logs, pid and temporary files live in a temporary folder. Debian's
// nginx package provides the binary (scripts/install-deps.sh installs it).
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace izwi::test {

class NginxServer {
 public:
  NginxServer(const std::string& site_conf, const std::vector<int>& upstream_ports, int port,
              const std::string& dir)
      : dir_(dir), port_(port) {
    std::filesystem::create_directories(dir_);
    std::ifstream in(site_conf);
    if (!in) throw std::runtime_error("NginxServer: cannot read " + site_conf);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string site = ss.str();
    // The documented upstream servers become ours, with their documented options.
    std::smatch m;
    const std::regex server_line(R"(\n(\s*)server 127\.0\.0\.1:\d+ ([^;]*);)");
    if (!std::regex_search(site, m, server_line))
      throw std::runtime_error("NginxServer: no 'server 127.0.0.1:PORT …;' line in " + site_conf);
    std::string servers;
    for (int p : upstream_ports)
      servers +=
          "\n" + m[1].str() + "server 127.0.0.1:" + std::to_string(p) + " " + m[2].str() + ";";
    site = std::regex_replace(site, std::regex(R"((\n\s*server 127\.0\.0\.1:\d+ [^;]*;)+)"),
                              servers, std::regex_constants::format_first_only);
    site = std::regex_replace(site, std::regex(R"(listen \d+;)"),
                              "listen 127.0.0.1:" + std::to_string(port) + ";");
    std::ofstream(dir_ + "/izwi.conf") << site;
    std::ofstream(dir_ + "/nginx.conf")
        << (getuid() == 0 ? "user root;\n" : "") << "worker_processes 2;\n"
        << "pid " << dir_ << "/nginx.pid;\n"
        << "error_log " << dir_ << "/error.log info;\n"
        << "events { worker_connections 512; }\n"
        << "http {\n"
        << "  access_log " << dir_ << "/access.log;\n"
        << "  client_body_temp_path " << dir_ << "/body;\n"
        << "  proxy_temp_path " << dir_ << "/proxy;\n"
        << "  fastcgi_temp_path " << dir_ << "/fastcgi;\n"
        << "  uwsgi_temp_path " << dir_ << "/uwsgi;\n"
        << "  scgi_temp_path " << dir_ << "/scgi;\n"
        << "  include " << dir_ << "/izwi.conf;\n"
        << "}\n";
    run("-t -q");  // the configuration is valid
    run("");
    // Up once the pid file is there and the port answers (the caller's client tries it).
    for (int i = 0; i < 250 && !std::filesystem::exists(dir_ + "/nginx.pid"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ~NginxServer() {
    std::system(("nginx -p " + dir_ + " -c " + dir_ + "/nginx.conf -e " + dir_ +
                 "/error.log -s stop > /dev/null 2>&1")
                    .c_str());
  }
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  int port() const { return port_; }
  std::string error_log() const {
    std::ifstream in(dir_ + "/error.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  void run(const std::string& args) const {
    const std::string cmd = "nginx -p " + dir_ + " -c " + dir_ + "/nginx.conf -e " + dir_ +
                            "/error.log " + args + " 2>> " + dir_ + "/start.log";
    if (std::system(cmd.c_str()) != 0) {
      std::ifstream in(dir_ + "/start.log");
      std::stringstream ss;
      ss << in.rdbuf();
      throw std::runtime_error("NginxServer: failed: " + cmd + "\n" + ss.str());
    }
  }

  std::string dir_;
  int port_;
};

}  // namespace izwi::test
