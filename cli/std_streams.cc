// stdin and stdout as a command's input and output ("-").
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <iterator>

#include "commands.h"

namespace izwi::cli {

bool is_stdout(const std::string& path) {
  if (path == "-") return true;
  struct stat out = {};
  struct stat named = {};
  return ::fstat(STDOUT_FILENO, &out) == 0 && ::stat(path.c_str(), &named) == 0 &&
         out.st_dev == named.st_dev && out.st_ino == named.st_ino;
}

std::string read_stdin() {
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

}  // namespace izwi::cli
