// Speaker encoder (ECAPA-TDNN): log-mel [frames, 128] -> x-vector [enc_dim].
//
//   blocks.0: TDNN (conv k=5 + ReLU)                                   [C, T]
//   blocks.1..3: SE-Res2Net (TDNN k=1, Res2Net k=3 dilated, TDNN k=1,
//                squeeze-excitation, residual)                         [C, T]
//   mfa: TDNN k=1 on the concatenated block 1..3 outputs               [3C, T]
//   asp: attentive statistics pooling -> (mean || std)                 [6C]
//   fc: 1x1 conv to enc_dim (the talker hidden size)                   [enc_dim]
// Every convolution is "same"-padded by reflection.
#pragma once

#include <vector>

#include "models/qwen3_tts/codec_layers.h"
#include "models/qwen3_tts/model_config.h"

namespace izwi::speaker {

// A conv followed by ReLU: `<prefix>.conv`.
struct Tdnn {
  codec::Conv1d conv;
  void load(WeightSource& w, const std::string& prefix, int in, int out, int k, int dilation);
  codec::Signal apply(ThreadPool* pool, const codec::Signal& x) const;
};

// speaker_encoder.blocks.{1..}
struct SeRes2NetBlock {
  Tdnn tdnn1, tdnn2;                 // k=1
  std::vector<Tdnn> res2net;         // .res2net_block.blocks.{0..scale-2}: [C/scale, C/scale, k]
  codec::Conv1d se_conv1, se_conv2;  // .se_block.conv1 [se, C, 1], .conv2 [C, se, 1]
};

class SpeakerEncoder {
 public:
  SpeakerEncoder(const SpeakerEncoderConfig& config, WeightSource& weights);
  const SpeakerEncoderConfig& config() const { return cfg_; }

  // mel: [frames, mel_dim] time-major; returns the x-vector [enc_dim].
  std::vector<float> forward(ThreadPool* pool, const float* mel, int64_t frames,
                             const codec::Trace& trace = nullptr) const;

 private:
  codec::Signal se_res2net(ThreadPool* pool, const SeRes2NetBlock& b, const codec::Signal& x) const;

  SpeakerEncoderConfig cfg_;
  Tdnn block0_;                         // speaker_encoder.blocks.0
  std::vector<SeRes2NetBlock> blocks_;  // speaker_encoder.blocks.1..
  Tdnn mfa_;                            // speaker_encoder.mfa
  Tdnn asp_tdnn_;                       // speaker_encoder.asp.tdnn [att, 3C, 1]
  codec::Conv1d asp_conv_;              // speaker_encoder.asp.conv [C, att, 1]
  codec::Conv1d fc_;                    // speaker_encoder.fc [enc_dim, 2C, 1]
};

}  // namespace izwi::speaker
