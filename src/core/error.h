// Internal helpers for raising izwi::Error with formatted messages.
#pragma once

#include <sstream>
#include <string>
#include <utility>

#include "izwi/error.h"

namespace izwi {

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, Args&&... args) {
  throw Error(kind, detail::concat(std::forward<Args>(args)...));
}

// kNoSpace for a write that failed for want of room (`err` = ENOSPC: disk
// full, EDQUOT: quota, EFBIG: file-size limit), else kIo.
ErrorKind write_error_kind(int err);

// Formats a shape as "[a, b, c]" for error messages.
template <typename Container>
std::string shape_str(const Container& shape) {
  std::string s = "[";
  bool first = true;
  for (auto d : shape) {
    if (!first) s += ", ";
    s += std::to_string(d);
    first = false;
  }
  return s + "]";
}

}  // namespace izwi

// Internal invariant: a failure here is a bug in izwi, not bad input.
#define IZWI_ASSERT(cond)                                                                  \
  do {                                                                                     \
    if (!(cond))                                                                           \
      ::izwi::fail(::izwi::ErrorKind::kInternal, "internal error: ", #cond, " failed at ", \
                   __FILE__, ":", __LINE__);                                               \
  } while (0)
