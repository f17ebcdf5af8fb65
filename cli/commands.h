// Sub-commands of the izwi CLI. Each registers itself on the app; the command
// bodies only call the public API in include/izwi/.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "izwi/audio.h"
#include "izwi/voices.h"

namespace izwi::cli {

// Settings shared by every command (global flags).
struct Context {
  bool offline = false;  // --offline / IZWI_OFFLINE=1: never download
  bool quiet = false;    // -q: no progress output
  std::string database;  // --database / IZWI_DATABASE_URL: saved voices in PostgreSQL
};

// The saved-voice store the global options name (SQLite in IZWI_DATA_DIR by default).
VoiceStoreOptions voice_store_options(const Context& ctx);
using ContextPtr = std::shared_ptr<Context>;

// A --model value (a name or a checkpoint directory) as a directory; pulls a
// missing model with a progress bar unless offline. `cloning`: a CustomVoice
// name resolves to its Base companion (which has the speaker encoder).
std::string resolve_model(const Context& ctx, const std::string& value, bool cloning = false);
// The same without pulling: "" when the model is not installed.
std::string installed_model(const Context& ctx, const std::string& value, bool cloning = false);

// Prints a cloned voice's reference warnings and preprocessing notes to stderr.
void print_reference_notes(const Voice& voice);

// --weights bf16|q8|q4 for commands that load a model to synthesize; `target`
// starts as the default, the fastest format that meets the quality bar
// (docs/ARCHITECTURE.md, "Weight formats").
constexpr const char* kDefaultWeights = "q8";
CLI::Option* add_weights_option(CLI::App* cmd, std::string& target);

// --codec f32|bf16|winograd: the codec decoder's arithmetic; bf16 (AMX tiles or
// AVX512-BF16) where the CPU has it, else winograd (f32, Winograd convolutions)
// where it has AVX2 or AVX-512, else f32 (docs/ARCHITECTURE.md, "The codec decoder").
constexpr const char* kDefaultCodec = "bf16";
CLI::Option* add_codec_option(CLI::App* cmd, std::string& target);
// --codec-thread auto|on|off (ModelOptions::codec_thread).
CLI::Option* add_codec_thread_option(CLI::App* cmd, std::string& target);

// For -o / --output options: a file path whose folder exists and can be written;
// "-" (stdout) only where `dash_is_stdout`.
CLI::Validator writable_output(bool dash_is_stdout = false);
// Whether an output path is stdout: "-", /dev/stdout, or the file stdout is
// sent to; a command's own status line then goes to stderr, so that it does
// not end up in the file.
bool is_stdout(const std::string& path);
// All of stdin ("-" as an input).
std::string read_stdin();
// Numbers: above 0, 0 or more, in (0, 1] (errors say what was expected and
// what arrived; CLI11's own print the double range's limits).
CLI::Validator more_than_zero();
CLI::Validator zero_or_more();
CLI::Validator probability();
// --seed: a whole number that fits 64 bits (a negative or too large one is
// refused, not wrapped or clamped).
CLI::Validator seed_value();

// The format an -o path is written in: `format_flag` (--format) when given,
// else the path's extension ("-", stdout: WAV). A --format that the path's name
// contradicts is obeyed, with a note on stderr unless `quiet`. `npy`: a NumPy
// array (then `audio` is unused).
struct OutputFormat {
  bool npy = false;
  AudioFormat audio = AudioFormat::kWav;
};
OutputFormat output_format(const std::string& path, const std::string& format_flag, bool to_stdout,
                           bool quiet);

void register_tts(CLI::App& app, const ContextPtr& ctx);
void register_models(CLI::App& app, const ContextPtr& ctx);
void register_voices(CLI::App& app, const ContextPtr& ctx);
void register_db(CLI::App& app, const ContextPtr& ctx);
void register_worker(CLI::App& app, const ContextPtr& ctx);
void register_codec(CLI::App& app, const ContextPtr& ctx);
void register_voice(CLI::App& app, const ContextPtr& ctx);
void register_speaker(CLI::App& app, const ContextPtr& ctx);
void register_tokenize(CLI::App& app, const ContextPtr& ctx);
void register_bench(CLI::App& app, const ContextPtr& ctx);
void register_serve(CLI::App& app, const ContextPtr& ctx);
void register_inspect(CLI::App& app, const ContextPtr& ctx);

}  // namespace izwi::cli
