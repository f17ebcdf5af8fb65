// Writing files so that a crash or a full disk never leaves a half-written one.
#pragma once

#include <string>
#include <string_view>

namespace izwi {

// Writes `bytes` through an OutputFile (izwi/output_file.h): whole or not at
// all, a link's target replaced, a pipe or device written in place. Throws
// izwi::Error naming the file if anything fails.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace izwi
