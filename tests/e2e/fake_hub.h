// A stand-in for the Hugging Face hub on loopback, serving its URL layout from
// local folders: GET /api/models/{org}/{repo}/tree/main?recursive=true and
// GET /{org}/{repo}/resolve/main/{path} (with Range). Faults can be injected:
// connections cut mid-file, corrupted files, a private repository.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace izwi::test {

class FakeHub {
 public:
  // repo id -> folder served as that repository
  explicit FakeHub(std::map<std::string, std::string> repos) : repos_(std::move(repos)) {
    server_.Get(R"(/api/models/([^/]+/[^/]+)/tree/main)",
                [this](const httplib::Request& req, httplib::Response& res) {
                  const std::string repo = req.matches[1];
                  if (!authorized(repo, req, res)) return;
                  auto it = repos_.find(repo);
                  if (it == repos_.end()) return not_found(res);
                  res.set_content(tree(it->second).dump(), "application/json");
                });
    server_.Get(R"(/([^/]+/[^/]+)/resolve/main/(.+))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  const std::string repo = req.matches[1], path = req.matches[2];
                  {
                    std::lock_guard<std::mutex> lock(mu_);
                    requests_.push_back(path + " " +
                                        (req.has_header("Range") ? req.get_header_value("Range")
                                                                 : std::string("-")));
                  }
                  if (!authorized(repo, req, res)) return;
                  auto it = repos_.find(repo);
                  if (it == repos_.end() || path.find("..") != std::string::npos)
                    return not_found(res);
                  const std::filesystem::path file = std::filesystem::path(it->second) / path;
                  if (!std::filesystem::is_regular_file(file)) return not_found(res);
                  auto data = std::make_shared<std::string>(read(file));
                  if (corrupt.count(path)) (*data)[data->size() / 2] ^= 0x5A;
                  const bool cut = path == cut_file && cuts_remaining.fetch_sub(1) > 0;
                  res.set_content_provider(
                      data->size(), "application/octet-stream",
                      [data, cut, this](size_t offset, size_t length, httplib::DataSink& sink) {
                        // Serve in small chunks; a "cut" drops the connection half way.
                        const size_t chunk = std::min<size_t>(length, 64 * 1024);
                        if (cut && offset >= cut_at_bytes) return false;
                        sink.write(data->data() + offset, chunk);
                        return true;
                      });
                });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~FakeHub() {
    server_.stop();
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

  // Fault injection.
  std::string cut_file;                // file whose transfers are cut ...
  size_t cut_at_bytes = 1 << 20;       // ... after this offset ...
  std::atomic<int> cuts_remaining{0};  // ... this many times
  std::set<std::string> corrupt;       // files served with one byte flipped
  std::string private_repo, token;     // this repo needs "Authorization: Bearer <token>"

  // SHA-256 by an independent tool (coreutils sha256sum), not izwi's own code.
  static std::string sha256sum(const std::filesystem::path& p) {
    const std::string cmd = "sha256sum '" + p.string() + "'";
    FILE* f = popen(cmd.c_str(), "r");
    char buf[65] = {0};
    if (f) {
      if (std::fread(buf, 1, 64, f) != 64) buf[0] = 0;
      pclose(f);
    }
    return buf;
  }

 private:
  static std::string read(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  static void not_found(httplib::Response& res) {
    res.status = 404;
    res.set_content("{\"error\":\"Repository not found\"}", "application/json");
  }
  bool authorized(const std::string& repo, const httplib::Request& req, httplib::Response& res) {
    if (repo != private_repo || req.get_header_value("Authorization") == "Bearer " + token)
      return true;
    res.status = 401;
    res.set_content("{\"error\":\"Invalid credentials\"}", "application/json");
    return false;
  }
  // The hub's tree listing; files over 1 MB are described as LFS objects with their SHA-256.
  static nlohmann::json tree(const std::string& dir) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      const std::string rel = std::filesystem::relative(e.path(), dir).generic_string();
      if (e.is_directory()) {
        out.push_back({{"type", "directory"}, {"path", rel}, {"size", 0}});
        continue;
      }
      nlohmann::json f = {
          {"type", "file"}, {"path", rel}, {"size", e.file_size()}, {"oid", "0000"}};
      if (e.file_size() > (1u << 20))
        f["lfs"] = {{"oid", sha256sum(e.path())}, {"size", e.file_size()}, {"pointerSize", 134}};
      out.push_back(f);
    }
    return out;
  }

  std::map<std::string, std::string> repos_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

}  // namespace izwi::test
