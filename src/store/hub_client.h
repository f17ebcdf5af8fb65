// A small Hugging Face hub client over libcurl: the file list of a repository
// and resumable file downloads from its `resolve` URLs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace izwi::store {

struct HubFile {
  std::string path;  // inside the repository, '/'-separated
  uint64_t size = 0;
  std::string sha256;  // LFS files: the hub's SHA-256 id; empty for small git files
};

// The hub's tree listing (a JSON array of {"type", "path", "size", "lfs"}):
// the files, with paths checked so none can leave the model folder.
std::vector<HubFile> parse_file_list(const std::string& body, const std::string& repo);

// Answers worth another try (429 Too Many Requests, 5xx) are retried: after
// the hub's Retry-After, else base_seconds, doubling; never longer than max_wait_seconds.
struct RetryPolicy {
  int attempts = 5;
  double base_seconds = 1.0;
  double max_wait_seconds = 60.0;
};

class HubClient {
 public:
  HubClient(std::string endpoint, std::string token, RetryPolicy retry = {});

  // The commit a revision ("main", a tag, a branch) is at now:
  // GET {endpoint}/api/models/{repo}/revision/{revision} -> "sha". A pull lists
  // and downloads at that commit, so it never mixes files of two commits.
  std::string resolve_revision(const std::string& repo, const std::string& revision) const;

  // GET {endpoint}/api/models/{repo}/tree/{revision}?recursive=true (following pages).
  // Errors say what to do: no such model, a gated model's licence, a token without access.
  std::vector<HubFile> list_files(const std::string& repo, const std::string& revision) const;

  // Downloads {endpoint}/{repo}/resolve/{revision}/{file.path} into `part`,
  // continuing from the bytes already there (HTTP Range; a server that ignores
  // it sends the whole file, which replaces the part). `on_bytes` receives
  // the bytes of the file present so far. Checks size and SHA-256 at the end.
  void download(const std::string& repo, const std::string& revision, const HubFile& file,
                const std::string& part, const std::function<void(uint64_t)>& on_bytes) const;

 private:
  std::string get(const std::string& url, const std::string& repo, const std::string& what,
                  std::string* next) const;
  void wait_before_retry(int attempt, const std::string& retry_after) const;
  std::string endpoint_, token_;
  RetryPolicy retry_;
};

}  // namespace izwi::store
