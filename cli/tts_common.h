// What `izwi tts` shares between one text (cmd_tts.cc) and a batch file
// (cmd_tts_batch.cc): its arguments, the voice they name, the options they set.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "commands.h"
#include "izwi/izwi.h"

namespace izwi::cli {

struct TtsArgs {
  std::string text, model, speaker, voice, reference_text,
      language = "auto", instruct, output, codes_out, format, sample_format = "pcm16";
  std::optional<uint64_t> seed;
  std::optional<float> temperature, top_p, repetition_penalty;
  std::optional<int> top_k;
  std::optional<float> cp_temperature, cp_top_p;
  std::optional<int> cp_top_k;
  bool greedy = false, non_streaming = false, streaming_text = false, no_preprocess = false,
       x_vector_only = false, quiet = false, stream = false;
  int max_new_tokens = 0, threads = 0;
  std::string weights = kDefaultWeights;
  std::string codec = kDefaultCodec;
  double max_seconds = 0, min_seconds = 0;
  std::optional<double> min_similarity;
  int max_takes = 3;
  int chunk_chars = ChunkOptions{}.max_chars;
  // Batch jobs (--input FILE --out-dir DIR).
  std::string input, out_dir, timeline;
  bool overwrite = false;
};

std::string lower(std::string s);
// The model -m names (pulled if missing), with --threads/--weights/--codec.
std::unique_ptr<TtsModel> load_tts_model(const TtsArgs& a, const Context& ctx);
// -s / --voice as a Voice (reference audio cloned, saved voice, preset, or none for VoiceDesign).
Voice resolve_voice(const TtsModel& model, const TtsArgs& a, const Context& ctx);
// Why an -s value that is plainly meant as a file (a URL, a path with a folder,
// an audio extension unless it `may_be_saved_voice`) names none; "" when it is
// a file or may be a voice name.
std::string not_a_reference_file(const std::string& s, bool may_be_saved_voice);
// Who speaks, for the provenance tags.
std::string voice_label(const TtsArgs& a, const Voice& v);
// The sampling, length and chunking flags as options (no callbacks).
SynthesisOptions synthesis_options(const TtsArgs& a);

// izwi tts --input FILE --out-dir DIR.
void run_batch(const TtsArgs& a, const Context& ctx);

}  // namespace izwi::cli
