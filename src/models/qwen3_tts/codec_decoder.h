// Codec decoder of the 12 Hz speech tokenizer: codes [frames, 16] -> 24 kHz audio.
//
//   split RVQ dequantisation (1 semantic + 15 acoustic codebooks)    [codebook_dim, T]
//   pre_conv (causal, k=3)                                           [latent, T]
//   pre_transformer (sliding-window causal, RMSNorm, SwiGLU)         [latent, T]
//   upsample: 2 x (causal transposed conv, ConvNeXt block)           [latent, 4T]
//   decoder: conv k=7 -> 4 x (SnakeBeta, transposed conv, 3 residual
//            units with dilations 1, 3, 9) -> SnakeBeta -> conv to 1  [1, 1920 T]
//   clamp to [-1, 1]
#pragma once

#include <cstdint>
#include <vector>

#include "models/qwen3_tts/codec_config.h"
#include "models/qwen3_tts/codec_layers.h"

namespace izwi::codec {

// decoder.pre_transformer.layers.*
struct DecoderTransformerLayer {
  std::vector<float> input_layernorm;        // [hidden]
  SelfAttention self_attn;                   // .self_attn.{q,k,v,o}_proj, window = sliding_window
  std::vector<float> self_attn_layer_scale;  // .self_attn_layer_scale.scale [hidden]
  std::vector<float> post_attention_layernorm;  // [hidden]
  Linear gate_proj, up_proj,
      down_proj;                       // .mlp.*: [inter, hidden], [inter, hidden], [hidden, inter]
  std::vector<float> mlp_layer_scale;  // .mlp_layer_scale.scale [hidden]
};

// decoder.upsample.*.1: ConvNeXt block
struct ConvNeXtBlock {
  Conv1d dwconv;                      // .dwconv.conv: depthwise [dim, 1, 7]
  std::vector<float> norm_w, norm_b;  // .norm: LayerNorm(dim, eps 1e-6)
  Linear pwconv1, pwconv2;            // [4 dim, dim], [dim, 4 dim]
  std::vector<float> gamma;           // [dim]
};

// decoder.decoder.{1..4}.block.{2,3,4}
struct ResidualUnit {
  SnakeBeta act1, act2;
  Conv1d conv1;  // k=7, dilation 1/3/9
  Conv1d conv2;  // k=1
};

// decoder.decoder.{1..4}
struct DecoderBlock {
  SnakeBeta snake;                  // .block.0
  ConvTranspose1d upsample;         // .block.1.conv: [in, out, 2 rate], stride rate
  std::vector<ResidualUnit> units;  // .block.2 .. .block.4
};

// Per-stream state of the streaming decoder: what a new block of frames needs
// from the frames before it. Plain data, so it can be copied: a cloned voice's
// state after its reference codes is computed once and copied into each request.
struct DecoderStream {
  int64_t frames = 0;                    // frames decoded = transformer position of the next one
  std::vector<float> pre_conv;           // pre_conv input history [codebook_dim, 2]
  std::vector<std::vector<float>> k, v;  // per transformer layer: the last < window keys/values
                                         // [rows, kv_heads * head_dim], RoPE applied
  std::vector<std::vector<float>> upsample_dw;  // per upsample stage: dwconv history [latent, 6]
  std::vector<float> first_conv;                // decoder.decoder.0 history [latent, 6]
  struct Block {
    std::vector<float> upsample_tail;       // transposed-conv overlap [out_dim, rate]
    std::vector<std::vector<float>> conv1;  // per residual unit: history [out_dim, 6 dilation]
  };
  std::vector<Block> blocks;
  std::vector<float> final_conv;  // [out_dim, 6]
};

class CodecDecoder {
 public:
  CodecDecoder(const CodecDecoderConfig& config, WeightSource& weights);

  const CodecDecoderConfig& config() const { return cfg_; }

  // Runs the convolutions and linears on bf16 weights and bf16-rounded inputs
  // (AMX tiles, or AVX512-BF16) from now on, and packs what stays f32 as
  // use_packed does;
  // call once after loading (with the source it loaded from, which gets the
  // f32 weights' pages back), before any decode. About 3 significant digits
  // per product instead of f32's 7 (the golden tests run in f32).
  void use_bf16(WeightSource& from);
  bool bf16() const { return bf16_; }
  // Keeps the convolutions and linears exact (f32) but repacks their weights
  // once for the GEMM kernel (ops::PackedConvWeights; AVX2 or AVX-512 CPUs,
  // else nothing changes).
  // Same contract as use_bf16.
  void use_packed(WeightSource& from);
  // As use_packed, but the stride-1 convolutions (the residual units' kernel-7
  // ones: most of the decoder's work) by Winograd's F(4, K) (ops::
  // conv1d_winograd): f32, 2.8x fewer multiply-adds there, not bit-exact but
  // within the golden tolerance. Same contract as use_bf16.
  void use_winograd(WeightSource& from);
  bool winograd() const { return winograd_; }

  // One decoder call on codes [frames, num_quantizers] (row-major, values already
  // validated): returns frames * total_upsample samples, clamped to [-1, 1].
  std::vector<float> forward(ThreadPool* pool, const int32_t* codes, int64_t frames,
                             const Trace& trace = nullptr) const;

  // Streaming: a fresh stream, then any number of blocks of any size. Each block
  // appends frames * total_upsample samples to `out`; together they equal one
  // forward() over all frames (every layer is causal: convolutions keep their
  // left context, transposed convolutions their overlap, the transformer its
  // sliding-window KV), so each frame is decoded once.
  DecoderStream new_stream() const;
  void decode_stream(ThreadPool* pool, const int32_t* codes, int64_t frames, DecoderStream& stream,
                     std::vector<float>& out, const Trace& trace = nullptr) const;

  // The official chunked decode: chunks of 300 frames, each prefixed with up to
  // 25 earlier frames whose output is dropped (one ChunkedStream over all frames).
  std::vector<float> decode(ThreadPool* pool, const int32_t* codes, int64_t frames) const;

  // Throws kInvalidArgument, naming the part, unless `stream` has the sizes a
  // stream of this decoder has after stream.frames frames and finite values
  // (a state read from a file is checked before it is used).
  void check_stream(const DecoderStream& stream) const;

 private:
  Signal dequantize(const int32_t* codes, int64_t frames) const;
  void transformer(ThreadPool* pool, std::vector<float>& x, int64_t T, DecoderStream& stream) const;
  template <typename Fn>
  void for_each_convolution(Fn&& fn);  // the convolutions use_bf16 / use_packed convert
  template <typename Fn>
  void for_each_linear(Fn&& fn);  // the f32 linears use_bf16 / use_packed convert

  CodecDecoderConfig cfg_;
  // decoder.quantizer.rvq_first / rvq_rest: codebook = embedding_sum / clamp(cluster_usage, 1e-5)
  std::vector<std::vector<float>> codebooks_;  // [num_quantizers][codebook_size * codebook_dim/2]
  Conv1d rvq_first_out, rvq_rest_out;          // .output_proj: [codebook_dim, codebook_dim/2, 1]
  Conv1d pre_conv;                             // decoder.pre_conv.conv [latent, codebook_dim, 3]
  Linear input_proj, output_proj;              // decoder.pre_transformer.{input,output}_proj
  std::vector<DecoderTransformerLayer> layers_;
  std::vector<float> final_norm_;  // decoder.pre_transformer.norm.weight
  std::vector<std::pair<ConvTranspose1d, ConvNeXtBlock>> upsample_;  // decoder.upsample.*
  Conv1d first_conv_;                 // decoder.decoder.0.conv [decoder_dim, latent, 7]
  std::vector<DecoderBlock> blocks_;  // decoder.decoder.1 .. 4
  SnakeBeta final_snake_;             // decoder.decoder.5
  Conv1d final_conv_;                 // decoder.decoder.6.conv [1, out_dim, 7]
  bool bf16_ = false;
  bool winograd_ = false;
};

// The official decode, block by block. The official code decodes a whole
// utterance in chunks of 300 frames, each with up to 25 earlier frames of left
// context whose audio is dropped. Within a chunk this continues one
// DecoderStream (each frame decoded once); at a chunk boundary it starts a fresh
// stream warmed with the 25 context frames, as the official chunk does. So the
// blocks' audio is the official decode of the whole sequence (within float
// rounding), for any block sizes and any length. Copyable: a state after an ICL
// reference is kept and copied into each request.
// A ChunkedStream's state as plain data, to keep in a file
// (pipeline/codec_prefix_cache.h).
struct ChunkedStreamState {
  int64_t total = 0;       // frames pushed
  int64_t started_at = 0;  // the chunk boundary where `stream` started
  std::vector<int32_t>
      recent;  // the last min(total, kLeftContext) frames of codes [frames, groups]
  DecoderStream stream;
};

class ChunkedStream {
 public:
  static constexpr int64_t kChunk = 300, kLeftContext = 25;
  // The most frames one decoder call takes: a longer push is decoded in blocks
  // of this size. One call on a whole 300-frame chunk made signals of 221 MB
  // (96 channels x 576000 samples) that left every cache: 24.7 ms per frame
  // and 707 MB more peak memory, against 12.0 ms and 49 MB in blocks of 12
  // (6 and 16 the same speed, 24 and 48 slower).
  static constexpr int64_t kMaxBlock = 12;

  explicit ChunkedStream(const CodecDecoder& decoder);

  // Decodes `frames` more frames of codes [frames, groups]; appends their
  // samples to `out` (null: for the state only, e.g. a reference prefix). A
  // state-only push does not decode a chunk it completes: the next frame starts
  // a fresh stream from the chunk's last codes, so that decode would be thrown
  // away (a 30 s reference: 375 frames, of which the first 300 are skipped).
  void push(ThreadPool* pool, const int32_t* codes, int64_t frames, std::vector<float>* out);

  int64_t frames() const { return total_; }

  ChunkedStreamState state() const { return {total_, started_at_, recent_, stream_}; }
  // Continues from a state() of a stream on a decoder of the same configuration;
  // throws kInvalidArgument, naming the part, if `state` cannot be one.
  ChunkedStream(const CodecDecoder& decoder, ChunkedStreamState state);

 private:
  void decode(ThreadPool* pool, const int32_t* codes, int64_t frames, std::vector<float>& out);
  const CodecDecoder* decoder_;
  DecoderStream stream_;
  int64_t total_ = 0;            // frames pushed
  int64_t started_at_ = 0;       // the frame where stream_ started (a chunk boundary)
  std::vector<int32_t> recent_;  // the last kLeftContext frames of codes
  std::vector<float> scratch_;   // audio of context frames, dropped
};

}  // namespace izwi::codec
