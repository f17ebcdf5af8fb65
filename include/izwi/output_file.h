// izwi — writing an output file so that it appears whole or not at all.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace izwi {

// The bytes go to a temporary file beside the destination ("NAME.partial"),
// which commit() flushes to disk and renames over it; destroyed uncommitted
// (an error, an interrupt), the temporary file is removed and the destination
// is as it was. A symbolic link is followed: its target is replaced and the
// link stays. A destination that exists and is not a regular file (a pipe,
// a terminal, /dev/null, /dev/stdout) is written in place, as there is
// nothing to replace there: replacing it would turn a device into a file.
// So is the file that stdout or stderr is open on (`-o /dev/stdout >> log`):
// through that descriptor, after what the file held.
// Throws izwi::Error naming the file: kNoSpace for a full disk, else kIo.
class OutputFile {
 public:
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Where the bytes go; writes through it must report failures with failed().
  FILE* stream() const { return file_; }
  // True for a pipe, a device or stdout's file: written as it goes, so no
  // seeking back.
  bool in_place() const { return in_place_; }
  const std::string& path() const { return path_; }

  // Writes `bytes`; a failure is remembered and thrown by commit().
  bool write(std::string_view bytes);
  // Records that a write through stream() failed (errno, or EIO without one).
  void failed(int err);
  // Flushes and syncs the bytes, then renames the file into place. Throws if
  // that or any earlier write failed, after removing the temporary file.
  void commit();

 private:
  [[noreturn]] void give_up(int err);

  std::string path_;    // as the caller named it, for messages
  std::string target_;  // the file replaced: `path_` with symbolic links followed
  std::string tmp_;     // empty when written in place
  FILE* file_ = nullptr;
  bool in_place_ = false;
  int error_ = 0;  // errno of the first failure
};

}  // namespace izwi
