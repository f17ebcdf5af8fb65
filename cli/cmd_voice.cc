// `izwi voice inspect` (reference checks) and `izwi speaker embed` (x-vector).
#include <cstdio>

#include "commands.h"
#include "izwi/izwi.h"

namespace izwi::cli {

namespace {

struct InspectArgs {
  std::string input;
  bool json = false;
};

struct EmbedArgs {
  std::string input, model, output;
  bool no_preprocess = false;
  int threads = 0;
};

void run_inspect(const InspectArgs& a) {
  const ReferenceReport r = inspect_reference(read_audio(a.input));
  if (a.json) {
    std::printf("%s\n", r.to_json().c_str());
  } else {
    std::printf("%s\n%s", a.input.c_str(), r.to_text().c_str());
  }
  if (!r.usable())
    throw Error(ErrorKind::kInvalidArgument,
                "'" + a.input + "' cannot be used as a reference clip");
}

void run_embed(const EmbedArgs& a) {
  auto encoder = SpeakerEncoder::load(a.model, SpeakerEncoderOptions{a.threads});
  ReferenceOptions opt;
  opt.preprocess = !a.no_preprocess;
  opt.target_sample_rate = encoder->sample_rate();
  const PreparedReference ref = prepare_reference(read_audio(a.input), opt);
  for (const auto& w : ref.warnings()) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const auto& c : ref.changes) std::fprintf(stderr, "note: %s\n", c.c_str());
  const std::vector<float> x =
      encoder->embed(ref.audio.samples.data(), ref.audio.samples.size(), ref.audio.sample_rate);
  write_npy(a.output, {static_cast<int64_t>(x.size())}, x.data());
  std::fprintf(stderr, "wrote x-vector [%zu] from %.2f s of audio -> %s\n", x.size(),
               ref.audio.duration(), a.output.c_str());
}

}  // namespace

void register_voice(CLI::App& app, const ContextPtr&) {
  CLI::App* voice =
      app.add_subcommand("voice", "Reference audio: check a clip before cloning from it");
  voice->require_subcommand(1);
  auto args = std::make_shared<InspectArgs>();
  CLI::App* inspect = voice->add_subcommand("inspect",
                                            "Measure a reference clip (length, silence, level, "
                                            "clipping, noise) and say how to improve it");
  inspect->add_option("audio", args->input, "Reference audio (WAV, FLAC, OGG, Opus, MP3)")
      ->required();
  inspect->add_flag("--json", args->json, "Print the report as JSON");
  inspect->callback([args] { run_inspect(*args); });
}

void register_speaker(CLI::App& app, const ContextPtr& ctx) {
  CLI::App* speaker = app.add_subcommand("speaker", "Speaker embeddings (x-vectors)");
  speaker->require_subcommand(1);
  auto args = std::make_shared<EmbedArgs>();
  CLI::App* embed = speaker->add_subcommand("embed", "Compute the x-vector of a reference clip");
  embed->add_option("audio", args->input, "Reference audio (any rate and channel count)")
      ->required();
  embed->add_option("-m,--model", args->model,
                    "Model name or Base checkpoint directory (default: the default model)");
  embed->add_option("-o,--output", args->output, "Output .npy (float32 [hidden])")
      ->required()
      ->check(writable_output());
  embed->add_flag(
      "--no-preprocess", args->no_preprocess,
      "Use the clip as it is: no silence trimming or 30 s cut (it is still mixed to mono and "
      "resampled to 24 kHz)");
  embed->add_option("-t,--threads", args->threads, "Worker threads (0 = all cores)")
      ->check(zero_or_more());
  embed->callback([args, ctx] {
    EmbedArgs a = *args;
    a.model =
        resolve_model(*ctx, a.model.empty() ? default_model_name() : a.model, /*cloning=*/true);
    run_embed(a);
  });
}

}  // namespace izwi::cli
