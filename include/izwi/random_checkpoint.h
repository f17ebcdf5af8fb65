// izwi — random-weight checkpoints for measuring speed where real weights
// cannot be downloaded: the real tensor names, shapes and dtypes of a released
// config, read back by the ordinary loader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace izwi {

struct RandomCheckpointReport {
  size_t tensors = 0;
  size_t bytes = 0;
};

// `from`: a checkpoint directory (config.json with model_type qwen3_tts, and
// optionally speech_tokenizer/config.json) or a speech_tokenizer directory.
// Writes config files and model.safetensors files under `out`; `tokenizer_dir`
// (optional) supplies vocab.json and merges.txt, which released config folders
// do not carry.
RandomCheckpointReport write_random_checkpoint(const std::string& from, const std::string& out,
                                               uint64_t seed,
                                               const std::string& tokenizer_dir = "");

}  // namespace izwi
