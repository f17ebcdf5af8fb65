#include "models/qwen3_tts/weights.h"

#include <cmath>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/quant.h"

namespace izwi {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Tensor RandomWeights::get(const std::string& name, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  // Values chosen so activations stay O(1): norms at 1, biases at 0, codebook
  // usage counts positive, SnakeBeta log-parameters near 0, layer scales small,
  // matrices uniform with a 1/sqrt(fan_in) bound.
  const bool is_norm = name.find("norm") != std::string::npos && ends_with(name, ".weight");
  if (is_norm || ends_with(name, "cluster_usage") || ends_with(name, "initialized")) {
    std::fill(v.begin(), v.end(), 1.0f);
  } else if (ends_with(name, ".bias") || ends_with(name, ".alpha") || ends_with(name, ".beta")) {
    std::fill(v.begin(), v.end(), 0.0f);
  } else if (ends_with(name, ".scale") || ends_with(name, ".gamma")) {
    std::fill(v.begin(), v.end(), 0.01f);
  } else {
    const int64_t fan_in = shape.empty() || shape[0] == 0 ? 1 : std::max<int64_t>(1, n / shape[0]);
    const float bound = ends_with(name, "embedding_sum") || ends_with(name, "embed_sum") ||
                                name.find("embedding") != std::string::npos
                            ? 1.0f
                            : 1.0f / std::sqrt(static_cast<float>(fan_in));
    std::uniform_real_distribution<float> dist(-bound, bound);
    for (auto& x : v) x = dist(rng_);
  }
  Tensor t = Tensor::owned_f32(shape, std::move(v));
  if (dtype_ == DType::kBF16 || dtype_ == DType::kF16) {
    auto half = std::make_shared<std::vector<uint16_t>>(static_cast<size_t>(n));
    const float* src = t.f32();
    for (int64_t i = 0; i < n; ++i)
      (*half)[i] = dtype_ == DType::kBF16 ? f32_to_bf16(src[i]) : f32_to_f16(src[i]);
    t.dtype = dtype_;
    t.data = half->data();
    t.owner = std::shared_ptr<const void>(half, half->data());
  }
  made_.emplace_back(name, t);
  return t;
}

Tensor QuantizingWeights::get(const std::string& name, const std::vector<int64_t>& shape) {
  if (cache_ && cache_->contains(name)) {
    Tensor c = cache_->get(name, shape);
    if (c.dtype == format_) {
      // Copied out of the mapping into huge-page memory: read every frame, it
      // should not cost a page fault on first use or a TLB miss per 4 KB.
      std::shared_ptr<uint8_t> buf = weight_buffer(c.nbytes());
      std::memcpy(buf.get(), c.data, c.nbytes());
      cache_->release(c);
      c.data = buf.get();
      c.owner = std::move(buf);
      served_.emplace_back(name, c.nbytes());
      return c;
    }
  }
  Tensor t = inner_.get(name, shape);
  const bool convert = format_ != t.dtype && is_block_format(format_) && t.shape.size() == 2 &&
                       dtype_traits(t.dtype).to_f32 && quantizable(format_, t.shape[1]) &&
                       select_(name);
  if (convert) {
    Tensor q = quantize(t, format_, pool_);
    inner_.release(t);
    t = std::move(q);
    converted_.emplace_back(name, t);
  }
  served_.emplace_back(name, t.nbytes());
  return t;
}

bool is_talker_linear(const std::string& name) {
  return name.rfind("talker.", 0) == 0 && name.find("embedding") == std::string::npos;
}

std::vector<float> to_vector_f32(const Tensor& t) {
  const Tensor f = t.dtype == DType::kF32 ? t : t.to_f32();
  const float* p = f.f32();
  return std::vector<float>(p, p + f.numel());
}

}  // namespace izwi
