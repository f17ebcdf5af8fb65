// izwi command-line front end.
#include <cstdio>
#include <exception>

#include "commands.h"
#include "izwi/izwi.h"

int main(int argc, char** argv) {
  CLI::App app{"izwi — local voice-cloning text-to-speech (Qwen3-TTS 12 Hz)"};
  app.set_version_flag("--version", std::string("izwi ") + izwi::version());
  app.require_subcommand(1);
  izwi::cli::register_tts(app);
  izwi::cli::register_codec(app);
  izwi::cli::register_voice(app);
  izwi::cli::register_speaker(app);
  izwi::cli::register_tokenize(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const izwi::Error& e) {
    std::fprintf(stderr, "izwi: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "izwi: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "izwi: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
