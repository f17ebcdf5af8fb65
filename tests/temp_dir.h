// A fresh temporary directory, removed with everything in it when the object
// dies: for the tests (test_util.h) and the fuzz targets (fuzz_util.h), which
// do not link GoogleTest.
#pragma once

#include <filesystem>
#include <random>
#include <string>

namespace izwi::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "izwi-test-") {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            (prefix + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace izwi::test
