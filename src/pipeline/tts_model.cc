// Public TtsModel: text + voice -> codes -> audio.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <random>

#include "core/error.h"
#include "core/thread_pool.h"
#include "core/thread_scratch.h"
#include "izwi/tts.h"
#include "models/qwen3_tts/generator.h"
#include "pipeline/audio_out.h"
#include "pipeline/loading.h"
#include "pipeline/session.h"
#include "pipeline/voice_cache.h"
#include "pipeline/weight_cache.h"

namespace izwi {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n\f\v";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Tokenizes a chat template and checks the role prefix and tail came out as the
// official code's slicing assumes ([3 role] ... [tail]).
std::vector<int32_t> templated_ids(const TtsModel::Impl& m, const std::string& templated,
                                   size_t tail, const char* what) {
  std::vector<int32_t> ids = m.tokenizer->encode(templated);
  const ModelConfig& c = m.config;
  const std::optional<int32_t> nl = m.tokenizer->token_id("\xc4\x8a");  // byte-level "\n"
  const bool ok = ids.size() >= 3 + tail + 1 && ids[0] == c.im_start_token_id &&
                  ids[1] == c.assistant_token_id && nl && ids[2] == *nl &&
                  ids[ids.size() - tail] == c.im_end_token_id;
  if (!ok)
    fail(ErrorKind::kInvalidArgument, "the ", what,
         " could not be placed in the model's chat template; ",
         "remove special tokens such as <|im_start|> from it");
  return ids;
}

DType to_dtype(WeightFormat f) {
  switch (f) {
    case WeightFormat::kQ8:
      return DType::kQ8;
    case WeightFormat::kQ4:
      return DType::kQ4;
    case WeightFormat::kBf16:
      break;
  }
  return DType::kBF16;
}

}  // namespace

const char* weight_format_name(WeightFormat format) {
  switch (format) {
    case WeightFormat::kBf16:
      return "bf16";
    case WeightFormat::kQ8:
      return "q8";
    case WeightFormat::kQ4:
      return "q4";
  }
  return "?";
}

WeightFormat parse_weight_format(const std::string& name) {
  for (WeightFormat f : {WeightFormat::kBf16, WeightFormat::kQ8, WeightFormat::kQ4})
    if (name == weight_format_name(f)) return f;
  fail(ErrorKind::kInvalidArgument, "unknown weight format '", name,
       "': expected bf16 (exact), q8 or q4");
}

const char* codec_thread_use_name(CodecThreadUse use) {
  switch (use) {
    case CodecThreadUse::kAuto:
      return "auto";
    case CodecThreadUse::kOn:
      return "on";
    case CodecThreadUse::kOff:
      return "off";
  }
  return "?";
}

CodecThreadUse parse_codec_thread_use(const std::string& name) {
  for (CodecThreadUse u : {CodecThreadUse::kAuto, CodecThreadUse::kOn, CodecThreadUse::kOff})
    if (name == codec_thread_use_name(u)) return u;
  fail(ErrorKind::kInvalidArgument, "unknown codec thread use '", name,
       "': expected auto, on or off");
}

TtsModel::TtsModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TtsModel::~TtsModel() = default;

std::unique_ptr<TtsModel> TtsModel::load(const std::string& dir, const ModelOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail(ErrorKind::kNotFound, "model directory '", dir, "' does not exist");
  auto m = std::make_unique<Impl>();
  m->dir = dir;
  m->config = ModelConfig::load((fs::path(dir) / "config.json").string());
  m->generation = GenerationConfig::load((fs::path(dir) / "generation_config.json").string());
  m->pool = std::make_unique<ThreadPool>(options.n_threads);
  // A codec thread for batched streams' audio (Batching in docs/ARCHITECTURE.md).
  // Auto: with 8/4-bit weights only. Four streams on the Zen 5 VM, audio seconds
  // per second with it and without (alternated pairs, "Where time goes"): 0.6B
  // q4 6.39-7.30 against 6.05-6.52, q8 5.28-5.59 against 4.68-4.97, 1.7B q8
  // 3.34-3.75 against 3.16-3.43; but bf16 0.6B 2.80-2.94 against 2.95-3.09 and
  // 1.7B slower in four pairs of five: its frames, bound by memory, lose more on
  // one core than the second core gains on the audio.
  const bool want_codec_thread =
      options.codec_thread == CodecThreadUse::kOn ||
      (options.codec_thread == CodecThreadUse::kAuto && options.weights != WeightFormat::kBf16);
  if (want_codec_thread && m->pool->size() >= 2)
    m->codec_thread = std::make_unique<pipeline::CodecThread>();
  m->tokenizer = TextTokenizer::load(dir);
  CheckpointWeights checkpoint(Checkpoint::open(dir, "model"));
  // The talker's and code predictor's linears in the chosen format; embeddings
  // (read a row at a time) and everything else as stored.
  const bool quantized = options.weights != WeightFormat::kBf16;
  std::optional<Checkpoint> cache;
  if (quantized && options.weight_cache)
    cache = pipeline::open_weight_cache(dir, options.weights, checkpoint.checkpoint());
  QuantizingWeights weights(checkpoint, to_dtype(options.weights), is_talker_linear, m->pool.get(),
                            cache ? &*cache : nullptr);
  m->weight_format = options.weights;
  m->talker = std::make_unique<tts::Talker>(m->config, weights,
                                            tts::kv_cache_for(to_dtype(options.weights)));
  m->code_predictor = std::make_unique<tts::CodePredictor>(
      m->config.code_predictor, m->config.talker.stack.hidden_size, weights);
  if (quantized && options.weight_cache && !cache && !weights.converted().empty())
    pipeline::write_weight_cache(dir, options.weights, checkpoint.checkpoint(),
                                 weights.converted());
  for (const auto& [name, bytes] : weights.served()) {
    if (name.find("embedding") != std::string::npos) continue;  // read a row at a time
    if (name.rfind("talker.code_predictor.lm_head.", 0) == 0)
      m->weight_bytes.code_predictor_heads += bytes;
    else if (name.rfind("talker.code_predictor.", 0) == 0)
      m->weight_bytes.code_predictor_stack += bytes;
    else if (name.rfind("talker.", 0) == 0)
      m->weight_bytes.talker += bytes;
  }
  if (m->config.speaker_encoder) m->speaker = pipeline::load_speaker(dir, m->config, checkpoint);
  m->codec = pipeline::load_codec(dir, options.codec);
  if (m->codec.config.decoder.num_quantizers != m->config.talker.num_code_groups)
    fail(ErrorKind::kInvalidFormat, "'", dir, "': the speech tokenizer has ",
         m->codec.config.decoder.num_quantizers, " codebooks but the talker predicts ",
         m->config.talker.num_code_groups);
  if (m->codec.config.decoder.codebook_size != m->config.code_predictor.vocab_size)
    fail(ErrorKind::kInvalidFormat, "'", dir,
         "': codebook sizes of the speech tokenizer and the code predictor differ");
  return std::unique_ptr<TtsModel>(new TtsModel(std::move(m)));
}

std::string TtsModel::model_type() const {
  return impl_->config.tts_model_type;
}
bool TtsModel::can_clone() const {
  return impl_->speaker.has_value();
}
int TtsModel::sample_rate() const {
  return impl_->codec.config.output_sample_rate;
}
std::string TtsModel::model_size() const {
  return impl_->config.tts_model_size;
}
int TtsModel::threads() const {
  return impl_->pool->size();
}
TtsModel::BatchStats TtsModel::batch_stats() const {
  std::lock_guard<std::mutex> lock(impl_->batch_mu);
  return impl_->batch_stats;
}
WeightFormat TtsModel::weight_format() const {
  return impl_->weight_format;
}
CodecPrecision TtsModel::codec_precision() const {
  return pipeline::decode_precision(impl_->codec);
}
TtsModel::WeightBytes TtsModel::weight_bytes() const {
  return impl_->weight_bytes;
}
const TextTokenizer& TtsModel::tokenizer() const {
  return *impl_->tokenizer;
}

namespace {
std::vector<std::string> speakers_of(const ModelConfig& c) {
  std::vector<std::string> out;
  for (const auto& [name, id] : c.talker.spk_id) out.push_back(name);
  return out;
}
std::vector<std::string> languages_of(const ModelConfig& c) {
  std::vector<std::string> out = {"auto"};
  for (const auto& [name, id] : c.talker.codec_language_id)
    if (name.find("dialect") == std::string::npos) out.push_back(name);
  return out;
}
}  // namespace

std::vector<std::string> TtsModel::speakers() const {
  return speakers_of(impl_->config);
}

std::vector<std::string> TtsModel::languages() const {
  return languages_of(impl_->config);
}

CheckpointInfo inspect_checkpoint(const std::string& dir) {
  const ModelConfig c = ModelConfig::load(dir + "/config.json");
  CheckpointInfo info;
  info.model_type = c.tts_model_type;
  info.model_size = c.tts_model_size;
  info.can_clone = c.speaker_encoder.has_value();
  info.speakers = speakers_of(c);
  info.languages = languages_of(c);
  return info;
}

std::optional<double> TtsModel::speaker_similarity(const Voice& voice, const Audio& audio) const {
  if (!impl_->speaker || voice.xvector.empty() || audio.samples.empty()) return std::nullopt;
  const ThreadScratchRelease release;
  // The first kSimilaritySeconds: as long as a reference clip may be, and a
  // stream need only keep that much to ask.
  Audio head{{}, audio.sample_rate, audio.source_channels};
  const auto n =
      std::min(audio.samples.size(), static_cast<size_t>(kSimilaritySeconds * audio.sample_rate));
  head.samples.assign(audio.samples.begin(),
                      audio.samples.begin() + static_cast<std::ptrdiff_t>(n));
  const Audio at_rate = resample(head, impl_->speaker->config.sample_rate);
  if (at_rate.duration() < 0.5) return std::nullopt;  // too little speech to say
  const std::vector<float> x =
      pipeline::embed_speaker(impl_->pool.get(), *impl_->speaker, at_rate.samples.data(),
                              at_rate.samples.size(), at_rate.sample_rate);
  if (x.size() != voice.xvector.size()) return std::nullopt;
  double dot = 0, a = 0, b = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    dot += static_cast<double>(x[i]) * voice.xvector[i];
    a += static_cast<double>(x[i]) * x[i];
    b += static_cast<double>(voice.xvector[i]) * voice.xvector[i];
  }
  if (a <= 0 || b <= 0) return std::nullopt;
  return dot / std::sqrt(a * b);
}

Voice TtsModel::clone_voice(const Audio& reference, const std::string& transcript,
                            const ReferenceOptions& ro) const {
  if (!impl_->speaker) pipeline::require_speaker_encoder(impl_->dir, impl_->config);
  const ThreadScratchRelease release;
  ReferenceOptions opt = ro;
  opt.target_sample_rate = impl_->speaker->config.sample_rate;
  const PreparedReference ref = prepare_reference(reference, opt);
  Voice v;
  v.report = ref.report;
  v.changes = ref.changes;
  v.reference_audio = ref.audio;
  v.cache = std::make_shared<VoiceCache>();
  v.xvector = pipeline::embed_speaker(impl_->pool.get(), *impl_->speaker, ref.audio.samples.data(),
                                      ref.audio.samples.size(), ref.audio.sample_rate);
  const std::string text = trim(transcript);
  if (!text.empty()) {
    const Audio at_codec = resample(ref.audio, impl_->codec.config.input_sample_rate);
    v.reference_codes.num_codebooks = impl_->codec.encoder->num_quantizers();
    v.reference_codes.values =
        pipeline::encode_audio(impl_->pool.get(), impl_->codec, at_codec.samples.data(),
                               at_codec.samples.size(), at_codec.sample_rate);
    v.reference_codes.frames =
        static_cast<int64_t>(v.reference_codes.values.size()) / v.reference_codes.num_codebooks;
    v.reference_text = text;
    v.reference_text_ids =
        templated_ids(*impl_, tts::reference_template(text), 2, "reference transcript");
  }
  return v;
}

Voice TtsModel::preset_voice(const std::string& name) const {
  const auto& spk = impl_->config.talker.spk_id;
  if (spk.empty())
    fail(ErrorKind::kInvalidArgument, "this ", model_type(),
         " model has no preset speakers; give a reference audio file",
         " to clone a voice, or use a CustomVoice model for presets");
  const std::string key = lower(name);
  if (!spk.count(key))
    fail(ErrorKind::kInvalidArgument, "unknown speaker '", name,
         "'; this model's speakers are: ", join(speakers()));
  Voice v;
  v.speaker = key;
  return v;
}

std::unique_ptr<SynthesisSession> TtsModel::start(const std::string& raw_text,
                                                  const Voice& voice_in,
                                                  const SynthesisOptions& o) const {
  if (o.chunking.max_chars > 0) {
    std::vector<TextPiece> chunks = chunk_text(raw_text, o.language, o.chunking);
    if (chunks.size() > 1) return start_long(std::move(chunks), voice_in, o);
  }
  const Impl& m = *impl_;
  auto session = std::make_unique<SynthesisSession::Impl>(m, voice_in, o);
  const Voice& voice = session->voice;  // the session's copy: spec points into it
  tts::PromptSpec& spec = session->spec;
  const TalkerConfig& tc = m.config.talker;
  const std::string text = trim(raw_text);
  if (text.empty()) fail(ErrorKind::kInvalidArgument, "there is no text to speak");

  spec.text_ids = templated_ids(m, tts::target_template(text), 5, "text");
  // Each text token takes at least one 80 ms frame to speak: past this a single
  // request runs for many minutes, which is better split by the caller.
  constexpr size_t kMaxTextTokens = 4096;
  if (spec.text_ids.size() - 8 > kMaxTextTokens)
    fail(ErrorKind::kInvalidArgument, "the text is too long for one request (",
         spec.text_ids.size() - 8, " tokens, at most ", kMaxTextTokens,
         "); split it into paragraphs and synthesize them one by one");

  // Voice: preset speaker, cloned voice (x-vector, optionally ICL), or none (VoiceDesign).
  const std::string type = model_type();
  if (voice.is_preset()) {
    auto it = tc.spk_id.find(lower(voice.speaker));
    if (it == tc.spk_id.end())
      fail(ErrorKind::kInvalidArgument, "speaker '", voice.speaker,
           "' is not a preset of this model",
           speakers().empty() ? std::string(" (it has none)")
                              : "; its speakers are: " + join(speakers()));
    spec.speaker_id = it->second;
  } else if (!voice.xvector.empty()) {
    if (type != "base")
      fail(ErrorKind::kInvalidArgument, "cloned voices need a Base model; this is a ", type,
           " model");
    if (static_cast<int>(voice.xvector.size()) != tc.stack.hidden_size)
      fail(ErrorKind::kInvalidArgument, "the voice's speaker embedding has ", voice.xvector.size(),
           " values but this model expects ", tc.stack.hidden_size,
           " (was it made with another model size?)");
    spec.xvector = voice.xvector.data();
    if (voice.icl()) {
      if (voice.reference_codes.num_codebooks != m.code_predictor->groups())
        fail(ErrorKind::kInvalidArgument, "the voice's reference codes have ",
             voice.reference_codes.num_codebooks, " codebooks, expected ",
             m.code_predictor->groups());
      for (int32_t c : voice.reference_codes.values)
        if (c < 0 || c >= m.code_predictor->vocab())
          fail(ErrorKind::kInvalidArgument, "the voice's reference codes hold ", c,
               ", outside [0, ", m.code_predictor->vocab(), ")");
      spec.ref_ids = voice.reference_text_ids;
      spec.ref_codes = voice.reference_codes.values.data();
      spec.ref_frames = voice.reference_codes.frames;
    }
  } else if (type != "voice_design") {
    fail(
        ErrorKind::kInvalidArgument, "no voice given: pass reference audio to clone",
        speakers().empty() ? std::string() : " or one of the preset speakers: " + join(speakers()));
  }

  // Language, with the official dialect rule for preset speakers.
  const std::string lang = lower(o.language.empty() ? "auto" : o.language);
  if (lang != "auto") {
    auto it = tc.codec_language_id.find(lang);
    if (it == tc.codec_language_id.end() || lang.find("dialect") != std::string::npos)
      fail(ErrorKind::kInvalidArgument, "unknown language '", o.language,
           "'; choose one of: ", join(languages()));
    spec.language_id = it->second;
  }
  if (voice.is_preset() && (lang == "chinese" || lang == "auto")) {
    auto d = tc.spk_is_dialect.find(lower(voice.speaker));
    if (d != tc.spk_is_dialect.end() && !d->second.empty())
      spec.language_id = tc.codec_language_id.at(d->second);
  }

  if (!trim(o.instruct).empty()) {
    if (type == "base")
      fail(ErrorKind::kInvalidArgument,
           "instructions need a CustomVoice 1.7B or VoiceDesign model; this is a Base model");
    if (m.config.tts_model_size == "0b6")
      fail(ErrorKind::kInvalidArgument, "the 0.6B ", type,
           " model does not follow instructions (use the 1.7B one)");
    spec.instruct_ids = m.tokenizer->encode(tts::instruct_template(o.instruct));
  }
  spec.non_streaming = o.non_streaming.value_or(type != "base");

  session->prompt = tts::build_prompt(m.pool.get(), m.config, *m.talker, *m.code_predictor, spec);
  const tts::Prompt& prompt = session->prompt;

  // Lengths: the official max_new_tokens, optionally capped by --max-seconds and
  // always by the talker's position range.
  const double frame_rate =
      static_cast<double>(sample_rate()) / m.codec.config.decode_upsample_rate;
  int64_t max_new = o.max_new_tokens > 0 ? o.max_new_tokens : m.generation.max_new_tokens;
  if (o.max_seconds > 0)
    max_new =
        std::min<int64_t>(max_new, static_cast<int64_t>(std::ceil(o.max_seconds * frame_rate)) + 1);
  const int64_t room = tc.max_position_embeddings - prompt.length;
  if (room < 2)
    fail(ErrorKind::kInvalidArgument, "the text is too long (", prompt.length,
         " prompt positions; the model takes ", tc.max_position_embeddings,
         "); split it into shorter pieces");
  max_new = std::min(max_new, room);

  tts::GenerateOptions& g = session->generate;
  const GenerationConfig& d = m.generation;
  g.talker = {!o.greedy && d.do_sample, o.temperature.value_or(d.temperature),
              o.top_k.value_or(d.top_k), o.top_p.value_or(d.top_p)};
  g.subtalker = {
      !o.greedy && d.subtalker_dosample, o.subtalker_temperature.value_or(d.subtalker_temperature),
      o.subtalker_top_k.value_or(d.subtalker_top_k), o.subtalker_top_p.value_or(d.subtalker_top_p)};
  for (const auto* p : {&g.talker, &g.subtalker}) {
    if (p->do_sample && !(p->temperature > 0))
      fail(ErrorKind::kInvalidArgument, "temperature must be positive");
    if (p->top_p <= 0 || p->top_p > 1)
      fail(ErrorKind::kInvalidArgument, "top-p must be in (0, 1], got ", p->top_p);
    if (p->top_k < 0)
      fail(ErrorKind::kInvalidArgument, "top-k must be 0 (off) or positive, got ", p->top_k);
  }
  g.repetition_penalty = o.repetition_penalty.value_or(d.repetition_penalty);
  if (!(g.repetition_penalty > 0))
    fail(ErrorKind::kInvalidArgument, "repetition penalty must be positive");
  g.max_new_tokens = static_cast<int>(max_new);
  if (o.min_seconds < 0) fail(ErrorKind::kInvalidArgument, "min_seconds must be 0 or more");
  if (o.min_seconds > 0)
    g.min_new_tokens = static_cast<int>(std::min<double>(
        max_new, std::max<double>(g.min_new_tokens, std::ceil(o.min_seconds * frame_rate) + 1)));
  g.seed = o.seed ? *o.seed : std::random_device{}();
  if (o.first_block_frames < 1 || o.block_frames < 1)
    fail(ErrorKind::kInvalidArgument, "audio blocks must be at least one frame long, got ",
         o.first_block_frames, " and ", o.block_frames);
  session->frame_rate = frame_rate;
  session->text = text;
  return std::make_unique<SynthesisSession>(std::move(session));
}

// A long text: the first chunk's session (started now, so a bad voice or
// language fails here), with the chain that starts the others.
std::unique_ptr<SynthesisSession> TtsModel::start_long(std::vector<TextPiece> chunks,
                                                       const Voice& voice,
                                                       const SynthesisOptions& o) const {
  auto chain = std::make_unique<SynthesisSession::Chain>(
      *this, SynthesisSession::Impl::conditioning(voice), o);
  SynthesisSession::Chain& c = *chain;
  c.seed = o.seed ? *o.seed : std::random_device{}();
  c.chunks = std::move(chunks);
  for (const TextPiece& p : c.chunks) c.total_length += text_length(p.text);
  c.sample_rate = sample_rate();
  c.frame_rate = static_cast<double>(c.sample_rate) / impl_->codec.config.decode_upsample_rate;
  c.result.stopped_on_eos = true;
  c.result.codes.num_codebooks = impl_->code_predictor->groups();
  c.started = std::chrono::steady_clock::now();
  c.joiner = std::make_unique<pipeline::ChunkJoiner>(
      std::llround(o.joins.crossfade_seconds * c.sample_rate), [&c](const float* x, size_t n) {
        c.samples_out += static_cast<int64_t>(n);
        if (c.options.keep_audio) c.samples.insert(c.samples.end(), x, x + n);
        if (c.options.on_audio) {
          if (!c.options.on_audio(x, static_cast<int64_t>(n))) c.stopped = true;
        } else if (c.options.stream_audio) {
          c.pending.insert(c.pending.end(), x, x + n);
        }
        return !c.stopped;
      });
  auto session = start(c.chunks[0].text, voice, c.chunk_options(0));
  session->chain_ = std::move(chain);
  return session;
}

size_t TtsModel::memory_estimate(const std::string& text, const Voice& voice,
                                 const SynthesisOptions& o) const {
  const Impl& m = *impl_;
  const TalkerConfig& tc = m.config.talker;
  const CodecDecoderConfig& dc = m.codec.config.decoder;
  const double frame_rate =
      static_cast<double>(sample_rate()) / m.codec.config.decode_upsample_rate;
  const auto frames_for = [&](double seconds) {
    return static_cast<int64_t>(std::ceil(seconds * frame_rate)) + 1;
  };

  // The chunks as start() will cut them, each with its own frame budget.
  std::vector<std::string> pieces;
  if (o.chunking.max_chars > 0)
    for (const TextPiece& p : chunk_text(text, o.language, o.chunking)) pieces.push_back(p.text);
  const bool chained = pieces.size() > 1;
  if (!chained) pieces = {text};
  const int64_t default_new = o.max_new_tokens > 0 ? o.max_new_tokens : m.generation.max_new_tokens;
  // Prompt positions besides the text: the chat template, codec prefix and the
  // speaker slot (a few dozen), an ICL reference's codes and transcript, and
  // an instruction.
  const int64_t fixed_prompt = 32 + voice.reference_codes.frames +
                               static_cast<int64_t>(voice.reference_text_ids.size()) +
                               static_cast<int64_t>(o.instruct.size());
  int64_t longest_chunk = 0, total_frames = 0;
  size_t kv_peak = 0;
  const DecoderStackConfig& ts = tc.stack;
  const size_t kv_per_position = 2 * static_cast<size_t>(ts.num_hidden_layers) *
                                 ts.num_key_value_heads * ts.head_dim *
                                 dtype_traits(m.talker->kv_cache()).size;  // f32, or f16 (q8/q4)
  for (const std::string& piece : pieces) {
    // A BPE token covers at least one byte of text.
    const int64_t prompt = fixed_prompt + static_cast<int64_t>(piece.size());
    int64_t frames = default_new;
    if (chained) frames = std::min(frames, frames_for(5.0 + 0.2 * text_length(piece)));
    if (o.max_seconds > 0) frames = std::min(frames, frames_for(o.max_seconds));
    frames = std::max<int64_t>(1, std::min(frames, tc.max_position_embeddings - prompt));
    // The cache starts at prompt + 256 positions and doubles when full.
    int64_t capacity = prompt + std::min<int64_t>(frames, 256) + 1;
    while (capacity < prompt + frames + 1) capacity *= 2;
    kv_peak = std::max(kv_peak, static_cast<size_t>(capacity) * kv_per_position);
    longest_chunk = std::max(longest_chunk, frames);
    total_frames += frames;
  }
  if (o.max_seconds > 0) total_frames = std::min(total_frames, frames_for(o.max_seconds));

  const DecoderStackConfig& cs = m.config.code_predictor.stack;
  const size_t cp_cache = 2 * static_cast<size_t>(cs.num_hidden_layers) * cs.num_key_value_heads *
                          cs.head_dim * 4 * (m.config.code_predictor.num_code_groups + 1);

  // The codec decodes a streamed block, a whole clip or an ICL reference in
  // pieces of at most ChunkedStream::kMaxBlock frames.
  const bool streamed = o.stream_audio || static_cast<bool>(o.on_audio);
  const int64_t block_frames = std::min<int64_t>(
      codec::ChunkedStream::kMaxBlock, streamed ? std::max(o.first_block_frames, o.block_frames)
                                                : longest_chunk + voice.reference_codes.frames);
  // Its largest buffers are the last upsampling stages' activations: stage i
  // has decoder_dim / 2^(i+1) channels at (pre-upsampling x rates[0..i]) the
  // frame rate. A stage holds its input, its output and a residual unit's two
  // temporaries at once.
  int64_t length = block_frames;
  for (int r : dc.upsampling_ratios) length *= r;
  std::vector<size_t> stages{static_cast<size_t>(length) * static_cast<size_t>(dc.latent_dim)};
  int64_t channels = dc.decoder_dim;
  for (int r : dc.upsample_rates) {
    length *= r;
    channels = std::max<int64_t>(1, channels / 2);
    stages.push_back(static_cast<size_t>(length) * static_cast<size_t>(channels));
  }
  std::sort(stages.rbegin(), stages.rend());
  const size_t largest = stages[0], second = stages.size() > 1 ? stages[1] : 0;
  const size_t codec_work = 4 * (3 * largest + second);

  // speaker_similarity on the first kSimilaritySeconds, which the CLI and the
  // server run after the codec is done (so the larger of the two counts): each
  // ECAPA layer's input, output and unfolded taps at 93.75 mel frames a second,
  // the attentive pooling's concatenation (3 x the last layer) included.
  size_t similarity_work = 0;
  if (m.speaker && !voice.xvector.empty()) {
    const double seconds =
        std::min(kSimilaritySeconds, static_cast<double>(total_frames) / frame_rate);
    const auto mel_frames = static_cast<size_t>(seconds * m.speaker->config.sample_rate / 256) + 1;
    size_t widths = 3 * static_cast<size_t>(m.speaker->config.channels.back());
    for (int c : m.speaker->config.channels) widths += static_cast<size_t>(c);
    similarity_work = 3 * 4 * mel_frames * widths;
  }

  // The clip, when kept: f32 samples plus its encoded copy (16-bit WAV).
  const bool kept = !streamed || o.keep_audio;
  const size_t clip = kept ? static_cast<size_t>(total_frames) *
                                 static_cast<size_t>(m.codec.config.decode_upsample_rate) * (4 + 2)
                           : 0;
  // The rest (the reference clip decoded and embedded, generated codes,
  // sampler history, per-step scratch, the response's buffers): a fixed margin.
  constexpr size_t kMargin = 48u << 20;
  return kv_peak + cp_cache + std::max(codec_work, similarity_work) + clip + kMargin;
}

SynthesisResult TtsModel::synthesize(const std::string& text, const Voice& voice,
                                     const SynthesisOptions& options) const {
  return start(text, voice, options)->finish();
}

}  // namespace izwi
