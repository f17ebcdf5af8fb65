#include "pipeline/weight_cache.h"

#include <chrono>
#include <filesystem>
#include <map>

#include "core/safetensors_writer.h"
#include "izwi/error.h"

namespace izwi::pipeline {

namespace fs = std::filesystem;

namespace {

// Bump when the block layout in core/quant.h changes.
constexpr const char* kLayoutVersion = "2";

}  // namespace

std::string checkpoint_identity(const Checkpoint& source) {
  std::string id;
  for (const std::string& p : source.paths()) {
    std::error_code ec;
    const auto size = fs::file_size(p, ec);
    const auto mtime = fs::last_write_time(p, ec).time_since_epoch();
    id += fs::path(p).filename().string() + ":" + std::to_string(size) + ":" +
          std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(mtime).count()) + ";";
  }
  return id;
}

std::string weight_cache_path(const std::string& model_dir, WeightFormat format) {
  return (fs::path(model_dir) / ".izwi-cache" /
          (std::string("weights-") + weight_format_name(format) + ".safetensors"))
      .string();
}

std::optional<Checkpoint> open_weight_cache(const std::string& model_dir, WeightFormat format,
                                            const Checkpoint& source) {
  const std::string path = weight_cache_path(model_dir, format);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  try {
    SafetensorsFile file(path);
    const auto& meta = file.metadata();
    const auto get = [&](const char* k) {
      auto it = meta.find(k);
      return it == meta.end() ? std::string() : it->second;
    };
    if (get("izwi_layout") != kLayoutVersion || get("izwi_weights") != weight_format_name(format) ||
        get("izwi_source") != checkpoint_identity(source))
      return std::nullopt;
    return Checkpoint::open(path);
  } catch (const Error&) {
    return std::nullopt;  // unreadable: quantize again and replace it
  }
}

bool write_weight_cache(const std::string& model_dir, WeightFormat format, const Checkpoint& source,
                        const std::vector<std::pair<std::string, Tensor>>& tensors) {
  const std::string path = weight_cache_path(model_dir, format);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return false;
  try {
    write_safetensors(path, tensors,
                      {{"izwi_layout", kLayoutVersion},
                       {"izwi_weights", weight_format_name(format)},
                       {"izwi_source", checkpoint_identity(source)}});
    return true;
  } catch (const Error&) {
    return false;  // write_safetensors removes its partial file
  }
}

}  // namespace izwi::pipeline
