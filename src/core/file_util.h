// Writing files so that a crash or a full disk never leaves a half-written one.
#pragma once

#include <string>
#include <string_view>

namespace izwi {

// Writes `bytes` to `path + ".partial"`, flushes it to disk, then renames it
// over `path`. Throws izwi::Error (kIo) naming the file, and removes the
// temporary file, if anything fails.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace izwi
