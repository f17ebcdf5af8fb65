// Public SpeechTokenizer: the codec on its own.
#include "izwi/speech_tokenizer.h"

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/vec.h"
#include "kernels/ops.h"
#include "pipeline/loading.h"

namespace izwi {

const char* version() {
  return "0.1.0";
}

std::string cpu_kernels() {
  std::string s = cpu::isa_name(cpu::vec_kernels().isa);
  const char* bf16 = ops::bf16_convolution_kernel();
  if (*bf16) return s + ", bf16 by " + bf16;
  return s + (ops::packed_convolutions_available() ? ", winograd codec" : ", f32 codec");
}

const char* codec_precision_name(CodecPrecision precision) {
  switch (precision) {
    case CodecPrecision::kBf16:
      return "bf16";
    case CodecPrecision::kWinograd:
      return "winograd";
    default:
      return "f32";
  }
}

CodecPrecision parse_codec_precision(const std::string& name) {
  for (CodecPrecision p : {CodecPrecision::kF32, CodecPrecision::kBf16, CodecPrecision::kWinograd})
    if (name == codec_precision_name(p)) return p;
  fail(ErrorKind::kInvalidArgument, "unknown codec precision '", name,
       "': expected f32 (exact), bf16 (fastest, on CPUs with AMX-BF16 or AVX512-BF16; Winograd ",
       "elsewhere) or winograd (f32, faster convolutions, on CPUs with AVX2 or AVX-512)");
}

struct SpeechTokenizer::Impl {
  pipeline::Codec codec;
  std::unique_ptr<ThreadPool> pool;
};

SpeechTokenizer::SpeechTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SpeechTokenizer::~SpeechTokenizer() = default;

std::unique_ptr<SpeechTokenizer> SpeechTokenizer::load(const std::string& path,
                                                       const CodecOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->codec = pipeline::load_codec(path, options.precision);
  impl->pool = std::make_unique<ThreadPool>(options.n_threads);
  return std::unique_ptr<SpeechTokenizer>(new SpeechTokenizer(std::move(impl)));
}

int SpeechTokenizer::sample_rate() const {
  return impl_->codec.config.input_sample_rate;
}
int SpeechTokenizer::samples_per_frame() const {
  return impl_->codec.config.decode_upsample_rate;
}
int SpeechTokenizer::num_codebooks() const {
  return impl_->codec.config.decoder.num_quantizers;
}
CodecPrecision SpeechTokenizer::decode_precision() const {
  return pipeline::decode_precision(impl_->codec);
}
int SpeechTokenizer::codebook_size() const {
  return impl_->codec.config.decoder.codebook_size;
}

AudioCodes SpeechTokenizer::encode(const float* samples, size_t n, int sr) const {
  AudioCodes out;
  out.num_codebooks = impl_->codec.encoder->num_quantizers();
  out.values = pipeline::encode_audio(impl_->pool.get(), impl_->codec, samples, n, sr);
  out.frames = static_cast<int64_t>(out.values.size()) / out.num_codebooks;
  return out;
}

std::vector<float> SpeechTokenizer::decode(const AudioCodes& codes) const {
  const int nq = num_codebooks(), size = codebook_size();
  if (codes.num_codebooks != nq)
    fail(ErrorKind::kInvalidArgument, "expected codes with ", nq, " codebooks per frame, got ",
         codes.num_codebooks);
  if (codes.frames <= 0) fail(ErrorKind::kInvalidArgument, "cannot decode 0 frames of codes");
  if (static_cast<int64_t>(codes.values.size()) != codes.frames * nq)
    fail(ErrorKind::kInvalidArgument, "codes hold ", codes.values.size(), " values, expected ",
         codes.frames, " frames x ", nq);
  for (int64_t f = 0; f < codes.frames; ++f)
    for (int q = 0; q < nq; ++q) {
      const int32_t v = codes.at(f, q);
      if (v < 0 || v >= size)
        fail(ErrorKind::kInvalidArgument, "code ", v, " at frame ", f, ", codebook ", q,
             " is out of range [0, ", size, ")");
    }
  return impl_->codec.decoder->decode(impl_->pool.get(), codes.values.data(), codes.frames);
}

}  // namespace izwi
