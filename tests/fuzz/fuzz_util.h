// Helpers for the fuzz targets: each target is one LLVMFuzzerTestOneInput
// that feeds untrusted bytes to one parser. izwi::Error is the expected answer
// to bad input; anything else (a crash, a sanitizer report, another
// exception) is a bug.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "../temp_dir.h"
#include "izwi/error.h"

namespace izwi::fuzz {

// A file with these bytes, for parsers that read files (one per process, rewritten each run).
inline std::string temp_file(const uint8_t* data, size_t size, const char* suffix) {
  // The process's scratch directory, removed at exit (libFuzzer and the replay
  // driver both end through exit()).
  static const test::TempDir dir("izwi-fuzz-");
  const std::string path = dir.file(std::string("input") + suffix);
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f) {
    if (size > 0) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

inline std::string temp_dir(const char* name) {
  const std::string d = temp_file(nullptr, 0, "") + "-" + name;
  ::mkdir(d.c_str(), 0700);
  return d;
}

// Runs `f`; izwi::Error (a clear refusal) is fine.
template <typename F>
void expect_clean(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

}  // namespace izwi::fuzz
