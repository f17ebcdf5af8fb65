// izwi command-line front end.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "commands.h"
#include "interrupt.h"
#include "izwi/izwi.h"

namespace {

// CLI11 answers `izwi voices bogus` and `izwi voice` alike with "A subcommand
// is required": name the command, the word that is not one of its commands,
// and the commands it has.
int command_required(CLI::App& app, const CLI::RequiredError& e) {
  CLI::App* cur = &app;
  std::string path = "izwi";
  for (auto subs = cur->get_subcommands(); !subs.empty(); subs = cur->get_subcommands()) {
    cur = subs.front();
    path += " " + cur->get_name();
  }
  std::string names;
  for (const CLI::App* sub : cur->get_subcommands([](const CLI::App*) { return true; }))
    names += (names.empty() ? "" : ", ") + sub->get_name();
  if (names.empty()) return app.exit(e);  // another requirement: CLI11's own message
  const std::vector<std::string> rest = app.remaining(true);
  if (!rest.empty() && !rest.front().empty() && rest.front()[0] != '-')
    std::fprintf(stderr, "izwi: error: '%s' is not a command of `%s`; its commands: %s\n",
                 rest.front().c_str(), path.c_str(), names.c_str());
  else
    std::fprintf(stderr, "izwi: error: `%s` needs a command: %s\n", path.c_str(), names.c_str());
  std::fprintf(stderr, "Run `%s --help` for what each does.\n", path.c_str());
  return e.get_exit_code();
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything is allocated: freed audio buffers stay for reuse (izwi.h).
  izwi::configure_allocator();
  CLI::App app{
      "izwi — local voice cloning text-to-speech (Qwen3-TTS 12 Hz)\n\n"
      "  izwi pull qwen3-tts-0.6b-base\n"
      "  izwi tts \"Hello\" --speaker ref.wav --output hello.wav\n"
      "  izwi voices add me --audio ref.wav --text \"what ref.wav says\"\n"
      "  izwi tts \"Hello again\" --voice me --output again.wav\n"
      "  izwi serve    # the Web UI and HTTP API on http://127.0.0.1:8080\n"};
  app.set_version_flag("--version", std::string("izwi ") + izwi::version());
  app.footer(
      "Environment:\n"
      "  IZWI_MODELS_DIR     where models are stored (default $XDG_DATA_HOME/izwi/models or "
      "~/.local/share/izwi/models)\n"
      "  IZWI_DATA_DIR       where saved voices are stored (default $XDG_DATA_HOME/izwi or "
      "~/.local/share/izwi)\n"
      "  IZWI_DATABASE_URL   saved voices in PostgreSQL instead (same as --database)\n"
      "  IZWI_DEFAULT_MODEL  the model used without --model (default qwen3-tts-0.6b-base)\n"
      "  IZWI_OFFLINE=1      never download (same as --offline)\n"
      "  HF_ENDPOINT         Hugging Face hub address (default https://huggingface.co)\n"
      "  HF_TOKEN            token for gated or private repositories\n"
      "  IZWI_API_KEY        API key izwi serve requires (same as --api-key)\n"
      "  IZWI_ISA            cap the CPU kernels: scalar, avx2, avx512-noamx (AVX-512 without AMX\n"
      "                      tiles) or avx512\n\n"
      "Run `izwi COMMAND --help` for the options of a command.");
  app.require_subcommand(1);
  app.fallthrough();
  auto ctx = std::make_shared<izwi::cli::Context>();
  ctx->offline = izwi::store_options_from_env().offline;
  app.add_flag("--offline", ctx->offline,
               "Never download; a missing model is an error (also IZWI_OFFLINE=1)");
  app.add_option("--database", ctx->database,
                 "Keep saved voices in PostgreSQL (postgresql://user@host:port/db) instead of "
                 "the local SQLite store")
      ->envname("IZWI_DATABASE_URL");
  izwi::cli::register_tts(app, ctx);
  izwi::cli::register_models(app, ctx);
  izwi::cli::register_voices(app, ctx);
  izwi::cli::register_db(app, ctx);
  izwi::cli::register_worker(app, ctx);
  izwi::cli::register_codec(app, ctx);
  izwi::cli::register_voice(app, ctx);
  izwi::cli::register_speaker(app, ctx);
  izwi::cli::register_tokenize(app, ctx);
  izwi::cli::register_bench(app, ctx);
  izwi::cli::register_serve(app, ctx);
  izwi::cli::register_inspect(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RequiredError& e) {
    return command_required(app, e);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const izwi::Error& e) {
    std::fprintf(stderr, "izwi: error: %s\n", e.what());
    return 1;
  } catch (const izwi::cli::Interrupted& e) {
    std::fprintf(stderr, "izwi: %s\n", e.what());
    return e.exit_status();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "izwi: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "izwi: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
