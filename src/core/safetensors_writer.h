// Writes safetensors files (tools and tests: random-weight checkpoints).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace izwi {

// Writes `tensors` (name, tensor) to `path`, in name order, through a
// temporary file renamed into place, so a crash never leaves a partial file.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors);

}  // namespace izwi
