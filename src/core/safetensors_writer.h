// Writes safetensors files (random-weight checkpoints, the quantized-weight cache).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace izwi {

// Writes `tensors` (name, tensor) to `path`, in name order, through a
// temporary file renamed into place, so a crash never leaves a partial file.
// `metadata` goes into the header's __metadata__ (with "format": "pt").
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace izwi
