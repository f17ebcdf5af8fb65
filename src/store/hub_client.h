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

class HubClient {
 public:
  HubClient(std::string endpoint, std::string token);

  // GET {endpoint}/api/models/{repo}/tree/{revision}?recursive=true (following pages).
  std::vector<HubFile> list_files(const std::string& repo, const std::string& revision) const;

  // Downloads {endpoint}/{repo}/resolve/{revision}/{file.path} into `part`,
  // continuing from the bytes already there (HTTP Range). `on_bytes` receives
  // the bytes of the file present so far. Checks size and SHA-256 at the end.
  void download(const std::string& repo, const std::string& revision, const HubFile& file,
                const std::string& part, const std::function<void(uint64_t)>& on_bytes) const;

 private:
  std::string endpoint_, token_;
};

}  // namespace izwi::store
