// Quantized weights kept beside the model, so only the first load in a format
// pays for quantizing (seconds); later loads map the converted weights.
//
// <model>/.izwi-cache/weights-<format>.safetensors holds the converted tensors
// in izwi's block dtypes (core/quant.h), tagged with the block layout's version
// and each source file's name, size and modification time. A cache that does
// not match is ignored and rewritten; one that cannot be written (a read-only
// model directory) only means the next load quantizes again.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/safetensors.h"
#include "izwi/tts.h"

namespace izwi::pipeline {

// Name, size and modification time of each of the checkpoint's files: a
// re-downloaded or edited checkpoint gets new caches.
std::string checkpoint_identity(const Checkpoint& source);

std::string weight_cache_path(const std::string& model_dir, WeightFormat format);

// The cache for `source`'s weights in `format`, if one is there and matches.
std::optional<Checkpoint> open_weight_cache(const std::string& model_dir, WeightFormat format,
                                            const Checkpoint& source);

// Writes `tensors` as the cache; false (and nothing left behind) if it cannot.
bool write_weight_cache(const std::string& model_dir, WeightFormat format, const Checkpoint& source,
                        const std::vector<std::pair<std::string, Tensor>>& tensors);

}  // namespace izwi::pipeline
