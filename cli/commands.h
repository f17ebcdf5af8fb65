// Sub-commands of the izwi CLI. Each registers itself on the app; the command
// bodies only call the public API in include/izwi/.
#pragma once

#include <CLI/CLI.hpp>

namespace izwi::cli {

void register_codec(CLI::App& app);
void register_voice(CLI::App& app);
void register_speaker(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_tts(CLI::App& app);

}  // namespace izwi::cli
