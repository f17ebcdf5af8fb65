#include "izwi/output_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace izwi {

namespace fs = std::filesystem;

namespace {

// `path` with its symbolic links followed, one hop at a time (a link to a
// file not yet made resolves too): the file a write should replace.
fs::path follow_links(fs::path path) {
  std::error_code ec;
  for (int hops = 0; fs::is_symlink(path, ec); ++hops) {
    if (hops == 40) fail(ErrorKind::kIo, "cannot write '", path.string(), "': too many links");
    const fs::path to = fs::read_symlink(path, ec);
    if (ec) break;
    path = to.is_absolute() ? to : path.parent_path() / to;
  }
  return path;
}

// stdout or stderr when `path` names the regular file it is open on (as
// /dev/stdout does with `>> log`), else -1. That file is written through the
// descriptor, where the shell left it: replacing the file would drop what
// was in it before `>>`, and reopening it would truncate or overwrite it.
int std_stream_on(const std::string& path) {
  struct stat file {};
  if (::stat(path.c_str(), &file) != 0 || !S_ISREG(file.st_mode)) return -1;
  for (const int fd : {STDOUT_FILENO, STDERR_FILENO}) {
    struct stat open {};
    if (::fstat(fd, &open) == 0 && open.st_dev == file.st_dev && open.st_ino == file.st_ino)
      return fd;
  }
  return -1;
}

}  // namespace

OutputFile::OutputFile(const std::string& path) : path_(path) {
  if (path.empty()) fail(ErrorKind::kInvalidArgument, "no file name to write to");
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);  // through links
  if (fs::is_directory(st))
    fail(ErrorKind::kInvalidArgument, "'", path, "' is a folder; name a file to write");
  in_place_ = fs::exists(st) && !fs::is_regular_file(st);
  if (const int fd = std_stream_on(path); fd >= 0) {
    in_place_ = true;
    const int copy = ::dup(fd);
    file_ = copy < 0 ? nullptr : ::fdopen(copy, "wb");
    if (copy >= 0 && !file_) ::close(copy);
  } else if (in_place_) {
    // A FIFO's open waits for its reader, as a shell's redirection does.
    file_ = std::fopen(path.c_str(), "wb");
  } else {
    target_ = follow_links(path).string();
    tmp_ = target_ + ".partial";
    file_ = std::fopen(tmp_.c_str(), "w+b");  // w+: libsndfile reads its header back
  }
  if (!file_) {
    const int err = errno;
    fail(write_error_kind(err), "cannot create '", path, "': ", std::strerror(err));
  }
}

OutputFile::~OutputFile() {
  if (!file_) return;
  std::fclose(file_);
  if (!tmp_.empty()) std::remove(tmp_.c_str());
}

bool OutputFile::write(std::string_view bytes) {
  if (error_) return false;
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) failed(errno);
  return !error_;
}

void OutputFile::failed(int err) {
  if (!error_) error_ = err ? err : EIO;
}

void OutputFile::give_up(int err) {
  if (file_) std::fclose(file_);
  file_ = nullptr;
  if (!tmp_.empty()) std::remove(tmp_.c_str());
  fail(write_error_kind(err), "writing '", path_, "' failed: ", std::strerror(err));
}

void OutputFile::commit() {
  if (!file_) fail(ErrorKind::kInternal, "'", path_, "' was committed twice");
  // A failed flush is a failed write: glibc drops the buffer, so a later one
  // would succeed and the loss go unreported.
  if (!error_ && std::fflush(file_) != 0) failed(errno);
  // Only a file is synced: a pipe or a terminal has no disk to reach.
  if (!error_ && !in_place_ && ::fsync(fileno(file_)) != 0) failed(errno);
  if (error_) give_up(error_);
  const int closed = std::fclose(file_);
  file_ = nullptr;
  if (closed != 0) give_up(errno);
  if (in_place_) return;
  std::error_code ec;
  fs::rename(tmp_, target_, ec);
  if (ec) {
    std::remove(tmp_.c_str());
    fail(ErrorKind::kIo, "cannot write '", path_, "': ", ec.message());
  }
}

}  // namespace izwi
