// `izwi codec encode|decode`: the speech tokenizer on files.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "commands.h"
#include "izwi/izwi.h"
#include "izwi/provenance.h"

namespace izwi::cli {

namespace {

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct CodecArgs {
  std::string input, model, output, sample_format = "pcm16", format;
  int threads = 0;
};

void run_encode(const CodecArgs& a) {
  Audio audio;
  if (lower_extension(a.input) == ".npy") {
    const NpyArray arr = read_npy(a.input);
    if (arr.shape.size() != 1)
      throw Error(ErrorKind::kInvalidArgument,
                  "'" + a.input + "' must hold a 1-D array of 24 kHz samples, got " +
                      std::to_string(arr.shape.size()) + " dimensions");
    audio.samples = arr.as_f32();
    audio.sample_rate = 24000;
  } else {
    audio = read_audio(a.input);
  }
  auto codec = SpeechTokenizer::load(a.model, CodecOptions{a.threads});
  if (audio.sample_rate != codec->sample_rate()) {
    std::fprintf(stderr, "resampled '%s' from %d Hz to the codec's %d Hz\n", a.input.c_str(),
                 audio.sample_rate, codec->sample_rate());
    audio = resample(audio, codec->sample_rate());
  }
  const auto t0 = std::chrono::steady_clock::now();
  const AudioCodes codes =
      codec->encode(audio.samples.data(), audio.samples.size(), audio.sample_rate);
  std::vector<int64_t> wide(codes.values.begin(), codes.values.end());
  write_npy(a.output, {codes.frames, codes.num_codebooks}, wide.data());
  std::fprintf(stderr, "encoded %.2f s of audio into %lld frames x %d codebooks in %.2f s -> %s\n",
               static_cast<double>(audio.samples.size()) / audio.sample_rate,
               static_cast<long long>(codes.frames), codes.num_codebooks, seconds_since(t0),
               a.output.c_str());
}

void run_decode(const CodecArgs& a) {
  const OutputFormat out = output_format(a.output, a.format, false, false);
  const bool to_npy = out.npy;
  const AudioFormat format = out.audio;
  const NpyArray arr = read_npy(a.input);
  if (arr.type == NpyArray::Type::kF32 || arr.type == NpyArray::Type::kF64)
    throw Error(ErrorKind::kInvalidArgument,
                "'" + a.input + "' holds floats; codes must be integers");
  auto codec = SpeechTokenizer::load(a.model, CodecOptions{a.threads});
  if (arr.shape.size() != 2 || arr.shape[1] != codec->num_codebooks())
    throw Error(ErrorKind::kInvalidArgument, "'" + a.input +
                                                 "' must hold codes of shape [frames, " +
                                                 std::to_string(codec->num_codebooks()) + "]");
  AudioCodes codes;
  codes.frames = arr.shape[0];
  codes.num_codebooks = static_cast<int>(arr.shape[1]);
  for (int64_t v : arr.as_i64()) {
    if (v < INT32_MIN || v > INT32_MAX)
      throw Error(ErrorKind::kInvalidArgument, "code " + std::to_string(v) + " is out of range");
    codes.values.push_back(static_cast<int32_t>(v));
  }
  const auto t0 = std::chrono::steady_clock::now();
  Audio audio;
  audio.samples = codec->decode(codes);
  audio.sample_rate = codec->sample_rate();
  const double took = seconds_since(t0);
  if (to_npy) {
    write_npy(a.output, {static_cast<int64_t>(audio.samples.size())}, audio.samples.data());
  } else {
    // Decoded codes are synthetic speech too: the file says so (izwi/provenance.h).
    write_audio(a.output, audio, format,
                a.sample_format == "f32" ? SampleFormat::kFloat32 : SampleFormat::kPcm16,
                provenance_tags(synthetic_speech(a.model, "codes from " + a.input)));
  }
  const double secs = static_cast<double>(audio.samples.size()) / audio.sample_rate;
  std::fprintf(stderr, "decoded %lld frames into %.2f s of audio in %.2f s (RTF %.3f) -> %s\n",
               static_cast<long long>(codes.frames), secs, took, took / secs, a.output.c_str());
}

}  // namespace

void register_codec(CLI::App& app, const ContextPtr& ctx) {
  CLI::App* codec = app.add_subcommand(
      "codec", "Speech tokenizer: audio <-> codes (16 codebooks, 12.5 frames/s)");
  codec->require_subcommand(1);
  auto args = std::make_shared<CodecArgs>();

  CLI::App* enc = codec->add_subcommand(
      "encode", "Encode audio (.wav/.flac/.ogg/.opus/.mp3, or .npy float32 at 24 kHz) into codes");
  enc->add_option("input", args->input,
                  "Audio file (any rate and channel count: mixed to mono, resampled to 24 kHz) "
                  "or .npy of float32 samples at 24 kHz")
      ->required()
      ->check(CLI::ExistingFile);
  enc->add_option("-m,--model", args->model,
                  "Model name or checkpoint directory (default: the default model)");
  enc->add_option("-o,--output", args->output, "Output .npy of int64 codes [frames, 16]")
      ->required()
      ->check(writable_output());
  enc->add_option("-t,--threads", args->threads, "Worker threads (0 = all cores)")
      ->check(zero_or_more());
  enc->callback([args, ctx] {
    CodecArgs a = *args;
    a.model = resolve_model(*ctx, a.model.empty() ? default_model_name() : a.model);
    run_encode(a);
  });

  CLI::App* dec = codec->add_subcommand("decode", "Decode codes [frames, 16] into 24 kHz audio");
  dec->add_option("input", args->input, ".npy of integer codes [frames, 16]")
      ->required()
      ->check(CLI::ExistingFile);
  dec->add_option("-m,--model", args->model,
                  "Model name or checkpoint directory (default: the default model)");
  dec->add_option("-o,--output", args->output,
                  "Output audio (.wav .flac .ogg .opus .mp3 .aac .m4a .raw, 24 kHz) or .npy "
                  "(float32 samples)")
      ->required()
      ->check(writable_output());
  dec->add_option("--format", args->format,
                  "Output format (default: the -o name's extension, which --format overrides)")
      ->transform(CLI::IsMember({"wav", "flac", "ogg", "opus", "mp3", "aac", "m4a", "raw", "npy"},
                                CLI::ignore_case));
  dec->add_option("--sample-format", args->sample_format,
                  "WAV/raw sample format: 16-bit PCM or 32-bit float")
      ->check(CLI::IsMember({"pcm16", "f32"}))
      ->capture_default_str();
  dec->add_option("-t,--threads", args->threads, "Worker threads (0 = all cores)")
      ->check(zero_or_more());
  dec->callback([args, ctx] {
    CodecArgs a = *args;
    a.model = resolve_model(*ctx, a.model.empty() ? default_model_name() : a.model);
    run_decode(a);
  });
}

}  // namespace izwi::cli
