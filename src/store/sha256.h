// Streaming SHA-256 (OpenSSL EVP), for checking downloads against the hub's LFS ids.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace izwi::store {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t n);
  void reset();       // start a new digest
  std::string hex();  // finishes; lower-case hex digest

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Hash of a whole file (or its first `limit` bytes).
std::string sha256_file(const std::string& path);

}  // namespace izwi::store
