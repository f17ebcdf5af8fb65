#include "core/error.h"

#include <cerrno>

namespace izwi {

ErrorKind write_error_kind(int err) {
  return err == ENOSPC || err == EDQUOT || err == EFBIG ? ErrorKind::kNoSpace : ErrorKind::kIo;
}

}  // namespace izwi
