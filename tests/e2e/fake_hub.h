// A stand-in for the Hugging Face hub on loopback, serving its URL layout from
// local folders: GET /api/models/{org}/{repo}/revision/{rev} (the commit "sha"),
// GET /api/models/{org}/{repo}/tree/{rev}?recursive=true and
// GET /{org}/{repo}/resolve/{rev}/{path} (with Range), where {rev} is "main" or
// the current commit. It answers as the real hub does: 401 with X-Error-Code
// RepoNotFound for an unknown repository when no token is sent (404 with one),
// GatedRepo for a gated one, 403 for a token without access. Faults can be
// injected: connections cut mid-file, corrupted files, a server that ignores
// Range, 429/503 answers with Retry-After, a branch that moves, a slow link.
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
    server_.Get(
        R"(/api/models/([^/]+/[^/]+)/revision/([^/?]+))",
        [this](const httplib::Request& req, httplib::Response& res) {
          const std::string repo = req.matches[1];
          if (!answer_for(repo, req.matches[2], req, res)) return;
          res.set_content(nlohmann::json{{"id", repo}, {"sha", sha()}}.dump(), "application/json");
        });
    server_.Get(R"(/api/models/([^/]+/[^/]+)/tree/([^/?]+))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  const std::string repo = req.matches[1];
                  {
                    std::lock_guard<std::mutex> lock(mu_);
                    listed_.push_back(req.matches[2]);
                  }
                  if (!answer_for(repo, req.matches[2], req, res)) return;
                  res.set_content(tree(folder(repo)).dump(), "application/json");
                });
    server_.Get(R"(/([^/]+/[^/]+)/resolve/([^/]+)/(.+))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  const std::string repo = req.matches[1], path = req.matches[3];
                  {
                    std::lock_guard<std::mutex> lock(mu_);
                    requests_.push_back(path + " " +
                                        (req.has_header("Range") ? req.get_header_value("Range")
                                                                 : std::string("-")));
                    accept_encoding_ = req.get_header_value("Accept-Encoding");
                  }
                  if (!answer_for(repo, req.matches[2], req, res)) return;
                  if (path.find("..") != std::string::npos) return not_found(res, "EntryNotFound");
                  const std::filesystem::path file = std::filesystem::path(folder(repo)) / path;
                  if (!std::filesystem::is_regular_file(file))
                    return not_found(res, "EntryNotFound");
                  auto data = std::make_shared<std::string>(read(file));
                  if (corrupt.count(path)) (*data)[data->size() / 2] ^= 0x5A;
                  const bool cut = path == cut_file && cuts_remaining.fetch_sub(1) > 0;
                  if (ignore_range) {
                    // As a server or mirror without Range support: the whole file,
                    // 200 (chunked, so that httplib does not apply the Range itself).
                    res.status = 200;
                    res.set_chunked_content_provider(
                        "application/octet-stream",
                        [data, sent = size_t{0}](size_t, httplib::DataSink& sink) mutable {
                          const size_t n = std::min<size_t>(data->size() - sent, 64 * 1024);
                          sink.write(data->data() + sent, n);
                          sent += n;
                          if (sent == data->size()) sink.done();
                          return true;
                        });
                    return;
                  }
                  res.set_content_provider(
                      data->size(), "application/octet-stream",
                      [data, cut, this](size_t offset, size_t length, httplib::DataSink& sink) {
                        // Serve in small chunks; a "cut" drops the connection half way.
                        const size_t chunk = std::min<size_t>(length, 64 * 1024);
                        if (cut && offset >= cut_at_bytes) return false;
                        if (const int ms = chunk_delay_ms.load())
                          std::this_thread::sleep_for(std::chrono::milliseconds(ms));
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
  std::vector<std::string> listed_revisions() {
    std::lock_guard<std::mutex> lock(mu_);
    return listed_;
  }
  std::string accept_encoding() {
    std::lock_guard<std::mutex> lock(mu_);
    return accept_encoding_;
  }
  // The commit "main" is at, and a push: main moves to `sha` with `repo` now
  // served from `dir` (the old commit is gone, as after a force-push).
  std::string sha() {
    std::lock_guard<std::mutex> lock(mu_);
    return sha_;
  }
  void move_main(const std::string& repo, const std::string& dir, const std::string& sha) {
    std::lock_guard<std::mutex> lock(mu_);
    repos_[repo] = dir;
    sha_ = sha;
  }

  // Fault injection.
  std::string cut_file;                // file whose transfers are cut ...
  size_t cut_at_bytes = 1 << 20;       // ... after this offset ...
  std::atomic<int> cuts_remaining{0};  // ... this many times
  std::set<std::string> corrupt;       // files served with one byte flipped
  std::string private_repo, token;     // this repo needs "Authorization: Bearer <token>"
  std::string gated_repo;              // this repo's licence is not accepted by anyone
  bool ignore_range = false;           // downloads answer 200 with the whole file
  std::atomic<int> busy_answers{0};    // this many requests get 429 (Retry-After: 1) ...
  std::atomic<int> error_answers{0};   // ... or 503 (Retry-After: 0) first
  std::atomic<int> chunk_delay_ms{0};  // a slow link: this pause before each 64 KiB

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
  static void not_found(httplib::Response& res, const std::string& code = "RepoNotFound",
                        int status = 404) {
    res.status = status;
    res.set_header("X-Error-Code", code);
    res.set_content("{\"error\":\"" + code + "\"}", "application/json");
  }
  std::string folder(const std::string& repo) {
    std::lock_guard<std::mutex> lock(mu_);
    return repos_.at(repo);
  }
  // The hub's checks in its order: load, the repository (401 without a
  // token, 404 with one), gating, access, the revision. false: answered.
  bool answer_for(const std::string& repo, const std::string& rev, const httplib::Request& req,
                  httplib::Response& res) {
    if (busy_answers.fetch_sub(1) > 0) {
      res.status = 429;
      res.set_header("Retry-After", "1");
      return false;
    }
    if (error_answers.fetch_sub(1) > 0) {
      res.status = 503;
      res.set_header("Retry-After", "0");
      return false;
    }
    const bool has_token = req.has_header("Authorization");
    bool known;
    {
      std::lock_guard<std::mutex> lock(mu_);
      known = repos_.count(repo) > 0;
    }
    if (!known) {
      not_found(res, "RepoNotFound", has_token ? 404 : 401);
      return false;
    }
    if (repo == gated_repo) {
      not_found(res, "GatedRepo", has_token ? 403 : 401);
      return false;
    }
    if (repo == private_repo && req.get_header_value("Authorization") != "Bearer " + token) {
      if (has_token) {
        res.status = 403;
        res.set_content("{\"error\":\"Forbidden\"}", "application/json");
      } else {
        not_found(res, "RepoNotFound", 401);  // private looks like missing
      }
      return false;
    }
    if (rev != "main" && rev != sha()) {
      not_found(res, "RevisionNotFound");
      return false;
    }
    return true;
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
  std::vector<std::string> requests_, listed_;
  std::string accept_encoding_;
  std::string sha_ = "3f786850e387550fdab836ed7e6dc881de23001b";
};

}  // namespace izwi::test
