#include "core/file_util.h"

#include "izwi/output_file.h"

namespace izwi {

void write_file_atomic(const std::string& path, std::string_view bytes) {
  OutputFile out(path);
  out.write(bytes);
  out.commit();
}

}  // namespace izwi
