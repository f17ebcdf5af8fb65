// izwi — text-to-speech with cloned or preset voices.
//
//   auto model = izwi::TtsModel::load("Qwen3-TTS-12Hz-0.6B-Base");
//   izwi::Voice voice = model->clone_voice(izwi::read_audio("ref.wav"), "transcript of ref.wav");
//   izwi::SynthesisResult out = model->synthesize("Hello there.", voice);
//   izwi::write_audio("hello.wav", {out.samples, out.sample_rate});
//
// Streaming: start() returns a session that runs one step at a time (the
// prompt, then one 80 ms frame per step) and hands out audio while it runs:
//
//   izwi::SynthesisOptions o;
//   o.on_audio = [&](const float* s, int64_t n) { play(s, n); return true; };
//   auto session = model->start("Hello there.", voice, o);
//   while (session->step()) {}      // or session->finish(); cancel() from any thread
//
// A loaded model is immutable and thread-safe: build a Voice once, reuse it for
// many texts, from several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "izwi/audio.h"
#include "izwi/reference.h"
#include "izwi/speech_tokenizer.h"
#include "izwi/text_chunks.h"
#include "izwi/tokenizer.h"

namespace izwi {

struct VoiceCache;  // derived per-voice state (see Voice::cache)

// How the talker's and code predictor's linear weights are held in memory.
// Each frame reads all of them (the code predictor's 15 times), so their bytes
// set the speed. docs/ARCHITECTURE.md gives the layouts and the measured quality.
enum class WeightFormat {
  kBf16,  // as the checkpoint stores them (bf16): exact, 2 bytes per weight
  kQ8,    // 8-bit blocks of 32 with a scale: 1.06 bytes per weight
  kQ4,    // 4-bit blocks of 32 with a scale: 0.56 bytes per weight
};
const char* weight_format_name(WeightFormat format);  // "bf16", "q8", "q4"
// Parses a name as above; throws kInvalidArgument naming the choices.
WeightFormat parse_weight_format(const std::string& name);

// Whether concurrent streams' later audio blocks are decoded on a thread of
// their own while the frames run on one thread (docs/ARCHITECTURE.md,
// "Batching"). It pays where the frames are cheap next to the audio, and costs
// where one core reads the weights slower than two.
enum class CodecThreadUse {
  kAuto,  // with 8/4-bit weights and two or more threads (measured: bf16 4 streams 3-5 % slower)
  kOn,    // with two or more threads, whatever the weights
  kOff,   // never: every block is decoded on the stepping thread's pool
};
const char* codec_thread_use_name(CodecThreadUse use);  // "auto", "on", "off"
// Parses a name as above; throws kInvalidArgument naming the choices.
CodecThreadUse parse_codec_thread_use(const std::string& name);

struct ModelOptions {
  int n_threads = 0;  // 0 = one per hardware thread
  // The library's default is the exact format; the CLI and server choose their own.
  WeightFormat weights = WeightFormat::kBf16;
  // q8 / q4: keep the converted weights in <model>/.izwi-cache/ so the next
  // load maps them instead of quantizing again (pipeline/weight_cache.h).
  bool weight_cache = true;
  // The codec decoder's convolutions (izwi/speech_tokenizer.h); the CLI and server choose bf16.
  CodecPrecision codec = CodecPrecision::kF32;
  CodecThreadUse codec_thread = CodecThreadUse::kAuto;
};

// What the talker is conditioned on. Plain data, so it can be stored and reused.
struct Voice {
  std::string speaker;         // a preset speaker (CustomVoice); empty for a cloned voice
  std::vector<float> xvector;  // cloned voice: speaker embedding [talker hidden]
  AudioCodes reference_codes;  // cloned voice in ICL mode: codes of the reference audio
  std::string reference_text;  // ... and its transcript
  std::vector<int32_t> reference_text_ids;  // ... tokenized in the reference template
  Audio reference_audio;             // cloned voice: the prepared clip (24 kHz mono) it came from
  ReferenceReport report;            // measurements of the reference clip
  std::vector<std::string> changes;  // what preprocessing did to the clip
  // State derived from the voice once and reused by every request that speaks
  // with it (the codec decoder's state after the reference codes, for streaming
  // ICL voices). Shared by copies; filled on first use; may be null.
  std::shared_ptr<VoiceCache> cache;

  bool is_preset() const { return !speaker.empty(); }
  bool icl() const { return reference_codes.frames > 0; }  // else x-vector-only cloning
};

struct FrameProgress {
  int64_t frame = 0;     // index of the frame just generated (counted over all chunks)
  const int32_t* codes;  // its codes [num_codebooks]
  int num_codebooks = 16;
  double audio_seconds;  // audio generated so far (all chunks)
  // Long texts: the chunk being spoken, of how many, and the share of the
  // text's length (text_length) in the chunks before it.
  int chunk = 0, chunks = 1;
  double text_done = 0;
};

// How the chunks of a long text are joined (pipeline/chunk_joiner.h gives the
// exact formula): the end of a chunk fades out, a pause follows that fits the
// break, and the next chunk fades in; after a cut between words the two
// overlap by the crossfade instead.
struct JoinOptions {
  double crossfade_seconds = 0.01;
  double clause_pause = 0.15;     // after a comma, semicolon, ...
  double sentence_pause = 0.3;    // after a sentence
  double paragraph_pause = 0.65;  // at a blank line
  double pause(TextBreak b) const {
    return b == TextBreak::kParagraph  ? paragraph_pause
           : b == TextBreak::kSentence ? sentence_pause
           : b == TextBreak::kClause   ? clause_pause
                                       : 0.0;
  }
};

// The seed chunk `index` of a long text is spoken with (chunk 0: `seed` itself).
uint64_t chunk_seed(uint64_t seed, size_t index);

struct SynthesisOptions {
  std::string language = "auto";  // "auto", or one of TtsModel::languages()
  std::string instruct;           // style instruction (CustomVoice 1.7B, VoiceDesign)
  // Text in the prompt at once (true) or fed along with the audio (false).
  // Default as the official code: false for cloned voices, true for presets.
  std::optional<bool> non_streaming;
  // Sampling; unset values come from generation_config.json.
  bool greedy = false;  // argmax for both the talker and the code predictor
  std::optional<float> temperature, top_p, repetition_penalty;
  std::optional<int> top_k;
  std::optional<float> subtalker_temperature, subtalker_top_p;
  std::optional<int> subtalker_top_k;
  std::optional<uint64_t> seed;  // same seed, same options -> same output; unset: random
  int max_new_tokens =
      0;  // talker steps (the official meaning; the last yields no frame); 0: model default
  double max_seconds = 0;  // stop after this much audio; 0: no limit
  // End of speech is not allowed before this much audio (Hugging Face's
  // min_new_tokens; the official default of 2 tokens when 0).
  double min_seconds = 0;
  // Called for every generated frame; return false to stop early.
  std::function<bool(const FrameProgress&)> on_frame;

  // Streaming audio. With `on_audio` set (or `stream_audio`), audio is decoded
  // while frames are generated: a first block after `first_block_frames` frames,
  // then one every `block_frames`, and the rest at the end. Blocks are 24 kHz
  // mono samples; together they are the whole clip. Return false to stop.
  // Without streaming the clip is decoded once at the end (the official decode).
  std::function<bool(const float* samples, int64_t count)> on_audio;
  bool stream_audio = false;   // stream without a callback: take blocks with take_audio()
  int first_block_frames = 1;  // 80 ms of audio: first sound as early as possible
  int block_frames = 12;       // 960 ms
  // Decode blocks after the first on a thread of their own while the next
  // frames are generated (the frame loop is bound by memory bandwidth, the
  // codec by arithmetic). A block is then handed out when decoded, at the
  // latest when the next is due; the audio is the same either way. Off by
  // default: on 2 cores the codec thread slows the frame loop's pool as much
  // as it saves (measured RTF 3.66-3.99 with, 3.70-3.75 without).
  bool overlap_codec = false;

  // Long texts. A text longer than `chunking.max_chars` is cut into chunks
  // (chunk_text, izwi/text_chunks.h) that are spoken one after another with the
  // same voice -- chunk i with chunk_seed(seed, i) -- and joined as `joins` says;
  // streamed, they follow each other without a gap. `max_seconds` counts the
  // whole text; other options apply to each chunk, and each chunk also stops
  // after 5 s + 0.2 s per unit of its length (a model that never ends a chunk
  // does not run on). max_chars = 0: one request whatever its length (at most
  // 4096 text tokens).
  ChunkOptions chunking;
  JoinOptions joins;
  // false: with on_audio, the result's samples stay empty, so a long stream
  // holds only the chunk being spoken.
  bool keep_audio = true;
};

// Where a request's time went (wall clock, seconds).
struct SynthesisTimings {
  double prefill = 0;         // the talker over the prompt
  double talker = 0;          // talker steps (one per frame) and sampling code 0
  double code_predictor = 0;  // the 15 residual codes per frame
  double codec = 0;           // decoding codes to audio (incl. an ICL reference's state)
  double codec_beside = 0;    // of `codec`, what another thread decoded while frames were
                              // made (overlap_codec; batched streams' codec thread)
  double first_audio = 0;     // from the first step to the first audio block (streaming)
  double total = 0;           // from the first step to the end
};

// One chunk of a request (a short text is one chunk).
struct ChunkReport {
  std::string text;
  TextBreak end = TextBreak::kParagraph;  // the break after it
  uint64_t seed = 0;
  int64_t frames = 0;
  int64_t start_sample = 0;  // where its audio starts in the output
  bool stopped_on_eos = false;
};

struct SynthesisResult {
  std::vector<float> samples;  // 24 kHz mono in [-1, 1]
  int sample_rate = 24000;
  AudioCodes codes;               // generated codes [frames, 16]
  std::vector<int32_t> text_ids;  // the templated text token ids fed to the talker
  int64_t talker_steps = 0;
  bool stopped_on_eos = false;  // false: a length limit ended it
  uint64_t seed = 0;            // the seed used
  bool cancelled = false;       // cancel() or a callback stopped it early
  SynthesisTimings timings;
  std::vector<ChunkReport> chunks;  // the chunks spoken, in order
  double seconds() const {
    return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0.0;
  }
};

// One synthesis request, run step by step. Owns all its state (KV caches,
// sampler, codec decoder state); the model is shared. step() and finish() are
// for one thread at a time; cancel() may come from any thread.
class SynthesisSession {
 public:
  ~SynthesisSession();
  // Runs the next step: the prompt (prefill) first, then one frame per call,
  // decoding and handing out an audio block when one is due. Returns false once
  // the session is over (end of speech, a limit, cancel, or a callback's stop).
  bool step();
  // One step of each session (all of the same model), the frames of those past
  // their prompt made together: the talker and code predictor read each weight
  // once for all of them, so N sessions cost little more memory traffic than
  // one. Sessions may join (their first step is their prompt) and leave (done)
  // between calls. Gives the same codes as step() on each with q8/q4 weights;
  // with bf16 the multi-row kernels round the last bits differently (logits
  // within 1e-5 relative), so a sampled run can part ways.
  static void step_all(const std::vector<SynthesisSession*>& sessions);
  // step() for a session driven by a thread of its own (one per request, as a
  // server has): steps taken at the same time by sessions of the same model, on
  // any threads, are made together by one of those threads (step_all), while
  // the others wait for theirs. Callbacks may run on another request's thread.
  bool step_batched();
  // Stops at the next step boundary; audio already decoded is kept.
  void cancel();
  bool done() const;
  int64_t frames() const;        // frames generated so far
  double audio_seconds() const;  // their duration
  // Streamed audio not taken yet (pull style; with `stream_audio`).
  std::vector<float> take_audio();
  // Runs to the end and returns the result (samples: the whole clip).
  SynthesisResult finish();

  struct Impl;
  struct Chain;
  explicit SynthesisSession(std::unique_ptr<Impl> impl);

 private:
  friend class TtsModel;
  // Steps the sessions' frames together (step_all without moving on to a long
  // text's next chunk: each session's own thread does that).
  static void step_frames(const std::vector<SynthesisSession*>& sessions);
  // A long text: when the current chunk is over, starts the next (or ends).
  void advance();
  std::unique_ptr<Impl> impl_;    // the chunk being spoken
  std::unique_ptr<Chain> chain_;  // long texts only
};

// What a checkpoint directory holds, read from its config.json only (cheap:
// no weights are loaded). The same answers as the loaded model's accessors.
struct CheckpointInfo {
  std::string model_type;  // "base", "custom_voice" or "voice_design"
  std::string model_size;  // "0b6", "1b7"
  bool can_clone = false;  // has a speaker encoder
  std::vector<std::string> speakers;
  std::vector<std::string> languages;
};
CheckpointInfo inspect_checkpoint(const std::string& dir);

class TtsModel {
 public:
  // `dir`: a Qwen3-TTS checkpoint directory (config.json, model.safetensors,
  // tokenizer files, speech_tokenizer/).
  static std::unique_ptr<TtsModel> load(const std::string& dir, const ModelOptions& options = {});
  ~TtsModel();

  std::string model_type() const;              // "base", "custom_voice" or "voice_design"
  bool can_clone() const;                      // has a speaker encoder (Base checkpoints)
  std::vector<std::string> speakers() const;   // preset speakers (CustomVoice)
  std::vector<std::string> languages() const;  // "auto" and the named languages
  int sample_rate() const;
  std::string model_size() const;  // "0b6", "1b7" (tts_model_size); x-vectors differ between sizes
  int threads() const;             // worker threads of the model's pool
  WeightFormat weight_format() const;
  CodecPrecision codec_precision() const;  // as decoded (f32 where bf16 was asked but is missing)
  // Frames made together (SynthesisSession::step_all / step_batched) so far:
  // batched steps, the frames they made, the most frames in one step, and the
  // audio blocks handed to the model's codec thread (decoded there while the
  // frames are made, or by the stepping thread when that thread falls behind).
  struct BatchStats {
    int64_t steps = 0, frames = 0, largest = 0, codec_thread_blocks = 0;
  };
  BatchStats batch_stats() const;

  // Bytes of the matrices each part multiplies with (embedding tables, read a
  // row at a time, excluded). One frame reads the talker once, the code
  // predictor's decoder stack 15 times and each of its heads once.
  struct WeightBytes {
    size_t talker = 0, code_predictor_stack = 0, code_predictor_heads = 0;
    size_t per_frame() const { return talker + 15 * code_predictor_stack + code_predictor_heads; }
  };
  WeightBytes weight_bytes() const;

  // A cloned voice from reference audio (any rate/channels; checked and
  // prepared with `reference`). With a transcript: ICL cloning (reference codes
  // + text); without: x-vector-only cloning.
  Voice clone_voice(const Audio& reference, const std::string& transcript = "",
                    const ReferenceOptions& reference_options = {}) const;
  // A preset speaker by name (case-insensitive); the error lists the valid names.
  Voice preset_voice(const std::string& name) const;
  // Computes now, in voice.cache, what the voice's requests would otherwise
  // compute on first use: an ICL voice's codec decoder state after its
  // reference codes (1-3 s for a 10-30 s reference). A saved voice
  // (VoiceStore::load) also keeps it in a file beside the model for later
  // processes. Nothing to do for other voices.
  void prepare_voice(const Voice& voice) const;
  // How close `audio` sounds to a cloned voice: the cosine similarity of its
  // x-vector (this model's speaker encoder) and the voice's, in [-1, 1] (README,
  // "Speaker similarity", says what scores mean). nullopt for voices without an
  // x-vector (presets, voice design), models without a speaker encoder, or
  // audio too short to embed. Only the first kSimilaritySeconds of `audio` count.
  std::optional<double> speaker_similarity(const Voice& voice, const Audio& audio) const;
  static constexpr double kSimilaritySeconds = 30;

  // Starts a request (checks everything and builds the prompt; the model's
  // work happens in step()). The voice is copied; the model must outlive it.
  std::unique_ptr<SynthesisSession> start(const std::string& text, const Voice& voice,
                                          const SynthesisOptions& options = {}) const;
  // Bytes a request is expected to need at its peak beyond the shared weights:
  // the talker's KV cache for its longest chunk at full length (grown by
  // doubling, as it is), the code predictor's cache, the codec decoder's working
  // buffers for its largest block (or, if larger, the speaker encoder's for
  // speaker_similarity on the result), and the whole clip when it is kept (not
  // streamed with keep_audio = false). What a server admits requests by; an
  // estimate from the configs and the text, not a measurement (README,
  // "Per-request memory", compares it with measured peaks).
  size_t memory_estimate(const std::string& text, const Voice& voice,
                         const SynthesisOptions& options = {}) const;

  // start() + finish().
  SynthesisResult synthesize(const std::string& text, const Voice& voice,
                             const SynthesisOptions& options = {}) const;

  const TextTokenizer& tokenizer() const;

  struct Impl;

 private:
  std::unique_ptr<SynthesisSession> start_long(std::vector<TextPiece> chunks, const Voice& voice,
                                               const SynthesisOptions& options) const;
  explicit TtsModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace izwi
