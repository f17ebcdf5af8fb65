// `izwi tts --input FILE --out-dir DIR`: every text of a batch file (plain
// text, JSONL, SRT/VTT) to a file of its own. Resumable: a file that is there
// is finished (files are written under a temporary name and renamed), so a
// second run skips it. A text that fails is reported; the others go on.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "interrupt.h"
#include "izwi/output_file.h"
#include "izwi/provenance.h"
#include "tts_common.h"

namespace izwi::cli {

namespace {

std::string eta_text(double seconds) {
  char buf[32];
  const auto t = static_cast<long>(std::lround(seconds));
  std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

// Where an item's voice comes from: its own "voice"/"speaker", or the command's.
TtsArgs item_args(const TtsArgs& a, const BatchItem& it) {
  TtsArgs b = a;
  if (!it.voice.empty()) {
    b.voice = it.voice;
    b.speaker.clear();
    b.reference_text.clear();
  } else if (!it.speaker.empty()) {
    b.speaker = it.speaker;
    b.voice.clear();
    b.reference_text.clear();
  }
  if (!it.language.empty()) b.language = it.language;
  if (!it.instruct.empty()) b.instruct = it.instruct;
  return b;
}

struct Outcome {
  const BatchItem* item = nullptr;
  std::string file;     // output path
  double seconds = -1;  // spoken length (-1: none)
  bool skipped = false;
  std::string error;
};

void write_subtitle_report(const std::string& dir, const std::vector<Outcome>& done) {
  nlohmann::json cues = nlohmann::json::array();
  int over = 0;
  for (const Outcome& o : done) {
    if (!o.item->start) continue;
    const double slot = std::round((*o.item->end - *o.item->start) * 1000) / 1000;
    nlohmann::json c = {{"name", o.item->name}, {"line", o.item->line}, {"start", *o.item->start},
                        {"end", *o.item->end},  {"slot_seconds", slot}, {"text", o.item->text}};
    if (o.seconds >= 0) {
      c["spoken_seconds"] = o.seconds;
      c["fits"] = o.seconds <= slot;
      over += o.seconds > slot;
    } else {
      c["error"] = o.error;
    }
    cues.push_back(c);
  }
  const std::string path = (std::filesystem::path(dir) / "report.json").string();
  OutputFile out(path);
  out.write(nlohmann::json{{"cues", cues}}.dump(2) + "\n");
  out.commit();
  std::fprintf(stderr, "report: %s (%d of %zu cues run longer than their slot)\n", path.c_str(),
               over, cues.size());
  for (const auto& c : cues)
    if (c.contains("fits") && !c["fits"].get<bool>())
      std::fprintf(stderr, "  %s (line %d): %.2f s spoken in a %.2f s slot\n",
                   c["name"].get<std::string>().c_str(), c["line"].get<int>(),
                   c["spoken_seconds"].get<double>(), c["slot_seconds"].get<double>());
}

}  // namespace

void run_batch(const TtsArgs& a, const Context& ctx) {
  const std::vector<BatchItem> items = read_batch(a.input);
  if (items.empty())
    throw Error(ErrorKind::kInvalidArgument, "'" + a.input + "' has no texts to speak");
  // A voice for every text: the command's, or (JSONL) the line's own.
  if (a.speaker.empty() && a.voice.empty() && a.instruct.empty())
    for (const BatchItem& it : items)
      if (it.error.empty() && it.voice.empty() && it.speaker.empty() && it.instruct.empty())
        throw Error(ErrorKind::kInvalidArgument,
                    "say whose voice to use for the batch: --speaker ref.wav, --voice NAME or a "
                    "preset (lines of a .jsonl file may name their own \"voice\"; line " +
                        std::to_string(it.line) + " names none)");
  if (a.format == "npy" || a.format == "raw")
    throw Error(ErrorKind::kInvalidArgument,
                "a batch writes audio files: --format wav, flac, ogg, opus, mp3, aac or m4a");
  const std::string ext = a.format.empty() ? "wav" : a.format;
  const AudioFormat format = parse_audio_format(ext);
  const SampleFormat sample_format =
      a.sample_format == "f32" ? SampleFormat::kFloat32 : SampleFormat::kPcm16;
  std::error_code ec;
  std::filesystem::create_directories(a.out_dir, ec);
  if (ec)
    throw Error(ErrorKind::kIo,
                "cannot create the output folder '" + a.out_dir + "': " + ec.message());

  auto model = load_tts_model(a, ctx);
  const std::string model_name = a.model.empty() ? default_model_name() : a.model;
  std::map<std::string, Voice> voices;  // resolved once per distinct voice
  auto voice_for = [&](const TtsArgs& b) -> const Voice& {
    const std::string key = b.voice + "\n" + b.speaker + "\n" + b.reference_text;
    auto it = voices.find(key);
    if (it == voices.end()) it = voices.emplace(key, resolve_voice(*model, b, ctx)).first;
    return it->second;
  };

  // Progress over the whole job, by the length of the texts still to speak.
  double total_length = 0, done_length = 0;
  std::vector<Outcome> outcomes;
  for (const BatchItem& it : items) {
    Outcome o;
    o.item = &it;
    o.file = (std::filesystem::path(a.out_dir) / (it.name + "." + ext)).string();
    o.skipped = it.error.empty() && !a.overwrite && std::filesystem::exists(o.file);
    if (it.error.empty() && !o.skipped) total_length += text_length(it.text);
    outcomes.push_back(o);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const size_t n = items.size();
  int failed = 0, skipped = 0, spoken = 0;
  // Ctrl-C stops the text being spoken (its file is not written) and the
  // batch; the same command later goes on from there.
  const StopSignals stop_signals;
  if (!a.quiet)
    std::fprintf(stderr, "speaking %zu texts into %s (%zu there already)\n", n, a.out_dir.c_str(),
                 static_cast<size_t>(std::count_if(outcomes.begin(), outcomes.end(),
                                                   [](const Outcome& o) { return o.skipped; })));
  for (size_t i = 0; i < n && !StopSignals::received(); ++i) {
    Outcome& o = outcomes[i];
    const BatchItem& it = *o.item;
    const std::string where = "[" + std::to_string(i + 1) + "/" + std::to_string(n) + "]";
    if (!it.error.empty()) {
      o.error = it.error;
    } else if (o.skipped) {
      ++skipped;
      try {
        o.seconds = read_audio(o.file).duration();
      } catch (const Error&) {
      }
      if (!a.quiet)
        std::fprintf(stderr, "%s %s is there already, skipped\n", where.c_str(), o.file.c_str());
      continue;
    } else {
      try {
        const TtsArgs b = item_args(a, it);
        const Voice& voice = voice_for(b);
        SynthesisOptions opt = synthesis_options(b);
        opt.seed = it.seed
                       ? it.seed
                       : (a.seed ? std::optional(chunk_seed(*a.seed, static_cast<size_t>(it.line)))
                                 : std::nullopt);
        opt.on_frame = [](const FrameProgress&) { return !StopSignals::received(); };
        const SynthesisResult r = model->synthesize(it.text, voice, opt);
        if (StopSignals::received()) break;
        const AudioTags tags = provenance_tags(synthetic_speech(model_name, voice_label(b, voice)));
        write_audio(o.file, Audio{r.samples, r.sample_rate, 1}, format, sample_format, tags);
        o.seconds = r.seconds();
        ++spoken;
      } catch (const Error& e) {
        o.error = e.what();
      }
      done_length += text_length(it.text);
    }
    if (!o.error.empty()) {
      ++failed;
      std::fprintf(stderr, "%s line %d: failed: %s\n", where.c_str(), it.line, o.error.c_str());
      continue;
    }
    if (!a.quiet) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double f = total_length > 0 ? done_length / total_length : 1.0;
      std::fprintf(stderr, "%s %s: %.2f s of audio  (%.0f%% of the job, ETA %s)\n", where.c_str(),
                   o.file.c_str(), o.seconds, 100 * f,
                   f > 0 ? eta_text(elapsed * (1 - f) / f).c_str() : "--");
    }
  }

  if (const int sig = StopSignals::received())
    throw Interrupted(sig, std::string("stopped by ") + StopSignals::name(sig) + ": " +
                               std::to_string(spoken) + " texts spoken, " +
                               std::to_string(skipped) + " already there, of " + std::to_string(n) +
                               "; the same command goes on from there (finished files are kept)");
  const BatchFormat kind = batch_format_from_path(a.input);
  const bool subtitles = kind == BatchFormat::kSrt || kind == BatchFormat::kVtt;
  if (subtitles) write_subtitle_report(a.out_dir, outcomes);
  if (!a.timeline.empty()) {
    if (!subtitles)
      throw Error(ErrorKind::kInvalidArgument,
                  "--timeline places subtitle cues at their times; "
                  "it needs an .srt or .vtt --input");
    std::vector<std::vector<float>> clips;
    std::vector<double> starts;
    for (const Outcome& o : outcomes) {
      if (o.seconds < 0 || !o.item->start) continue;
      Audio clip = read_audio(o.file);
      if (clip.sample_rate != model->sample_rate()) clip = resample(clip, model->sample_rate());
      clips.push_back(std::move(clip.samples));
      starts.push_back(*o.item->start);
    }
    const AudioTags tags = provenance_tags(synthetic_speech(model_name, "subtitle timeline"));
    write_audio(a.timeline,
                Audio{mix_timeline(clips, starts, model->sample_rate()), model->sample_rate(), 1},
                sample_format, tags);
    std::fprintf(stderr, "timeline: %s (%zu cues at their start times)\n", a.timeline.c_str(),
                 clips.size());
  }
  std::fprintf(stderr, "%zu texts: %d spoken, %d already there, %d failed\n", n, spoken, skipped,
               failed);
  if (failed > 0)
    throw Error(ErrorKind::kInvalidArgument,
                std::to_string(failed) + " of " + std::to_string(n) +
                    " texts failed (listed above); fix them and run the same command again: "
                    "finished files are kept and skipped");
}

}  // namespace izwi::cli
