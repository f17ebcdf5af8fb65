// Where model components get their weights from.
//
// Components ask for each tensor by its checkpoint name and expected shape.
// CheckpointWeights reads a real (memory-mapped) checkpoint; RandomWeights
// invents plausible values for the same names and shapes and remembers them, so
// a tool can write a real-size random checkpoint from any config.json and the
// real loader can read it back. There is one loading path for both.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/safetensors.h"
#include "core/tensor.h"

namespace izwi {

class ThreadPool;

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual Tensor get(const std::string& name, const std::vector<int64_t>& shape) = 0;
  virtual bool contains(const std::string& name) const = 0;
  // `t`, which this source returned, will not be read again (see Checkpoint::release).
  virtual void release(const Tensor& t) { (void)t; }
};

class CheckpointWeights : public WeightSource {
 public:
  explicit CheckpointWeights(Checkpoint ck) : ck_(std::move(ck)) {}
  Tensor get(const std::string& name, const std::vector<int64_t>& shape) override {
    return ck_.get(name, shape);
  }
  bool contains(const std::string& name) const override { return ck_.contains(name); }
  void release(const Tensor& t) override { ck_.release(t); }
  const Checkpoint& checkpoint() const { return ck_; }

 private:
  Checkpoint ck_;
};

class RandomWeights : public WeightSource {
 public:
  // `dtype`: the dtype of the weights written (F32 for the codec, BF16 for the talker).
  RandomWeights(uint64_t seed, DType dtype) : rng_(seed), dtype_(dtype) {}
  Tensor get(const std::string& name, const std::vector<int64_t>& shape) override;
  bool contains(const std::string&) const override { return true; }
  const std::vector<std::pair<std::string, Tensor>>& tensors() const { return made_; }

 private:
  std::mt19937_64 rng_;
  DType dtype_;
  std::vector<std::pair<std::string, Tensor>> made_;
};

// Serves another source's tensors, with the 2-D weights that `select` picks by
// name stored in a block format (core/quant.h) if their rows divide into blocks;
// the original's pages are released as each one is converted, so peak memory
// stays near the converted size. Records the bytes of every tensor it served.
class QuantizingWeights : public WeightSource {
 public:
  using Select = bool (*)(const std::string& name);
  // `cache` (may be null): tensors already converted, served as they are.
  QuantizingWeights(WeightSource& inner, DType format, Select select, ThreadPool* pool,
                    const Checkpoint* cache = nullptr)
      : inner_(inner), format_(format), select_(select), pool_(pool), cache_(cache) {}
  Tensor get(const std::string& name, const std::vector<int64_t>& shape) override;
  bool contains(const std::string& name) const override { return inner_.contains(name); }
  void release(const Tensor& t) override { inner_.release(t); }
  // Name -> bytes of each tensor served, as served (quantized or not).
  const std::vector<std::pair<std::string, size_t>>& served() const { return served_; }
  // The tensors this source converted (not those taken from the cache).
  const std::vector<std::pair<std::string, Tensor>>& converted() const { return converted_; }

 private:
  WeightSource& inner_;
  DType format_;
  Select select_;
  ThreadPool* pool_;
  const Checkpoint* cache_;
  std::vector<std::pair<std::string, size_t>> served_;
  std::vector<std::pair<std::string, Tensor>> converted_;
};

// The matrices every frame multiplies with, the ones worth a smaller format:
// talker.* (its code predictor included), 2-D, but not the embedding tables
// (read a row at a time).
bool is_talker_linear(const std::string& name);

// Helpers for components: small parameter vectors copied out as f32.
std::vector<float> to_vector_f32(const Tensor& t);

}  // namespace izwi
