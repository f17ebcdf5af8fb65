// Public SpeechTokenizer: finds the files, builds encoder + decoder, validates
// inputs at the API boundary.
#include "izwi/speech_tokenizer.h"

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/safetensors.h"
#include "core/thread_pool.h"
#include "models/qwen3_tts/codec_config.h"
#include "models/qwen3_tts/codec_decoder.h"
#include "models/qwen3_tts/codec_encoder.h"
#include "models/qwen3_tts/weights.h"

namespace izwi {

const char* version() {
  return "0.1.0";
}

struct SpeechTokenizer::Impl {
  SpeechTokenizerConfig config;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<codec::CodecEncoder> encoder;
  std::unique_ptr<codec::CodecDecoder> decoder;
};

namespace {

std::string find_tokenizer_dir(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(ErrorKind::kNotFound, "model path '", path, "' does not exist");
  if (!fs::is_directory(path, ec))
    fail(ErrorKind::kInvalidArgument, "model path '", path,
         "' is not a directory; pass a checkpoint directory");
  const fs::path sub = fs::path(path) / "speech_tokenizer";
  if (fs::is_directory(sub / "", ec) && fs::exists(sub / "config.json")) return sub.string();
  if (fs::exists(fs::path(path) / "config.json")) {
    // Either the speech tokenizer directory itself, or a checkpoint without one.
    return path;
  }
  fail(ErrorKind::kNotFound, "'", path,
       "' has neither speech_tokenizer/config.json nor config.json: ",
       "is it a Qwen3-TTS checkpoint directory?");
}

}  // namespace

SpeechTokenizer::SpeechTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SpeechTokenizer::~SpeechTokenizer() = default;

std::unique_ptr<SpeechTokenizer> SpeechTokenizer::load(const std::string& path,
                                                       const CodecOptions& options) {
  const std::string dir = find_tokenizer_dir(path);
  auto impl = std::make_unique<Impl>();
  impl->config = SpeechTokenizerConfig::load((std::filesystem::path(dir) / "config.json").string());
  CheckpointWeights weights(Checkpoint::open(dir, "model"));
  impl->pool = std::make_unique<ThreadPool>(options.n_threads);
  const auto& c = impl->config;
  impl->encoder = std::make_unique<codec::CodecEncoder>(c.encoder, c.encode_downsample_rate,
                                                        c.encoder_valid_num_quantizers, weights);
  impl->decoder = std::make_unique<codec::CodecDecoder>(c.decoder, weights);
  return std::unique_ptr<SpeechTokenizer>(new SpeechTokenizer(std::move(impl)));
}

int SpeechTokenizer::sample_rate() const {
  return impl_->config.input_sample_rate;
}
int SpeechTokenizer::samples_per_frame() const {
  return impl_->config.decode_upsample_rate;
}
int SpeechTokenizer::num_codebooks() const {
  return impl_->config.decoder.num_quantizers;
}
int SpeechTokenizer::codebook_size() const {
  return impl_->config.decoder.codebook_size;
}

AudioCodes SpeechTokenizer::encode(const float* samples, size_t n, int sr) const {
  if (sr != sample_rate())
    fail(ErrorKind::kInvalidArgument, "the speech tokenizer expects ", sample_rate(),
         " Hz audio, got ", sr, " Hz; resample it first");
  if (n == 0 || samples == nullptr)
    fail(ErrorKind::kInvalidArgument, "cannot encode empty audio (0 samples)");
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(samples[i]))
      fail(ErrorKind::kInvalidArgument, "audio sample ", i, " is not a finite number");
  AudioCodes out;
  out.num_codebooks = impl_->encoder->num_quantizers();
  out.values = impl_->encoder->encode(impl_->pool.get(), samples, static_cast<int64_t>(n));
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
  return impl_->decoder->decode(impl_->pool.get(), codes.values.data(), codes.frames);
}

}  // namespace izwi
