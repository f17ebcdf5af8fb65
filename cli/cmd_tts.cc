// `izwi tts`: speak a text in a cloned or preset voice.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "commands.h"
#include "interrupt.h"
#include "izwi/izwi.h"
#include "izwi/output_file.h"
#include "izwi/provenance.h"
#include "tts_common.h"

namespace izwi::cli {

namespace {

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// Writes audio blocks as they come: WAV (a streaming header, fixed up at the end
// when the output is a file), raw PCM, or a compressed format through the
// library's AudioEncoder (as the server streams it), to stdout ("-") or an
// OutputFile (a file appears when it is whole, so an interrupted run leaves no
// half file; a pipe or device is written as it goes).
class StreamWriter {
 public:
  StreamWriter(const std::string& path, AudioFormat format, SampleFormat sf, int rate,
               AudioTags tags)
      : path_(path),
        wav_(format == AudioFormat::kWav),
        sf_(sf),
        rate_(rate),
        tags_(std::move(tags)) {
    std::signal(SIGPIPE, SIG_IGN);  // a closed pipe becomes a write error, not a kill
    if (path == "-") {
      out_ = stdout;
    } else {
      file_.emplace(path);
      out_ = file_->stream();
    }
    if (wav_) put(wav_stream_header(rate, sf, tags_));
    if (format != AudioFormat::kWav && format != AudioFormat::kRaw)
      encoder_.emplace(format, rate, sf, tags_);
  }
  bool write(const float* x, size_t n) {
    samples_ += n;
    // A failed flush is a failed write too: glibc drops the buffer, so a later
    // flush would succeed and the loss go unreported.
    ok_ =
        put(encoder_ ? encoder_->write(x, n) : encode_samples(x, n, sf_)) && std::fflush(out_) == 0;
    if (!ok_ && !errno_) errno_ = errno;
    return ok_;
  }
  void close() {
    if (encoder_) put(encoder_->finish());
    if (ok_ && file_ && !file_->in_place() && wav_) {
      ok_ = std::fseek(out_, 0, SEEK_SET) == 0 && put(wav_header(rate_, sf_, samples_, tags_));
    }
    if (ok_ && std::fflush(out_) != 0) ok_ = false;
    if (!ok_) {
      const int e = errno_ ? errno_ : errno;
      throw Error(
          ErrorKind::kIo,
          (path_ == "-" ? std::string("writing audio to stdout") : "writing '" + path_ + "'") +
              " failed: " + std::strerror(e) + (e == EPIPE ? " (the reader closed the pipe)" : ""));
    }
    if (file_) file_->commit();
  }

 private:
  bool put(const std::string& bytes) {
    ok_ = ok_ && std::fwrite(bytes.data(), 1, bytes.size(), out_) == bytes.size();
    if (!ok_ && !errno_) errno_ = errno;
    return ok_;
  }
  std::string path_;
  bool wav_;
  SampleFormat sf_;
  int rate_;
  AudioTags tags_;
  std::optional<AudioEncoder> encoder_;  // compressed formats
  std::optional<OutputFile> file_;       // unset for stdout
  FILE* out_ = nullptr;
  size_t samples_ = 0;
  bool ok_ = true;
  int errno_ = 0;  // why the first failed write failed
};

std::string clock_time(double s) {
  char buf[32];
  const auto t = static_cast<long>(std::lround(s));
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

// Progress of a long text: how much of the text is spoken, and an estimate of
// the time left from the speed so far.
class LongTextProgress {
 public:
  LongTextProgress(const std::vector<TextPiece>& chunks, double frame_rate)
      : frame_rate_(frame_rate) {
    for (const auto& c : chunks) lengths_.push_back(text_length(c.text));
    for (int n : lengths_) total_ += n;
  }
  // The share of the text spoken at this frame: the chunks before it, and of
  // this one as much as its frames so far are of the frames it should take
  // (from the frames per character of the chunks done).
  double fraction(const FrameProgress& p) {
    if (p.chunk != chunk_) {
      frames_done_ = p.frame;
      chunk_ = p.chunk;
    }
    const double done_chars = p.text_done * total_;
    const double per_char = done_chars > 0 ? static_cast<double>(frames_done_) / done_chars
                                           : frame_rate_ / 14.0;  // ~14 letters a second
    const double expected = std::max(1.0, per_char * lengths_[static_cast<size_t>(p.chunk)]);
    const double in_chunk =
        std::min(0.95, static_cast<double>(p.frame - frames_done_ + 1) / expected);
    return std::min(1.0, p.text_done + in_chunk * lengths_[static_cast<size_t>(p.chunk)] / total_);
  }
  // `max_seconds` (> 0) ends the text early: the share of it counts too.
  std::string line(const FrameProgress& p, double elapsed, double max_seconds) {
    const double f =
        std::max(fraction(p), max_seconds > 0 ? std::min(1.0, p.audio_seconds / max_seconds) : 0.0);
    const int width = 24;
    const int filled = static_cast<int>(f * width);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    char buf[160];
    std::snprintf(buf, sizeof buf, "[%s] %3.0f%%  chunk %d/%d  %.1f s of audio  ETA %s",
                  bar.c_str(), 100 * f, p.chunk + 1, p.chunks, p.audio_seconds,
                  f > 0.01 ? clock_time(elapsed * (1 - f) / f).c_str() : "--");
    return buf;
  }

 private:
  double frame_rate_;
  std::vector<int> lengths_;
  int total_ = 0;
  int chunk_ = 0;
  int64_t frames_done_ = 0;  // frames before the current chunk
};

void run_tts(const TtsArgs& a, const Context& ctx_ref) {
  const Context* ctx = &ctx_ref;
  std::string text = a.text;
  if (text == "-") text = read_stdin();
  if (text.find_first_not_of(" \t\r\n\f\v") == std::string::npos)
    throw Error(ErrorKind::kInvalidArgument,
                a.text == "-" ? "stdin held no text to speak" : "there is no text to speak");
  const bool to_stdout = a.output == "-";
  const bool stream = a.stream || to_stdout;
  const OutputFormat out = output_format(a.output, a.format, to_stdout, a.quiet);
  const bool to_npy = out.npy;
  const AudioFormat format = out.audio;
  if (stream && a.min_similarity)
    throw Error(ErrorKind::kInvalidArgument,
                "--min-similarity may make several takes and keeps the closest; a stream has "
                "already played the first: drop --stream (or --min-similarity)");
  if (stream && to_npy)
    throw Error(ErrorKind::kInvalidArgument,
                "--stream (and -o -) write audio as it is made, and .npy needs the whole clip: "
                "use an audio format (--format wav, raw, mp3, ...) or write the .npy without "
                "--stream");
  const SampleFormat sample_format =
      a.sample_format == "f32" ? SampleFormat::kFloat32 : SampleFormat::kPcm16;
  if (a.non_streaming && a.streaming_text)
    throw Error(ErrorKind::kInvalidArgument,
                "--non-streaming and --streaming-text exclude each other");
  // Never write over what the command reads (the reference clip) or over the
  // other file it writes.
  auto same_file = [](const std::string& x, const std::string& y) {
    namespace fs = std::filesystem;
    if (x.empty() || y.empty()) return false;
    std::error_code ex, ey;  // a path that cannot be resolved is not called the same
    const fs::path px = fs::weakly_canonical(fs::absolute(x), ex);
    const fs::path py = fs::weakly_canonical(fs::absolute(y), ey);
    return !ex && !ey && px == py;
  };
  if (!to_stdout && std::filesystem::is_regular_file(a.speaker) && same_file(a.speaker, a.output))
    throw Error(ErrorKind::kInvalidArgument,
                "-o '" + a.output +
                    "' is the reference clip: writing there would replace it; "
                    "choose another output file");
  if (!to_stdout && same_file(a.codes_out, a.output))
    throw Error(ErrorKind::kInvalidArgument,
                "--codes-out and -o name the same file; give each its own");

  // A clip that is plainly missing fails before the model loads.
  if (!a.speaker.empty())
    if (std::string why = not_a_reference_file(a.speaker, /*may_be_saved_voice=*/true);
        !why.empty())
      throw Error(ErrorKind::kNotFound, why);

  const auto t_load = std::chrono::steady_clock::now();
  auto model = load_tts_model(a, *ctx);
  const Voice voice = resolve_voice(*model, a, *ctx);
  // Every file says it is synthetic speech, made with which model and voice.
  const AudioTags tags = provenance_tags(
      synthetic_speech(a.model.empty() ? default_model_name() : a.model, voice_label(a, voice)));

  SynthesisOptions o = synthesis_options(a);
  // A long text is spoken chunk by chunk (izwi/text_chunks.h): a progress bar.
  const std::vector<TextPiece> chunks =
      a.chunk_chars > 0 ? chunk_text(text, a.language, o.chunking) : std::vector<TextPiece>{};
  LongTextProgress progress(chunks, 12.5);
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  double first_frame_s = -1;
  double last_report = 0;
  // Ctrl-C stops at the next frame and unwinds: no output, no temporary file.
  const StopSignals stop_signals;
  const auto stopped = [&] {
    if (const int sig = StopSignals::received())
      throw Interrupted(sig, std::string("stopped by ") + StopSignals::name(sig) + "; " +
                                 (to_stdout ? std::string("the audio on stdout is incomplete")
                                            : "'" + a.output + "' was not written"));
  };
  o.on_frame = [&](const FrameProgress& p) {
    if (StopSignals::received()) return false;
    if (first_frame_s < 0) first_frame_s = elapsed();
    if (a.quiet) return true;
    if (p.chunks > 1) {
      const double now = elapsed();
      if (tty)
        std::fprintf(stderr, "\r%s\033[K", progress.line(p, now, a.max_seconds).c_str());
      else if (now - last_report >= 10) {
        std::fprintf(stderr, "%s\n", progress.line(p, now, a.max_seconds).c_str());
        last_report = now;
      }
    } else if (tty) {
      std::fprintf(stderr, "\rgenerating: %.2f s of audio", p.audio_seconds);
    } else if ((p.frame + 1) % 25 == 0) {
      std::fprintf(stderr, "generating: %.1f s of audio\n", p.audio_seconds);
    }
    return true;
  };
  std::unique_ptr<StreamWriter> writer;
  double first_audio_s = -1;
  int64_t streamed = 0;
  std::vector<float> head;  // the first seconds, for the speaker similarity
  const auto head_limit = static_cast<size_t>(TtsModel::kSimilaritySeconds * model->sample_rate());
  if (stream) {
    writer =
        std::make_unique<StreamWriter>(a.output, format, sample_format, model->sample_rate(), tags);
    o.keep_audio = false;  // a stream of any length holds only what it is writing
    o.on_audio = [&](const float* samples, int64_t n) {
      if (first_audio_s < 0) first_audio_s = elapsed();
      streamed += n;
      head.insert(head.end(), samples,
                  samples + std::min<size_t>(static_cast<size_t>(n), head_limit - head.size()));
      return writer->write(samples, static_cast<size_t>(n));
    };
  }
  // With --min-similarity, takes below it are made again with the next seed
  // (at most --max-takes; the closest one is kept).
  SynthesisResult r = model->synthesize(text, voice, o);
  stopped();
  std::optional<double> similarity =
      model->speaker_similarity(voice, Audio{stream ? head : r.samples, r.sample_rate, 1});
  const double seconds = stream ? static_cast<double>(streamed) / r.sample_rate : r.seconds();
  for (int take = 2;
       a.min_similarity && similarity && *similarity < *a.min_similarity && take <= a.max_takes;
       ++take) {
    if (!a.quiet)
      std::fprintf(stderr, "%stake %d: similarity %.3f is below %.3f, trying seed %llu\n",
                   tty ? "\r\033[K" : "", take - 1, *similarity, *a.min_similarity,
                   static_cast<unsigned long long>(r.seed + 1));
    o.seed = r.seed + 1;
    SynthesisResult next = model->synthesize(text, voice, o);
    stopped();
    const auto s = model->speaker_similarity(voice, Audio{next.samples, next.sample_rate, 1});
    if (s && *s > *similarity) {
      r = std::move(next);
      similarity = s;
    } else {
      r.seed = next.seed;  // the next take continues from the latest seed
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!a.quiet && tty) std::fprintf(stderr, "\r\033[K");
  if (a.min_similarity && similarity && *similarity < *a.min_similarity)
    std::fprintf(stderr,
                 "warning: no take reached similarity %.3f in %d tries (best %.3f); a cleaner, "
                 "longer reference clip usually helps\n",
                 *a.min_similarity, a.max_takes, *similarity);

  if (writer) {
    writer->close();  // throws if the reader went away
  } else if (to_npy)
    write_npy(a.output, {static_cast<int64_t>(r.samples.size())}, r.samples.data());
  else
    write_audio(a.output, Audio{r.samples, r.sample_rate, 1}, format, sample_format, tags);
  if (!a.codes_out.empty()) {
    std::vector<int64_t> wide(r.codes.values.begin(), r.codes.values.end());
    write_npy(a.codes_out, {r.codes.frames, r.codes.num_codebooks}, wide.data());
  }
  const double load_s = std::chrono::duration<double>(t0 - t_load).count();
  const std::string first =
      stream ? "first audio " + fixed2(first_audio_s < 0 ? 0.0 : first_audio_s) + " s"
             : "first frame " + fixed2(first_frame_s < 0 ? 0.0 : first_frame_s) + " s";
  const std::string in_chunks =
      r.chunks.size() > 1 ? ", " + std::to_string(r.chunks.size()) + " chunks" : "";
  std::fprintf(
      stderr,
      "%s: %.2f s of audio in %.2f s (RTF %.2f, %s, load %.1f s, %s weights, %s codec%s)%s, seed "
      "%llu%s\n",
      to_stdout ? "stdout" : a.output.c_str(), seconds, wall, seconds > 0 ? wall / seconds : 0.0,
      first.c_str(), load_s, weight_format_name(model->weight_format()),
      codec_precision_name(model->codec_precision()), in_chunks.c_str(),
      r.stopped_on_eos ? "" : " [stopped at the length limit]",
      static_cast<unsigned long long>(r.seed),
      similarity ? (", speaker similarity " + fixed3(*similarity)).c_str() : "");
}

}  // namespace

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// -s takes a reference audio path or a preset speaker name.
// Who speaks, for the provenance tags: a saved voice's id, a preset, a clip.
std::string voice_label(const TtsArgs& a, const Voice& v) {
  if (!a.voice.empty()) return a.voice;
  if (v.is_preset()) return v.speaker;
  if (a.speaker.empty()) return "voice design";
  std::error_code ec;
  return std::filesystem::is_regular_file(a.speaker, ec) ? "reference audio" : a.speaker;
}

// What is wrong with an -s value that names no file but is plainly meant as
// one (a URL, a path with a folder, an audio file's extension): "" when it may
// be a saved voice or a preset name instead. A saved voice's name has no '/'.
std::string not_a_reference_file(const std::string& s, bool may_be_saved_voice) {
  namespace fs = std::filesystem;
  if (s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0)
    return "'" + s +
           "' is a URL: izwi clones from a local file; download it first, e.g. curl -L -o "
           "reference.wav '" +
           s + "'";
  std::error_code ec;
  if (fs::is_directory(s, ec))
    return "'" + s + "' is a folder: give the audio file in it, e.g. -s " +
           (fs::path(s) / "reference.wav").string();
  const std::string ext = lower(fs::path(s).extension().string());
  static const char* const kAudio[] = {".wav", ".flac", ".ogg",  ".opus", ".mp3", ".m4a",
                                       ".aac", ".webm", ".aiff", ".aif",  ".wma", ".amr"};
  const bool audio_ext = std::find(std::begin(kAudio), std::end(kAudio), ext) != std::end(kAudio);
  // "me.wav" may be a saved voice's name (names allow '.'), which only the
  // store can tell.
  if (s.find('/') == std::string::npos && (!audio_ext || may_be_saved_voice)) return "";
  if (fs::exists(s, ec)) return "";  // a file that is there (a FIFO, a device): read_audio says
  const fs::path dir = fs::path(s).parent_path();
  if (!dir.empty() && !fs::is_directory(dir, ec))
    return "no reference audio file '" + s + "': the folder '" + dir.string() + "' does not exist";
  return "no reference audio file '" + s + "' (in " +
         (dir.empty() ? fs::current_path(ec).string() : dir.string()) + ")";
}

// A saved voice is a real person's: say so when nobody recorded their agreement.
Voice load_saved(VoiceStore& saved, const std::string& name, const TtsModel& model) {
  if (saved.get(name).consent.empty())
    std::fprintf(stderr,
                 "warning: the saved voice '%s' has no consent note; record who agreed to the "
                 "cloning with: izwi voices consent %s \"name, date\" (izwi serve refuses it "
                 "until then)\n",
                 name.c_str(), name.c_str());
  return saved.load(name, model);
}

Voice resolve_voice(const TtsModel& model, const TtsArgs& a, const Context& ctx) {
  if (a.speaker.empty() && a.voice.empty())
    return Voice{};  // VoiceDesign: the instruction is the voice
  VoiceStore saved(voice_store_options(ctx));
  if (!a.voice.empty()) {
    if (!a.reference_text.empty())
      throw Error(ErrorKind::kInvalidArgument,
                  "a saved voice keeps its own transcript; drop --reference-text");
    return load_saved(saved, a.voice, model);
  }
  std::error_code ec;
  const bool is_file = std::filesystem::is_regular_file(a.speaker, ec);
  const auto presets = model.speakers();
  const bool is_preset =
      std::find(presets.begin(), presets.end(), lower(a.speaker)) != presets.end();
  const bool is_saved = !is_file && saved.contains(a.speaker);
  if (int(is_file) + int(is_preset) + int(is_saved) > 1)
    throw Error(ErrorKind::kInvalidArgument, "'" + a.speaker + "' is ambiguous: it is " +
                                                 (is_file ? "a file" : "a saved voice") +
                                                 " and a preset speaker; write ./" + a.speaker +
                                                 " for a file or --voice for a saved voice");
  if (is_saved) {
    if (!a.reference_text.empty())
      throw Error(ErrorKind::kInvalidArgument,
                  "a saved voice keeps its own transcript; drop --reference-text");
    return load_saved(saved, a.speaker, model);
  }
  if (is_preset) {
    if (!a.reference_text.empty())
      throw Error(ErrorKind::kInvalidArgument,
                  "--reference-text goes with reference audio, not a preset speaker");
    return model.preset_voice(a.speaker);
  }
  if (!is_file) {
    if (std::string why = not_a_reference_file(a.speaker, /*may_be_saved_voice=*/false);
        !why.empty())
      throw Error(ErrorKind::kNotFound, why);
    std::vector<std::string> names;
    for (const auto& p : saved.list()) names.push_back(p.name);
    names.insert(names.end(), presets.begin(), presets.end());
    std::string msg = "'" + a.speaker +
                      "' is not an audio file, a saved voice (izwi voices list) or a preset "
                      "speaker of this model" +
                      did_you_mean(a.speaker, names);
    if (!presets.empty()) {
      msg += "; presets: ";
      for (size_t i = 0; i < presets.size(); ++i) msg += (i ? ", " : "") + presets[i];
    }
    throw Error(ErrorKind::kInvalidArgument, msg);
  }
  if (a.x_vector_only && !a.reference_text.empty())
    throw Error(ErrorKind::kInvalidArgument,
                "--x-vector-only ignores the transcript; drop --reference-text");
  ReferenceOptions ro;
  ro.preprocess = !a.no_preprocess;
  Voice v = model.clone_voice(read_audio(a.speaker), a.reference_text, ro);
  print_reference_notes(v);
  return v;
}

SynthesisOptions synthesis_options(const TtsArgs& a) {
  SynthesisOptions o;
  o.language = a.language;
  o.instruct = a.instruct;
  if (a.non_streaming) o.non_streaming = true;
  if (a.streaming_text) o.non_streaming = false;
  // Temperature 0 is no sampling, as in the HTTP API (and OpenAI's).
  const bool zero_temperature = a.temperature && *a.temperature == 0;
  o.greedy = a.greedy || zero_temperature;
  o.temperature = zero_temperature ? std::nullopt : a.temperature;
  o.top_k = a.top_k;
  o.top_p = a.top_p;
  o.repetition_penalty = a.repetition_penalty;
  o.subtalker_temperature = a.cp_temperature;
  o.subtalker_top_k = a.cp_top_k;
  o.subtalker_top_p = a.cp_top_p;
  o.seed = a.seed;
  o.max_new_tokens = a.max_new_tokens;
  o.max_seconds = a.max_seconds;
  o.min_seconds = a.min_seconds;
  o.chunking.max_chars = a.chunk_chars;
  return o;
}

std::unique_ptr<TtsModel> load_tts_model(const TtsArgs& a, const Context& ctx) {
  // A CustomVoice name clones with its Base companion; presets use the name itself.
  std::error_code fec;
  const bool cloning = std::filesystem::is_regular_file(a.speaker, fec) || !a.voice.empty() ||
                       VoiceStore(voice_store_options(ctx)).contains(a.speaker);
  const std::string model_dir =
      resolve_model(ctx, a.model.empty() ? default_model_name() : a.model, cloning);
  return TtsModel::load(model_dir, ModelOptions{a.threads, parse_weight_format(a.weights), true,
                                                parse_codec_precision(a.codec)});
}

CLI::Option* add_weights_option(CLI::App* cmd, std::string& target) {
  return cmd
      ->add_option("--weights", target,
                   "How the model's weights are held: q8 (8-bit, about 2x faster than bf16), q4 "
                   "(4-bit, faster still, lower quality) or bf16 (exact, as stored)")
      ->check(CLI::IsMember({"bf16", "q8", "q4"}))
      ->capture_default_str();
}

CLI::Option* add_codec_option(CLI::App* cmd, std::string& target) {
  return cmd
      ->add_option("--codec", target,
                   "Arithmetic of the audio decoder: bf16 (the fastest: 2-3x, on CPUs with "
                   "AMX-BF16 or AVX512-BF16; other CPUs run winograd), winograd (f32 with "
                   "Winograd convolutions, about 1.5x, AVX2 or AVX-512) or f32 (exact)")
      ->check(CLI::IsMember({"f32", "bf16", "winograd"}))
      ->capture_default_str();
}

CLI::Option* add_codec_thread_option(CLI::App* cmd, std::string& target) {
  return cmd
      ->add_option("--codec-thread", target,
                   "Decode concurrent streams' audio on a thread of its own while one thread "
                   "makes their frames: auto (with q8/q4 weights, where it is faster), on or off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
}

void print_reference_notes(const Voice& voice) {
  for (const auto& issue : voice.report.issues)
    std::fprintf(stderr, "warning: %s: %s\n", issue.message.c_str(), issue.fix.c_str());
  for (const auto& c : voice.changes) std::fprintf(stderr, "note: reference audio %s\n", c.c_str());
}

void register_tts(CLI::App& app, const ContextPtr& ctx) {
  auto a = std::make_shared<TtsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "tts", "Speak a text in a cloned voice (reference audio) or a preset speaker");
  cmd->add_option("text", a->text, "The text to speak ('-' reads stdin)");
  cmd->add_option("-m,--model", a->model,
                  "Model name (izwi list) or checkpoint directory; default qwen3-tts-0.6b-base "
                  "(IZWI_DEFAULT_MODEL), "
                  "pulled on first use");
  auto* speaker_opt =
      cmd->add_option("-s,--speaker", a->speaker,
                      "Reference audio to clone (5-30 s of clear speech), a saved voice, or a "
                      "preset speaker name (CustomVoice: izwi info MODEL lists them)");
  auto* voice_opt =
      cmd->add_option("--voice", a->voice, "A saved voice (izwi voices add NAME --audio ref.wav)");
  speaker_opt->excludes(voice_opt);
  cmd->add_option(
         "-o,--output", a->output,
         "Output audio (.wav .flac .ogg .opus .mp3 .aac .m4a .raw) or .npy (float32); '-' streams "
         "WAV to stdout")
      ->check(writable_output(/*dash_is_stdout=*/true));
  cmd->add_option("--input", a->input,
                  "A batch: a file of texts, each spoken to a file of its own in --out-dir: .txt "
                  "(one per line), .jsonl ({\"text\", \"voice\", \"language\", \"seed\", "
                  "\"output\"...} per line) or .srt/.vtt subtitles (one per cue, with a report)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out-dir", a->out_dir,
                  "Folder for a batch's files (NNNN.wav by line, cue-NNNN.wav by cue); files "
                  "already there are skipped, so a stopped batch resumes");
  cmd->add_option("--timeline", a->timeline,
                  "Subtitles: also write one track with every cue at its start time")
      ->check(writable_output());
  cmd->add_flag("--overwrite", a->overwrite, "A batch speaks files that are there again");
  cmd->add_flag("--stream", a->stream,
                "Write the audio while it is generated (WAV with a streaming header, raw PCM, "
                "or mp3/aac/opus/ogg/flac): izwi tts ... --stream -o - | aplay");
  cmd->add_option(
      "--reference-text", a->reference_text,
      "Transcript of the reference audio: clones from audio + text (ICL), closer to the voice");
  cmd->add_flag("--x-vector-only", a->x_vector_only,
                "Clone from the speaker embedding only (no transcript)");
  cmd->add_option("-l,--language", a->language,
                  "auto, english, chinese, german, italian, portuguese, spanish, "
                  "japanese, korean, french, russian")
      ->capture_default_str();
  cmd->add_option("--instruct", a->instruct,
                  "Style instruction (CustomVoice 1.7B / VoiceDesign models)");
  cmd->add_option("--seed", a->seed, "Random seed: the same seed gives the same audio")
      ->check(seed_value());
  cmd->add_flag("--greedy", a->greedy, "No sampling: always the most likely code");
  // Checked here too (the library checks what it is given), so a typo fails
  // before the model loads and the reference is processed.
  cmd->add_option("--temperature", a->temperature,
                  "Sampling temperature (default from generation_config.json; 0: no sampling, "
                  "as --greedy)")
      ->check(zero_or_more());
  cmd->add_option("--top-k", a->top_k, "Top-k sampling (0 = off)")->check(zero_or_more());
  cmd->add_option("--top-p", a->top_p, "Top-p (nucleus) sampling, in (0, 1]")->check(probability());
  cmd->add_option("--repetition-penalty", a->repetition_penalty, "Penalty on repeated first codes")
      ->check(more_than_zero());
  cmd->add_option("--cp-temperature", a->cp_temperature,
                  "Code predictor (codebooks 1-15) sampling temperature")
      ->check(more_than_zero());
  cmd->add_option("--cp-top-k", a->cp_top_k, "Code predictor top-k (0 = off)")
      ->check(zero_or_more());
  cmd->add_option("--cp-top-p", a->cp_top_p, "Code predictor top-p, in (0, 1]")
      ->check(probability());
  cmd->add_option("--max-new-tokens", a->max_new_tokens,
                  "Talker steps at most (the last yields no frame); 0: the model's default "
                  "(generation_config.json)")
      ->check(zero_or_more());
  cmd->add_option("--min-similarity", a->min_similarity,
                  "Cloned voices: make the speech again with the next seed while its speaker "
                  "similarity to the reference (shown in the summary) is below this")
      ->check(CLI::Range(-1.0, 1.0));
  cmd->add_option("--max-takes", a->max_takes, "Most takes --min-similarity makes")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  cmd->add_option("--chunk-chars", a->chunk_chars,
                  "Long texts are spoken in chunks of whole sentences up to this many characters "
                  "(a CJK character counts 3), joined with pauses; 0: the text in one piece")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  cmd->add_option("--max-seconds", a->max_seconds, "Stop after this much audio")
      ->check(zero_or_more());
  cmd->add_option("--min-seconds", a->min_seconds, "Do not end the speech before this much audio")
      ->check(zero_or_more());
  cmd->add_flag("--non-streaming", a->non_streaming,
                "Put the whole text in the prompt (default for presets)");
  cmd->add_flag("--streaming-text", a->streaming_text,
                "Feed the text along with the audio (default for cloning)");
  cmd->add_flag("--no-preprocess", a->no_preprocess,
                "Use the reference audio as it is (no silence trimming / 30 s cut)");
  cmd->add_option("--codes-out", a->codes_out,
                  "Also write the generated codes [frames, 16] as .npy")
      ->check(writable_output());
  cmd->add_option("--format", a->format,
                  "Output format (default: the -o name's extension, which --format overrides)")
      ->transform(CLI::IsMember({"wav", "flac", "ogg", "opus", "mp3", "aac", "m4a", "raw", "npy"},
                                CLI::ignore_case));
  cmd->add_option("--sample-format", a->sample_format, "WAV/raw samples: pcm16 or f32")
      ->check(CLI::IsMember({"pcm16", "f32"}))
      ->capture_default_str();
  cmd->add_option("-t,--threads", a->threads, "Worker threads (0 = all cores)")
      ->check(zero_or_more());
  add_weights_option(cmd, a->weights);
  add_codec_option(cmd, a->codec);
  cmd->add_flag("-q,--quiet", a->quiet, "No progress output");
  cmd->callback([a, ctx] {
    if (!a->input.empty()) {
      if (!a->text.empty() || !a->output.empty())
        throw Error(ErrorKind::kInvalidArgument,
                    "--input speaks the texts of a file into --out-dir: drop the text and -o");
      if (a->out_dir.empty())
        throw Error(ErrorKind::kInvalidArgument,
                    "--input needs --out-dir DIR for the files it writes");
      if (a->stream || a->min_similarity || !a->codes_out.empty())
        throw Error(ErrorKind::kInvalidArgument,
                    "--stream, --min-similarity and --codes-out are for one text, not --input");
      return run_batch(*a, *ctx);  // checks that every text has a voice
    }
    if (!a->out_dir.empty() || !a->timeline.empty() || a->overwrite)
      throw Error(ErrorKind::kInvalidArgument,
                  "--out-dir, --timeline and --overwrite go with --input FILE (a batch)");
    if (a->text.empty())
      throw Error(ErrorKind::kInvalidArgument,
                  "give the text to speak ('-' reads it from stdin), or --input FILE for a batch");
    if (a->output.empty())
      throw Error(ErrorKind::kInvalidArgument,
                  "say where the audio goes: -o out.wav (or -o - to stream it to stdout)");
    if (a->speaker.empty() && a->voice.empty() && a->instruct.empty())
      throw Error(ErrorKind::kInvalidArgument,
                  "say whose voice to use: --speaker ref.wav (clone), --voice NAME (saved), "
                  "--speaker PRESET, "
                  "or --instruct \"a description\" with a VoiceDesign model");
    run_tts(*a, *ctx);
  });
}

}  // namespace izwi::cli
